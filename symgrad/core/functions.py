"""Activation functions as SymPy functions of their own, so derivatives read as in the lectures.

The classes are generated from the entries of the op table
(:mod:`symgrad.core.ops`), where each activation is described once: its
definition, its hand-written derivative, its NumPy forms and its names.
A new activation is registered with :mod:`symgrad.extend`.

>>> from sympy import Symbol, diff
>>> a = Symbol('a')
>>> diff(sigmoid(a), a)
sigmoid(a)*(1 - sigmoid(a))
"""
from __future__ import annotations

from .ops import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus

__all__ = ["sigmoid", "relu", "softplus", "leaky_relu", "elu", "gelu", "softmax", "log_softmax"]
