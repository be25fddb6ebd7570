"""Every slide formula of the built-in lectures parses, as the document checker will hand them to the parser.

The document layer strips a trailing ``\\quad \\text{...}`` commentary and
splits ``a = b, c = d`` at top-level commas (and a given before a claim,
``AB = C: dA = ...``, at a top-level colon) before parsing; these tests do
the same to each slide formula of the five lectures (written out below, as the slides write them).
"""
from __future__ import annotations

import re

import pytest
import sympy as sp
from sympy import Derivative, Function, IndexedBase, Max, Rational, Sum, exp, log, sqrt, symbols

from symgrad.core.functions import sigmoid
from symgrad.parsing import Equation, UpdateRule, parse_latex

x, w, g, alpha, L, F, N, i = symbols("x w g alpha L F N i")
w1, x1, x2, x3, z1, z2, w2 = symbols("w1 x1 x2 x3 z1 z2 w2")
Y, YHAT = IndexedBase("y"), IndexedBase("yhat")

#: the slide formulas of the five lectures, as the slides write them (mistakes included)
SLIDES = [
    '\\frac{\\partial f}{\\partial w} = \\frac{\\partial}{\\partial w}(wx + b) = x',
    '\\frac{\\partial}{\\partial x}(wx) + \\frac{\\partial}{\\partial x}(b) = x + 0 = x',
    'L = y^2 + f(x)^2 - 2y',
    'L = y^2 + w^2x^2 + b^2 + 2wxb - 2ywx - 2yb',
    '\\frac{\\partial L}{\\partial w} = 2wx^2 + 2xb - 2yx',
    '\\frac{\\partial L}{\\partial w} = 2x(wx + b - y)',
    '\\frac{dL}{dw} = -2(y - l) \\cdot x = -2x(y - wx - b)',
    '\\frac{\\partial L}{\\partial w_j} = -2 \\sum_{k=1}^{N} \\delta_k x_{kj}',
    'w_j \\leftarrow w_j + 2\\alpha \\sum_{k=1}^N \\delta_k x_{kj}',
    '\\frac{\\partial L}{\\partial w_j} = \\sum_{i} -2 \\delta_i \\sigma(d_i)(1 - \\sigma(d_i)) x_{ij}',
    "\\sigma'(x) = \\sigma(x)(1 - \\sigma(x))",
    'w_j \\leftarrow w_j + 2\\eta \\sum_{k=1}^N \\delta_i \\sigma_i (1-\\sigma_i) x_{ij}',
    'w_j \\leftarrow w_j + 2\\eta \\sum_{i=1}^N \\delta_i \\sigma_i (1-\\sigma_i) x_{ij} \\quad \\text{(summed over } i \\text{)}',
    '\\frac{d\\mathcal{L}}{dw} = -(y - \\hat{y}) x',
    'w = w - \\nabla w = w + (y - \\hat{y}) x',
    '\\mathcal{L}_i = \\frac{1}{2}(y_i - \\hat{y})',
    '\\frac{\\partial L}{\\partial w_3} = -\\eta(y - \\hat{y}) f_3(1 - f_3) f_2',
    '\\frac{\\partial L}{\\partial w_3} = -(y - \\hat{y}) f_3(1 - f_3) f_2 \\quad \\text{(without } \\eta \\text{)}',
    '\\frac{\\partial L}{\\partial w_1} = \\frac{\\partial L}{\\partial f_3}\\frac{\\partial f_3}{\\partial a_3}\\frac{\\partial a_3}{\\partial f_2}\\frac{\\partial f_2}{\\partial a_2}\\frac{\\partial a_2}{\\partial f_1}\\frac{\\partial f_1}{\\partial a_1}\\frac{\\partial a_1}{\\partial w_1}',
    '\\theta \\leftarrow \\theta + \\eta \\frac{\\partial \\mathcal{L}}{\\partial \\theta}',
    '\\frac{\\partial f}{\\partial x} = \\frac{\\partial f}{\\partial z}\\frac{dz}{dq}\\frac{\\partial q}{\\partial x} = r',
    '\\frac{\\partial f}{\\partial r} = z',
    '\\frac{\\partial f}{\\partial x} = \\mathbf{1}\\{x \\geq y\\}, \\frac{\\partial f}{\\partial y} = \\mathbf{1}\\{y \\geq x\\} \\quad \\text{for } f = \\max(x, y) \\text{ at a tie } x = y',
    '-\\log(0.7) = 0.35',
    '-\\log(0.1) = 2.3',
    '\\operatorname{softmax}\\left(\\begin{pmatrix} 2 & 1 \\\\ -1 & 0 \\end{pmatrix}\\begin{pmatrix} 1 \\\\ 1 \\end{pmatrix}\\right) = (0.98, 0.02)',
    '\\operatorname{softmax}\\left(\\begin{pmatrix} 0 & -1 \\\\ 1 & 0 \\end{pmatrix}\\begin{pmatrix} 1 \\\\ 1 \\end{pmatrix}\\right) = (0.12, 0.88)',
    'AB = C: dA = dC \\times B^T',
    'AB = C: dB = dC \\times A^T',
    '(3 \\times 4) + (4 \\times 2) = 20 \\text{ weights}, \\; 20 + 4 + 2 = 26 \\text{ parameters}',
    '\\frac{dL}{d\\theta_1} = 2\\theta_1 \\sum x^{(i)2} + 2\\theta_0 \\sum x^{(i)} - 2\\sum x^{(i)} y^{(i)}',
    '\\frac{dL}{d\\theta_0} = 2\\theta_1 \\sum x^{(i)} + 2\\theta_0 N - 2\\sum y^{(i)}',
]


def _top_level_split(text: str, separator: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for k, c in enumerate(text):
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == separator and depth == 0 and text[k + 1:k + 2] != "=":
            parts.append(text[start:k])
            start = k + 1
    return [*parts, text[start:]]


def slide_parts(slide: str) -> list[str]:
    """A slide string as the document layer hands it over: commentary removed, split at , and :."""
    slide = re.split(r"\\q?quad\s*\\text\b", slide)[0]
    return [piece for part in _top_level_split(slide, ",")
            for piece in _top_level_split(part, ":") if piece.strip()]


@pytest.mark.parametrize("slide", sorted(set(SLIDES)))
def test_every_lecture_slide_parses(slide):
    for part in slide_parts(slide):
        parse_latex(part)


def test_the_commentary_and_the_comma_are_what_is_removed():
    assert slide_parts(r"a = b \quad \text{(summed over } i \text{)}") == ["a = b "]
    assert slide_parts(r"f = \max(x, y), g = 1") == [r"f = \max(x, y)", " g = 1"]
    assert slide_parts("AB = C: dA = dC B^T") == ["AB = C", " dA = dC B^T"]


def test_the_delta_rule():
    eq = parse_latex(r"\Delta w = -\alpha \cdot \frac{\partial L}{\partial w}")
    assert eq.lhs == sp.Symbol("Delta_w") and eq.rhs == -alpha * Derivative(L, w)


def test_a_primed_new_value():
    eq = parse_latex(r"w' = w - \alpha g")
    assert eq.lhs == sp.Symbol("w'") and eq.rhs == w - alpha * g


def test_cross_entropy_as_a_declared_function():
    eq = parse_latex(r"\text{CE}(\mathbf{y}, \hat{\mathbf{y}}) = - \sum_i y_i \log \hat{y}_i",
                     functions=["CE"])
    y, yhat = symbols("y yhat")
    assert eq.lhs == Function("CE")(y, yhat)
    assert eq.rhs == -Sum(Y[i] * log(YHAT[i]), (i, 1, symbols("n_i")))


def test_a_chain_rule_over_two_paths():
    eq = parse_latex(r"\frac{\partial F}{\partial w_1} = \frac{\partial F}{\partial z_1} "
                     r"\frac{\partial z_1}{\partial w_1} + \frac{\partial F}{\partial z_2} "
                     r"\frac{\partial z_2}{\partial w_1}")
    assert (eq.of, eq.wrt) == (F, w1)
    assert eq.rhs == Derivative(F, z1) * Derivative(z1, w1) + Derivative(F, z2) * Derivative(z2, w1)


def test_a_function_defined_by_a_max():
    eq = parse_latex(r"F(x_1, x_2, x_3) = \max(w_1x_1 + w_2x_2, x_3)", functions=["F"])
    assert eq.lhs == Function("F")(x1, x2, x3) and eq.rhs == Max(w1 * x1 + w2 * x2, x3)


def test_softmax_of_a_matrix_product():
    eq = parse_latex(r"\text{softmax} \left(\begin{pmatrix} 2 & 1 \\ -1 & 0 \end{pmatrix} "
                     r"\begin{pmatrix} 1 \\ 1 \end{pmatrix} \right) = "
                     r"\begin{pmatrix} 0.98 \\ 0.02 \end{pmatrix}")
    # W (1, 1)^T = (3, -1); softmax: e^3/(e^3 + e^-1) = 1/(1 + e^-4) ≈ 0.982
    assert eq.lhs.shape == (2, 1)
    assert sp.simplify(eq.lhs[0] - 1 / (1 + exp(-4))) == 0
    assert abs(float(eq.lhs[0]) - 0.98201) < 1e-5
    assert eq.rhs == sp.Matrix([Rational(49, 50), Rational(1, 50)])


def test_an_operator_before_a_root_and_the_slide_that_expands_it():
    inner = sqrt((x - 1) * (x + 2)) + 1
    assert parse_latex(r"\frac{d}{dx} \sqrt{\sqrt{(x-1)(x+2)} + 1}") == Derivative(sqrt(inner), x)
    value = parse_latex(r"\frac{1}{2} \left\{ \left[(x-1)(x+2) \right]^{\frac{1}{2}} + 1 "
                        r"\right\}^{\frac{1}{2}-1}")
    assert value == 1 / (2 * sqrt(inner))


def test_the_sigmoid_definition():
    eq = parse_latex(r"\sigma(x) = \frac{1}{1+e^{-x}}")
    assert eq.lhs == sigmoid(x) and eq.rhs == 1 / (1 + exp(-x))


def test_the_mean_squared_error():
    eq = parse_latex(r"L = \frac{1}{N}\sum_{i=1}^{N}(y_i - \hat{y}_i)^2")
    assert eq.lhs == L and eq.rhs == Sum((Y[i] - YHAT[i]) ** 2, (i, 1, N)) / N


def test_the_normal_equations_with_sample_indices():
    eq = parse_latex(r"\frac{dL}{d\theta_1} = 2\theta_1 \sum x^{(i)2} + 2\theta_0 \sum x^{(i)} "
                     r"- 2\sum x^{(i)} y^{(i)}", sizes={"i": "N"})
    t0, t1 = symbols("theta0 theta1")
    X = IndexedBase("x")
    assert (eq.of, eq.wrt) == (L, t1)
    assert eq.rhs == (2 * t1 * Sum(X[i] ** 2, (i, 1, N)) + 2 * t0 * Sum(X[i], (i, 1, N))
                      - 2 * Sum(X[i] * Y[i], (i, 1, N)))


def test_results_are_the_documented_kinds():
    assert isinstance(parse_latex(r"w \leftarrow w - \alpha g"), UpdateRule)
    assert isinstance(parse_latex(r"w' = w - \alpha g"), Equation)
