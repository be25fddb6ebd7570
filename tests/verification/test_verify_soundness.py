"""Soundness of `verify`: wrong claims are rejected, right ones accepted, each from a hand derivation.

Every expected verdict below comes from differentiating by hand (the comment
above each case); nothing is pasted from the verifier's own output. Throughout,
L = (y - (wx + b))^2, so by hand

    dL/dw = 2x(wx + b - y),   dL/db = 2(wx + b - y),
    d²L/dw² = 2x²,   ∂²L/∂w∂b = 2x,   d²L/db² = 2.
"""
from __future__ import annotations

import json
import time

import pytest
import sympy as sp
from sympy import Abs, Function, Heaviside, IndexedBase, Max, sign, sqrt, symbols

from symgrad import relu, verify
from symgrad.cli import main
from symgrad.matrix import mlp, model_from_text, softmax_classifier
from symgrad.verification.verdict import verify_identity
from symgrad import verify
from symgrad.errors import ClaimError
from symgrad.numeric.points import UndefinedFunction, evaluator
from symgrad.verification.verdict import MIN_VALID_POINTS

w, x, b, y = symbols("w x b y")
L = (y - (w * x + b)) ** 2
TEXT_L = "(y - (w*x + b))^2"


def holds(verdict) -> bool:
    return verdict.status in ("proved", "observed") and verdict.ok


def rejected(verdict) -> bool:
    return verdict.status == "wrong" and not verdict.ok and not bool(verdict)


# -- the claim is read as written: its order, its variables, every side -----------------------

@pytest.mark.parametrize("claim", [
    "d^2L/dw^2 = 2x(wx+b-y)",                                  # that is dL/dw; d²L/dw² = 2x²
    r"\frac{\partial^2 L}{\partial w^2} = 2x(wx + b - y)",
    r"\frac{\partial^2 L}{\partial w \partial b} = 2",          # 2 is d²L/db²; ∂²L/∂w∂b = 2x
    "d^2L/db^2 = 2x",                                          # d²L/db² = 2
    "d^2L/dw^2 = 2x^2 + 1e-6 x^2",                             # off by a relative 5e-7
])
def test_wrong_higher_and_mixed_partials_are_rejected(claim):
    assert rejected(verify(claim, L))


@pytest.mark.parametrize("claim", [
    "d^2L/dw^2 = 2x^2",                                        # d/dw 2x(wx + b - y) = 2x²
    r"\frac{\partial^2 L}{\partial w^2} = 2x^2",
    r"\frac{\partial^2 L}{\partial w \partial b} = 2x",        # d/db 2x(wx + b - y) = 2x
    r"\frac{\partial^2 L}{\partial b \partial w} = 2x",        # the mixed partials agree
    "d^2L/db^2 = 2",                                           # d/db 2(wx + b - y) = 2
])
def test_right_higher_and_mixed_partials_are_accepted(claim):
    verdict = verify(claim, L)
    assert holds(verdict)
    assert verdict.subject.startswith(("d²L", "∂²L"))


def test_the_first_derivative_is_not_accepted_as_the_second():
    verdict = verify("d^2L/dw^2 = 2x(wx+b-y)", L)
    assert verdict.subject == "d²L/dw²"
    assert "dL/dw, a derivative of lower order" in verdict.diagnosis
    # the counterexample is real: by hand the claim is 2x(wx + b - y) and the truth 2x²
    p = verdict.counterexample["point"]
    assert verdict.counterexample["claimed"] == pytest.approx(2 * p["x"] * (p["w"] * p["x"] + p["b"] - p["y"]))
    assert verdict.counterexample["correct"] == pytest.approx(2 * p["x"] ** 2)


@pytest.mark.parametrize("claim, broken", [
    ("dL/dw = 5x^3 + 17 = 2x(wx+b-y)", 1),                     # the first side is not dL/dw
    ("dL/dw = 2x(wx+b-y) = 5x^3 + 17", 2),                     # the last side is not dL/dw
    ("dL/dw = 2x(wx+b-y) = 2wx^2 + 2xb - 2xy = 2wx^2 + 2xb", 3),  # the last step drops -2xy
])
def test_every_side_of_a_chain_is_a_claim_and_the_broken_step_is_named(claim, broken):
    verdict = verify(claim, L)
    assert rejected(verdict)
    sides = claim.count("=")
    assert verdict.diagnosis.startswith(f"step {broken} of {sides}")
    assert [s["status"] == "wrong" for s in verdict.steps] == [k + 1 == broken for k in range(broken)]


def test_a_chain_of_right_steps_holds_and_each_step_is_reported():
    # 2x(wx + b - y) expanded is 2wx² + 2xb - 2xy; d/dw (y - wx - b)² = -2x(y - wx - b)
    verdict = verify(r"\frac{\partial L}{\partial w} = \frac{\partial}{\partial w}(y - wx - b)^2 "
                     r"= 2x(wx + b - y) = 2wx^2 + 2xb - 2xy", L)
    assert holds(verdict)
    assert len(verdict.steps) == 3 and all(s["status"] in ("proved", "observed") for s in verdict.steps)


def test_chain_rule_notation_in_a_step_is_taken_in_the_model():
    # chain3 by hand: dL/dw3 = dL/df3 · df3/da3 · da3/dw3 = (f3 - y) · f3(1 - f3) · f2
    from symgrad import lectures

    right = verify(r"\frac{\partial L}{\partial w_3} = \frac{\partial L}{\partial f_3}"
                   r"\frac{\partial f_3}{\partial a_3}\frac{\partial a_3}{\partial w_3}"
                   r" = (f_3 - y) f_3 (1 - f_3) f_2", lectures.model("chain3"))
    assert holds(right)
    # dropping ∂f3/∂a3 from the product is the missing σ' mistake
    wrong = verify(r"\frac{\partial L}{\partial w_3} = \frac{\partial L}{\partial f_3}"
                   r"\frac{\partial a_3}{\partial w_3} = (f_3 - y) f_3 (1 - f_3) f_2", lectures.model("chain3"))
    assert rejected(wrong) and wrong.diagnosis.startswith("step 1 of 2")


def test_the_variable_the_claim_names_is_never_replaced_by_wrt():
    # dL/db = 2(wx + b - y): the claim names w, so wrt=b must not turn it into a claim about dL/db
    with pytest.raises(ValueError, match="derivative by w but wrt=b"):
        verify("dL/dw = 2(wx+b-y)", L, "b")
    with pytest.raises(ValueError, match="update rule for w but wrt=b"):
        verify("w <- w - eta*2x(wx+b-y)", L, "b")
    # agreeing or absent wrt: the named variable is checked
    assert holds(verify("dL/dw = 2x(wx+b-y)", L, "w"))
    assert holds(verify("dL/db = 2(wx+b-y)", L))
    assert rejected(verify("dL/dw = 2(wx+b-y)", L))     # 2(wx + b - y) is dL/db, not dL/dw
    with pytest.raises(ValueError, match="not a symbol of the model"):
        verify("dL/dq = 2", L)


# -- points from several scales, both signs, and both sides of every kink -----------------------

@pytest.mark.parametrize("claim, model", [
    (0, relu(w * x - 5)),                      # d/dw relu(wx - 5) = x·H(wx - 5): x wherever wx > 5
    (2 * x * (w * x + b - y) + relu(x - 2), L),  # relu(x - 2) > 0 for x > 2
    (2 * x * (w * x + b - y) + relu(x - 900), L),  # only far out: found by the kink at x = 900
    (2 * x * (w * x + b - y) + Heaviside(x - 3), L),  # a step of 1 past x = 3
    (Heaviside(w - 3), Abs(w - 3)),            # d|w - 3|/dw = sign(w - 3): -1, not 0, for w < 3
    (sp.Integer(1), Max(w, 2 * x)),            # d max(w, 2x)/dw = H(w - 2x): 0 where 2x > w
    (x * Heaviside(w * x - 5 - 1e-3), relu(w * x - 5)),  # the kink moved by 1e-3
])
def test_terms_that_vanish_on_part_of_the_domain_are_found(claim, model):
    assert rejected(verify(claim, model, w))


@pytest.mark.parametrize("claim, model", [
    (x * Heaviside(w * x - 5, 0), relu(w * x - 5)),   # x·H(wx - 5), relu's derivative
    (x * relu(w * x - 5) / (w * x - 5), relu(w * x - 5)),  # relu(a)/a = H(a) for a ≠ 0
    (sign(w - 3), Abs(w - 3)),
    (Heaviside(w - 2 * x), Max(w, 2 * x)),
    (2 * w * x ** 2 + 2 * x * b - 2 * x * y, L),     # the expanded form, at every scale
])
def test_right_claims_with_kinks_hold(claim, model):
    assert holds(verify(claim, model, w))


# -- relative comparison ---------------------------------------------------------------------

def test_tiny_and_huge_scales_are_compared_relatively():
    # d/dw (1e-12 w²) = 2e-12 w; 3e-12 w is 50% off however small both are
    tiny = verify(3e-12 * w, 1e-12 * w ** 2, w)
    assert rejected(tiny) and "1.5 times" in tiny.diagnosis
    assert rejected(verify(2e-12 * (1 + 1e-6) * w, 1e-12 * w ** 2, w))   # a relative 1e-6
    assert holds(verify(2e-12 * w, 1e-12 * w ** 2, w))
    assert holds(verify(2e12 * w, 1e12 * w ** 2, w))                      # d/dw 1e12 w² = 2e12 w
    assert rejected(verify(2e12 * w + 1, 1e12 * w ** 2, w))


def test_round_off_of_a_right_claim_is_not_a_disagreement():
    # σ'(a) = σ(a)(1 - σ(a)) = e^{-a}/(1 + e^{-a})²; 1 - σ(a) cancels in float64 for large a,
    # and e^{-a} overflows for large negative a: both forms must still agree
    a = w * x
    closed = x * sp.exp(-a) / (1 + sp.exp(-a)) ** 2
    from symgrad import sigmoid
    assert holds(verify(closed, sigmoid(a), w))
    assert holds(verify(x * sigmoid(a) * (1 - sigmoid(a)), sigmoid(a), w))


# -- undefined values ----------------------------------------------------------------------

def test_a_claim_complex_almost_everywhere_is_wrong():
    # d/dw w² = 2w is real everywhere; sqrt(w - 1000) is not real for w < 1000
    assert rejected(verify(2 * w + sqrt(w - 1000), w ** 2, w))
    assert rejected(verify(sqrt(-1 - w ** 2), w ** 2, w))   # never real
    assert rejected(verify(2 * w + sp.I * w, w ** 2, w))


def test_points_outside_both_domains_are_dropped_not_counted():
    # d/dw log(w)² = 2 log(w)/w: both sides undefined for w < 0, equal for w > 0
    verdict = verify(2 * sp.log(w) / w, sp.log(w) ** 2, w)
    assert holds(verdict)


def test_nowhere_real_on_both_sides_is_unchecked_not_right():
    # d/dw sqrt(-1 - w²) = -w/sqrt(-1 - w²): both sides are never real, so nothing was compared
    verdict = verify(-w / sqrt(-1 - w ** 2), sqrt(-1 - w ** 2), w)
    assert verdict.status == "unchecked" and not verdict.ok
    assert "could not evaluate" in verdict.diagnosis and str(MIN_VALID_POINTS) in verdict.diagnosis
    assert verdict.summary().startswith("? dL/dw unchecked")


# -- statuses ------------------------------------------------------------------------------

def test_observed_is_not_proved():
    # relu(a)/a equals H(a) except at a = 0, where it is undefined: no proof, only observation
    verdict = verify(x * relu(w * x - 5) / (w * x - 5), relu(w * x - 5), w)
    assert verdict.status == "observed" and verdict.ok and not verdict.proved
    assert verdict.to_dict()["status"] == "observed"
    assert "not proved" in verdict.summary()
    assert verify(2 * x * (w * x + b - y), L, w).status == "proved"
    assert verify(x * (w * x + b - y), L, w).to_dict()["status"] == "wrong"


# -- undefined functions are never Python's builtins ---------------------------------------

@pytest.mark.parametrize("name", ["exit", "input", "print", "open", "quit"])
def test_an_undefined_function_named_like_a_builtin_is_never_called(name, capsys):
    f = Function(name)
    # d/dw f(w)² = 2 f(w) f'(w): 2 f(w) alone is wrong, but f has no values to show it
    verdict = verify(2 * f(w), f(w) ** 2, w)
    assert verdict.status == "unchecked" and f"{name} is not defined" in verdict.diagnosis
    assert capsys.readouterr().out == ""
    # the same undefined function on both sides: compared symbolically
    assert verify(2 * f(w) * sp.Derivative(f(w), w), f(w) ** 2, w).status == "proved"
    with pytest.raises(UndefinedFunction, match=f"{name} is not defined"):
        evaluator(f(w) + 1, [w])


def test_a_claim_using_an_undefined_function_the_model_lacks_is_unchecked():
    verdict = verify(2 * w + Function("exit")(w), w ** 2, w)
    assert verdict.status == "unchecked" and not verdict.ok


# -- sums and the deadline -------------------------------------------------------------------

def test_sums_with_literal_bounds_are_not_expanded_without_limit():
    from symgrad.parsing import parse

    for bound in ("10^{4}", "10^{12}"):
        model = parse(rf"\sum_{{i=1}}^{{{bound}}} w x_i")
        start = time.monotonic()
        # d/dw Σ w x_i = Σ x_i (equal as written: proved without expanding)
        assert verify(rf"\sum_{{i=1}}^{{{bound}}} x_i", model, w).status == "proved"
        # Σ 2 x_i is twice the derivative, but too long to expand: unchecked, never "holds"
        verdict = verify(rf"\sum_{{i=1}}^{{{bound}}} 2 x_i", model, w, time_limit=0.5)
        assert verdict.status == "unchecked" and "sum too large to expand" in verdict.diagnosis
        assert time.monotonic() - start < 10
    # a short literal sum is expanded and checked: Σ_{i=1}^{10} 2 x_i = 2 Σ x_i
    small = verify(r"\sum_{i=1}^{10} 2 x_i", parse(r"\sum_{i=1}^{10} w x_i"), w)
    assert rejected(small) and small.diagnosis == "extra factor 2"


def test_the_whole_verdict_has_a_deadline():
    # 2x(wx + b - y) + 1e-9 is wrong by a hair; with no time left it is unchecked, never right
    verdict = verify(2 * x * (w * x + b - y) + 1e-9, L, w, deadline=0.0)
    assert verdict.status == "unchecked" and "ran out of time" in verdict.diagnosis


# -- the command line ----------------------------------------------------------------------

def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_exit_statuses(capsys):
    base = ["verify", "--loss", TEXT_L]
    status, out, _ = run(base + ["--claim", "d^2L/dw^2 = 2x(wx+b-y)"], capsys)
    assert status == 1 and "d²L/dw² is wrong" in out                 # d²L/dw² = 2x²
    status, out, _ = run(base + ["--claim", r"\frac{\partial^2 L}{\partial w \partial b} = 2x"], capsys)
    assert status == 0 and "proved" in out
    status, out, _ = run(base + ["--claim", "dL/dw = 5x^3 + 17 = 2x(wx+b-y)"], capsys)
    assert status == 1 and "step 1 of 2" in out
    status, _, err = run(base + ["--wrt", "b", "--claim", "dL/dw = 2(wx+b-y)"], capsys)
    assert status == 2 and "wrt=b" in err
    status, out, _ = run(["verify", "--loss", "relu(w*x - 5)", "--wrt", "w", "--claim", "0"], capsys)
    assert status == 1                                                # x·H(wx - 5) is not 0


def test_cli_observed_and_unchecked_have_their_own_status(capsys):
    status, out, _ = run(["verify", "--loss", "relu(w*x - 5)", "--wrt", "w", "--json",
                          "--claim", "x*relu(w*x - 5)/(w*x - 5)"], capsys)
    assert status == 3 and json.loads(out)["status"] == "observed"
    status, out, _ = run(["verify", "--loss", r"\sum_{i=1}^{10^{4}} w x_i", "--wrt", "w", "--json",
                          "--claim", r"\sum_{i=1}^{10^{4}} 2 x_i"], capsys)
    assert status == 2 and json.loads(out)["status"] == "unchecked"
    status, out, _ = run(["verify", "--loss", TEXT_L, "--wrt", "w", "--json", "--claim", "x(wx+b-y)"], capsys)
    assert status == 1 and json.loads(out)["status"] == "wrong"


def test_cli_help_documents_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "0: proved" in text and "3: holds at every sampled point but not proved" in text
    assert "1: wrong" in text and "2: unchecked" in text


# -- matrix claims --------------------------------------------------------------------------

def test_wrong_claims_about_non_square_parameters_are_verdicts_not_crashes():
    m = softmax_classifier(4, 3, hidden=[5])
    # dL/dW2 = δ2 h1ᵀ (3×5); adding δ2 h1ᵀ ⊙ δ2 h1ᵀ keeps the shape but not the value
    for claim in ["dL/dW2 = δ2 h1ᵀ + δ2 h1ᵀ ⊙ δ2 h1ᵀ", "dL/dW1 = (W2ᵀ (p - y)) xᵀ"]:
        verdict = verify(claim, m)
        assert not verdict.ok and verdict.status == "wrong" and verdict.diagnosis
        assert verdict.summary().startswith("✗")


def test_a_number_minus_a_matrix_fills_every_entry():
    m = mlp([4, 5, 3], "tanh", output="softmax", loss="cross_entropy")
    # tanh' = 1 - tanh², so δ1 = W2ᵀ δ2 ⊙ (1 - h1 ⊙ h1) (lecture 004's backprop through tanh)
    assert verify("dL/db1 = W2ᵀ δ2 ⊙ (1 - h1 ⊙ h1)", m).ok
    wrong = verify("dL/db1 = W2ᵀ δ2 ⊙ (2 - h1 ⊙ h1)", m)
    assert not wrong.ok and wrong.diagnosis
    with pytest.raises(ClaimError):
        verify("dL/db1 = W2ᵀ δ2 ⊙ (1 - )", m)


def test_matrix_verdict_has_a_status_for_scripts():
    verdict = verify("dB = A^T dC", model_from_text("C = A B"))
    assert verdict.status == "observed" and verdict.to_dict()["status"] == "observed"


def test_an_indexed_claim_agrees_with_wrt_naming_its_array():
    # dL/dw_j of Σ_k w_k x_k is x_j; wrt=w (the array) agrees with the claim's w_j
    W, X = IndexedBase("w"), IndexedBase("x")
    k, j = symbols("k j")
    model = sp.Sum(W[k] * X[k], (k, 1, symbols("m")))
    assert holds(verify(sp.Eq(sp.Derivative(symbols("L"), W[j]), X[j]), model, W))
    assert rejected(verify(sp.Eq(sp.Derivative(symbols("L"), W[j]), 2 * X[j]), model, W))


def test_superscript_orders_read_as_powers():
    # ∂²L/∂w∂b = 2x and d²L/dw² = 2x², as typed with superscript digits
    assert holds(verify("∂²L/∂w∂b = 2x", L))
    assert holds(verify("d²L/dw² = 2x²", L))
    assert rejected(verify("d²L/dw² = 2x", L))



def test_a_number_beyond_floating_point_is_an_error_naming_it_not_a_crash():
    # 1e308·10 = 1e309 is exact for SymPy but beyond float64, so the claim cannot be sampled:
    # a symgrad error that says so (the CLI exits 2 with it), never a bare OverflowError
    w, x, y = sp.symbols("w x y")
    with pytest.raises(ClaimError, match="too large to compute with"):
        verify("1e308*10", (y - w * x) ** 2, w)


def test_two_free_indices_are_tried_distinct_and_equal():
    # ∂p_i/∂z_j of the softmax is p_i(δ_ij - p_j); each wrong claim below agrees with it for one case only
    z, i, j, m, n = IndexedBase("z"), *symbols("i j m n")

    def p(a):
        return sp.exp(z[a]) / sp.Sum(sp.exp(z[m]), (m, 1, n))

    KroneckerDelta = sp.KroneckerDelta
    truth = p(i) * (KroneckerDelta(i, j) - p(j))
    assert verify_identity(p(i) * (KroneckerDelta(i, j) - p(j)), truth).ok
    assert verify_identity(p(i) * (KroneckerDelta(i, j) - p(i)), truth).status == "wrong"  # right only if i = j
    assert verify_identity(-p(i) * p(j), truth).status == "wrong"                             # right only if i ≠ j


def test_one_free_index_is_tried_at_two_values():
    # L = Σ_i (y_i - Σ_k w_k x_ik)²: ∂L/∂w_j = -2 Σ_i (y_i - Σ_k w_k x_ik) x_ij; writing x_i1 for x_ij
    # agrees at j = 1 only
    x, y, w = IndexedBase("x"), IndexedBase("y"), IndexedBase("w")
    i, j, k, m, n = symbols("i j k m n")
    loss = sp.Sum((y[i] - sp.Sum(w[k] * x[i, k], (k, 1, m))) ** 2, (i, 1, n))
    right = -2 * sp.Sum((y[i] - sp.Sum(w[k] * x[i, k], (k, 1, m))) * x[i, j], (i, 1, n))
    slipped = -2 * sp.Sum((y[i] - sp.Sum(w[k] * x[i, k], (k, 1, m))) * x[i, 1], (i, 1, n))
    assert verify(right, loss, w[j]).ok
    assert verify(slipped, loss, w[j]).status == "wrong"
