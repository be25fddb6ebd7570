"""Checking matrix claims such as ``dB = Aᵀ dC`` for ``C = A B``: shapes first, then numbers.

A claim is text as a slide writes it (``dW1 = δ1 xᵀ``, ``δ1 = W2ᵀ δ2 ⊙ σ'(z1)``)
or a SymPy matrix expression. Its dimensions are checked before anything
is computed, so ``dB = dC Aᵀ`` is rejected with the shapes that do not fit,
as the lecture advises ("check matrix dimensions to verify"); a claim whose
shapes fit is then compared with the layer-rule derivation at random
matrices. Text is read by :mod:`symgrad.parsing.matrix`: nothing is
evaluated.
"""
from __future__ import annotations

import re

import numpy as np
import sympy as sp
from sympy import MatrixSymbol, OneMatrix

from .diagnoses import constant_factor_diagnosis
from .outcome import Verdict
from ..errors import ClaimError
from ..core.expressions import CrossEntropy, Elementwise, Softmax, hadamard, is_matrix, text
from ..core.matrix_model import MatrixModel
from ..numeric.matrices import evaluate, random_values
from ..parsing.matrix import names_in, parse_matrix, show
from ..symbolic.matrix_rules import backprop, backward_rule, matrix_grad
from ..core.shapes import product_error, shape_text
from ..errors import ShapeError

__all__ = ["verify_matrix", "model_from_text"]


# -- shapes: checked before anything is computed -------------------------------------------------

def _shape(tree, table: dict):
    """The shape of a formula's value, or a ShapeError naming the operands that do not fit."""
    kind = tree[0]
    if kind == "sym":
        if tree[1] not in table:
            raise ClaimError(f"unknown name {tree[1]!r} (known: {', '.join(sorted(table))})")
        return getattr(table[tree[1]], "shape", ())
    if kind == "num":
        return ()
    if kind == "T":
        shape = _shape(tree[1], table)
        return shape[::-1]
    if kind in ("neg", "call"):
        return _shape(tree[-1], table)
    if kind == "mul" and _ones(tree[2]) and _shape(tree[1], table):  # M·1: the sums of M's rows
        return (_shape(tree[1], table)[0], 1)
    if kind == "mul" and tree[1] == ("T", ("num", "1")) and _shape(tree[2], table):  # 1ᵀ·M: column sums
        return (1, _shape(tree[2], table)[1])
    a, b = _shape(tree[1], table), _shape(tree[2], table)
    if kind == "mul":
        if not a or not b:
            return a or b
        if a[1] != b[0]:
            raise ShapeError(product_error(show(tree[1]), a, show(tree[2]), b))
        return (a[0], b[1])
    if kind == "div":
        if b:
            raise ShapeError(f"{show(tree)}: dividing by the {shape_text(b)} matrix {show(tree[2])} is undefined")
        return a
    if a and b and a != b:
        what = {"had": "⊙", "add": "+", "sub": "-"}[kind]
        raise ShapeError(f"{show(tree)} is undefined: {show(tree[1])} is {shape_text(a)} and {show(tree[2])} is "
                         f"{shape_text(b)}, and {what} needs one shape")
    return a or b


def _ones(tree) -> bool:
    # the all-ones vector 1, as in δᵀ 1 (the sum over a batch)
    return tree == ("num", "1")


def _sympy(tree, table: dict, axis: int):
    kind = tree[0]
    if kind == "sym":
        return table[tree[1]]
    if kind == "num":
        return sp.Rational(tree[1])
    if kind == "T":
        return _sympy(tree[1], table, axis).T
    if kind == "neg":
        return -_sympy(tree[1], table, axis)
    if kind == "call":
        argument = _sympy(tree[3], table, axis)
        if tree[1] == "softmax":
            if tree[2]:
                raise ClaimError("softmax' is a Jacobian, not an element-wise function")
            return Softmax(argument, axis)
        return Elementwise(tree[1], argument, tree[2]) if is_matrix(argument) else (
            Elementwise(tree[1], MatrixSymbol("u", 1, 1), tree[2]).scalar(argument))
    if kind == "mul" and _ones(tree[2]):
        a = _sympy(tree[1], table, axis)
        if is_matrix(a):
            return a * OneMatrix(a.shape[1], 1)
    if kind == "mul" and tree[1] == ("T", ("num", "1")):
        b = _sympy(tree[2], table, axis)
        return OneMatrix(1, b.shape[0]) * b
    a, b = _sympy(tree[1], table, axis), _sympy(tree[2], table, axis)
    if kind == "mul":
        return a * b
    if kind == "div":
        return a / b
    if kind == "had":
        return hadamard(a, b) if is_matrix(a) and is_matrix(b) else a * b
    a, b = _broadcast(a, b)
    return a + b if kind == "add" else a - b


def _broadcast(a, b):
    """A number added to a matrix means it in every entry, as ``1 - h ⊙ h`` is written on the slides."""
    if is_matrix(a) and not is_matrix(b):
        return a, b * OneMatrix(*a.shape)
    if is_matrix(b) and not is_matrix(a):
        return a * OneMatrix(*b.shape), b
    return a, b


# -- a model given as text: "C = A B" -----------------------------------------------------------

class _Dimensions:
    """Union-find over the unknown row and column sizes of the matrices of ``C = A B``."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, d):
        self.parent.setdefault(d, d)
        while self.parent[d] != d:
            self.parent[d] = self.parent[self.parent[d]]
            d = self.parent[d]
        return d

    def same(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def _infer(tree, dims: _Dimensions, names: set):
    kind = tree[0]
    if kind == "sym":
        names.add(tree[1])
        return (("r", tree[1]), ("c", tree[1]))
    if kind == "num":
        return None
    if kind == "T":
        shape = _infer(tree[1], dims, names)
        return shape[::-1] if shape else None
    if kind in ("neg", "call"):
        return _infer(tree[-1], dims, names)
    a, b = _infer(tree[1], dims, names), _infer(tree[2], dims, names)
    if kind == "mul" and a and b:
        dims.same(a[1], b[0])
        return (a[0], b[1])
    if a and b:
        dims.same(a[0], b[0])
        dims.same(a[1], b[1])
    return a or b


def model_from_text(source: str) -> MatrixModel:
    """A model from stage definitions such as ``"C = A B"`` (``;`` between stages), with distinct sizes.

    Every size the definitions leave free gets its own value (2, 3, 4, ...),
    so that a transposed or swapped factor cannot fit by accident.

    >>> m = model_from_text("C = A B")
    >>> {str(s): m.shapes[s] for s in m.symbols.values()}
    {'A': (2, 3), 'B': (3, 4), 'C': (2, 4)}
    """
    dims, names, stages = _Dimensions(), set(), []
    for part in filter(str.strip, re.split(r"[;\n]", source)):
        if part.count("=") != 1:
            raise ClaimError(f"a stage is written 'C = A B', not {part.strip()!r}")
        left, right = part.split("=")
        lhs, rhs = parse_matrix(left), parse_matrix(right)
        if lhs[0] != "sym":
            raise ClaimError(f"the left side of {part.strip()!r} must be one name")
        shape = _infer(rhs, dims, names)
        if shape:
            dims.same(("r", lhs[1]), shape[0])
            dims.same(("c", lhs[1]), shape[1])
        names.add(lhs[1])
        stages.append((lhs[1], rhs))
    table = {}
    # sizes in the order the matrices are read: A's rows, A's columns, B's columns, ...
    ordered = []
    for name in sorted(names - {s for s, _ in stages}) + [s for s, _ in stages]:
        for axis in ("r", "c"):
            root = dims.find((axis, name))
            if root not in ordered:
                ordered.append(root)
    sizes = {root: 2 + k for k, root in enumerate(ordered)}
    for name in names:
        table[name] = MatrixSymbol(name, sizes[dims.find(("r", name))], sizes[dims.find(("c", name))])
    built = [(table[s], _sympy(tree, table, 0)) for s, tree in stages]
    leaves = sorted(names - {s for s, _ in stages})
    return MatrixModel(built, params=[table[n] for n in leaves], name=source.strip())


# -- the verdict ----------------------------------------------------------------------------------

_SUBJECT = re.compile(r"^\s*(?:[d∂]\s*(?P<out>\w+)\s*/\s*[d∂]\s*(?P<wrt>\w+)|d(?P<adjoint>\w+))\s*$")


def _table(model: MatrixModel, deltas) -> dict:
    table = {str(s): s for s in (*model.inputs, *model.params, *model.stage_symbols, *model.sizes)}
    for s in (*model.inputs, *model.params, *model.stage_symbols):
        if is_matrix(s):
            table[f"d{s}"] = MatrixSymbol(f"d{s}", *s.shape)
    table.update({str(d): d for d, _, _ in deltas})
    return table


def _diagnose(claimed: list, truth: list) -> str | None:
    pairs = [(c, t) for c, t in zip(claimed, truth) if np.shape(c) == np.shape(t)]
    if pairs:
        flat_c = np.concatenate([np.ravel(c) for c, _ in pairs])
        flat_t = np.concatenate([np.ravel(t) for _, t in pairs])
        mask = np.isfinite(flat_c) & (np.abs(flat_t) > 1e-9)
        if mask.sum() >= 3:
            ratio = flat_c[mask] / flat_t[mask]
            if np.allclose(ratio, ratio[0], rtol=1e-7) and not np.isclose(ratio[0], 1.0):
                return constant_factor_diagnosis(float(ratio[0]), "gradient")
    # a transpose only fits where the shapes allow it (a square gradient, or swapped dimensions)
    if all(np.shape(np.transpose(c)) == np.shape(t) for c, t in zip(claimed, truth)):
        if all(np.allclose(np.transpose(c), t) for c, t in zip(claimed, truth)):
            return "the claim is the transpose of the gradient"
    return None


def _difference(claimed: list, truth: list, subject: str) -> str:
    """Where a wrong claim's values differ: the first entry that does not match, at one draw."""
    for c, t in zip(claimed, truth):
        c, t = np.atleast_2d(c), np.atleast_2d(t)
        bad = np.argwhere(~np.isclose(c, t, rtol=1e-9, atol=1e-12))
        if len(bad):
            i, j = bad[0]
            return (f"at random matrices entry ({i + 1}, {j + 1}) of the claim is {c[i, j]:.6g}, "
                    f"of {subject} {t[i, j]:.6g}")
    return f"the claim differs from {subject} at random matrices"  # pragma: no cover - called when one differs


def verify_matrix(claim, model, wrt=None, *, points: int = 5, seed: int = 0, batch: int = 3) -> Verdict:
    """Check a claimed matrix gradient or backward rule: the shapes first, then values at random matrices.

    ``model`` is a :class:`MatrixModel` or stage text such as ``"C = A B"``
    (free sizes get distinct values). ``claim`` is text ``"dB = Aᵀ dC"``
    (``dX`` is the gradient reaching ``X``; it may be written with the
    adjoints ``dC`` of the stages that use ``X``), ``"dL/dW1 = δ1 xᵀ"``
    (with the deltas of :func:`backprop`), or a SymPy expression with
    ``wrt``. A size such as the batch ``N`` is given the value ``batch``.

    >>> print(verify_matrix("dB = dC A^T", "C = A B"))
    ✗ dB is wrong: dC·Aᵀ is undefined: dC is 2×4 and Aᵀ is 3×2, and the 4 columns of dC do not match the 3 rows of Aᵀ; dB must be 3×4, the shape of B
      claimed:  dC·Aᵀ
      correct:  Aᵀ·dC
      shapes:   A 2×3, B 3×4, dC 2×4
    >>> verify_matrix("dA = dC B^T", "C = A B").ok
    True
    """
    if isinstance(model, str):
        model = model_from_text(model)
    if not isinstance(model, MatrixModel):
        raise TypeError(f"verify_matrix needs a MatrixModel or stage text such as 'C = A B', not {model!r}")
    has_loss = len(model.outputs) == 1 and not is_matrix(model.outputs[0])
    derivation = backprop(model) if has_loss else None
    deltas = derivation.deltas if derivation else ()
    table = _table(model, deltas)

    tree, claimed_expr = None, None
    if isinstance(claim, str):
        if claim.count("=") > 1:
            raise ClaimError(f"a claim has at most one '=': {claim!r}")
        if "=" in claim:
            left, right = claim.split("=")
            match = _SUBJECT.match(left.replace("δ", "delta"))
            if not match:
                raise ClaimError(f"the left side {left.strip()!r} must read dX or dL/dX")
            wrt = wrt or match.group("wrt") or match.group("adjoint")
            claim = right
        tree = parse_matrix(claim)
    elif isinstance(claim, sp.Equality):
        claimed_expr = claim.rhs
    else:
        claimed_expr = sp.sympify(claim, strict=True)
    if wrt is None:
        raise ClaimError("say which matrix the claim is the gradient of (wrt=..., or write 'dB = ...')")
    target = model.symbol(wrt)
    used = names_in(tree) if tree is not None else {str(x) for x in claimed_expr.free_symbols}
    adjoints = {n for n in used if n.startswith("d") and n[1:] in table and n in table}
    consumers = [(s, e) for s, e in model.stages if target in e.free_symbols]
    if adjoints or not has_loss:
        # written with the adjoints of the stages that use the target: one step of the backward pass
        subject = f"d{target}"
        if not consumers:
            raise ClaimError(f"{target} is not used by any stage, so d{target} has no rule")
        parts = [backward_rule(e, table[f"d{s}"], target) for s, e in consumers]
        truth = parts[0] if len(parts) == 1 else sp.MatAdd(*parts)
    else:
        subject = f"d{model.output}/d{target}"
        truth = matrix_grad(model, target)
    expected = text(truth)
    # the shapes a reader needs: what the claim uses, the target, what the correct result uses
    involved = {n for n in used if n in table} | {str(target)} | {str(x) for x in truth.free_symbols}
    shown = {n: shape_text(table[n].shape) for n in sorted(involved) if n in table and is_matrix(table[n])}
    verdict = Verdict("wrong", "matrix", subject, show(tree) if tree is not None else text(claimed_expr), expected,
                      shapes=shown)

    # 1. shapes: a product that cannot be formed, or a result of the wrong shape
    if tree is not None:
        try:
            shape = _shape(tree, table)
        except ShapeError as error:
            verdict.diagnosis = (f"{error}; {subject} must be {shape_text(target.shape)}, "
                                 f"the shape of {target}")
            return verdict
        claimed_expr = _sympy(tree, table, _softmax_axis(model))
    else:
        shape = getattr(claimed_expr, "shape", ())
    transposed = False
    if tuple(shape) != tuple(target.shape):
        verdict.diagnosis = (f"the claim is {shape_text(shape)} but {subject} must be "
                             f"{shape_text(target.shape)}, the shape of {target}")
        if tuple(shape) != tuple(reversed(target.shape)) or not isinstance(claimed_expr, sp.MatrixExpr):
            return verdict
        # the right values in the wrong layout? compare its transpose (``x dhᵀ`` for ``dh xᵀ``)
        claimed_expr, transposed = sp.Transpose(claimed_expr), True

    # 2. values: equal at random matrices, with the deltas and stages written out
    rng = np.random.default_rng(seed)
    sizes = {s: batch for s in model.sizes}
    closed = derivation.closed if derivation else (lambda e: e.xreplace(model.substitutions()))
    left, right = closed(claimed_expr), closed(truth)
    leaves = set(left.free_symbols | right.free_symbols)
    distributions = {e.args[0]: e.axis for _, e in model.stages for e in sp.preorder_traversal(e)
                     if isinstance(e, CrossEntropy)}
    claimed_values, truth_values = [], []
    for _ in range(points):
        values = random_values(sorted((s for s in leaves if s not in model.sizes), key=str), rng, sizes,
                               distributions)
        values.update({s: float(v) for s, v in sizes.items()})
        claimed_values.append(np.asarray(evaluate(left, values, sizes), dtype=float))
        truth_values.append(np.asarray(evaluate(right, values, sizes), dtype=float))
    verdict.points = points
    agree = all(np.allclose(c, t, rtol=1e-9, atol=1e-12) for c, t in zip(claimed_values, truth_values))
    if transposed:
        if agree:
            verdict.diagnosis += (f": the claim is the transpose of {subject} (its factors in the wrong order "
                                  "and transposed)")
        return verdict
    if agree:
        verdict.status = "observed"  # equal at every draw: matrix claims are not proved
    else:
        verdict.diagnosis = _diagnose(claimed_values, truth_values) or _missing_factor(
            model, left, right, leaves, rng, sizes, distributions, closed) or _difference(
            claimed_values, truth_values, subject)
    if derivation and derivation.notes:
        verdict.notes += derivation.notes
    return verdict


def _missing_factor(model, left, right, leaves, rng, sizes, distributions, closed) -> str | None:
    """``⊙ f'(z)`` of one of the model's activations, if multiplying the claim by it gives the gradient."""
    for stage, expr in model.stages:
        if not (isinstance(expr, Elementwise) and expr.order == 0 and left.shape == expr.shape):
            continue
        factor = Elementwise(expr.name, expr.arg, 1)
        candidate = hadamard(left, closed(factor))
        values = random_values([s for s in (leaves | candidate.free_symbols) if s not in model.sizes],
                               rng, sizes, distributions)
        values.update({s: float(v) for s, v in sizes.items()})
        if np.allclose(evaluate(candidate, values, sizes), evaluate(right, values, sizes), rtol=1e-9, atol=1e-12):
            return f"missing the local-derivative factor ⊙ {text(factor)} of {stage} = {text(expr)}"
    return None


def _softmax_axis(model: MatrixModel) -> int:
    return next((e.axis for _, e in model.stages if isinstance(e, Softmax)), 0)
