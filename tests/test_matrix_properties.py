"""Property: for random MLPs, compiled = graph = central finite differences = the component-wise derivation.

Networks are drawn with widths 1-6 (1 included), 1-3 layers, every activation of
``symgrad.matrix.layers.OUTPUTS`` as hidden and as output layer (softmax only as the
output, with cross-entropy), squared error or softmax cross-entropy, one sample (a column
``x``) or a batch of 1-4 rows, with and without biases, with no, a numeric or a symbolic
weight decay (``λ/2``, ``"lambda"``).

The references are independent of the layer rules, the graph engine and the compiled code:
the component-wise derivation differentiates the network written out entry by entry
(:func:`symgrad.matrix.componentwise`) with SymPy's ``diff``, stage by stage at the point; the
finite differences are taken of the plain-NumPy loss of ``matrix_by_hand``. Points within
1e-3 of a ReLU kink are skipped (central differences straddle it there).

The default profile is derandomized and bounded; ``SYMGRAD_MATRIX_PROFILE=matrix-thorough``
runs many more random examples.
"""
from __future__ import annotations

import os

import numpy as np
import sympy as sp
from sympy import MatrixSymbol
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from helpers import compiled_at
from matrix_by_hand import FUNCTIONS, central_differences
from matrix_by_hand import forward as hand_forward
from matrix_by_hand import loss as hand_loss

from symgrad.graph.engine import Graph
from symgrad.matrix import componentwise, mlp
from symgrad.symbolic.components import component_symbols
from symgrad.layers import OUTPUTS

settings.register_profile("matrix-fast", max_examples=60, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("matrix-thorough", max_examples=400, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
PROFILE = settings.get_profile(os.environ.get("SYMGRAD_MATRIX_PROFILE", "matrix-fast"))

# the activations the hand reference knows; a test below checks that these are all the table's
HIDDEN = [a for a in OUTPUTS if a != "softmax" and a in FUNCTIONS]
OUTPUT_LAYERS = [a for a in OUTPUTS if a == "softmax" or a in FUNCTIONS]
LAMBDA = sp.Symbol("lambda")
DECAYS = {"none": None, "0.05": 0.05, "λ/2": LAMBDA / 2, "'lambda'": "lambda"}  # in the order drawn
#: relative tolerances: exact methods agree to round-off; central differences carry O(h²) and O(eps/h)
EXACT, DIFFERENCES = 1e-9, 1e-5


@st.composite
def networks(draw):
    depth = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 6), min_size=depth + 1, max_size=depth + 1))
    output = draw(st.sampled_from(OUTPUT_LAYERS))
    if output == "softmax":
        loss = "cross_entropy"
    elif output == "sigmoid":
        loss = draw(st.sampled_from(["squared_error", "binary_cross_entropy"]))
    else:
        loss = "squared_error"
    return {
        "widths": widths,
        "hidden": draw(st.sampled_from(HIDDEN)),
        "output": output,
        "loss": loss,
        "samples": draw(st.sampled_from([None, 1, 2, 3, 4])),  # None: one sample, as a column
        "bias": draw(st.booleans()),
        "decay": draw(st.sampled_from(list(DECAYS))),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


def build(case):
    batch = None if case["samples"] is None else True
    return mlp(case["widths"], case["hidden"], output=case["output"], loss=case["loss"],
               weight_decay=DECAYS[case["decay"]], batch=batch, bias=case["bias"])


def draw_values(model, case):
    """Rows X, Y (targets of a cross-entropy are distributions), each layer's W and b (k×1), and λ."""
    rng = np.random.default_rng(case["seed"])
    rows = case["samples"] or 1
    widths = case["widths"]
    X = rng.uniform(-1.5, 1.5, (rows, widths[0]))
    if case["loss"] == "cross_entropy":  # targets are distributions over the classes
        Y = rng.dirichlet(np.ones(widths[-1]), rows)
    elif case["loss"] == "binary_cross_entropy":  # each target a probability of yes
        Y = rng.uniform(0.0, 1.0, (rows, widths[-1]))
    else:
        Y = rng.uniform(-1.5, 1.5, (rows, widths[-1]))
    weights = [rng.uniform(-1.5, 1.5, (n_out, n_in)) for n_in, n_out in zip(widths, widths[1:])]
    biases = [rng.uniform(-1.5, 1.5, (n_out, 1)) if case["bias"] else None for n_out in widths[1:]]
    strength = float(rng.uniform(0.05, 1.0))
    return X, Y, weights, biases, strength


def decay_value(case, strength) -> float:
    coefficient = DECAYS[case["decay"]]
    if coefficient is None:
        return 0.0
    if coefficient == "lambda":
        return strength
    return float(sp.sympify(coefficient).subs(LAMBDA, strength))


def by_name(model, X, Y, weights, biases, strength) -> dict:
    """The values by the model's names: one sample's data as columns, a batch's as rows."""
    x, y = (str(s) for s in model.inputs[:2])
    values = {x: X if model.batch is not None else X.T, y: Y if model.batch is not None else Y.T}
    for layer, W, b in zip(model.layers, weights, biases):
        values[str(layer.weight)] = W
        if b is not None:
            values[str(layer.bias)] = b
    for extra in model.inputs[2:]:
        values[str(extra)] = strength
    return values


def componentwise_gradients(model, values, samples) -> tuple[float, dict]:
    """The loss and gradients of the network written out entry by entry, by SymPy's diff at the point.

    Forward, every component stage is evaluated in order; backward, each stage's adjoint is sent to
    the symbols it uses times d(stage)/d(symbol) from ``sympy.diff``, evaluated at the point.
    """
    sizes = {n: samples for n in model.sizes}
    scalar_model = componentwise(model, {str(n): samples for n in model.sizes})
    point: dict = {}
    for symbol in (*model.inputs, *model.params):
        if isinstance(symbol, MatrixSymbol):
            array = np.asarray(values[str(symbol)], dtype=float)
            for (i, j), component in np.ndenumerate(np.asarray(component_symbols(symbol.subs(sizes)))):
                point[component] = sp.Float(array[i, j])
        else:
            point[symbol] = sp.Float(values[str(symbol)])
    for stage, expr in scalar_model.stages:
        point[stage] = sp.Float(expr.xreplace(point))
    adjoint = {scalar_model.output: 1.0}
    for stage, expr in reversed(scalar_model.stages):
        upstream = adjoint.get(stage)
        if upstream is None:
            continue
        for symbol in expr.free_symbols:
            local = float(sp.diff(expr, symbol).xreplace(point))
            adjoint[symbol] = adjoint.get(symbol, 0.0) + upstream * local
    gradients = {}
    for param in model.params:
        components = np.asarray(component_symbols(param.subs(sizes)))
        gradients[str(param)] = np.vectorize(lambda c: adjoint.get(c, 0.0), otypes=[float])(components)
    return float(point[scalar_model.output]), gradients


def finite_differences(case, X, Y, weights, biases, decay) -> dict:
    activations = [case["hidden"]] * (len(weights) - 1) + [case["output"]]

    def loss_with(k, part):
        def loss(value):
            changed_w, changed_b = list(weights), list(biases)
            (changed_w if part == "W" else changed_b)[k] = value
            return hand_loss(X, Y, changed_w, changed_b, activations, case["loss"], decay)
        return loss

    out = {}
    for k, (W, b) in enumerate(zip(weights, biases), start=1):
        out[f"W{k}"] = central_differences(loss_with(k - 1, "W"), W)
        if b is not None:
            out[f"b{k}"] = central_differences(loss_with(k - 1, "b"), b)
    return out


def near_a_relu_kink(case, X, weights, biases) -> bool:
    activations = [case["hidden"]] * (len(weights) - 1) + [case["output"]]
    pre, _ = hand_forward(X, weights, biases, activations)
    return any(a == "relu" and np.min(np.abs(Z)) < 1e-3 for a, Z in zip(activations, pre))


def assert_close(got: dict, expected: dict, rtol: float, what: str) -> None:
    assert set(got) == set(expected), what
    scale = max(1.0, *(float(np.max(np.abs(g))) for g in expected.values()))
    for name, reference in expected.items():
        assert np.shape(got[name]) == np.shape(reference), f"{what}: {name} has the wrong shape"
        # entry by entry relative to the entry, with a floor of rtol·scale for entries that cancel to ~0
        np.testing.assert_allclose(got[name], reference, rtol=rtol, atol=rtol * scale * 1e-2,
                                   err_msg=f"{what}: {name}")


@PROFILE
@given(networks())
def test_compiled_graph_differences_and_componentwise_agree(case):
    model = build(case)
    X, Y, weights, biases, strength = draw_values(model, case)
    assume(not near_a_relu_kink(case, X, weights, biases))
    values = by_name(model, X, Y, weights, biases, strength)

    symbolic_loss, symbolic = componentwise_gradients(model, values, case["samples"] or 1)
    compiled_loss, compiled = compiled_at(model, values)
    graph = Graph.from_model(model)
    graph_loss = graph.forward(values)
    by_graph = {str(p): g for p, g in graph.backward().items()}
    decay = decay_value(case, strength)
    differences = finite_differences(case, X, Y, weights, biases, decay)

    reference_loss = hand_loss(X, Y, weights, biases, [case["hidden"]] * (len(weights) - 1) + [case["output"]],
                               case["loss"], decay)
    for name, loss in (("componentwise", symbolic_loss), ("compiled", compiled_loss), ("graph", graph_loss)):
        assert np.isclose(loss, reference_loss, rtol=1e-12, atol=1e-14), name
    assert_close(compiled, symbolic, EXACT, "compiled vs component-wise")
    assert_close(by_graph, symbolic, EXACT, "graph vs component-wise")
    assert_close(differences, symbolic, DIFFERENCES, "finite differences vs component-wise")


def test_the_strategy_reaches_every_activation_width_one_and_both_kinds_of_data():
    # the property above is only as good as what it draws: every hidden and output activation,
    # width 1 in the input, a hidden and the output layer, one sample and batches of 1 to 4
    seen: dict = {"hidden": set(), "output": set(), "samples": set(), "width-one": set(), "decay": set(),
                  "loss": set()}

    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(networks())
    def collect(case):
        seen["hidden"].add(case["hidden"])
        seen["output"].add(case["output"])
        seen["samples"].add(case["samples"])
        seen["decay"].add(case["decay"])
        seen["loss"].add(case["loss"])
        widths = case["widths"]
        seen["width-one"] |= {"input"} if widths[0] == 1 else set()
        seen["width-one"] |= {"output"} if widths[-1] == 1 else set()
        seen["width-one"] |= {"hidden"} if 1 in widths[1:-1] else set()

    collect()
    assert seen["hidden"] == set(HIDDEN) and seen["output"] == set(OUTPUT_LAYERS)
    assert seen["loss"] == {"squared_error", "cross_entropy", "binary_cross_entropy"}
    assert seen["samples"] == {None, 1, 2, 3, 4} and seen["decay"] == set(DECAYS)
    assert seen["width-one"] == {"input", "hidden", "output"}


def test_the_hand_reference_knows_every_builtin_activation():
    builtin = {"identity", "sigmoid", "relu", "tanh", "softplus", "leaky_relu", "elu", "gelu", "softmax"}
    assert builtin <= set(OUTPUTS)
    assert set(HIDDEN) | {"softmax"} >= builtin
