"""The one table of operations: SymPy form, NumPy forward, local derivative rule, label and LaTeX.

Every consumer reads this table: the graph engine runs ``forward`` and
``backward``, the renderer draws ``label``, the printers use ``latex``.
Adding an operation is one :class:`Op` entry in :data:`OPS`.

The ``backward`` rules are written by hand, independently of SymPy's ``diff``:
agreement between the two is the evidence that both are right (the tests
check every entry against ``sympy.diff`` and against finite differences).

Conventions at non-differentiable points, shared with the symbolic side:

* ``relu'(0) = 0`` (``Heaviside(a, 0)``),
* ``abs'(0) = 0`` (``sign(0) = 0``),
* ``max`` at a tie gives each tied argument half the gradient
  (SymPy's ``Heaviside(0) = 1/2``), as PyTorch's ``maximum`` does.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

import numpy as np
import sympy as sp

from .functions import relu, sigmoid, softmax, softplus

__all__ = ["Op", "OPS", "MATRIX_OPS", "op", "op_for_function"]


@dataclass(frozen=True)
class Op:
    """One operation, described once for every view of a model."""

    name: str
    #: symbol drawn in a graph's operation node
    label: str
    #: number of arguments; ``None`` for n-ary operations (two or more)
    arity: int | None
    #: build the SymPy form from SymPy arguments
    sympy: Callable[..., object]
    #: LaTeX of the operation applied to already-typeset arguments
    latex: Callable[..., str]
    #: numeric forward pass on floats or NumPy arrays
    forward: Callable[..., np.ndarray]
    #: ``backward(g, out, *args)``: the gradient reaching each argument when
    #: ``g`` reaches the output; ``out`` is the cached forward value
    backward: Callable[..., tuple]
    #: where the operation is defined: "real", "positive" (first argument) or
    #: "nonzero" (last argument); used to draw test points
    domain: str = "real"
    #: the SymPy function class this op corresponds to, for ops that are one
    sympy_function: type | None = None

    def __repr__(self) -> str:
        return f"Op({self.name!r}, label={self.label!r})"


def _stable_sigmoid(a):
    # e^-a overflows to inf only where the answer is 0 anyway, and 1/(1 + inf) is exactly 0:
    # silence that one warning rather than pay 3x for an exp(-logaddexp(0, -a)) form
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(a, dtype=float)))


def _max_backward(g, out, *args):
    # each argument gets g * H(a_i - max(others)), with H(0) = 1/2 as in SymPy
    grads = []
    for i, a in enumerate(args):
        others = reduce(np.maximum, [b for j, b in enumerate(args) if j != i])
        step = np.where(a > others, 1.0, np.where(a == others, 0.5, 0.0))
        grads.append(g * step)
    return tuple(grads)


def _mul_backward(g, out, *args):
    # product of the other factors; not out / a_i, which fails where a_i = 0
    return tuple(
        g * reduce(np.multiply, [b for j, b in enumerate(args) if j != i], 1.0)
        for i in range(len(args))
    )


def _softmax_forward(z):
    z = np.asarray(z, dtype=float)
    shifted = np.exp(z - z.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _softmax_backward(g, out, z):
    # Jacobian-vector product of softmax: p * (g - <g, p>)
    return (out * (g - np.sum(g * out, axis=-1, keepdims=True)),)


def _matmul_backward(g, out, a, b):
    # C = A B: dA = dC Bᵀ, dB = Aᵀ dC; a 1-D right factor is a column, a 1-D left factor a row
    a, b = np.asarray(a), np.asarray(b)
    left = a if a.ndim == 2 else a.reshape(1, -1)
    right = b if b.ndim == 2 else b.reshape(-1, 1)
    upstream = np.reshape(g, (left.shape[0], right.shape[1]))
    return (upstream @ right.T).reshape(a.shape), (left.T @ upstream).reshape(b.shape)


def _samples(p) -> int:
    # the class axis is the last: a 1-D vector is one sample, the rows of a matrix are samples
    return max(1, np.size(p) // np.shape(p)[-1]) if np.ndim(p) else 1


def _cross_entropy_forward(y, p):
    return -np.sum(np.asarray(y) * np.log(p)) / _samples(p)


def _cross_entropy_backward(g, out, y, p):
    scale = g / _samples(p)
    return -scale * np.log(p), -scale * np.asarray(y) / p


def _half_squared_error_forward(y, yhat):
    residual = np.asarray(yhat) - y
    return 0.5 * np.sum(residual * residual) / _samples(yhat)


def _half_squared_error_backward(g, out, y, yhat):
    residual = (np.asarray(yhat) - y) * (g / _samples(yhat))
    return -residual, residual


def _matrix(name):
    # the matrix expression classes live in symgrad.matrix, which imports this table's package:
    # look them up when an op is used, not when the table is built
    def build(*args):
        from . import expressions
        return getattr(expressions, name)(*args)
    return build


def _paren(s: str) -> str:
    return rf"\left({s}\right)"


_TABLE = [
    Op("add", "+", None, lambda *a: sp.Add(*a), lambda *a: " + ".join(a),
       lambda *a: reduce(np.add, a), lambda g, out, *a: tuple(g for _ in a)),
    Op("sub", "−", 2, lambda a, b: a - b, lambda a, b: f"{a} - {b}",
       np.subtract, lambda g, out, a, b: (g, -g)),
    Op("mul", "×", None, lambda *a: sp.Mul(*a), lambda *a: r" \cdot ".join(a),
       lambda *a: reduce(np.multiply, a), _mul_backward),
    Op("neg", "−", 1, lambda a: -a, lambda a: f"-{a}",
       np.negative, lambda g, out, a: (-g,)),
    Op("div", "÷", 2, lambda a, b: a / b, lambda a, b: rf"\frac{{{a}}}{{{b}}}",
       np.divide, lambda g, out, a, b: (g / b, -g * out / b), domain="nonzero"),
    Op("pow", "^", 2, lambda a, p: a**p, lambda a, p: f"{{{a}}}^{{{p}}}",
       np.power, lambda g, out, a, p: (g * p * np.power(a, p - 1), g * out * np.log(a)),
       domain="positive", sympy_function=sp.Pow),
    Op("square", "^2", 1, lambda a: a**2, lambda a: f"{{{a}}}^{{2}}",
       np.square, lambda g, out, a: (2 * g * a,)),
    Op("exp", "exp", 1, sp.exp, lambda a: rf"e^{{{a}}}",
       np.exp, lambda g, out, a: (g * out,), sympy_function=sp.exp),
    Op("log", "log", 1, sp.log, lambda a: rf"\log{_paren(a)}",
       np.log, lambda g, out, a: (g / a,), domain="positive", sympy_function=sp.log),
    Op("abs", "|·|", 1, sp.Abs, lambda a: rf"\left|{a}\right|",
       np.abs, lambda g, out, a: (g * np.sign(a),), sympy_function=sp.Abs),
    Op("max", "max", None, lambda *a: sp.Max(*a), lambda *a: rf"\max{_paren(', '.join(a))}",
       lambda *a: reduce(np.maximum, a), _max_backward, sympy_function=sp.Max),
    Op("sigmoid", "σ", 1, sigmoid, lambda a: rf"\sigma{_paren(a)}",
       _stable_sigmoid, lambda g, out, a: (g * out * (1 - out),), sympy_function=sigmoid),
    Op("relu", "ReLU", 1, relu, lambda a: rf"\operatorname{{ReLU}}{_paren(a)}",
       lambda a: np.maximum(a, 0.0), lambda g, out, a: (g * (np.asarray(a) > 0),),
       sympy_function=relu),
    Op("tanh", "tanh", 1, sp.tanh, lambda a: rf"\tanh{_paren(a)}",
       np.tanh, lambda g, out, a: (g * (1 - out * out),), sympy_function=sp.tanh),
    Op("softplus", "softplus", 1, softplus, lambda a: rf"\operatorname{{softplus}}{_paren(a)}",
       lambda a: np.logaddexp(0.0, a), lambda g, out, a: (g * _stable_sigmoid(a),),
       sympy_function=softplus),
    Op("softmax", "softmax", 1, softmax, lambda z: rf"\operatorname{{softmax}}{_paren(z)}",
       _softmax_forward, _softmax_backward),
    # -- matrices: the class axis is the last, so a batch's rows are its samples ------------------
    Op("matmul", "@", 2, lambda a, b: a * b, lambda a, b: f"{a} {b}", np.matmul, _matmul_backward),
    Op("transpose", "ᵀ", 1, sp.transpose, lambda a: f"{{{a}}}^{{T}}",
       np.transpose, lambda g, out, a: (np.transpose(g),)),
    Op("cross_entropy", "CE", 2, _matrix("CrossEntropy"),
       lambda y, p: rf"\operatorname{{CE}}{_paren(f'{y}, {p}')}",
       _cross_entropy_forward, _cross_entropy_backward),
    Op("half_squared_error", "½‖·‖²", 2, _matrix("HalfSquaredError"),
       lambda y, yhat: rf"\tfrac{{1}}{{2}}\left\lVert {yhat} - {y}\right\rVert^{{2}}",
       _half_squared_error_forward, _half_squared_error_backward),
    Op("squared_norm", "‖·‖²", 1, _matrix("SquaredNorm"), lambda a: rf"\left\lVert {a}\right\rVert^{{2}}",
       lambda a: np.sum(np.square(a)), lambda g, out, a: (2 * g * np.asarray(a),)),
]

#: the operations on matrices (their arguments are not scalars)
MATRIX_OPS = frozenset({"matmul", "transpose", "cross_entropy", "half_squared_error", "squared_norm"})

#: every operation by name, in table order
OPS: dict[str, Op] = {entry.name: entry for entry in _TABLE}

_BY_FUNCTION = {entry.sympy_function: entry for entry in _TABLE if entry.sympy_function}


def op(name: str) -> Op:
    """The table entry of an operation, with an error that lists the known ones.

    >>> op("sigmoid").label
    'σ'
    """
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown operation {name!r} (must be one of {sorted(OPS)})") from None


def op_for_function(func: type) -> Op | None:
    """The table entry for a SymPy function class such as ``sympy.exp`` or ``sigmoid``, if any."""
    return _BY_FUNCTION.get(func)
