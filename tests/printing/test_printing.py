"""Text and LaTeX as a person writes them, and Jupyter's LaTeX display."""
from __future__ import annotations

import sympy as sp
from sympy import IndexedBase, symbols

from symgrad import chain_rule, losses, networks, sigmoid, text, update_rules

w, x, b, y, eta = symbols("w x b y eta")


def test_text_uses_greek_letters_and_implicit_products():
    assert text(2 * x * (w * x + b - y)) == "2x(b + w·x - y)"
    assert text(sigmoid(w) * (1 - sigmoid(w))) == "σ(w)(1 - σ(w))"
    assert text(symbols("theta0") + eta) == "η + θ0" or text(symbols("theta0") + eta) == "θ0 + η"
    assert text(IndexedBase("x")[symbols("i"), symbols("j")]) == "xᵢⱼ"  # Unicode subscripts in text, not the x_{ij} of LaTeX
    assert text(-x / 2) == "-x/2"


def test_update_rule_text_and_latex():
    rules = update_rules((y - (w * x + b)) ** 2, [w], lr=eta)
    assert str(rules) == "w ← w - η·2x(b + w·x - y)"
    latex = rules.latex()
    assert r"w &\leftarrow w - \eta" in latex and r"\left(b + w x - y\right)" in latex
    assert rules._repr_latex_().startswith("$")


def test_custom_learning_rate_symbol():
    alpha = symbols("alpha")
    rules = update_rules(losses.half_squared_error(y, w * x), [w], lr=alpha)
    assert str(rules) == "w ← w - α·x(w·x - y)"
    assert sp.simplify(rules[w] - (w - alpha * x * (w * x - y))) == 0


def test_chain_rule_latex_and_model_latex():
    model = networks.chain(2, loss=losses.half_squared_error)
    rule = chain_rule(model, "w2")
    latex = rule.latex()
    assert r"\frac{\partial L}{\partial f_{2}}" in latex
    assert r"f_{2} \left(1 - f_{2}\right)" in latex
    assert r"\sigma\left(a_{1}\right)" in model.latex()
    assert model._repr_latex_().startswith("$")


def test_models_and_update_rules_print_in_the_slides_term_order():
    # as the lectures write them: L = ½(y - f3)² with the target first, b ← b - η·2(ŷ - y) without nesting
    from symgrad import losses, networks, update_rules

    chain = networks.chain(3, "sigmoid", loss=losses.half_squared_error)
    assert str(chain).splitlines()[0] == "a1 = b + w1·x"
    assert str(chain).splitlines()[-1] == "L = (y - f3)^2/2"
    rules = str(update_rules(networks.linear(loss=losses.squared_error))).splitlines()
    assert rules == ["b ← b - η·2(ŷ - y)", "w ← w - η·2x(ŷ - y)"]
