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
