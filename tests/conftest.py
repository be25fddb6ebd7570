"""Shared by every test folder: the plain-NumPy references import by name, and an extension op is registered.

``isru`` (the inverse square root unit a/√(1 + a²)) is added through the
public extension API before any test is collected, so every suite that is
parametrised over the op table runs over an entry the package does not ship
(tests/test_extend.py adds softsign inside its own tests and removes it).
"""
import sys
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))


def isru(a, out=None):
    return np.divide(a, np.sqrt(1.0 + a * a), out=out)


def _isru_backward(g, out, a):
    # d/da a(1 + a²)^(-1/2) = (1 + a²)^(-3/2), by hand
    return (g / (1.0 + a * a) ** 1.5,)


def pytest_configure(config):
    from symgrad.extend import register_activation

    register_activation("isru", lambda z: z / sp.sqrt(1 + z**2), lambda z: (1 + z**2) ** sp.Rational(-3, 2),
                        isru, _isru_backward, label="ISRU")


def pytest_unconfigure(config):
    from symgrad.extend import unregister

    unregister("isru")
