r"""``\tanh^2(u)`` is written by slides for tanh(u)²: the power belongs to the call, not to the name."""
import sympy as sp

from symgrad.parsing import parse_latex

u, x = sp.symbols("u x")


def test_a_power_written_on_a_function_applies_to_its_value():
    assert parse_latex(r"\tanh^2(u)") == sp.tanh(u) ** 2
    assert parse_latex(r"1 - \tanh^{2}(u)") == 1 - sp.tanh(u) ** 2
    assert parse_latex(r"\log^3(x + 1)") == sp.log(x + 1) ** 3


def test_the_derivative_of_tanh_as_slides_write_it():
    claim = parse_latex(r"\tanh'(u) = 1 - \tanh^2(u)")
    assert sp.simplify(claim.lhs.doit() - claim.rhs) == 0


def test_what_the_latex_printer_writes_reads_back():
    # SymPy's printer (and symgrad's) writes calls with braced arguments: \tanh^{2}{\left(w \right)}
    from symgrad import printing
    for expr in [sp.tanh(u) ** 2, (1 - sp.tanh(u) ** 2) * (x - sp.exp(sp.tanh(u))), sp.log(u**2 + 1)]:
        assert sp.simplify(parse_latex(printing.latex(expr)) - expr) == 0
        assert sp.simplify(parse_latex(sp.latex(expr)) - expr) == 0


def test_nested_braced_calls_read_back():
    # the inner call's power belongs to the inner call: log(log(u² + 1)² + 1), not log(log((u² + 1)²) + 1)
    from symgrad import printing
    expr = sp.log(sp.log(u**2 + 1) ** 2 + 1)
    assert parse_latex(printing.latex(expr)) == expr
    assert parse_latex(sp.latex(sp.tanh(sp.tanh(u) ** 2) ** 3)) == sp.tanh(sp.tanh(u) ** 2) ** 3
