"""parse_model: stages written as equations become a Model whose stages keep their names."""
from __future__ import annotations

import pytest
import sympy as sp
from sympy import log, symbols

from symgrad.core.functions import sigmoid
from symgrad.core.model import Model
from symgrad.parsing import ParseError, parse_model

w, x, b, y, z, p, L = symbols("w x b y z p L")


def test_a_logistic_regression_in_three_stages():
    m = parse_model("z = w*x + b; p = sigmoid(z); L = -(y*log(p) + (1-y)*log(1-p))",
                    inputs=["x", "y"])
    assert isinstance(m, Model)
    assert m.stages == ((z, w * x + b), (p, sigmoid(z)), (L, -(y * log(p) + (1 - y) * log(1 - p))))
    assert m.inputs == (x, y) and m.params == (b, w)
    # by hand: dL/dz = p - y, so dL/dw = (σ(wx + b) - y) x
    closed = m.closed_form()
    expected = (sigmoid(w * x + b) - y) * x
    point = {w: sp.Rational(3, 10), x: sp.Rational(-7, 5), b: sp.Rational(1, 2), y: 1}
    assert abs(float(closed.diff(w).subs(point) - expected.subs(point))) < 1e-12


def test_without_inputs_every_free_symbol_is_a_parameter_like_the_cli():
    m = parse_model("yhat = w*x\nL = (y - yhat)^2")
    assert [str(s) for s, _ in m.stages] == ["yhat", "L"]
    assert m.params == (w, x, y)


def test_model_files_may_have_blank_and_comment_lines():
    m = parse_model("# a linear unit\n\nout = w*x + b\n\nL = (y - out)^2\n", inputs=["x", "y"])
    assert [str(s) for s, _ in m.stages] == ["out", "L"]
    assert m.stages[1][1] == (y - sp.Symbol("out")) ** 2


def test_latex_stages():
    m = parse_model(r"\hat{y} = \sigma(w x); L = \frac{1}{2}(y - \hat{y})^2", inputs=["x", "y"])
    yhat = sp.Symbol("yhat")
    assert m.stages == ((yhat, sigmoid(w * x)), (L, (y - yhat) ** 2 / 2))


@pytest.mark.parametrize("text, message, column", [
    ("z = w*x; z = 2*z", "stage 2: z is defined twice (first in stage 1)", 10),
    ("p = sigmoid(z); z = w*x", "stage 1: p uses z before it is defined", 1),
    ("z = w*x;; L = z^2", "empty stage", 9),
    ("z = w*x; L = z^2;", "empty stage", 18),
    ("z = w*x; z^2", "stage 2: not an equation", 10),
    ("z = w*x; 2 = z", "stage 2: the left side of a stage must be one name", 10),
    ("z = w*x = 1", "not a chain", 1),
    ("z = w*x; L = z + sin(w)", "stage 2: unknown function 'sin'", 18),
    ("", "empty model", 1),
])
def test_errors_name_the_stage_and_where(text, message, column):
    with pytest.raises(ParseError) as info:
        parse_model(text)
    assert message in info.value.message
    assert info.value.column == column


def test_a_stage_with_a_matrix_is_refused():
    with pytest.raises(ParseError, match="scalar"):
        parse_model("z = (1, 2)")
