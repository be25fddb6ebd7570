"""A matrix model at small concrete sizes written out component by component, as a scalar symgrad Model.

Deliberately independent of the layer rules (``matrix_rules.py``), and kept
so: this derivation differentiates scalar entries with the scalar sweep,
the layer rules never look at entries. Their agreement, in the tests and in
:func:`symgrad.check_gradients`, is the evidence that both are right.
"""
from __future__ import annotations

from collections.abc import Mapping

import sympy as sp
from sympy import (HadamardPower, HadamardProduct, MatAdd, MatMul, MatrixSymbol, OneMatrix, Symbol, Transpose,
                   ZeroMatrix)

from ..core.model import Model
from ..core.expressions import Elementwise, Softmax, SquaredNorm, TargetLoss, is_matrix
from ..core.matrix_model import MatrixModel
from ..errors import ShapeError

__all__ = ["component_symbols", "explicit", "componentwise", "DEFAULT_BATCH"]

#: the batch size given to a symbolic ``N`` when a model is written out
DEFAULT_BATCH = 2


def _name(matrix: MatrixSymbol, i: int, j: int) -> str:
    # x_k for a column (the lectures' x_k, b_j), W_j_k for a matrix, as networks.fully_connected names them
    if matrix.shape[1] == 1:
        return f"{matrix.name}_{i + 1}"
    return f"{matrix.name}_{i + 1}_{j + 1}"


def component_symbols(matrix: MatrixSymbol) -> sp.ImmutableMatrix:
    """The matrix of scalar symbols naming a concrete matrix's entries, 1-based as the lectures count.

    >>> component_symbols(MatrixSymbol('W', 2, 2))
    Matrix([
    [W_1_1, W_1_2],
    [W_2_1, W_2_2]])
    >>> component_symbols(MatrixSymbol('x', 2, 1)).T
    Matrix([[x_1, x_2]])
    """
    rows, columns = matrix.shape
    if not (sp.sympify(rows).is_Integer and sp.sympify(columns).is_Integer):
        raise ShapeError(f"{matrix} is {rows}×{columns}: give its sizes a value to write out its components")
    return sp.ImmutableMatrix(int(rows), int(columns), lambda i, j: Symbol(_name(matrix, i, j)))


def _sizes(model: MatrixModel | None, sizes: Mapping | None) -> dict:
    chosen = {s: DEFAULT_BATCH for s in (model.sizes if model is not None else ())}
    chosen.update({(Symbol(k) if isinstance(k, str) else k): v for k, v in (sizes or {}).items()})
    if model is not None:  # a size written as a name means the model's own symbol, assumptions and all
        by_name = {str(s): s for s in model.sizes}
        chosen = {by_name.get(str(k), k): v for k, v in chosen.items()}
    return chosen


def _softmax(scores: sp.ImmutableMatrix, axis: int) -> sp.ImmutableMatrix:
    columns = scores if axis == 0 else scores.T
    out = sp.Matrix(columns.shape[0], columns.shape[1], lambda i, j: 0)
    for j in range(columns.shape[1]):
        total = sp.Add(*[sp.exp(columns[k, j]) for k in range(columns.shape[0])])
        for i in range(columns.shape[0]):
            out[i, j] = sp.exp(columns[i, j]) / total
    return sp.ImmutableMatrix(out if axis == 0 else out.T)


def _build(expr):
    """The explicit value of an expression: matrices of component symbols, combined entry by entry."""
    if isinstance(expr, MatrixSymbol):
        return component_symbols(expr)
    if isinstance(expr, (OneMatrix, ZeroMatrix)):
        fill = 1 if isinstance(expr, OneMatrix) else 0
        return sp.ImmutableMatrix(int(expr.shape[0]), int(expr.shape[1]), lambda i, j: fill)
    if isinstance(expr, MatAdd):
        parts = [_build(a) for a in expr.args]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total
    if isinstance(expr, MatMul):
        coefficient, matrices = expr.as_coeff_mmul()
        factors = matrices.args if isinstance(matrices, MatMul) else (matrices,)
        product = _build(factors[0])
        for factor in factors[1:]:
            product = product * _build(factor)
        return _build(coefficient) * product
    if isinstance(expr, Transpose):
        return _build(expr.arg).T
    if isinstance(expr, HadamardProduct):
        parts = [_build(a) for a in expr.args]
        product = parts[0]
        for part in parts[1:]:
            product = product.multiply_elementwise(part)
        return product
    if isinstance(expr, HadamardPower):
        exponent = _build(expr.exp)
        return _build(expr.base).applyfunc(lambda v: v**exponent)
    if isinstance(expr, Elementwise):
        return _build(expr.arg).applyfunc(expr.scalar)
    if isinstance(expr, Softmax):
        return _softmax(_build(expr.arg), expr.axis)
    if isinstance(expr, TargetLoss):  # cross-entropy, binary cross-entropy, squared error
        y, p = (_build(a) for a in expr.args[:2])
        return expr.total(list(y), list(p)) / expr.samples
    if isinstance(expr, SquaredNorm):
        return sp.Add(*[a**2 for a in _build(expr.args[0])])
    if is_matrix(expr):
        raise TypeError(f"cannot write out the components of {expr} (a {type(expr).__name__})")
    if expr.args:
        return expr.func(*[_build(a) for a in expr.args])
    return expr


def explicit(expr, sizes: Mapping | None = None, model: MatrixModel | None = None):
    """A matrix expression (or a loss) written with the components of its matrices.

    ``sizes`` gives values to size symbols such as the batch size ``N``
    (by default each of the model's is :data:`DEFAULT_BATCH`).

    >>> W, x = MatrixSymbol('W', 2, 2), MatrixSymbol('x', 2, 1)
    >>> explicit(W * x)
    Matrix([
    [W_1_1*x_1 + W_1_2*x_2],
    [W_2_1*x_1 + W_2_2*x_2]])
    """
    chosen = _sizes(model, sizes)
    if chosen:
        expr = expr.subs(chosen)
    return _build(expr)


def componentwise(model: MatrixModel, sizes: Mapping | None = None) -> Model:
    """The matrix model written out as a scalar :class:`~symgrad.model.Model`: one stage per component.

    Its gradients come from symgrad's scalar derivation, independently of
    the matrix rules; the two must agree.

    >>> from symgrad.matrix import dense
    >>> print(componentwise(dense(2, 1, 'sigmoid', loss='squared_error')))
    z₁,₁ = W₁,₁₁·x₁ + W₁,₁₂·x₂ + b₁,₁
    ŷ₁ = σ(z₁,₁)
    L = (ŷ₁ - y₁)^2/2
    """
    chosen = _sizes(model, sizes)
    stages = []
    for symbol, expr in model.stages:
        value = explicit(expr, chosen, model)
        if is_matrix(symbol):
            names = component_symbols(symbol.subs(chosen))
            stages += [(n, v) for n, v in zip(names, value)]
        else:
            stages.append((symbol, value))

    def flat(symbols):
        out = []
        for s in symbols:
            out += list(component_symbols(s.subs(chosen))) if is_matrix(s) else [s]
        return out

    return Model(stages, inputs=flat(model.inputs), params=flat(model.params),
                 name=f"{model.name or 'model'}, component by component")
