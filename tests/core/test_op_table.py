"""The op-table property suite, written once and run over every entry, one added by extension included.

References: SymPy's own ``diff`` and ``evalf`` of each entry's SymPy form,
central finite differences of the NumPy forward, and the graph engine
against the compiled code (two independent code paths).
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symgrad
from symgrad.graph.engine import Graph
from symgrad.core.ops import MATRIX_OPS, OPS, derivative_forms

# "isru", an activation added through symgrad.extend, is registered for the whole test session by
# tests/conftest.py, so this suite (and every other one parametrised over the table) runs over it too

SCALAR = [o for o in OPS.values() if o.name != "softmax" and o.name not in MATRIX_OPS]
ELEMENTWISE = [o for o in SCALAR if o.elementwise]
KINKS = {"abs", "relu", "leaky_relu", "elu"}


def _arity(entry) -> int:
    return 3 if entry.arity is None else entry.arity


def _points(entry, rng, count=6):
    """Random argument tuples inside the op's domain, away from kinks."""
    for _ in range(count):
        values = rng.uniform(-3.0, 3.0, size=_arity(entry))
        if entry.domain == "positive":
            values[0] = rng.uniform(0.3, 3.0)
        if entry.domain == "nonzero":
            values[-1] = rng.choice([-1, 1]) * rng.uniform(0.5, 2.0)
        if entry.name in KINKS:
            values[0] = rng.choice([-1, 1]) * rng.uniform(0.2, 3.0)
        yield values


def _value(expr, symbols, values) -> float:
    return float(expr.xreplace(dict(zip(symbols, map(sp.Float, values)))).rewrite(sp.exp).evalf(30))


def test_the_extension_entry_is_in_the_table():
    assert "isru" in {o.name for o in ELEMENTWISE}
    assert {"leaky_relu", "elu", "gelu"} <= {o.name for o in ELEMENTWISE}


@pytest.mark.parametrize("entry", SCALAR, ids=lambda o: o.name)
def test_numpy_forward_equals_the_sympy_form(entry):
    rng = np.random.default_rng(11)
    symbols = sp.symbols(f"a0:{_arity(entry)}", real=True)
    expr = entry.sympy(*symbols)
    for values in _points(entry, rng):
        assert float(entry.forward(*values)) == pytest.approx(_value(expr, symbols, values), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("entry", SCALAR, ids=lambda o: o.name)
def test_hand_written_backward_equals_sympy_diff_and_finite_differences(entry):
    rng = np.random.default_rng(12)
    symbols = sp.symbols(f"a0:{_arity(entry)}", real=True)
    expr = entry.sympy(*symbols)
    for values in _points(entry, rng):
        grads = entry.backward(1.0, entry.forward(*values), *values)
        for i, symbol in enumerate(symbols):
            assert float(grads[i]) == pytest.approx(_value(sp.diff(expr, symbol), symbols, values),
                                                    rel=1e-10, abs=1e-12)
            up, down = values.copy(), values.copy()
            up[i] += 1e-6
            down[i] -= 1e-6
            central = (entry.forward(*up) - entry.forward(*down)) / 2e-6
            assert float(grads[i]) == pytest.approx(central, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("entry", ELEMENTWISE, ids=lambda o: o.name)
def test_the_activation_class_derivative_equals_the_diff_of_its_definition(entry):
    # the generated class's hand-written derivative against SymPy's diff of the defining formula
    z = sp.Symbol("z", real=True)
    written = sp.diff(entry.sympy(z), z)
    defined = sp.diff(entry.sympy(z).rewrite(sp.exp), z)
    rng = np.random.default_rng(13)
    for (value,) in _points(entry, rng):
        assert _value(written, [z], [value]) == pytest.approx(_value(defined, [z], [value]), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("entry", ELEMENTWISE, ids=lambda o: o.name)
def test_the_output_form_of_the_derivative_equals_the_input_form(entry):
    from_input, from_output = derivative_forms(entry.name)
    z, h = sp.Symbol("z", real=True), sp.Symbol("h", real=True)
    if from_output is None:
        assert entry.output_derivative is None  # only when no output form is known
        return
    assert z not in from_output.free_symbols
    rng = np.random.default_rng(14)
    for (value,) in _points(entry, rng):
        out = float(entry.forward(value))
        assert _value(from_output, [h], [out]) == pytest.approx(_value(from_input, [z], [value]), rel=1e-9,
                                                                abs=1e-12)


def test_output_forms_are_the_ones_of_the_lectures():
    h = sp.Symbol("h", real=True)
    assert derivative_forms("sigmoid")[1] == h * (1 - h)
    assert derivative_forms("tanh")[1] == 1 - h**2
    assert derivative_forms("exp")[1] == h


@pytest.mark.parametrize("entry", OPS.values(), ids=lambda o: o.name)
def test_every_op_has_a_label_latex_and_text_name(entry):
    assert entry.label and entry.name_text
    args = [f"a_{i}" for i in range(_arity(entry))]
    assert all(a in entry.latex(*args) for a in args)
    if entry.elementwise:
        assert entry.latex_name and entry.numpy and entry.spellings


@pytest.mark.parametrize("entry", [o for o in SCALAR if o.name not in ("square",)], ids=lambda o: o.name)
def test_compiled_scalar_code_equals_the_graph(entry):
    w, b, x = sp.symbols("w b x", real=True)
    args = [w * x] if entry.arity == 1 else [w * x, b] if entry.arity == 2 else [w * x, b, x]
    expr = entry.sympy(*args)
    rng = np.random.default_rng(15)
    xs = rng.uniform(0.4, 2.0, size=7)
    values = {w: 0.8, b: 1.3} if entry.name not in KINKS else {w: -0.8, b: 1.3}
    compiled = symgrad.compile(expr, wrt=[w, b] if len(args) > 1 else [w], inputs=[x])
    loss, grads = compiled(x=xs, **{str(k): v for k, v in values.items() if str(k) in compiled.params})
    graph = Graph.from_expr(expr, inputs=[x])
    graph_loss = graph.forward({**values, x: xs} if len(args) > 1 else {w: values[w], x: xs})
    graph_grads = graph.backward()
    assert loss == pytest.approx(float(graph_loss), rel=1e-12)
    for name, value in grads.items():
        assert value == pytest.approx(float(graph_grads[sp.Symbol(name, real=True)] if sp.Symbol(name, real=True)
                                            in graph_grads else graph_grads[{str(k): k for k in graph_grads}[name]]),
                                      rel=1e-10, abs=1e-14)
