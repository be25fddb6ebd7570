"""The derivative of a power with respect to its base at base 0: E**x at E = 0 has a finite gradient x E^(x-1).

References by hand: d(E^x)/dE = x E^(x - 1), which at E = 0 is 0 for x = 2 and 1 for x = 1.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symgrad
from symgrad.graph.engine import Graph

E, x = sp.symbols("E x", real=True)


@pytest.mark.parametrize("exponent, expected", [(2.0, 0.0), (1.0, 1.0), (3.0, 0.0)])
def test_compiled_gradient_of_a_power_at_base_zero(exponent, expected):
    compiled = symgrad.compile(E**x, wrt=[E], inputs=[x])
    with np.errstate(all="raise"):  # no 0/0 on the way
        loss, grads = compiled(E=0.0, x=np.array([exponent]))
    assert loss == 0.0 and grads["E"] == expected
    graph = Graph.from_expr(E**x, inputs=[x])
    graph.forward({E: 0.0, x: exponent})
    assert graph.backward()[E] == expected


def test_compiled_code_has_no_division_by_the_base():
    source = symgrad.compile(E**x, wrt=[E], inputs=[x]).source
    assert "/E" not in source.replace(" ", "")


def test_the_power_rule_is_unchanged_away_from_zero():
    compiled = symgrad.compile(E**x, wrt=[E], inputs=[x])
    xs = np.array([0.5, 2.0, 3.0])
    _, grads = compiled(E=1.7, x=xs)
    assert grads["E"] == pytest.approx(np.mean(xs * 1.7 ** (xs - 1)), rel=1e-13)  # the mean over the samples
