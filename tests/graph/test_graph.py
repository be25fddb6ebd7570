"""The graph engine: structure as the lectures draw it, forward and backward passes checked against independent references.

The references are the lectures' own numbers (derived by hand in the
comments), SymPy's symbolic gradients, SymPy's ``diff`` of each op's
SymPy form, and central finite differences — never the engine's own output.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from sympy import Max, Symbol, symbols

from symgrad import losses, networks
from symgrad.symbolic.derive import grad as symbolic_grad
from symgrad.core.functions import log_softmax, relu, sigmoid, softmax, softplus
from symgrad.graph.engine import Graph, GraphError
from symgrad.core.model import Model
from symgrad.core.ops import MATRIX_OPS, OPS

RNG_SEED = 20230118


# -- helpers --------------------------------------------------------------------------------

def evaluate(expr: sp.Expr, values: dict) -> float:
    """A SymPy expression at a point, in 30-digit arithmetic (independent of NumPy)."""
    point = {s: sp.Float(v, 30) for s, v in values.items()}
    return float(sp.sympify(expr).xreplace(point).evalf(30))


def finite_difference(graph: Graph, values: dict, symbol, step: float = 1e-6) -> float:
    h = step * max(1.0, abs(values[symbol]))
    up = graph.forward({**values, symbol: values[symbol] + h})
    down = graph.forward({**values, symbol: values[symbol] - h})
    return (up - down) / (2 * h)


def random_point(model: Model, rng, low=-1.5, high=1.5) -> dict:
    return {s: float(rng.uniform(low, high)) for s in model.inputs + model.params}


# -- the op table at engine level ---------------------------------------------------------------

# the matrix operations are tested over matrices in tests/test_matrix_graph.py
SCALAR_OPS = [name for name in OPS if name != "softmax" and name not in MATRIX_OPS]


def op_arguments(entry, rng, count):
    args = [float(rng.uniform(-1.5, 1.5)) for _ in range(count)]
    # keep away from kinks (relu, abs at 0) where only a convention holds
    args = [a if abs(a) > 0.1 else a + 0.3 for a in args]
    if entry.domain == "positive":
        args[0] = float(rng.uniform(0.5, 2.0))
    if entry.domain == "nonzero":
        args[-1] = float(rng.choice([-1, 1]) * rng.uniform(0.5, 2.0))
    return args


def arities(entry):
    return [entry.arity] if entry.arity is not None else [2, 3]


OP_CASES = [(name, n) for name in SCALAR_OPS for n in arities(OPS[name])]


@pytest.mark.parametrize("name, count", OP_CASES)
def test_op_forward_equals_its_sympy_form(name, count):
    entry, rng = OPS[name], np.random.default_rng(RNG_SEED)
    for _ in range(3):
        args = op_arguments(entry, rng, count)
        expected = evaluate(entry.sympy(*[sp.Float(a, 30) for a in args]), {})
        assert float(entry.forward(*args)) == pytest.approx(expected, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("name, count", OP_CASES)
def test_op_backward_equals_sympy_diff_and_finite_differences(name, count):
    entry, rng = OPS[name], np.random.default_rng(RNG_SEED + 1)
    placeholders = symbols(f"a0:{count}", real=True)
    form = entry.sympy(*placeholders)
    upstream = 1.7  # the rule must be linear in the upstream gradient
    for _ in range(3):
        args = op_arguments(entry, rng, count)
        out = entry.forward(*args)
        rule = entry.backward(upstream, out, *args)
        assert len(rule) == count
        at = dict(zip(placeholders, args))
        for i in range(count):
            exact = upstream * evaluate(sp.diff(form, placeholders[i]), at)
            assert float(rule[i]) == pytest.approx(exact, rel=1e-10, abs=1e-12)
            h = 1e-6
            shifted = [a + (h if j == i else 0.0) for j, a in enumerate(args)]
            back = [a - (h if j == i else 0.0) for j, a in enumerate(args)]
            numeric = upstream * (entry.forward(*shifted) - entry.forward(*back)) / (2 * h)
            assert float(rule[i]) == pytest.approx(float(numeric), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("name, count", OP_CASES)
def test_engine_draws_each_op_as_one_node_and_runs_its_rule(name, count):
    entry, rng = OPS[name], np.random.default_rng(RNG_SEED + 2)
    params = symbols(f"p0:{count}")
    graph = Graph.from_expr(entry.sympy(*params))
    assert graph.output.op is entry, f"{entry.sympy(*params)} was drawn as {graph.output.op.name}"
    assert entry.label
    args = op_arguments(entry, rng, count)
    values = dict(zip(params, args))
    assert graph.forward(values) == pytest.approx(float(entry.forward(*args)), rel=1e-14)
    gradients = graph.backward()
    for i, p in enumerate(params):
        assert gradients[p] == pytest.approx(finite_difference(graph, values, p), rel=1e-6, abs=1e-8)


def test_softmax_op_is_a_vector_jacobian_product():
    entry, rng = OPS["softmax"], np.random.default_rng(RNG_SEED)
    z = rng.normal(size=4)
    zs = symbols("z0:4")
    forms = softmax(zs)
    at = dict(zip(zs, z))
    np.testing.assert_allclose(entry.forward(z), [evaluate(f, at) for f in forms], rtol=1e-12)
    g = rng.normal(size=4)
    jacobian = np.array([[evaluate(sp.diff(f, zj), at) for zj in zs] for f in forms])
    (rule,) = entry.backward(g, entry.forward(z), z)
    np.testing.assert_allclose(rule, jacobian.T @ g, rtol=1e-10)


# -- structure: drawn as the lectures draw ----------------------------------------------------

a, b, c, d, t, x, y, w = symbols("a b c d t x y w")


def output_op(expr):
    node = Graph.from_expr(expr).output
    return node.op.name, [arg.name or str(arg.expr) for arg in node.args]


@pytest.mark.parametrize("expr, op_name, args", [
    (a - b, "sub", ["a", "b"]),            # not Add(a, Mul(-1, b))
    (a / b, "div", ["a", "b"]),            # not Mul(a, Pow(b, -1))
    (1 / a, "div", ["1", "a"]),
    (a**2, "square", ["a"]),
    (a**3, "pow", ["a", "3"]),
    (a**b, "pow", ["a", "b"]),
    (sp.sqrt(a), "pow", ["a", "1/2"]),
    (-a, "neg", ["a"]),
    (-a - b, "neg", ["a + b"]),
    (sigmoid(t), "sigmoid", ["t"]),
    (a + b + c + d, "add", ["a", "b", "c", "d"]),  # one + node, not a chain of them
    (a * b * c, "mul", ["a", "b", "c"]),
    (Max(a, b), "max", ["a", "b"]),
    (relu(a), "relu", ["a"]),
    (sp.Abs(a), "abs", ["a"]),
    (sp.tanh(a), "tanh", ["a"]),
    (softplus(a), "softplus", ["a"]),
    (sp.exp(a), "exp", ["a"]),
    (sp.log(a), "log", ["a"]),
    ((y - a) ** 2 / 2, "div", ["(-a + y)**2", "2"]),  # the half squared error: ÷ 2
])
def test_sympy_nodes_read_as_the_lectures_ops(expr, op_name, args):
    assert output_op(expr) == (op_name, args)


def test_half_squared_error_is_div_of_square_of_sub():
    graph = Graph.from_model(networks.chain(3, loss=losses.half_squared_error))
    loss = graph.node("L")
    assert loss.op.name == "div" and loss.args[1].constant == 2
    square = loss.args[0]
    assert square.op.name == "square"
    assert square.args[0].op.name == "sub"
    assert [n.name for n in square.args[0].args] == ["y", "f3"]


def test_named_stages_are_the_op_nodes_that_compute_them():
    graph = Graph.from_model(networks.chain(3, loss=losses.half_squared_error))
    ops = {name: graph.node(name).op.name for name in ["a1", "f1", "a2", "f2", "a3", "f3", "L"]}
    assert ops == {"a1": "add", "f1": "sigmoid", "a2": "mul", "f2": "sigmoid",
                   "a3": "mul", "f3": "sigmoid", "L": "div"}
    # one node per input, parameter, constant and operation
    kinds = [n.kind for n in graph.nodes]
    assert kinds.count("input") == 2 and kinds.count("parameter") == 4 and kinds.count("constant") == 1
    assert kinds.count("operation") == 10  # w1*x, +, σ, ×, σ, ×, σ, −, ^2, ÷
    # topological order: every argument comes before its consumer
    assert all(arg.index < node.index for node in graph.nodes for arg in node.args)


def test_shared_subexpression_is_one_node_with_several_consumers():
    z1, z2 = symbols("z1 z2")
    # (the log of this softmax would be one log-sum-exp node: tests/test_graph_saturation.py)
    graph = Graph.from_expr(softmax([z1, z2])[0])
    exp_z1 = graph.node(sp.exp(z1))
    assert len(exp_z1.consumers) == 2  # the numerator and the sum
    assert sum(1 for n in graph.nodes if n.op and n.op.name == "exp") == 2


def test_a_stage_used_twice_is_one_node():
    s, L = symbols("s L")
    graph = Graph.from_model(Model([(s, w * x), (L, s * s + sigmoid(s))], inputs=[x]))
    assert {c.op.name for c, _ in graph.node("s").consumers} == {"square", "sigmoid"}


@pytest.mark.parametrize("expr, culprit", [
    (losses.zero_one(y, w * x), "Piecewise"),
    (sp.sin(w), "sin(w)"),
    (sp.Sum(sp.IndexedBase("v")[a], (a, 1, 3)) + w, "Sum"),
])
def test_unsupported_sympy_nodes_are_refused_naming_the_subexpression(expr, culprit):
    with pytest.raises(GraphError, match=culprit.replace("(", r"\(").replace(")", r"\)")):
        Graph.from_expr(expr, inputs=[x] if x in expr.free_symbols else [])


def test_indexed_perceptron_is_refused_with_a_hint():
    with pytest.raises(GraphError, match=r"perceptron\(3\)"):
        Graph.from_model(networks.perceptron(indexed=True, loss=losses.squared_error))


# -- the lectures' worked examples ---------------------------------------------------------------

def test_lecture_graph_q_z_f():
    # x + y = q, q + 1 = z, z * r = f at x = -2, y = 5, r = -4. By hand:
    #   q = 3, z = q + 1 = 4, f = z * r = -16
    #   df/dz = r = -4; dz/dq = 1 so df/dq = -4; dq/dx = dq/dy = 1 so df/dx = df/dy = -4
    #   df/dr = z = 4
    # (The famous version of this example, f = q*z with z = -4, gives f = -12; with the
    # lecture's extra "+ 1" stage f is -16, while every gradient stays as stated.)
    q, z, f, r = symbols("q z f r")
    graph = Graph.from_model(Model([(q, x + y), (z, q + 1), (f, z * r)], params=[x, y, r]))
    assert graph.forward({"x": -2, "y": 5, "r": -4}) == -16.0
    assert (graph.value("q"), graph.value("z"), graph.value("f")) == (3.0, 4.0, -16.0)
    gradients = graph.backward()
    assert gradients == {x: -4.0, y: -4.0, r: 4.0}
    assert (graph.grad("f"), graph.grad("z"), graph.grad("q")) == (1.0, -4.0, -4.0)
    # local derivatives as the slides write them: dq/dx = 1, df/dz = r, df/dr = z
    assert graph.local_derivatives("q") == (1.0, 1.0)
    times = graph.node("f")
    local = dict(zip((arg.name for arg in times.args), graph.local_derivatives("f")))
    assert local == {"z": -4.0, "r": 4.0}


W1, W2, X1, X2, X3, F = symbols("w1 w2 x1 x2 x3 F")


def max_graph():
    model = Model([(F, Max(W1 * X1 + W2 * X2, X3))], inputs=[X1, X2, X3])
    return Graph.from_model(model)


def test_lecture_max_routes_the_gradient_to_the_larger_input():
    # F = max(w1*x1 + w2*x2, x3) at w1 = 2, x1 = 3, w2 = -1, x2 = 2, x3 = 1:
    #   w1*x1 = 6, w2*x2 = -2, sum z = 4 > x3 = 1, so F = 4 and max sends all of dF = 1 to z:
    #   dF/dw1 = x1 = 3, dF/dx1 = w1 = 2, dF/dw2 = x2 = 2, dF/dx2 = w2 = -1, dF/dx3 = 0
    graph = max_graph()
    assert graph.forward({"w1": 2, "x1": 3, "w2": -1, "x2": 2, "x3": 1}) == 4.0
    assert graph.backward() == {W1: 3.0, W2: 2.0}
    assert [graph.grad(s) for s in (X1, X2, X3)] == [2.0, -1.0, 0.0]
    # the other way round: x3 = 5 wins, and the whole gradient goes to x3
    graph.forward({"w1": 2, "x1": 3, "w2": -1, "x2": 2, "x3": 5})
    assert graph.backward() == {W1: 0.0, W2: 0.0}
    assert graph.grad(X3) == 1.0


def test_lecture_max_tie_splits_the_gradient_in_half():
    # the tie z = w1*x1 + w2*x2 = 4 = x3: each side gets 1/2 (SymPy's Heaviside(0) = 1/2):
    #   dF/dx3 = 1/2, dF/dz = 1/2, so dF/dw1 = x1/2 = 1.5, dF/dx1 = w1/2 = 1,
    #   dF/dw2 = x2/2 = 1, dF/dx2 = w2/2 = -0.5
    # (the slide's 1{x >= y} would give both sides 1, twice the true total)
    graph = max_graph()
    graph.forward({"w1": 2, "x1": 3, "w2": -1, "x2": 2, "x3": 4})
    assert graph.backward() == {W1: 1.5, W2: 1.0}
    assert [graph.grad(s) for s in (X1, X2, X3)] == [1.0, -0.5, 0.5]
    # and the symbolic side agrees at the tie
    symbolic = symbolic_grad(graph.model, [W1, X3], form="closed")
    at = {W1: 2, X1: 3, W2: -1, X2: 2, X3: 4}
    assert [evaluate(symbolic[s], at) for s in (W1, X3)] == [1.5, 0.5]


@pytest.mark.parametrize("expr, point, expected", [
    (relu(w), 0.0, 0.0),         # relu'(0) = 0
    (sp.Abs(w), 0.0, 0.0),       # abs'(0) = 0
    (Max(w, 1), 1.0, 0.5),       # a tie gives half
    (relu(w), 2.0, 1.0),
    (sp.Abs(w), -3.0, -1.0),
])
def test_conventions_at_kinks(expr, point, expected):
    graph = Graph.from_expr(expr)
    graph.forward({w: point})
    assert graph.backward()[w] == expected


def test_gradients_add_over_every_use():
    # L = w*x + sigmoid(w*x): the node w*x feeds both terms, so
    # dL/dw = x * (1 + s(1 - s)) with s = sigmoid(w*x); at w = 0: s = 1/2, dL/dw = 1.25 x
    graph = Graph.from_expr(w * x + sigmoid(w * x), inputs=[x])
    assert len(graph.node(w * x).consumers) == 2
    graph.forward({w: 0.0, x: 2.0})
    assert graph.backward()[w] == 2.5
    # and a parameter used in two places: L = w*x + w**2, dL/dw = x + 2w
    graph = Graph.from_expr(w * x + w**2, inputs=[x])
    graph.forward({w: 3.0, x: 2.0})
    assert graph.backward()[w] == 8.0


# -- every model of the symbolic core: three views agree ---------------------------------------

def cross_entropy_of_softmax(target, scores):
    return losses.cross_entropy(target, softmax(scores))


def log_softmax_loss(target, scores):
    return -sp.Add(*[t * ls for t, ls in zip(target, log_softmax(scores))])


MODELS = {
    "linear+mse": lambda: networks.linear().with_loss(losses.mse),
    "squared error of wx+b": lambda: Model.from_expr((y - (w * x + symbols("b"))) ** 2, inputs=[x, y]),
    "linear+l1": lambda: networks.linear(loss=losses.l1),
    "linear+hinge": lambda: networks.linear(loss=losses.hinge),
    "perceptron(3)+squared": lambda: networks.perceptron(3, loss=losses.squared_error),
    "perceptron(2,relu)+half": lambda: networks.perceptron(2, relu, loss=losses.half_squared_error),
    "chain(3)+half": lambda: networks.chain(3, loss=losses.half_squared_error),
    "chain(8)+half": lambda: networks.chain(8, loss=losses.half_squared_error),
    "chain(3,tanh)+l1": lambda: networks.chain(3, "tanh", loss=losses.l1),
    "chain(3,relu)+squared": lambda: networks.chain(3, "relu", loss=losses.squared_error),
    "chain(2,softplus)+half": lambda: networks.chain(2, "softplus", loss=losses.half_squared_error),
    "fully_connected(3,2)+squared": lambda: networks.fully_connected(3, 2, loss=losses.squared_error),
    "fully_connected(2,3,sigmoid)+mse": lambda: networks.fully_connected(2, 3, "sigmoid", loss=losses.mse),
    "cross_entropy(softmax)": lambda: networks.fully_connected(3, 3).with_loss(cross_entropy_of_softmax),
    "nll of log_softmax": lambda: networks.fully_connected(2, 2).with_loss(log_softmax_loss),
    "max example": lambda: Model([(F, Max(W1 * X1 + W2 * X2, X3))], inputs=[X1, X2, X3]),
    "l2 regularized": lambda: Model.from_expr(
        (y - w * x) ** 2 + losses.l2_regularization([w], strength=sp.Rational(1, 10)), inputs=[x, y]),
    "l1 regularized": lambda: Model.from_expr(
        sp.Abs(y - w * x) + losses.l1_regularization([w], strength=sp.Rational(1, 10)), inputs=[x, y]),
    "pow and div": lambda: Model.from_expr((1 + w**2) ** a / (x**2 + 1) - sp.exp(-w) / 3, inputs=[x]),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_graph_gradients_equal_symbolic_gradients_and_finite_differences(name):
    model = MODELS[name]()
    graph = Graph.from_model(model)
    symbolic = symbolic_grad(model, form="closed")
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(2):
        values = random_point(model, rng)
        graph.forward(values)
        gradients = graph.backward()
        assert set(gradients) == set(model.params)
        for param in model.params:
            expected = evaluate(symbolic[param], values)
            assert gradients[param] == pytest.approx(expected, rel=1e-9, abs=1e-14), param
            numeric = finite_difference(graph, values, param)
            assert gradients[param] == pytest.approx(numeric, rel=1e-5, abs=1e-8), param


def test_graph_loss_equals_the_closed_form():
    model = networks.chain(3, loss=losses.half_squared_error)
    values = {"x": 1.0, "y": 0.5, "w1": 0.5, "w2": -1.0, "w3": 2.0, "b": 0.1}
    expected = evaluate(model.closed_form(), {model.symbol(k): v for k, v in values.items()})
    assert Graph.from_model(model).forward(values) == pytest.approx(expected, rel=1e-14)


# -- batches ---------------------------------------------------------------------------------------

@pytest.fixture
def chain2():
    return Graph.from_model(networks.chain(2, loss=losses.half_squared_error))


def batch(rng, n=5):
    return {"x": rng.normal(size=n), "y": rng.uniform(size=n), "w1": 0.5, "w2": -1.2, "b": 0.1}


def per_sample(graph, values, n):
    rows = []
    for i in range(n):
        one = {k: (v[i] if np.ndim(v) else v) for k, v in values.items()}
        loss = graph.forward(one)
        rows.append((loss, graph.backward()))
    return rows


@pytest.mark.parametrize("reduction, combine", [("mean", np.mean), ("sum", np.sum)])
def test_batched_loss_and_gradients_are_reduced(chain2, reduction, combine):
    values = batch(np.random.default_rng(1))
    rows = per_sample(chain2, values, 5)
    loss = chain2.forward(values, reduction=reduction)
    assert chain2.batch_shape == (5,)
    assert loss == pytest.approx(combine([r[0] for r in rows]), rel=1e-12)
    gradients = chain2.backward()
    for param, value in gradients.items():
        assert isinstance(value, float)
        assert value == pytest.approx(combine([r[1][param] for r in rows]), rel=1e-12)


def test_reduction_none_gives_per_sample_losses_and_gradients(chain2):
    values = batch(np.random.default_rng(2))
    rows = per_sample(chain2, values, 5)
    losses_ = chain2.forward(values, reduction="none")
    np.testing.assert_allclose(losses_, [r[0] for r in rows], rtol=1e-12)
    for param, value in chain2.backward().items():
        assert np.shape(value) == (5,)
        np.testing.assert_allclose(value, [r[1][param] for r in rows], rtol=1e-12)


def test_a_scalar_term_in_a_batched_loss():
    # L_i = w**2 + (y_i - w)**2; mean over 4 samples: dL/dw = 2w + mean(2(w - y_i))
    graph = Graph.from_expr(w**2 + (y - w) ** 2, inputs=[y])
    ys = np.array([0.0, 1.0, 2.0, 3.0])
    graph.forward({w: 1.0, y: ys})
    assert graph.backward()[w] == pytest.approx(2.0 + np.mean(2 * (1.0 - ys)))
    graph.forward({w: 1.0, y: ys}, reduction="none")
    np.testing.assert_allclose(graph.backward()[w], 2.0 + 2 * (1.0 - ys))


def test_batched_values_and_gradients_are_readable(chain2):
    values = batch(np.random.default_rng(3))
    chain2.forward(values)
    chain2.backward()
    assert chain2.value("a1").shape == (5,)
    np.testing.assert_allclose(chain2.value("a1"), 0.5 * values["x"] + 0.1)
    # d(mean)/dL_i = 1/5 for every sample
    np.testing.assert_allclose(chain2.grad("L"), np.full(5, 0.2))


@pytest.mark.parametrize("shape", [(1,), (2, 3)])
def test_any_batch_shape(shape):
    # L = mean((y - w x)^2) over the batch: dL/dw = mean(-2 x (y - w x))
    graph = Graph.from_expr((y - w * x) ** 2, inputs=[x, y])
    rng = np.random.default_rng(4)
    xs, ys = rng.normal(size=shape), rng.normal(size=shape)
    assert graph.forward({w: 0.7, x: xs, y: ys}) == pytest.approx(np.mean((ys - 0.7 * xs) ** 2))
    assert graph.backward()[w] == pytest.approx(np.mean(-2 * xs * (ys - 0.7 * xs)))
    assert graph.grad(x).shape == shape


def test_a_parameter_given_per_sample_gets_per_sample_gradients():
    # L = mean(w_i x_i): with w given per sample, dL/dw_i = x_i / N
    graph = Graph.from_expr(w * x, inputs=[x])
    graph.forward({w: np.array([1.0, 2.0]), x: np.array([3.0, 5.0])})
    np.testing.assert_allclose(graph.backward()[w], [1.5, 2.5])


# -- errors that name the culprit ------------------------------------------------------------------

def test_missing_value_names_the_symbol_and_its_use(chain2):
    with pytest.raises(GraphError, match=r"missing value for parameter w2 \(used by stage a2"):
        chain2.forward({"x": 1.0, "y": 0.5, "w1": 0.5, "b": 0.1})


def test_inconsistent_batch_shapes_name_both_inputs(chain2):
    with pytest.raises(GraphError, match=r"x has shape \(3,\) but y has shape \(4,\)"):
        chain2.forward({"x": np.zeros(3), "y": np.zeros(4), "w1": 0.5, "w2": 1.0, "b": 0.1})


def test_nan_in_the_forward_pass_names_the_node_and_its_inputs():
    graph = Graph.from_expr(sp.log(w * x), inputs=[x])
    with pytest.raises(GraphError, match=r"nan at .*log.* at batch index \(1,\).*w\*x = -2.*check the values of w, x"):
        graph.forward({w: 1.0, x: np.array([1.0, -2.0, 3.0])})
    assert issubclass(GraphError, ValueError)


def test_inf_in_the_forward_pass_names_the_node():
    graph = Graph.from_expr(w / x, inputs=[x])
    with pytest.raises(GraphError, match=r"inf at .*div.*x = 0"):
        graph.forward({w: 1.0, x: 0.0})


def test_huge_but_finite_values_are_accepted():
    # their sum overflows, which must not be mistaken for an inf in the data
    graph = Graph.from_expr(w * x, inputs=[x])
    assert graph.forward({w: 0.5, x: [1e308, 1e308]}, reduction="none").tolist() == [5e307, 5e307]


def test_non_finite_input_is_refused():
    graph = Graph.from_expr(w * x, inputs=[x])
    with pytest.raises(GraphError, match="input x is not finite"):
        graph.forward({w: 1.0, x: [1.0, float("nan")]})


def test_non_differentiable_point_in_backward_names_the_node():
    graph = Graph.from_expr(sp.sqrt(w))
    graph.forward({w: 0.0})
    with pytest.raises(GraphError, match=r"gradient of w is not finite.*pow"):
        graph.backward()


@pytest.mark.parametrize("values, message", [
    ({"w": 1.0, "x": []}, "input x is an empty array"),
    ({"w": 1.0, "x": 1.0, "zeta": 2.0}, "'zeta', which is not an input or a parameter"),
    ({"w": 1.0, "x": 1.0, "L": 2.0}, "'L', which is a stage, computed by the graph"),
    ({"w": 1.0, "x": "one"}, "input x is not a number"),
])
def test_bad_values_are_refused(values, message):
    graph = Graph.from_expr(w * x, inputs=[x])
    with pytest.raises(GraphError, match=message):
        graph.forward(values)


def test_reading_before_running_and_unknown_names():
    graph = Graph.from_expr(w * x, inputs=[x])
    with pytest.raises(GraphError, match="call forward"):
        graph.backward()
    with pytest.raises(GraphError, match="call forward"):
        graph.value("L")
    graph.forward(w=2.0, x=3.0)
    with pytest.raises(GraphError, match="backward"):
        graph.grad("w")
    with pytest.raises(GraphError, match=r"'q' is not a node of this graph \(named nodes: L, w, x\)"):
        graph.value("q")
    with pytest.raises(GraphError, match="unknown reduction 'median'"):
        graph.forward(w=2.0, x=3.0, reduction="median")


def test_lookups_by_node_symbol_name_and_subexpression():
    graph = Graph.from_expr(w * x + 1, inputs=[x])
    graph.forward(w=2.0, x=3.0)
    graph.backward()
    node = graph.node(w * x)
    assert graph.value(node) == graph.value(w * x) == 6.0
    assert graph.grad(w) == graph.grad("w") == 3.0


def test_several_outputs_forward_but_do_not_backward():
    graph = Graph.from_model(networks.fully_connected(2, 2))
    outputs = graph.forward({"x_1": 1.0, "x_2": 2.0, "W_1_1": 1.0, "W_1_2": 0.0, "b_1": 0.5,
                             "W_2_1": 0.0, "W_2_2": 1.0, "b_2": -0.5})
    assert outputs == (1.5, 1.5)
    with pytest.raises(GraphError, match="2 outputs"):
        graph.backward()


def test_graph_needs_a_model():
    with pytest.raises(TypeError, match="from_expr"):
        Graph(w * x)


# -- depth -------------------------------------------------------------------------------------------

def test_a_chain_ten_thousand_stages_deep():
    # s0 = w*x, s_k = s_(k-1) + w for k = 1..9999, so L = s9999 = w*x + 9999 w and dL/dw = x + 9999
    depth = 10_000
    stages = [(Symbol("s0"), w * x)]
    stages += [(Symbol(f"s{k}"), Symbol(f"s{k - 1}") + w) for k in range(1, depth)]
    graph = Graph.from_model(Model(stages, inputs=[x]))
    assert len(graph.nodes) == 2 + depth  # w, x and one operation per stage
    assert graph.forward({w: 2.0, x: 3.0}) == 2.0 * 3.0 + 9999 * 2.0
    assert graph.backward() == {w: 3.0 + 9999}
    assert graph.grad("s0") == 1.0
    assert len(graph.nodes_between("w")) == len(graph.nodes) - 1  # every node but x
