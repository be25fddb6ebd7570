"""Random scalar expressions over every operation of the table: four views give one gradient.

Hypothesis draws expression trees over the data x, y and the parameters w, b
from every scalar entry of the op table, and a point. At that point the
closed-form gradient (SymPy, evaluated at 30 digits), the graph engine's
backward pass (the table's hand-written rules), the compiled NumPy function
and central finite differences of the expression itself (at 30 digits, so
the difference quotient is exact to ~1e-12) must agree.
"""
from __future__ import annotations

import math

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symgrad
from symgrad import OPS, Graph, Model
from symgrad.core.ops import MATRIX_OPS

w, b, x, y = sp.symbols("w b x y", real=True)
PARAMS, DATA = (w, b), (x, y)


def scalar_ops() -> list[str]:
    # read when drawing, not at import: ops registered (and removed) by other tests come and go
    return sorted(name for name in OPS if name not in MATRIX_OPS and name != "softmax")

KINKED = ("relu", "Abs", "Max", "Min", "Heaviside", "sign")
_U = sp.Symbol("u", real=True)


def _kinked_at_zero(node) -> bool:
    # a one-argument function whose derivative jumps (a step, a sign or pieces): relu, leaky_relu, ...
    if not isinstance(node, sp.Function) or len(node.args) != 1:
        return False
    return sp.diff(node.func(_U), _U).has(sp.Heaviside, sp.sign, sp.Piecewise)


def _safe_argument(entry, position: int, arg):
    # keep arguments in the op's domain: log and a power's base positive, a divisor nonzero
    if entry.domain == "positive" and position == 0:
        return arg**2 + sp.Rational(1, 2)
    if entry.domain == "nonzero" and position == (entry.arity or 2) - 1:
        return arg**2 + 1
    return arg


def _apply(name: str, args: list):
    entry = OPS[name]
    if entry.name == "pow":
        return _safe_argument(entry, 0, args[0]) ** sp.Rational(3, 2)
    if entry.arity is not None:
        args = (args * entry.arity)[: entry.arity]
    return entry.sympy(*[_safe_argument(entry, i, a) for i, a in enumerate(args)])


leaves = st.sampled_from([w, b, x, y, w * x, w * x + b, sp.Rational(1, 2)])


@st.composite
def expressions(draw):
    """A composition of 1 to 4 ops, each applied to the expression so far and fresh leaves."""
    expr = draw(leaves)
    for name in draw(st.lists(st.sampled_from(scalar_ops()), min_size=1, max_size=4)):
        others = draw(st.lists(leaves, min_size=1, max_size=2))
        arguments = [expr, *others]
        if draw(st.booleans()):
            arguments.reverse()  # the expression so far in any position
        expr = _apply(name, arguments)
    assume(expr.free_symbols & set(PARAMS))
    return expr
coordinates = st.floats(min_value=-2.5, max_value=2.5, allow_nan=False).map(lambda v: round(v, 3))
points = st.fixed_dictionaries({s: coordinates for s in (*PARAMS, *DATA)})


def _exact(expr, point, digits=40):
    """The expression at the point, evaluated with ``digits`` significant digits."""
    values = {s: sp.Float(v, digits) for s, v in point.items()}
    return sp.sympify(expr).rewrite(sp.exp).xreplace(values).evalf(digits)


def _value(expr, point) -> float:
    value = _exact(expr, point)
    assume(value.is_real is True and value.is_finite is True)
    return float(value)


def _away_from_kinks(expr, point) -> None:
    # at a kink the derivative is a convention and finite differences straddle it: skip such points
    for node in sp.preorder_traversal(expr):
        name = type(node).__name__
        if name in KINKED or _kinked_at_zero(node):
            args = list(node.args[:1]) if name not in ("Max", "Min") else [
                p - q for i, p in enumerate(node.args) for q in node.args[i + 1:]]
            for arg in args:
                assume(abs(_value(arg, point)) > 1e-3)


def _finite_difference(expr, point, symbol, h=sp.Float("1e-12", 40)):
    up, down = dict(point), dict(point)
    up[symbol] = sp.Float(point[symbol], 40) + h
    down[symbol] = sp.Float(point[symbol], 40) - h
    difference = (_exact(expr, up) - _exact(expr, down)) / (2 * h)
    assume(difference.is_real is True)
    return float(difference)


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(expressions(), points)
def test_symbolic_graph_compiled_and_finite_differences_agree(expr, point):
    params = [p for p in PARAMS if p in expr.free_symbols]
    loss = _value(expr, point)
    assume(abs(loss) < 1e6)
    _away_from_kinks(expr, point)
    reference = {p: _finite_difference(expr, point, p) for p in params}
    assume(all(math.isfinite(v) and abs(v) < 1e6 for v in reference.values()))

    symbolic = symgrad.grad(expr, params)
    model = Model.from_expr(expr, inputs=[s for s in DATA if s in expr.free_symbols], params=params)
    graph = Graph.from_model(model)
    numbers = {str(s): float(v) for s, v in point.items() if s in expr.free_symbols}
    assert graph.forward(numbers) == pytest.approx(loss, rel=1e-9, abs=1e-12)
    graph_gradients = {str(k): v for k, v in graph.backward().items()}
    compiled_loss, compiled_gradients = symgrad.compile(model)(numbers)
    assert compiled_loss == pytest.approx(loss, rel=1e-9, abs=1e-12)

    for p in params:
        want = reference[p]
        tolerance = dict(rel=1e-6, abs=1e-8)
        assert _value(symbolic[p], point) == pytest.approx(want, **tolerance), f"symbolic d/d{p} of {expr}"
        assert float(graph_gradients[str(p)]) == pytest.approx(want, **tolerance), f"graph d/d{p} of {expr}"
        assert float(compiled_gradients[str(p)]) == pytest.approx(want, **tolerance), f"compiled d/d{p} of {expr}"


def test_every_scalar_op_can_be_drawn():
    # the strategy reaches every entry of the table (a new op is tested without editing this file)
    assert set(scalar_ops()) >= {"add", "mul", "exp", "log", "sigmoid", "relu", "tanh", "max", "min", "gelu"}
    for name in scalar_ops():
        expr = _apply(name, [w * x + b, y])
        assert expr.free_symbols, name
