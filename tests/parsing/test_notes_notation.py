"""The notation of real lecture notes: implicit products after '/', and read()'s notes where readers differ."""
from __future__ import annotations

import re

import pytest
import sympy as sp
from sympy import Derivative, IndexedBase, Rational, Sum, symbols

from symgrad.parsing import ParseError, Reading, parse, parse_latex, read

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


# -- 2. the notation of lecture notes -----------------------------------------------

z, g, eta, t, n, W_, T = symbols("z g eta t n W T")
yhat = sp.Symbol("yhat")
Wt, G = IndexedBase("w"), IndexedBase("g")


@pytest.mark.parametrize("text, expected", [
    (r"\frac12 (y - wx)^2", (y - w * x) ** 2 / 2),
    (r"\tfrac{1}{2} x + \dfrac{a}{b}", x / 2 + a / b),
    (r"\mathbb{1}\{x \geq y\}", sp.Heaviside(x - y, 1)),
    (r"\mathbf{1}\{x > y\}", sp.Heaviside(x - y, 0)),
    (r"\mathbb{1}[x \leq y]", sp.Heaviside(y - x, 1)),
    (r"\mathbb{1}\{x < y\}", sp.Heaviside(y - x, 0)),
    (r"\mathbb{1}\left\{x \ge y\right\}", sp.Heaviside(x - y, 1)),
    (r"\frac{\lambda}{2}\|w\|^2", lam * w ** 2 / 2),
    (r"\|W\|_F^2", W_ ** 2),
    ("‖w‖^2", w ** 2),
    (r"x^{(i)}", X[i]),
    (r"x^{(i)2}", X[i] ** 2),
    (r"\hat y", yhat),
    (r"\hat{y}", yhat),
    ("ŷ", yhat),
    ("y\u0302", yhat),
    (r"\hat{\mathbf{y}}", yhat),
    ("z²", z ** 2),
    (r"a \odot b", a * b),
    (r"a \cdot b \times c", a * b * c),
    (r"\sum_{i=1}^{n} x_i", Sum(X[i], (i, 1, n))),
    (r"\frac{1}{n}\sum_i x_i", Sum(X[i], (i, 1, symbols("n_i"))) / n),
    (r"\log x + \ln y + \exp(z) + e^{-x}", sp.log(x) + sp.log(y) + sp.exp(z) + sp.exp(-x)),
    (r"\max(0, x)", sp.Max(0, x)),
    (r"\left( a + b \right) \left\{ c \right\} \big( w \big) \Big[ z \Big]", (a + b) * c * w * z),
    (r"a \, b \; c \! w \quad z", a * b * c * w * z),
    (r"\mathcal{L} + \mathbf{x} \boldsymbol{w}", L + w * x),
    (r"\frac{d}{dx}(x^2)", Derivative(x ** 2, x)),
    (r"\frac{\partial}{\partial x}(x y)", Derivative(x * y, x)),
    (r"\frac{\partial^2 L}{\partial w^2}", Derivative(L, (w, 2))),
    (r"\Delta w", sp.Symbol("Delta_w")),
    ("Δw", sp.Symbol("Delta_w")),
    (r"\Delta w_1", sp.Symbol("Delta_w1")),
    (r"\Delta \theta", sp.Symbol("Delta_theta")),
    ("w'", sp.Symbol("w'")),
    (r"\nabla w", sp.Symbol("nabla_w")),
])
def test_lecture_notation(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text", [r"\sigma'(z)", "σ'(z)", "σ′(z)"])
def test_the_derivative_of_the_sigmoid(text):
    s = sp.exp(-z)
    # σ(z) = 1/(1 + e^-z): σ'(z) = e^-z/(1 + e^-z)^2, written out by hand
    assert sp.simplify((parse(text) - s / (1 + s) ** 2).rewrite(sp.exp)) == 0


@pytest.mark.parametrize("text, of, wrt", [
    (r"\nabla_w L = 2x", L, w),
    (r"\nabla_{W} L = 2x", L, W_),
    (r"\nabla_{w_1} L = 2x", L, w1),
])
def test_nabla_is_a_derivative_claim(text, of, wrt):
    claim = parse(text)
    assert (claim.of, claim.wrt) == (of, wrt)
    assert claim.rhs == 2 * x


def test_a_squared_norm_differentiates_like_a_square():
    # d/dw (λ/2)‖w‖² = λw
    assert parse(r"\frac{\lambda}{2}\|w\|^2").diff(w) == lam * w
    # ‖w‖ is |w| for a real w
    real_w = sp.Symbol("w", real=True)
    assert parse(r"\|w\|", symbols=[real_w]) == sp.Abs(real_w)


def test_the_norm_of_a_vector_is_euclidean():
    assert parse(r"\|\begin{pmatrix} 3 \\ 4 \end{pmatrix}\|") == 5  # sqrt(9 + 16)


@pytest.mark.parametrize("text", [r"W^\top", "W^T", "Wᵀ", r"W^{\top}", r"W^{T}"])
def test_a_transpose_is_kept_visible(text):
    value = parse(text)
    assert value == sp.transpose(W_, evaluate=False)
    assert isinstance(value, sp.transpose)


def test_transpose_of_a_matrix_literal_and_a_declared_power_t():
    assert parse(r"\begin{pmatrix} 1 & 2 \end{pmatrix}^T") == sp.Matrix([[1], [2]])
    assert parse("x^T", symbols=["T"]) == x ** T


def test_matrix_literals_multiply_in_order():
    A = parse(r"\begin{pmatrix} 0 & 1 \\ 0 & 0 \end{pmatrix}")
    B = parse(r"\begin{bmatrix} 0 & 0 \\ 1 & 0 \end{bmatrix}")
    assert A == sp.Matrix([[0, 1], [0, 0]])
    assert parse(r"\begin{pmatrix} 0 & 1 \\ 0 & 0 \end{pmatrix}"
                 r"\begin{bmatrix} 0 & 0 \\ 1 & 0 \end{bmatrix}") == sp.Matrix([[1, 0], [0, 0]])
    assert B * A == sp.Matrix([[0, 0], [0, 1]])


def test_softmax_of_a_column():
    p = parse(r"\operatorname{softmax}\left(\begin{pmatrix} 0 \\ \ln 3 \end{pmatrix}\right)")
    # e^0 : e^{ln 3} = 1 : 3
    assert p == sp.Matrix([Rational(1, 4), Rational(3, 4)])
    assert parse(r"\text{softmax}(z)") == sp.Function("softmax")(z)


def test_a_tuple_is_a_vector_on_its_own_only():
    assert parse("(0.98, 0.02)") == sp.Matrix([Rational(49, 50), Rational(1, 50)])
    with pytest.raises(ParseError, match="functions="):
        parse("F(x, y)")


def test_time_subscripts_are_indexed():
    rule = parse(r"w_{t+1} = w_t - \eta g_t")
    assert rule.lhs == Wt[t + 1] and rule.rhs == Wt[t] - eta * G[t]


def test_declared_functions_in_text_commands():
    assert parse(r"\mathrm{CE}(y, z)", functions=["CE"]) == sp.Function("CE")(y, z)
    with pytest.raises(ParseError, match="unknown function 'CE'"):
        parse(r"\mathrm{CE}(y, z)")


@pytest.mark.parametrize("text, message", [
    (r"x \geq y", "only read inside an indicator"),
    (r"\mathbb{1}\{x \geq y\} + (a \geq b)", "only read inside an indicator"),
    (r"\|w", "never closed"),
    (r"\top", "transpose"),
    (r"\begin{pmatrix} 1 & 2 \\ 3 \end{pmatrix}", "different lengths"),
    (r"\begin{pmatrix} 1 & 2", "never closed"),
    (r"\sum x^{(i)} y^{(j)}", "needs an index"),
    ("x'abc'", "quotes"),
])
def test_notation_errors(text, message):
    with pytest.raises(ParseError, match=re.escape(message)):
        parse(text)


@pytest.mark.parametrize("text, message", [
    ("log((1, 2))", "a matrix cannot be an argument of log"),
    ("(1, 2) + 1", "cannot be combined (2×1 and a scalar)"),
    (r"\begin{pmatrix} 1 & 2 \end{pmatrix}\begin{pmatrix} 1 & 2 \end{pmatrix}", "1×2 and 1×2"),
    (r"\frac{3}{(1, 2)}", "a denominator"),
    (r"\sum_i (1, 2)", "the body of a sum"),
    (r"e^{(1, 2)}", "an exponent"),
    (r"0 \cdot \begin{pmatrix} \infty \end{pmatrix}", "∞ in a matrix"),
    (r"\sqrt[(1,2)]{x}", "the degree of a root"),
])
def test_matrices_only_where_they_can_be_computed(text, message):
    with pytest.raises(ParseError, match=re.escape(message)):
        parse(text)


def test_a_row_times_a_column():
    # (1 2)(1 2)^T = 1 + 4
    assert parse(r"\begin{pmatrix} 1 & 2 \end{pmatrix}\begin{pmatrix} 1 \\ 2 \end{pmatrix}") \
        == sp.Matrix([[5]])


def test_products_of_symbolic_matrices_are_bounded():
    # each product of 4×4 symbolic matrices multiplies the terms by about 4: refused fast, not hung
    matrix = r"\begin{pmatrix} a & b & c & w \\ x & y & z & g \\ a & c & b & w \\ z & y & x & g \end{pmatrix}"
    with pytest.raises(ParseError, match="matrix too large"):
        parse(matrix + "^{64}")
    with pytest.raises(ParseError, match="matrix too large"):
        parse(matrix * 20)
    # numbers stay numbers: the Fibonacci matrix to the 10th power holds F(11), F(10), F(9)
    assert parse(r"\begin{pmatrix} 1 & 1 \\ 1 & 0 \end{pmatrix}^{10}") == sp.Matrix([[89, 55], [55, 34]])
