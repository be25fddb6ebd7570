"""Subscripts are typeset: a component weight is W_{1,12} in LaTeX and W₁,₁₂ in text, never W1_1_2.

The expected forms are the lectures' notation: W_{jk} is row j, column k
of W, and a layer's number comes first (W_{1,12}: layer 1, row 1, column 2).
"""
from __future__ import annotations

import re
import unicodedata

from sympy import Heaviside, IndexedBase, Sum, Symbol, symbols

from symgrad import Graph, lectures, printing
from symgrad.check import matrix_point
from symgrad.graph.drawing import _formula
from symgrad.lectures.report import math_html
from symgrad.matrix import componentwise, dense


def test_component_names_in_latex_and_text():
    w112, w12, x2, b11 = (Symbol(n) for n in ("W1_1_2", "W_1_2", "x_2", "b1_1"))
    assert printing.latex(w112 * x2 + b11) == "W_{1,12} x_{2} + b_{1,1}"
    assert printing.text(w112 * x2 + b11) == "W₁,₁₂·x₂ + b₁,₁"
    assert printing.latex(w12) == "W_{12}" and printing.text(w12) == "W₁₂"
    # a plain name with digits is the lectures' w1, not a subscript group
    assert printing.text(Symbol("w1")) == "w1"


def test_indexed_data_and_sums_in_text_have_no_underscores_or_braces():
    x, w = IndexedBase("x"), IndexedBase("w")
    i, k, m = symbols("i k m")
    written = printing.text(Sum(w[k] * x[i, k], (k, 1, m)))
    assert written == "Σₖ₌₁ᵐ (wₖ·xᵢₖ)"  # the summand in parentheses: it reaches no further
    # an index without a Unicode subscript form falls back to brackets, never to x_{...}
    N = Symbol("N")
    assert printing.text(x[N]) == "x[N]"
    assert not re.search(r"_\{|\^\{", written)


def test_the_latex_of_a_component_becomes_a_subscript_in_mathml():
    mathml = math_html(printing.latex(Symbol("W1_1_2")), display=False)
    assert "<msub>" in mathml and "_" not in re.sub(r"<[^>]+>", "", mathml)


def test_component_models_print_their_stages_with_subscripts():
    text = str(componentwise(dense(2, 1, "sigmoid", loss="squared_error")))
    assert "z₁,₁ = W₁,₁₁·x₁ + W₁,₁₂·x₂ + b₁,₁" in text
    assert "_" not in text.replace("yhat", "")


def test_graph_labels_write_components_with_subscripts():
    example = lectures.example("fully-connected")
    graph = Graph.from_model(example.model)
    graph.forward(matrix_point(example.model, example.values) if hasattr(example.model, "sizes") else
                  {str(s): 1.0 for s in (*example.model.inputs, *example.model.params)})
    graph.backward()
    source = graph.to_dot().source
    assert "W₁₂" in source and "x₁" in source
    assert not re.search(r"\b[Wxb]_\d", source)


def test_the_step_function_has_one_name_in_text_latex_and_drawings():
    a = Symbol("a1")
    # H(a) everywhere: SymPy's LaTeX would call it θ(a) and its str Heaviside(a1, 0)
    assert printing.text(Heaviside(a, 0)) == "H(a1)"
    assert printing.latex(Heaviside(a, 0)) == r"H\left(a_{1}\right)"
    assert _formula(2 * Heaviside(a, 0)) == "2·H(a1)"


def test_a_hatted_name_prints_with_its_hat_and_reads_back_as_the_same_name():
    """yhat is ŷ in text as it is \\hat{y} in LaTeX; what the text shows, the parser reads back."""
    from symgrad.parsing import parse

    hatted = {"yhat": "ŷ", "what": "ŵ", "Yhat": "Ŷ", "xhat": "x\u0302", "thetahat": "θ\u0302", "etahat": "η\u0302"}
    for name, shown in hatted.items():
        assert printing.name_text(name) == shown
        assert printing.latex(Symbol(name)).startswith(r"\hat{")
        assert parse(shown) == Symbol(name)
    # a word before "hat", a digit after it, an underscore: no hat (ŷ2 would read back as 2·ŷ)
    for name in ("chathat", "yhat2", "y_hat", "hat"):
        assert "\u0302" not in printing.name_text(name) and printing.name_text(name) in (name, "y_hat")
    assert printing.text(Symbol("yhat") - Symbol("y")) == "ŷ - y"
    assert printing.name_text("yhat_i") == "ŷᵢ"


def test_every_latin_letter_with_a_hat_of_its_own_reads_as_that_letter_hat():
    from symgrad.parsing import parse

    for letter in "aceghijosuwyzACEGHIJOSUWYZ":
        precomposed = unicodedata.normalize("NFC", letter + "\u0302")
        assert len(precomposed) == 1, letter  # a character of its own, as keyboards and fonts give it
        assert parse(precomposed) == Symbol(letter + "hat")
