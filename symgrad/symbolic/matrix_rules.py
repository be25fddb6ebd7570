"""Matrix gradients by the layer rules, stage by stage in reverse: ``dL/dW = δ xᵀ``, ``δ1 = (W2ᵀ δ2) ⊙ σ'(z1)``.

SymPy's own matrix differentiation is not used: it returns 0 for the
derivative of some sums of matrix terms (sympy issues #26561, #26585,
#27406), a rank-4 array for ``(y - Wx)ᵀ(y - Wx)`` by ``W``, and fails on an
element-wise sigmoid. Instead each operation has its rule, as the lectures
give them: for ``C = A B``, ``dA = dC Bᵀ`` and ``dB = Aᵀ dC``; for
``H = σ(Z)``, ``dZ = dH ⊙ σ'(Z)``; for softmax followed by cross-entropy,
``dZ = P - Y``. The rules are checked against the component-wise
derivation (``components.py``, deliberately independent of this module and
kept so) and finite differences in the tests.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, MatrixSymbol, OneMatrix, Transpose, ZeroMatrix

from .gradients import Gradients
from .request import check_form, split_wrt
from .. import printing
from ..errors import DerivationError
from ..errors import ModelError
from ..core.expressions import (BinaryCrossEntropy, CrossEntropy, Elementwise, HalfSquaredError, Softmax, SquaredNorm, _transpose,
                          hadamard, is_matrix, latex, text)
from ..core.matrix_model import MatrixModel, aligned

__all__ = ["Backprop", "backprop", "matrix_grad", "backward_rule"]

FUSED_NOTE = ("softmax followed by cross-entropy gives dL/dz = p - y when each target sums to 1 "
              "(a one-hot label or a distribution)")
BINARY_FUSED_NOTE = "sigmoid followed by binary cross-entropy gives dL/dz = p - y"


def _matmul(*factors):
    factors = [f for f in factors if not (f == 1)]
    return factors[0] if len(factors) == 1 else MatMul(*factors)


def _scaled(coefficient, value):
    if coefficient == 1:
        return value
    return MatMul(coefficient, value) if is_matrix(value) else coefficient * value


def _total(parts):
    if len(parts) == 1:
        return parts[0]
    return MatAdd(*parts) if is_matrix(parts[0]) else sp.Add(*parts)


class _Rules:
    """One reverse pass: each rule sends the adjoint ``G`` of an expression to its arguments."""

    def __init__(self, receivers: set, definitions: dict):
        self.receivers = receivers
        self.definitions = definitions
        self.received: dict = defaultdict(list)
        self.fused: list = []

    def send(self, expr, G, value=None) -> None:
        """Add the contributions of ``expr``, whose adjoint is ``G``, to the receivers it uses."""
        if not (expr.free_symbols & self.receivers):
            return
        if expr in self.receivers:
            self.received[expr].append(G)
            return
        if isinstance(expr, (MatAdd, sp.Add)):
            for term in expr.args:
                self.send(term, G)
        elif isinstance(expr, MatMul):
            self._product(expr, G)
        elif isinstance(expr, Transpose):
            self.send(expr.arg, _transpose(G))
        elif isinstance(expr, HadamardProduct):
            for i, factor in enumerate(expr.args):
                others = [a for j, a in enumerate(expr.args) if j != i]
                self.send(factor, hadamard(G, *others))
        elif isinstance(expr, Elementwise) and expr.order == 0:
            # H = f(Z): dZ = dH ⊙ f'(Z)
            self.send(expr.arg, hadamard(G, Elementwise(expr.name, expr.arg, 1)))
        elif isinstance(expr, Softmax):
            self.send(expr.arg, self._softmax(expr, G, expr if value is None else value))
        elif isinstance(expr, sp.Mul):
            for i, factor in enumerate(expr.args):  # the product rule
                others = sp.Mul(*[a for j, a in enumerate(expr.args) if j != i])
                self.send(factor, _scaled(others, G) if not is_matrix(G) else MatMul(others, G))
        elif isinstance(expr, CrossEntropy):
            self._cross_entropy(expr, G)
        elif isinstance(expr, BinaryCrossEntropy):
            self._binary_cross_entropy(expr, G)
        elif isinstance(expr, HalfSquaredError):
            y, yhat = expr.args[:2]
            scale = G / expr.samples
            self.send(yhat, _scaled(scale, yhat - y))  # d(½‖ŷ - y‖²)/dŷ = ŷ - y
            self.send(y, _scaled(scale, y - yhat))
        elif isinstance(expr, SquaredNorm):
            self.send(expr.args[0], _scaled(2 * G, expr.args[0]))  # d‖W‖²/dW = 2W
        else:
            raise DerivationError(f"no matrix rule for {text(expr)} (a {type(expr).__name__})")

    def _product(self, expr: MatMul, G) -> None:
        # C = A1 A2 ... An: dAi = (A1...Ai-1)ᵀ dC (Ai+1...An)ᵀ, which for C = A B is dA = dC Bᵀ, dB = Aᵀ dC
        coefficient, matrices = expr.as_coeff_mmul()
        factors = list(matrices.args) if isinstance(matrices, MatMul) else [matrices]
        for i, factor in enumerate(factors):
            if not (factor.free_symbols & self.receivers):
                continue
            left = [_transpose(_matmul(*factors[:i]))] if i else []
            right = [_transpose(_matmul(*factors[i + 1:]))] if i < len(factors) - 1 else []
            self.send(factor, _scaled(coefficient, _matmul(*left, G, *right)))

    @staticmethod
    def _softmax(expr: Softmax, G, P):
        # the Jacobian-vector product of softmax, sample by sample: dZ = P ⊙ (G - <G, P>)
        classes = expr.shape[expr.axis]
        weighted = hadamard(G, P)
        if expr.axis == 0:
            per_sample = _matmul(OneMatrix(classes, 1), OneMatrix(1, classes), weighted)
        else:
            per_sample = _matmul(weighted, OneMatrix(classes, 1), OneMatrix(1, classes))
        return hadamard(P, G - per_sample)

    def _cross_entropy(self, expr: CrossEntropy, G) -> None:
        y, p = expr.args[:2]
        scale = G / expr.samples
        definition = self.definitions.get(p)
        if (isinstance(definition, Softmax) and definition.axis == expr.axis
                and isinstance(definition.arg, MatrixSymbol) and definition.arg in self.receivers):
            # softmax then cross-entropy: dL/dz = p - y, the rule every classifier uses
            self.fused.append(FUSED_NOTE)
            self.received[definition.arg].append(_scaled(scale, p - y))
        else:
            self.send(p, _scaled(-scale, hadamard(y, HadamardPower(p, -1))))
        self.send(y, _scaled(-scale, Elementwise("log", p)))


    def _binary_cross_entropy(self, expr: BinaryCrossEntropy, G) -> None:
        y, p = expr.args[:2]
        scale = G / expr.samples
        definition = self.definitions.get(p)
        ones = OneMatrix(*p.shape)
        if (isinstance(definition, Elementwise) and definition.name == "sigmoid" and definition.order == 0
                and isinstance(definition.arg, MatrixSymbol) and definition.arg in self.receivers):
            # sigmoid then binary cross-entropy: L = Σ softplus(z) - y z, so dL/dz = σ(z) - y = p - y,
            # for any target, as softmax then cross-entropy
            self.fused.append(BINARY_FUSED_NOTE)
            self.received[definition.arg].append(_scaled(scale, p - y))
        else:
            # dL/dp = -(y ⊘ p - (1 - y) ⊘ (1 - p)) = (p - y) ⊘ (p ⊙ (1 - p))
            self.send(p, _scaled(scale, hadamard(p - y, HadamardPower(hadamard(p, ones - p), -1))))
        # dL/dy = -(log p - log(1 - p))
        self.send(y, _scaled(-scale, Elementwise("log", p) - Elementwise("log", ones - p)))


def _delta_name(stage) -> str:
    match = re.fullmatch(r"[zZ](\d*)", str(stage))
    return f"delta{match.group(1)}" if match else f"delta_{stage}"


class Backprop:
    """The backward pass of a matrix model written as a person writes it: the deltas, then each gradient.

    ``deltas`` are the named adjoints ``(δ, definition, stage)`` in the order
    they are computed (from the loss backwards); ``gradients`` maps each
    parameter to its gradient, written with the deltas and the forward
    stages. ``closed(expr)`` substitutes both away.

    >>> from symgrad.matrix import softmax_classifier
    >>> print(backprop(softmax_classifier(4, 3, hidden=[5])))
    δ2 = p - y               (3×1)
    δ1 = (W2ᵀ·δ2) ⊙ σ'(z1)   (5×1)
    dL/dW1 = δ1·xᵀ           (5×4)
    dL/db1 = δ1              (5×1)
    dL/dW2 = δ2·h1ᵀ          (3×5)
    dL/db2 = δ2              (3×1)
    (softmax followed by cross-entropy gives dL/dz = p - y when each target sums to 1 (a one-hot label or a distribution))
    """

    def __init__(self, model: MatrixModel, deltas, gradients: dict, notes: list[str]):
        self.model = model
        self.deltas: tuple = tuple(deltas)
        self.gradients: dict = gradients
        self.notes: list[str] = notes

    def closed(self, expr):
        """An expression with the deltas and the stages substituted: inputs and parameters only."""
        definitions = {}
        for delta, definition, _ in self.deltas:
            definitions[delta] = definition.xreplace(definitions)
        return expr.xreplace(definitions).xreplace(self.model.substitutions())

    def gradient(self, param, form: str = "stages"):
        """The gradient of the loss with respect to one parameter, in stage form or closed form."""
        check_form(form)
        param = self.model.symbol(param)
        if param not in self.gradients:
            raise DerivationError(f"no gradient for {param} was derived (derived: "
                                  f"{', '.join(map(str, self.gradients))})")
        result = self.gradients[param]
        return self.closed(result) if form == "closed" else result

    def rows(self) -> list:
        rows = [(text(d), text(e), d.shape) for d, e, _ in self.deltas]
        rows += [(f"d{self.model.output}/d{text(p)}", text(g), p.shape) for p, g in self.gradients.items()]
        return rows

    def __str__(self) -> str:
        notes = "".join(f"\n({note})" for note in self.notes)
        return aligned(self.rows()) + notes

    def latex(self) -> str:
        """The recurrences and gradients as one LaTeX ``aligned`` block."""
        out = self.model.output
        rows = [rf"{latex(d)} &= {latex(e)}" for d, e, _ in self.deltas]
        rows += [rf"\frac{{\partial {latex(out)}}}{{\partial {latex(p)}}} &= {latex(g)}"
                 for p, g in self.gradients.items()]
        return printing.aligned_latex(rows)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def __repr__(self) -> str:
        return f"<Backprop of {self.model.name or 'a matrix model'}: {len(self.deltas)} deltas, " \
               f"gradients for {', '.join(map(str, self.gradients))}>"


def _targets(model: MatrixModel, wrt) -> tuple[list, bool]:
    items, single = split_wrt(model, wrt)
    if wrt is None:
        return items, single
    targets = []
    for item in items:
        try:
            symbol = model.symbol(item)
        except ModelError as error:
            raise DerivationError(f"cannot differentiate with respect to {item!s}: {error}") from None
        if symbol in model.stage_symbols:
            raise DerivationError(f"{symbol} is a stage; its adjoint is a delta of backprop(model)")
        targets.append(symbol)
    return targets, single


def backprop(model: MatrixModel, wrt: Iterable | None = None) -> Backprop:
    """Derive the backward pass of a matrix model by the layer rules, stage by stage from the loss.

    An adjoint that feeds more than one gradient gets a name, ``δk`` for
    stage ``zk``, as the lectures write the recurrence; one used once is
    written into its consumer. The size of the result grows linearly with
    the number of layers.

    >>> from symgrad.matrix import dense
    >>> b = backprop(dense(3, 2, 'sigmoid', loss='squared_error'))
    >>> print(b)
    δ1 = (ŷ - y) ⊙ σ'(z1)   (2×1)
    dL/dW1 = δ1·xᵀ          (2×3)
    dL/db1 = δ1             (2×1)
    """
    if not isinstance(model, MatrixModel):
        raise TypeError(f"backprop needs a MatrixModel, not {type(model).__name__}")
    output = model.output
    targets, _ = _targets(model, wrt)
    definitions = dict(model.stages)
    needed: set = set()
    wanted = set(targets)
    for stage, expr in model.stages:
        if expr.free_symbols & (wanted | needed):
            needed.add(stage)
    rules = _Rules(wanted | needed, definitions)
    rules.received[output].append(sp.S.One)
    deltas = []
    for stage, expr in reversed(model.stages):
        parts = rules.received.get(stage)
        if stage not in needed or not parts:
            continue
        G = _total(parts)
        consumers = expr.free_symbols & rules.receivers
        if is_matrix(G) and len(consumers) > 1 and not isinstance(G, MatrixSymbol):
            delta = MatrixSymbol(_delta_name(stage), *stage.shape)
            deltas.append((delta, G, stage))
            G = delta
        rules.send(expr, G, value=stage)
    gradients = {}
    for target in targets:
        parts = rules.received.get(target)
        gradients[target] = _total(parts) if parts else ZeroMatrix(*target.shape)
    notes = list(dict.fromkeys(rules.fused))
    return Backprop(model, deltas, gradients, notes)


def matrix_grad(model: MatrixModel, wrt=None, *, form: str = "stages"):
    """The gradient of a matrix model's loss with respect to matrix parameters, as a matrix expression.

    ``wrt`` is one parameter (the result is one expression of the
    parameter's shape), a list (a dict by parameter) or ``None`` (every
    parameter). ``form="stages"`` writes it with the deltas of
    :func:`backprop` and the forward stages (``δ1·xᵀ``);
    ``form="closed"`` substitutes them.

    >>> from symgrad.matrix import softmax_classifier, text
    >>> m = softmax_classifier(3, 2)
    >>> matrix_grad(m, 'W1')
    delta1*x.T
    >>> matrix_grad(m, 'W1', form='closed')
    (-y + softmax(W1*x + b1))*x.T
    >>> text(matrix_grad(m, 'W1', form='closed'))
    '(softmax(W1·x + b1) - y)·xᵀ'
    >>> matrix_grad(m, 'W1').shape == m.symbol('W1').shape
    True
    """
    targets, single = _targets(model, wrt)
    # the whole backward pass, so that the deltas have the same names whichever gradient is asked for
    derivation = backprop(model)
    results = {t: derivation.gradient(t, form) for t in targets}
    return results[targets[0]] if single else Gradients(results, of=model.output)


def backward_rule(stage_expr, upstream, wrt):
    """One step of the backward pass: the adjoint of ``wrt`` given the adjoint ``upstream`` of a stage.

    For ``C = A B`` this is the rule of the lecture, ``dA = dC Bᵀ``, ``dB = Aᵀ dC``:

    >>> A, B, dC = MatrixSymbol('A', 2, 3), MatrixSymbol('B', 3, 4), MatrixSymbol('dC', 2, 4)
    >>> backward_rule(A*B, dC, A), backward_rule(A*B, dC, B)
    (dC*B.T, A.T*dC)
    """
    rules = _Rules({wrt}, {})
    rules.send(stage_expr, upstream)
    parts = rules.received.get(wrt)
    if not parts:
        return ZeroMatrix(*wrt.shape) if is_matrix(wrt) else sp.S.Zero
    return _total(parts)
