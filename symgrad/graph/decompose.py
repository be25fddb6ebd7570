"""How an expression reads as the lectures' operations: ``a - b`` is one sub node, ``x**2`` a square.

SymPy stores ``a - b`` as ``Add(a, Mul(-1, b))`` and ``a/b`` as
``Mul(a, Pow(b, -1))``; a computational graph on a slide has a ``−`` node and
a ``÷`` node. :func:`decompose` splits one expression into the op-table
operation at its top and that operation's arguments.

Where the slides' form has no finite value at a saturated point,
:func:`fuse` reads the composition as one fused op of the table, the stable
form the compiled code uses: ``log(1 - σ(a))`` is the ``log(1 − σ)`` node
computing ``-softplus(a)`` from ``a`` (``σ(40)`` is 1 to double precision,
so ``1 - σ(40)`` would be 0 and its log ``-inf``), ``log(e^a + e^b)`` is one
log-sum-exp node, ``CE(y, softmax(z))`` and ``BCE(y, σ(z))`` read ``z``.
"""
from __future__ import annotations

import sympy as sp
from sympy import HadamardProduct, Indexed, IndexedBase, MatAdd, MatMul, MatrixSymbol, OneMatrix, Transpose
from sympy.matrices.expressions import MatrixExpr

from ..core.expressions import BinaryCrossEntropy, CrossEntropy, Elementwise, Softmax, SquaredNorm, TargetLoss
from ..core.functions import sigmoid
from ..core.ops import OPS, op_for_function
from ..errors import GraphError

__all__ = ["GraphError", "decompose", "fuse", "class_axis", "unsupported_message"]



def _negative(term: sp.Expr) -> bool:
    return bool(term.as_coeff_Mul()[0].is_negative)


def _join(cls, items: list) -> sp.Expr:
    return items[0] if len(items) == 1 else cls(*items)


def _term_order(term: sp.Expr) -> int:
    # w1*x + b and q + 1, as the slides write them: compound terms, then symbols, then numbers
    return 2 if term.is_number else 1 if term.is_Symbol else 0


def decompose(expr: sp.Expr) -> tuple[str, list]:
    """The operation a (non-leaf) SymPy node is drawn as, and the SymPy expressions of its arguments."""
    if isinstance(expr, (MatrixExpr, *_MATRIX_SCALARS)):
        return _decompose_matrix(expr)
    if isinstance(expr, sp.Add):
        positive = sorted((t for t in expr.args if not _negative(t)), key=_term_order)
        negated = sorted((-t for t in expr.args if _negative(t)), key=_term_order)
        if not negated:
            return "add", positive
        if not positive:
            return "neg", [_join(sp.Add, negated)]
        return "sub", [_join(sp.Add, positive), _join(sp.Add, negated)]
    if isinstance(expr, sp.Mul) or (isinstance(expr, sp.Pow) and _reciprocal(expr)):
        return _decompose_product(expr)
    if isinstance(expr, sp.Pow):
        base, exponent = expr.args
        return ("square", [base]) if exponent == 2 else ("pow", [base, exponent])
    entry = op_for_function(expr.func)
    if entry is not None and entry.name != "pow":
        if entry.arity is not None and len(expr.args) != entry.arity:
            raise GraphError(f"{expr}: {entry.name} takes {entry.arity} argument(s), got {len(expr.args)}")
        return entry.name, list(expr.args)
    raise GraphError(unsupported_message(expr))


# -- fused ops: the stable forms of compositions that saturate ----------------------------------

def _no_stages(symbol):
    return None


def _inner(expr, definition):
    """``(what expr computes, the expression whose value that is)``: a stage symbol reads as its definition."""
    if isinstance(expr, (sp.Symbol, MatrixSymbol)):
        defined = definition(expr)
        if defined is not None:
            return defined, expr
    return expr, expr


def _is_exp_sum(e) -> bool:
    return isinstance(e, sp.Add) and all(isinstance(t, sp.exp) for t in e.args)


def _fuse_log(arg, definition):
    inner, read = _inner(arg, definition)
    if isinstance(inner, sigmoid):  # log σ(a) = -softplus(-a)
        return "log_sigmoid", [inner.args[0]], read
    if isinstance(arg, sp.Add) and len(arg.args) == 2 and sp.S.One in arg.args:
        other = arg.args[0] if arg.args[1] == sp.S.One else arg.args[1]
        inner, read = _inner(-other, definition)
        if isinstance(inner, sigmoid):  # log(1 - σ(a)) = -softplus(a)
            return "log_one_minus_sigmoid", [inner.args[0]], read
        if isinstance(other, sp.exp):  # log(1 + e^a) = softplus(a)
            return "softplus", [other.args[0]], None
    if _is_exp_sum(arg):  # log Σ e^(a_i), shifted by the largest a_i
        return "logsumexp", [t.args[0] for t in arg.args], None
    if isinstance(arg, sp.Mul) and len(arg.args) == 2:  # log of a softmax: a - log Σ e^(b_i)
        power = next((f for f in arg.args if isinstance(f, sp.Pow) and f.exp == -1 and _is_exp_sum(f.base)), None)
        top = next((f for f in arg.args if isinstance(f, sp.exp)), None)
        if power is not None and top is not None:
            return "sub", [top.args[0], sp.log(power.base)], None
    return None


def fuse(expr, definition=_no_stages) -> tuple[str, list, sp.Basic | None] | None:
    """The fused op of the table that computes ``expr`` stably, its arguments, and what the slides read.

    ``definition(symbol)`` gives a stage's expression (``None`` for a
    leaf), so that ``log(1 - f1)`` with ``f1 = σ(a1)`` is fused too. The
    third item is the expression whose value the slides' form reads (the
    stage ``f1``, or ``σ(a)`` itself), whose gradient the graph shows with the
    op's ``read_backward``; ``None`` when there is none. ``None`` when no
    stable form applies.

    >>> from sympy import symbols, exp, log
    >>> a, b = symbols('a b')
    >>> fuse(log(1 - sigmoid(a)))
    ('log_one_minus_sigmoid', [a], sigmoid(a))
    >>> fuse(log(exp(a) + exp(b)))
    ('logsumexp', [a, b], None)
    >>> fuse(log(a)) is None
    True
    """
    if isinstance(expr, sp.log):
        return _fuse_log(expr.args[0], definition)
    if isinstance(expr, (CrossEntropy, BinaryCrossEntropy)):
        target, prediction = expr.args[:2]
        inner, read = _inner(prediction, definition)
        if isinstance(expr, CrossEntropy) and isinstance(inner, Softmax) and inner.axis == expr.axis:
            return "softmax_cross_entropy", [target, inner.arg], read
        if isinstance(expr, BinaryCrossEntropy) and isinstance(inner, Elementwise) and inner.name == "sigmoid" \
                and inner.order == 0:
            return "sigmoid_binary_cross_entropy", [target, inner.arg], read
    return None


# -- matrices: one node per layer operation ----------------------------------------------------

_MATRIX_SCALARS = (TargetLoss, SquaredNorm)


def _bias(term):
    """The row ``bᵀ`` of a broadcast ``1·bᵀ`` (a bias added to every row of a batch), else ``None``."""
    if isinstance(term, MatMul) and len(term.args) == 2 and isinstance(term.args[0], OneMatrix) \
            and isinstance(term.args[1], Transpose) and term.args[1].arg.shape[1] == 1:
        return term.args[1]
    return None


def _is_leaf(term) -> bool:
    """A matrix symbol or its transpose (``b``, ``bᵀ``), which the slides write after the products."""
    return isinstance(term, MatrixSymbol) or (isinstance(term, Transpose) and isinstance(term.arg, MatrixSymbol))


def class_axis(expr) -> int | None:
    """The class axis of a softmax or a loss (0: each column is a sample, 1: each row is), else ``None``.

    The op table's softmax and losses take samples as rows; the graph hands
    an axis-0 node (one sample's column ``z``) the transposes.

    >>> from sympy import MatrixSymbol
    >>> class_axis(Softmax(MatrixSymbol('z', 3, 1))), class_axis(MatrixSymbol('z', 3, 1))
    (0, None)
    """
    if isinstance(expr, (Softmax, TargetLoss)):
        return expr.axis
    return None


def _decompose_matrix(expr) -> tuple[str, list]:
    if isinstance(expr, MatAdd):
        # NumPy broadcasts a row over the rows of a batch: 1·bᵀ is drawn as the row bᵀ
        terms = [_bias(t) or t for t in expr.args]
        negated = [t for t in terms if isinstance(t, MatMul) and t.as_coeff_mmul()[0].is_negative]
        # W·x + b, as the slides write it: products first, then the leaves
        positive = sorted((t for t in terms if t not in negated), key=_is_leaf)
        if not negated:
            return "add", positive
        rest = [_bias(-t) or -t for t in negated]
        if not positive:
            return "neg", [_join(MatAdd, rest)]
        return "sub", [_join(MatAdd, positive), _join(MatAdd, rest)]
    if isinstance(expr, MatMul):
        coefficient, matrices = expr.as_coeff_mmul()
        if coefficient == -1:
            return "neg", [matrices]
        if coefficient != 1:
            return "mul", [coefficient, matrices]
        if _bias(expr) is not None:
            raise GraphError(f"{expr} (a bias repeated over a batch) is drawn only as a term of a sum")
        factors = list(matrices.args)
        return "matmul", [_join(MatMul, factors[:-1]), factors[-1]]
    if isinstance(expr, Transpose):
        return "transpose", [expr.arg]
    if isinstance(expr, HadamardProduct):
        return "mul", list(expr.args)
    if isinstance(expr, Elementwise) and expr.order == 0:
        return expr.name, [expr.arg]
    if isinstance(expr, Softmax):
        return "softmax", [expr.arg]
    if isinstance(expr, TargetLoss):
        return expr.op_name, list(expr.args[:2])
    if isinstance(expr, SquaredNorm):
        return "squared_norm", [expr.args[0]]
    raise GraphError(f"cannot build a graph node for {expr} (a SymPy {type(expr).__name__}): the operation "
                     f"table has no entry for it (known operations: {', '.join(sorted(OPS))})")


def _reciprocal(power: sp.Pow) -> bool:
    exponent = power.exp
    return bool(exponent.is_Number and exponent.is_negative)


def _decompose_product(expr: sp.Expr) -> tuple[str, list]:
    # a product reads as numerator / denominator: (y - f)**2/2 is a div by 2, not a mul by 1/2
    coefficient, rest = expr.as_coeff_Mul()
    if coefficient.is_negative:
        return "neg", [-expr]
    numerator, denominator = [], []
    if coefficient.is_Rational and coefficient.q != 1:
        numerator += [sp.Integer(coefficient.p)] if coefficient.p != 1 else []
        denominator.append(sp.Integer(coefficient.q))
    elif coefficient != 1:
        numerator.append(coefficient)
    for factor in sp.Mul.make_args(rest):
        if isinstance(factor, sp.Pow) and _reciprocal(factor):
            denominator.append(factor.base ** -factor.exp)
        else:
            numerator.append(factor)
    if not denominator:
        return "mul", numerator
    top = _join(sp.Mul, numerator) if numerator else sp.S.One
    return "div", [top, _join(sp.Mul, denominator)]


def unsupported_message(expr: sp.Expr) -> str:
    kind = type(expr).__name__
    known = ", ".join(sorted(OPS))
    hint = ""
    if isinstance(expr, (sp.Sum, Indexed, IndexedBase)) or expr.has(Indexed):
        hint = ("; a graph needs concrete scalar symbols, so write the sum out "
                "(e.g. perceptron(3) instead of perceptron(indexed=True))")
    elif isinstance(expr, sp.Piecewise):
        hint = "; a piecewise function (such as the zero-one loss) has no gradient to draw"
    return (f"cannot build a graph node for {expr} (a SymPy {kind}): the operation table has "
            f"no entry for it (known operations: {known}){hint}")


# -- the graph ------------------------------------------------------------------------
