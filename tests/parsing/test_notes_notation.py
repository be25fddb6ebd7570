"""The notation of real lecture notes: implicit products after '/', and read()'s notes where readers differ."""
from __future__ import annotations

import pytest
import sympy as sp
from sympy import Derivative, IndexedBase, Rational, Sum, symbols

from symgrad.parsing import Reading, parse, parse_latex, read

a, b, c, w, x, y, L, N, i = symbols("a b c w x y L N i")
lam, w1 = symbols("lambda w1")
X = IndexedBase("x")


# -- 1. what follows '/' ------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("1/2 (y - w x)^2", (y - w * x) ** 2 / 2),
    (r"1/2 (y - w x)^2", (y - w * x) ** 2 / 2),
    (r"\lambda/2 w^2", lam * w ** 2 / 2),
    ("λ/2 w^2", lam * w ** 2 / 2),
    ("1/2 x", x / 2),
    ("1/2x", x / 2),
    ("a/bc", a * c / b),
    ("a/b/c", a / (b * c)),
    ("2x/3y", Rational(2, 3) * x * y),
    ("1/(2x)", 1 / (2 * x)),
    (r"\frac{1}{2x}", 1 / (2 * x)),
    (r"1/N \sum_{i=1}^{N} x_i", Sum(X[i], (i, 1, N)) / N),
    ("a/b + c", a / b + c),
])
def test_a_slash_takes_one_factor(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, of, wrt", [
    ("dL/dw = 0", L, w),
    (r"\partial L/\partial w = 0", L, w),
    ("dL/dw_1 = 0", L, w1),
])
def test_differentials_after_a_slash_stay_derivatives(text, of, wrt):
    claim = parse(text)
    assert (claim.of, claim.wrt) == (of, wrt)


def test_a_derivative_followed_by_a_factor():
    assert parse("dL/dw x") == x * Derivative(L, w)
    assert parse("d^2y/dx^2") == Derivative(y, (x, 2))


@pytest.mark.parametrize("text, reading", [
    ("1/2x", "x/2"),
    ("a/bc", "(a/b)·c"),
    ("1/2(x+1)", "(1/2)·(x+1)"),
])
def test_touching_factors_after_a_slash_are_noted(text, reading):
    result = read(text)
    assert isinstance(result, Reading) and result.result == parse(text)
    assert len(result.notes) == 1
    assert f"`{text}`" in result.notes[0] and reading in result.notes[0]
    assert "unambiguous" in result.notes[0]


def test_the_note_for_one_half_x_names_both_readings():
    note, = read("1/2x").notes
    assert note == "`1/2x` is read as x/2 ((1/2)·x); write 1/(2x) or (1/2)x to be unambiguous"


@pytest.mark.parametrize("text", [
    "1/2 x", r"\lambda/2 w^2", r"\frac{1}{2}x", "dL/dw", "1/(2x)", "x/2", "2x(wx + b - y)",
    r"\frac{\partial L}{\partial w} = -(y - \hat{y}) x",
])
def test_clear_text_has_no_notes(text):
    assert read(text).notes == ()


def test_read_chooses_latex_like_parse():
    assert read("x^23").result == x ** 23
    assert read("x^23", latex=True).result == 3 * x ** 2
    assert read(r"\frac12 x").result == x / 2
    assert read("yhat", symbols=["yhat"]).result == sp.Symbol("yhat")
