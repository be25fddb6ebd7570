"""The verifier: right claims pass in any form, wrong ones get the right diagnosis, the lectures' errors are found."""
from __future__ import annotations

import pytest
import sympy as sp
from sympy import Eq, symbols

from symgrad import Model, losses, networks, sigmoid
from symgrad.verification.verdict import verify

w, x, b, y, eta = symbols("w x b y eta")
MSE = (y - (w * x + b)) ** 2
CHAIN = networks.chain(3, loss=losses.half_squared_error)
f1, f2, f3, w1, w3 = symbols("f1 f2 f3 w1 w3")


@pytest.mark.parametrize("form", [
    2 * x * (w * x + b - y),                      # factored, as the slide's last line
    2 * w * x**2 + 2 * x * b - 2 * y * x,         # expanded, as the slide's first line
    -2 * x * (y - w * x - b),                     # the chain-rule slide's form
    Eq(sp.Derivative(symbols("L"), w), 2 * x * (w * x + b - y)),  # a whole equation
])
def test_equivalent_forms_all_pass(form):
    verdict = verify(form, MSE, w)
    assert verdict.ok and verdict.proved
    assert verdict.counterexample is None


@pytest.mark.parametrize("claim, diagnosis", [
    (-2 * x * (w * x + b - y), "sign error"),
    (x * (w * x + b - y), "missing factor 2"),
    (4 * x * (w * x + b - y), "extra factor 2"),
    (eta * 2 * x * (w * x + b - y), "learning rate η is written into the gradient"),
])
def test_wrong_claims_get_the_right_diagnosis(claim, diagnosis):
    verdict = verify(claim, MSE, w)
    assert not verdict.ok
    assert diagnosis in verdict.diagnosis
    point = {symbols(k): v for k, v in verdict.counterexample["point"].items()}
    # the counterexample is real: at that point the claim and the derivative differ
    claimed = float(claim.subs(point))
    correct = float(sp.diff(MSE, w).subs(point))
    assert claimed == pytest.approx(verdict.counterexample["claimed"])
    assert correct == pytest.approx(verdict.counterexample["correct"])
    assert abs(claimed - correct) > 1e-6


def test_missing_sigma_prime_in_the_chain():
    # dL/dw3 written without df3/da3 = f3(1 - f3)
    verdict = verify(-(y - f3) * f2, CHAIN, w3)
    assert not verdict.ok
    assert "missing local-derivative factor σ'(a3) = f3(1 - f3)" in verdict.diagnosis


def test_missing_term_when_a_variable_is_used_twice():
    a, L = symbols("a L")
    model = Model([(a, sigmoid(w * x)), (L, (y - a * w) ** 2)], inputs=[x, y])
    # only the direct use of w, forgetting the path through a
    verdict = verify(-2 * (y - a * w) * a, model, w)
    assert not verdict.ok and "missing term: w is used 2 times" in verdict.diagnosis


def test_update_rules_descent_and_ascent():
    descent = verify(Eq(w3, w3 - eta * (f3 - y) * f3 * (1 - f3) * f2), CHAIN, w3)
    assert descent.ok and descent.kind == "update rule"
    ascent = verify(Eq(w3, w3 + eta * (f3 - y) * f3 * (1 - f3) * f2), CHAIN, w3)
    assert not ascent.ok and "ascent instead of descent" in ascent.diagnosis
    step = verify(Eq(w, w - eta * x * (w * x + b - y)), MSE, w)
    assert not step.ok and "missing factor 2" in step.diagnosis


def test_claim_in_stage_symbols_and_in_closed_form_agree():
    staged = verify((f3 - y) * f3 * (1 - f3) * w3 * f2 * (1 - f2) * symbols("w2") * f1 * (1 - f1) * x,
                    CHAIN, w1)
    closed = verify(sp.diff((y - sigmoid(w3 * sigmoid(symbols("w2") * sigmoid(w1 * x + b)))) ** 2 / 2, w1),
                    CHAIN, w1)
    assert staged.ok and closed.ok


def test_verdict_prints_both_values():
    text = str(verify(x * (w * x + b - y), MSE, w))
    assert text.startswith("✗ dL/dw is wrong: missing factor 2")
    assert "claimed:  x(b + w·x - y)" in text and "correct:  2x(b + w·x - y)" in text


def test_which_variable_must_be_given_when_ambiguous():
    with pytest.raises(ValueError, match="say which variable"):
        verify(x, w * x + b)


# the lectures' own claims are checked from their text: tests/lectures/test_lecture_documents.py


@pytest.mark.parametrize("text", [
    r"\frac{\partial L}{\partial w} = 2x(wx + b - y)",
    r"\frac{\partial L}{\partial w} = 2wx^2 + 2xb - 2yx",
    "dL/dw = -2x(y - wx - b)",
    "2x(wx+b-y)",
])
def test_text_and_latex_claims_verify(text):
    assert verify(text, MSE, w).ok
