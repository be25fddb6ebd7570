"""Loss functions of the lectures as SymPy expressions: L1, L2, MSE, hinge, zero-one, cross-entropy, NLL.

Every loss takes the target first and the prediction second, ``loss(y, yhat)``.
A pair of scalars gives one sample's loss; a pair of equal-length lists sums
over the components. Pass ``over=(k, 1, n)`` to sum over a data set written
with ``IndexedBase`` symbols and a free index ``k``.
"""
from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
from sympy import Abs, Max, Piecewise, Sum, log

__all__ = [
    "squared_error", "l2", "half_squared_error", "mse", "l1", "hinge", "zero_one",
    "cross_entropy", "negative_log_likelihood", "nll",
    "l1_regularization", "l2_regularization",
]


def _is_seq(value) -> bool:
    return isinstance(value, (list, tuple)) or (
        isinstance(value, sp.MatrixBase) and 1 in value.shape
    )


def _pairs(y, yhat, loss_name: str):
    if _is_seq(y) != _is_seq(yhat):
        raise ValueError(f"{loss_name}: target and prediction must both be scalars or both be lists")
    if not _is_seq(y):
        return [(sp.sympify(y, strict=True), sp.sympify(yhat, strict=True))]
    y, yhat = list(y), list(yhat)
    if len(y) != len(yhat):
        raise ValueError(
            f"{loss_name}: target has {len(y)} components but prediction has {len(yhat)}"
        )
    if not y:
        raise ValueError(f"{loss_name}: no samples")
    return [(sp.sympify(a, strict=True), sp.sympify(b, strict=True)) for a, b in zip(y, yhat)]


def _summed(term, y, yhat, over, loss_name):
    total = sp.Add(*[term(a, b) for a, b in _pairs(y, yhat, loss_name)])
    return Sum(total, over) if over is not None else total


def squared_error(y, yhat, over=None) -> sp.Expr:
    """The squared error (L2 loss) ``(y - yhat)**2``.

    >>> from sympy import symbols
    >>> y, yhat = symbols('y yhat')
    >>> squared_error(y, yhat)
    (y - yhat)**2
    """
    return _summed(lambda a, b: (a - b) ** 2, y, yhat, over, "squared_error")


l2 = squared_error


def half_squared_error(y, yhat, over=None) -> sp.Expr:
    """Half the squared error ``(y - yhat)**2 / 2``, whose derivative drops the 2.

    >>> from sympy import symbols
    >>> y, yhat = symbols('y yhat')
    >>> half_squared_error(y, yhat)
    (y - yhat)**2/2
    """
    return _summed(lambda a, b: (a - b) ** 2 / 2, y, yhat, over, "half_squared_error")


def mse(y, yhat, over=None) -> sp.Expr:
    """Mean squared error over a data set.

    With lists of concrete samples it is their mean; with ``over=(k, 1, n)``
    it is ``Sum((y[k] - yhat_k)**2, (k, 1, n)) / n``.

    >>> from sympy import IndexedBase, symbols
    >>> y, x = IndexedBase('y'), IndexedBase('x')
    >>> w, k, n = symbols('w k n')
    >>> mse(y[k], w*x[k], over=(k, 1, n))
    Sum((-w*x[k] + y[k])**2, (k, 1, n))/n
    >>> mse([1, 2], [w, 2*w])
    (1 - w)**2/2 + (2 - 2*w)**2/2
    """
    if over is not None:
        index, low, high = over
        return squared_error(y, yhat, over=over) / (high - low + 1)
    pairs = _pairs(y, yhat, "mse")
    return sp.Add(*[(a - b) ** 2 for a, b in pairs]) / len(pairs)


def l1(y, yhat, over=None) -> sp.Expr:
    """The absolute error (L1 loss) ``|y - yhat|``.

    >>> from sympy import symbols
    >>> y, yhat = symbols('y yhat')
    >>> l1(y, yhat)
    Abs(y - yhat)
    """
    return _summed(lambda a, b: Abs(a - b), y, yhat, over, "l1")


def hinge(y, yhat, over=None) -> sp.Expr:
    """The hinge loss ``max(0, 1 - y*yhat)`` for labels ``y`` in {-1, +1}.

    >>> from sympy import symbols
    >>> y, yhat = symbols('y yhat')
    >>> hinge(y, yhat)
    Max(0, -y*yhat + 1)
    """
    return _summed(lambda a, b: Max(0, 1 - a * b), y, yhat, over, "hinge")


def zero_one(y, yhat, over=None) -> sp.Expr:
    """The zero-one loss ``1[yhat != y]``: 1 for a wrong prediction, 0 for a right one.

    Its derivative is 0 wherever it exists, which is why it is not trained on.

    >>> from sympy import symbols
    >>> y, yhat = symbols('y yhat')
    >>> zero_one(y, yhat).subs({y: 1, yhat: 1}), zero_one(y, yhat).subs({y: 1, yhat: 0})
    (0, 1)
    """
    return _summed(lambda a, b: Piecewise((0, sp.Eq(a, b)), (1, True)), y, yhat, over, "zero_one")


def cross_entropy(y, p, over=None) -> sp.Expr:
    """Cross-entropy ``-sum_i y_i log p_i`` of a target distribution ``y`` and predicted ``p``.

    >>> cross_entropy([0, 1, 0], [0.2, 0.7, 0.1])
    0.356674943938732
    """
    return -_summed(lambda a, b: a * log(b), y, p, over, "cross_entropy")


def negative_log_likelihood(p, over=None) -> sp.Expr:
    """Negative log-likelihood ``-sum_i log p_i`` of the probabilities given to the observed labels.

    >>> from sympy import IndexedBase, symbols
    >>> p = IndexedBase('p'); i, n = symbols('i n')
    >>> negative_log_likelihood(p[i], over=(i, 1, n))
    -Sum(log(p[i]), (i, 1, n))
    """
    values = list(p) if _is_seq(p) else [p]
    total = sp.Add(*[log(sp.sympify(v, strict=True)) for v in values])
    return -(Sum(total, over) if over is not None else total)


nll = negative_log_likelihood


def _weights(weights: Sequence | sp.Expr):
    return list(weights) if _is_seq(weights) else [weights]


def l1_regularization(weights, strength=sp.Symbol("lambda"), over=None) -> sp.Expr:
    """The L1 penalty ``lambda * sum |w|`` (encourages sparse weights).

    >>> from sympy import symbols
    >>> l1_regularization(symbols('w1 w2'))
    lambda*(Abs(w1) + Abs(w2))
    """
    total = sp.Add(*[Abs(w) for w in _weights(weights)])
    return strength * (Sum(total, over) if over is not None else total)


def l2_regularization(weights, strength=sp.Symbol("lambda"), over=None) -> sp.Expr:
    """The L2 penalty (weight decay) ``lambda * sum w**2``.

    >>> from sympy import symbols
    >>> l2_regularization(symbols('w1 w2'))
    lambda*(w1**2 + w2**2)
    """
    total = sp.Add(*[w**2 for w in _weights(weights)])
    return strength * (Sum(total, over) if over is not None else total)
