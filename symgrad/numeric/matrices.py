"""Matrix expressions evaluated with NumPy, and random values of a model's matrices: the numeric half of a check."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, MatrixSymbol, OneMatrix, Symbol, Transpose
from sympy import ZeroMatrix

from ..core.ops import op
from ..core.expressions import Elementwise, Softmax, SquaredNorm, TargetLoss

__all__ = ["evaluate", "random_values"]


def _elementwise(name: str, order: int, a: np.ndarray) -> np.ndarray:
    """f(a) or f'(a) entry by entry, from the op table's forward and hand-written backward."""
    entry = op(name)
    out = entry.forward(a)
    return out if order == 0 else entry.backward(np.ones_like(a), out, a)[0]


def _softmax(a: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def evaluate(expr, values: Mapping, sizes: Mapping | None = None):
    """The value of a matrix expression (or a loss) at NumPy values of its symbols (2-D arrays, as declared).

    >>> W, x = MatrixSymbol('W', 2, 2), MatrixSymbol('x', 2, 1)
    >>> evaluate(Elementwise('relu', W * x), {W: np.array([[1.0, -1.0], [2.0, 0.0]]), x: np.ones((2, 1))})
    array([[0.],
           [2.]])
    """
    sizes = {k: int(v) for k, v in (sizes or {}).items()}

    def dims(shape):
        return tuple(int(sp.sympify(n).xreplace(sizes)) for n in shape)

    def value(e):
        if isinstance(e, (MatrixSymbol, Symbol)):
            if e not in values:
                raise KeyError(f"no value for {e}")
            return values[e]
        if isinstance(e, OneMatrix):
            return np.ones(dims(e.shape))
        if isinstance(e, ZeroMatrix):
            return np.zeros(dims(e.shape))
        if isinstance(e, MatAdd):
            return sum(value(a) for a in e.args)
        if isinstance(e, MatMul):
            coefficient, matrices = e.as_coeff_mmul()
            factors = matrices.args if isinstance(matrices, MatMul) else (matrices,)
            product = value(factors[0])
            for f in factors[1:]:
                product = product @ value(f)
            return float(value(coefficient)) * product
        if isinstance(e, Transpose):
            return value(e.arg).T
        if isinstance(e, HadamardProduct):
            product = value(e.args[0])
            for f in e.args[1:]:
                product = product * value(f)
            return product
        if isinstance(e, HadamardPower):
            return value(e.base) ** float(value(e.exp))
        if isinstance(e, Elementwise):
            return _elementwise(e.name, e.order, value(e.arg))
        if isinstance(e, Softmax):
            return _softmax(value(e.arg), e.axis)
        if isinstance(e, TargetLoss):
            # the table's forms take the samples as rows: a column's samples (axis 0) are transposed
            y, p = value(e.args[0]), value(e.args[1])
            y, p = (y.T, p.T) if e.axis == 0 else (y, p)
            return float(op(e.op_name).forward(y, p))
        if isinstance(e, SquaredNorm):
            return float(np.sum(value(e.args[0]) ** 2))
        if isinstance(e, sp.Add):
            return sum(value(a) for a in e.args)
        if isinstance(e, sp.Mul):
            product = 1.0
            for a in e.args:
                product = product * value(a)
            return product
        if isinstance(e, sp.Pow):
            return value(e.base) ** value(e.exp)
        if e.is_number:
            return float(e)
        raise TypeError(f"cannot evaluate {e} (a {type(e).__name__})")

    return value(expr)


def random_values(symbols, rng: np.random.Generator, sizes: Mapping | None = None,
                  distributions=()) -> dict:
    """Random values for matrix (and scalar) symbols; those in ``distributions`` get positive columns or rows
    that sum to 1 (targets of a cross-entropy: ``distributions`` maps the symbol to its class axis)."""
    sizes = {k: int(v) for k, v in (sizes or {}).items()}
    out = {}
    for s in symbols:
        if isinstance(s, MatrixSymbol):
            shape = tuple(int(sp.sympify(n).xreplace(sizes)) for n in s.shape)
            if s in dict(distributions):
                axis = dict(distributions)[s]
                raw = rng.uniform(0.1, 1.0, size=shape)
                out[s] = raw / raw.sum(axis=axis, keepdims=True)
            else:
                out[s] = rng.uniform(-1.5, 1.5, size=shape)
        else:
            out[s] = float(rng.uniform(0.1, 1.0))
    return out
