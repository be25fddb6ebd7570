"""Shapes of matrix models: how they read (``3×4``, ``N×128``), and the errors that name the culprit."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp

from ..errors import ModelError, ShapeError

__all__ = ["ShapeError", "shape_text", "product_error", "bind_values", "size_symbols", "as_declared", "as_given"]


def shape_text(shape) -> str:
    """A shape as a slide writes it.

    >>> shape_text((3, 4)), shape_text((sp.Symbol('N'), 128)), shape_text(())
    ('3×4', 'N×128', 'scalar')
    """
    if not shape:
        return "scalar"
    return "×".join(str(n) for n in shape)


def product_error(left: str, left_shape, right: str, right_shape, where: str = "") -> str:
    """The message for a product ``left·right`` whose inner sizes differ.

    >>> print(product_error("dC", (2, 4), "Aᵀ", (3, 2)))
    dC·Aᵀ is undefined: dC is 2×4 and Aᵀ is 3×2, and the 4 columns of dC do not match the 3 rows of Aᵀ
    """
    prefix = f"{where}: " if where else ""
    return (f"{prefix}{left}·{right} is undefined: {left} is {shape_text(left_shape)} and {right} is "
            f"{shape_text(right_shape)}, and the {left_shape[1]} columns of {left} do not match the "
            f"{right_shape[0]} rows of {right}")


def size_symbols(shapes) -> set:
    """The free size symbols (such as the batch size ``N``) in a collection of shapes."""
    found: set = set()
    for shape in shapes:
        for n in shape:
            found |= sp.sympify(n).free_symbols
    return found


def as_declared(array: np.ndarray, shape) -> np.ndarray:
    """A flat array given for a declared column (k×1) or row (1×k), made that 2-D column or row.

    >>> as_declared(np.arange(3.0), (3, 1)).shape, as_declared(np.arange(3.0), (1, sp.Symbol('N'))).shape
    ((3, 1), (1, 3))
    """
    if array.ndim == 1 and len(shape) == 2 and shape[1] == 1:
        return array.reshape(-1, 1)
    if array.ndim == 1 and len(shape) == 2 and shape[0] == 1:
        return array.reshape(1, -1)
    return array


def bind_values(declared: Mapping, values: Mapping, roles: Mapping | None = None,
                check_finite: bool = True) -> tuple[dict, dict]:
    """Numeric values checked against declared shapes; returns the arrays (as declared) and the sizes.

    ``declared`` maps names to shapes (``()`` for a scalar, symbols such as
    ``N`` for sizes fixed by the data). A column (k×1, such as a bias) or a
    row (1×k) may be given as a flat 1-D array; every array returned is
    two-dimensional, as declared, so that an N×1 column never meets a flat
    array in arithmetic (which NumPy would broadcast to N×N).
    ``roles`` says what each name is, for the messages. ``check_finite``
    rejects NaN and infinity (a pass over every entry, skipped in the hot
    loop of training).

    >>> N = sp.Symbol('N')
    >>> arrays, sizes = bind_values({'X': (N, 2), 'W': (3, 2), 'b': (3, 1)},
    ...                             {'X': np.ones((5, 2)), 'W': np.ones((3, 2)), 'b': [1, 2, 3]})
    >>> arrays['b'].shape, sizes
    ((3, 1), {N: 5})
    >>> bind_values({'W': (3, 2)}, {'W': np.ones((2, 3))}, {'W': 'the weights of layer 1 (2 inputs → 3 units)'})
    Traceback (most recent call last):
    ...
    symgrad.errors.ShapeError: W has shape 2×3 but the weights of layer 1 (2 inputs → 3 units) must be 3×2
    """
    roles = roles or {}
    arrays, sizes, bound_by = {}, {}, {}
    for name, shape in declared.items():
        if name not in values:
            raise ShapeError(f"missing value for {name} ({roles.get(name, 'shape ' + shape_text(shape))})")
        value = values[name]
        if not shape:
            try:
                arrays[name] = float(value)
            except (TypeError, ValueError):
                raise ShapeError(f"{name} must be a number, not {value!r}") from None
            continue
        try:
            array = np.asarray(value, dtype=float) if not isinstance(value, np.ndarray) or value.dtype.kind != "f" \
                else value
        except (TypeError, ValueError):
            raise ShapeError(f"value of {name} is not an array of numbers: {value!r}") from None
        array = as_declared(array, shape)
        given = shape_text(array.shape)
        what = roles.get(name, name)
        if array.ndim != 2:
            raise ShapeError(f"{name} has shape {given} but {what} must be {shape_text(shape)}")
        for axis, (want, got) in enumerate(zip(shape, array.shape)):
            want = sp.sympify(want)
            if want.is_Integer:
                ok = int(want) == got
            elif want.is_Symbol:
                if want in sizes and sizes[want] != got:
                    raise ShapeError(
                        f"{name} has {got} {'rows' if axis == 0 else 'columns'} but {bound_by[want]} has "
                        f"{sizes[want]}: both must be {want}")
                sizes.setdefault(want, got)
                bound_by.setdefault(want, name)
                ok = True
            else:
                ok = True
            if not ok:
                shown = tuple(sizes.get(n, n) for n in shape)
                raise ShapeError(f"{name} has shape {given} but {what} must be {shape_text(shown)}")
        if check_finite and not np.all(np.isfinite(array)):
            raise ShapeError(f"value of {name} is not finite")
        arrays[name] = array
    unknown = sorted(set(map(str, values)) - set(declared))
    if unknown:
        raise ShapeError(f"got a value for {unknown[0]!r}, which is not an input or a parameter "
                         f"(they are: {', '.join(declared)})")
    return arrays, sizes


def as_given(gradient: np.ndarray, given) -> np.ndarray:
    """A gradient (held 2-D, as declared) in the shape its parameter's value was given.

    A bias given as a flat array gets a flat gradient, so that an update
    ``b - lr * gradient`` never broadcasts a k×1 column against a flat k.

    >>> as_given(np.ones((3, 1)), [0.0, 0.0, 0.0]).shape, as_given(np.ones((3, 1)), np.zeros((3, 1))).shape
    ((3,), (3, 1))
    """
    shape = np.shape(given)
    return gradient if gradient.shape == shape else gradient.reshape(shape)
