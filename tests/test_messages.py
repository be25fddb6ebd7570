r"""Every user mistake is a one-line error naming the problem: a SymgradError in Python, exit status 2 at the CLI.

Each case goes through the Python API and the command line; the expected
words come from what the input means (``w/0`` divides by zero, ``log(0)``
has no value), not from the code's output. Right inputs just beside each
boundary must still give the hand-derived answer.
"""
from __future__ import annotations

import pytest
import sympy as sp

import symgrad
from symgrad import (CompileError, Model, ModelError, ParseError, SymgradError, check_gradients, grad, parse,
                     verify)
from symgrad.cli import main

w, x, y = sp.symbols("w x y")
i, j = sp.symbols("i j")


def run(capsys, *argv) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of the CLI; never a traceback."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def refused(capsys, *argv) -> str:
    """The one error of a refused command line: exit status 2, nothing on stdout."""
    status, out, err = run(capsys, *argv)
    assert status == 2, (status, out, err)
    assert out == ""
    assert err.startswith(f"symgrad {argv[0]}: error: ")
    return err


# -- values without a value: zoo and nan, where the text becomes an expression ---------------------

UNDEFINED = [
    # (text, words the message must hold)
    ("w/0", "division by zero in w/0"),
    ("log(0)*w", "log(0) is undefined"),
    ("0/0*w", "division by zero in 0/0"),
    (r"\infty - \infty + w", "∞ - ∞ has no value"),
    (r"0*\infty*w", "0·∞ has no value"),
    (r"w + 1^\infty", "1 to the power ∞ has no value"),
    (r"\frac{w}{x - x}", "division by zero in \\frac{w}{x - x}"),
    ("w*(2 - 2)^(-2)", "0 to a negative power"),
    ("w^(1/0)", "division by zero in 1/0"),
]


@pytest.mark.parametrize("text, words", UNDEFINED, ids=[t for t, _ in UNDEFINED])
def test_undefined_values_are_parse_errors(text, words):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert words in caught.value.message
    # the caret line points into the text, under the culprit
    assert caught.value.position is not None and 0 <= caught.value.position < len(text)


@pytest.mark.parametrize("text, words", UNDEFINED, ids=[t for t, _ in UNDEFINED])
def test_undefined_values_at_the_cli(capsys, text, words):
    err = refused(capsys, "derive", text)
    assert words in err
    assert "zoo" not in err and "nan" not in err.split()


def test_a_claim_that_divides_by_zero_names_it(capsys):
    with pytest.raises(ParseError, match="division by zero in 2/0"):
        verify("dL/dw = 2/0", (y - w * x) ** 2, w)
    err = refused(capsys, "verify", "--loss", "(y - w*x)^2", "--wrt", "w", "--claim", "2x/0")
    assert "division by zero in 2x/0" in err


def test_update_rule_and_equation_sides_are_checked():
    with pytest.raises(ParseError, match="division by zero in w/0"):
        parse("w <- w/0")
    with pytest.raises(ParseError, match="log"):
        parse("dL/dw = log(0)")


def test_codegen_of_a_division_by_zero_names_it_not_sympy(capsys, tmp_path):
    out = tmp_path / "x.py"
    err = refused(capsys, "codegen", "(y - w*x)^2/0", "-o", str(out))
    assert "division by zero in (y - w*x)^2/0" in err
    assert "ComplexInfinity" not in err
    assert not out.exists()


@pytest.mark.parametrize("expr", [w / sp.S.Zero, w * sp.log(0), sp.nan * w, w + sp.zoo],
                         ids=["w/0", "w*log(0)", "nan*w", "w+zoo"])
def test_a_model_holding_zoo_or_nan_names_the_stage(expr):
    with pytest.raises(ModelError, match=r"stage L = .* is undefined: it contains (zoo|nan)"):
        Model.from_expr(expr)
    with pytest.raises(ModelError, match="stage L"):
        grad(expr, w)
    loss = sp.Symbol("loss")
    with pytest.raises(ModelError, match="stage loss"):
        Model([(sp.Symbol("a"), w * x), (loss, expr)], inputs=[x])


# -- right inputs beside each boundary ---------------------------------------------------------------

@pytest.mark.parametrize("text, derivative", [
    ("w/2", sp.Rational(1, 2)),              # d(w/2)/dw
    ("log(2)*w", sp.log(2)),                 # a constant factor
    ("1e-300*w", sp.Rational(1, 10**300)),   # a tiny number is exact, not 0 and not an error
    (r"\frac{w}{x - 1}", 1 / (x - 1)),       # a divisor that is not zero
    (r"e^{-\infty} + w", sp.S.One),          # e^-∞ is 0, a value
])
def test_right_inputs_near_the_boundaries(text, derivative):
    assert sp.simplify(grad(parse(text), w) - derivative) == 0


def test_right_inputs_near_the_boundaries_at_the_cli(capsys):
    status, out, _ = run(capsys, "derive", "w/2")
    assert status == 0 and out.strip() == "dL/dw = 1/2"
    status, out, _ = run(capsys, "derive", "log(2)*w")
    assert status == 0 and out.strip() == "dL/dw = log(2)"
    status, out, _ = run(capsys, "derive", "1e-300*w")
    assert status == 0 and out.strip() == f"dL/dw = 1/{10**300}"
    # each w_j appears once in w_1 + w_2 + w_3
    status, out, _ = run(capsys, "derive", r"\sum_{i=1}^{3} w_i")
    assert status == 0 and out.strip() == "dL/dwⱼ = 1"


# -- numbers out of range -------------------------------------------------------------------------------

def test_a_tiny_number_is_too_small_not_too_large(capsys):
    with pytest.raises(ParseError) as caught:
        parse("1e-999999*w")
    assert caught.value.message.startswith("number too small: 1e-999999")
    assert "exponent -999999 is out of range" in caught.value.message
    err = refused(capsys, "derive", "1e-999999*w")
    assert "number too small" in err and "too large" not in err


def test_a_huge_number_is_too_large(capsys):
    with pytest.raises(ParseError, match="number too large: 1e999999 .exponent 999999 is out of range"):
        parse("1e999999*w")


def test_a_claim_that_overflows_floats_is_an_error_about_the_overflow(capsys):
    # 1e308*10 = 10^309 is exact for SymPy, but no float: sampling the claim overflows
    err = refused(capsys, "verify", "--loss", "w*x", "--wrt", "w", "--claim", "1e308*10")
    assert "too large" in err


# -- constructs the compiler has no NumPy for -----------------------------------------------------------

NO_NUMPY = [
    # (text, what the message must name, what it must advise)
    (r"\prod_{i=1}^{3} w_i", "products over an index", "write the factors out"),
    ("(d/dw (w*x))^2", "the derivative Derivative(w*x, w)", "write it out"),
    ("w*x + d/dw (w^2)", "the derivative Derivative(w**2, w)", "write it out"),
]


@pytest.mark.parametrize("text, names, advice", NO_NUMPY, ids=[t for t, _, _ in NO_NUMPY])
def test_the_compiler_names_what_it_cannot_compile(capsys, tmp_path, text, names, advice):
    with pytest.raises(CompileError) as caught:
        symgrad.compile(parse(text), inputs=[x])
    message = str(caught.value)
    assert names in message and advice in message and "stage L" in message
    out = tmp_path / "m.py"
    err = refused(capsys, "codegen", text, "--inputs", "x", "-o", str(out))
    assert names in err
    for internal in ("Printer", "PrintMethod", "_print_", "strict"):
        assert internal not in err
    assert not out.exists()


def test_a_function_known_only_by_name_cannot_be_compiled():
    with pytest.raises(CompileError, match="f is a function known only by its name"):
        symgrad.compile(parse("f(w)*x", functions=["f"]), inputs=[x])


def test_a_gradient_the_printer_cannot_write_is_named():
    # d/dw Heaviside(w) is DiracDelta(w), which NumPy has no function for
    with pytest.raises(CompileError, match="the gradient, which holds DiracDelta"):
        symgrad.compile(sp.Heaviside(w) * x, inputs=[x])
    with pytest.raises(CompileError, match="DiracDelta"):
        symgrad.codegen(sp.Heaviside(w) * x, "/nonexistent/never_written.py", inputs=[x])


# -- products over an index: derived right, or refused clearly ------------------------------------------

def test_derivative_of_a_product_over_an_index_is_right():
    derivative = grad(parse(r"\prod_{i=1}^{3} w_i"))[sp.IndexedBase("w")]
    # the component differentiated is w_j: j is its one free index
    indices = {s for s in derivative.free_symbols if isinstance(s, sp.Symbol) and s.name != "w"}
    assert {s.name for s in indices} == {"j"}
    jj = indices.pop()
    values = {1: 2, 2: 3, 3: 5}
    base = sp.IndexedBase("w")
    # by hand: d(w1 w2 w3)/dw_j is the product of the other two
    for component, expected in {1: 3 * 5, 2: 2 * 5, 3: 2 * 3}.items():
        value = derivative.subs(jj, component).doit()
        value = value.xreplace({base[k]: v for k, v in values.items()})
        assert value == expected


def test_a_product_over_an_index_is_refused_where_it_cannot_be_computed(capsys, tmp_path):
    status, out, _ = run(capsys, "derive", r"\prod_{i=1}^{3} w_i")
    assert status == 0 and out.startswith("dL/dwⱼ = ")
    err = refused(capsys, "gradcheck", r"\prod_{i=1}^{3} w_i")
    assert "Product" in err
    err = refused(capsys, "codegen", r"\prod_{i=1}^{3} w_i", "-o", str(tmp_path / "p.py"))
    assert "products over an index" in err


# -- indexed names whose index is an expression -----------------------------------------------------------

def test_index_expressions_derive_right():
    xb, wb = sp.IndexedBase("x"), sp.IndexedBase("w")
    # d(x_{i+1} w)/dw = x_{i+1}
    assert grad(parse("x_{i+1}*w"), w) == xb[i + 1]
    # d(x_i w_i)/dw_i = x_i: the component differentiated is the one in the loss
    assert grad(parse("x_i*w_i"), wb[i]) == xb[i]
    # sum_i x_i w_{i+1}: w_j multiplies x_{j-1}
    assert grad(parse(r"\sum_i x_i w_{i+1}"), wb[j]) == xb[j - 1]
    assert verify("dL/dw_j = x_{j-1}", parse(r"\sum_i x_i w_{i+1}")).status == "proved"
    assert verify("dL/dw_j = x_j", parse(r"\sum_i x_i w_{i+1}")).status == "wrong"
    assert verify("dL/dw_{i+1} = x_{i+1}", parse("x_{i+1}*w_{i+1}")).status == "proved"
    assert verify("dL/dw_i = x_{i+1}", parse("x_{i+1}*w_i")).status == "proved"


def test_index_expressions_at_the_cli(capsys, tmp_path):
    status, out, _ = run(capsys, "derive", "x_i*w_i")
    assert status == 0 and "dL/dwⱼ = " in out and "KroneckerDelta(i, j)" in out
    status, out, _ = run(capsys, "derive", r"\sum_i x_i w_{i+1}")
    assert status == 0 and "dL/dwⱼ = xⱼ₋₁" in out
    status, out, _ = run(capsys, "verify", "--loss", "x_{i+1}*w_i", "--claim", "dL/dw_i = x_{i+1}")
    assert status == 0
    # no graph, check, training or compiled code for a loss over array components: named, refused
    commands = [("graph", "x_{i+1}*w", "-o", str(tmp_path / "g.svg")), ("gradcheck", "x_{i+1}*w"),
                ("train", "x_{i+1}*w", "--columns", "x=1,2"), ("codegen", "x_{i+1}*w", "-o", str(tmp_path / "c.py"))]
    for argv in commands:
        err = refused(capsys, *argv)
        assert "x[i + 1]" in err, err


@pytest.mark.parametrize("entry", ["graph", "check", "compile"])
def test_index_expressions_in_python_are_symgrad_errors(entry):
    loss = parse("(y - w*x_{i+1})^2")
    with pytest.raises(SymgradError, match=r"x\[i \+ 1\]"):
        if entry == "graph":
            symgrad.Graph.from_model(Model.from_expr(loss))
        elif entry == "check":
            check_gradients(loss, {})
        else:
            symgrad.compile(loss)


# -- a point where the loss is undefined ----------------------------------------------------------------

@pytest.mark.parametrize("text, expr", [("1/w", 1 / w), ("log(w)", sp.log(w)), ("exp(w)/w", sp.exp(w) / w)])
def test_a_check_where_the_loss_is_undefined_says_so(capsys, text, expr):
    with pytest.raises(SymgradError, match=r"produced inf .*w = 0"):
        check_gradients(expr, {w: 0})
    err = refused(capsys, "gradcheck", text, "--at", "w=0")
    assert "inf" in err and "w = 0" in err
