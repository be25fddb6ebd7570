"""Add an operation to symgrad at run time: one registration, and every view of a model knows it.

An activation is described once, as the built-in ones are in
:mod:`symgrad.core.ops`: its SymPy definition, its hand-written derivative, a
stable NumPy forward (a function defined with ``def`` in a file, whose
source generated code copies), the gradient rule of the graph engine, and
its names. After :func:`register_activation` it works in ``symgrad.grad``,
``Graph`` (forward, backward, drawing), ``symgrad.compile``,
``symgrad.networks.mlp`` and ``symgrad.compile``, ``verify`` and ``parse``.

>>> import numpy as np, sympy as sp
>>> import symgrad
>>> from symgrad.extend import register_activation
>>> def square_plus(a, out=None):
...     return np.multiply(0.5, a + np.sqrt(a * a + 4.0), out=out)
>>> f = register_activation(
...     "square_plus",
...     definition=lambda z: (z + sp.sqrt(z**2 + 4)) / 2,
...     derivative=lambda z: (1 + z / sp.sqrt(z**2 + 4)) / 2,
...     forward=square_plus,
...     backward=lambda g, out, a: (g * 0.5 * (1 + a / np.sqrt(a * a + 4.0)),),
...     label="SQ+", sign="positive")
>>> w, x = sp.symbols('w x')
>>> symgrad.grad(f(w * x), w)
x*(w*x/(2*sqrt(w**2*x**2 + 4)) + 1/2)
>>> symgrad.parse("square_plus(w*x)") == f(w * x)
True
>>> round(float(symgrad.compile(f(w * x), wrt=[w], inputs=[x])(x=[1.0, 2.0], w=0.0)[0]), 6)
1.0
>>> _ = unregister("square_plus")
"""
from __future__ import annotations

from collections.abc import Callable

from .core.ops import OPS, activation_entry, register, unregister

__all__ = ["register", "register_activation", "unregister"]


def register_activation(name: str, definition: Callable, derivative: Callable, forward: Callable,
                        backward: Callable, *, label: str = "", latex: str = "", text: str = "",
                        sign: str = "real", numpy: str = "", numpy_args: tuple = (), spellings: tuple = (),
                        output_derivative: Callable | None = None, doc: str = "", replace: bool = False) -> type:
    """Register a one-argument activation in the op table; returns its SymPy function class.

    ``definition(z)`` and ``derivative(z)`` are SymPy formulas (the derivative
    hand-written, so that ``diff`` reads as you write it; the tests check it
    against ``diff(definition)``). ``forward(a, out=None)`` is the NumPy
    forward, defined with ``def`` in a file (generated code copies its
    source), unless ``numpy`` names a NumPy ufunc called as
    ``numpy(a, *numpy_args)``. ``backward(g, out, a)`` returns the 1-tuple
    of the gradient reaching ``a``. ``label`` is drawn in graphs and written
    in matrix formulas (default: the name), ``latex`` is the LaTeX of the
    name, ``spellings`` the names a user may type (default: the name).
    ``output_derivative(h)`` optionally gives ``f'`` with the output ``h``
    where substituting ``f(z) → h`` in the derivative cannot find it.

    >>> register_activation("sigmoid", lambda z: z, lambda z: 1, abs, abs)
    Traceback (most recent call last):
    ...
    ValueError: an operation named 'sigmoid' is already in the table (give replace=True to replace it)
    """
    if not name.isidentifier():
        raise ValueError(f"an activation's name must be an identifier, not {name!r}")
    if name in OPS and not replace:
        raise ValueError(f"an operation named {name!r} is already in the table (give replace=True to replace it)")
    if sign not in ("real", "positive", "nonnegative"):
        raise ValueError(f"sign must be 'real', 'positive' or 'nonnegative', not {sign!r}")
    entry = activation_entry(name, label or name, latex or rf"\operatorname{{{name}}}", definition, derivative,
                        forward, backward, text=text, sign=sign, doc=doc, numpy=numpy, numpy_args=tuple(numpy_args),
                        spellings=tuple(spellings), output_derivative=output_derivative)
    register(entry, replace=replace)
    return entry.sympy_function
