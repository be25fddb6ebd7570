"""Generated code is safe and right for any symbol name: names are data, identifiers are ASCII and unique.

Every compiled result is compared with the graph engine (its own op table,
no generated code) under the model's original names, and every example is
run beside names that try to execute code; the test asserts they did not.
"""
from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy import MatrixSymbol, Symbol

import symgrad
from symgrad import sigmoid
from symgrad.graph.engine import Graph
from symgrad.matrix import MatrixModel, mlp
from symgrad import compile
from symgrad.errors import CompileError

#: names Python or the generated code could confuse: fullwidth letters that NFKC folds onto ASCII
#: ones, quotes, backslashes, newlines, keywords, and the names of NumPy, builtins and the code's own variables
AWKWARD = ["x", "ｘ", "y", "ｙ", "fi", "ﬁ", "IX", "Ⅸ", "w", "ｗ", "np", "sum", "exp", "loss", "grad_x", "d_x",
           "grad_ｘ", "t1", "buf0", "lambda", "None", "__debug__", "__builtins__", "_batch", "_scalars", "n",
           "m", "lo", "L", "sigmoid", "KEYWORDS", "a\"b", 'a"""b', "a'''b", "a\nb", "a\\b", "a\\", "\\",
           "a\rb", "a\x00b", "a\u2028b", "# c", "1x", "", " ", "σ", "x_data", "log_P", "grad_W1",
           "sigmoid_", "softmax_", "N", "v", "v_"]

# a counter for module names of imported codegen files
_modules = itertools.count()


def injections(directory: Path) -> list[str]:
    """Names that run ``touch`` in ``directory`` if any of them is ever pasted into the source as code."""
    touch = f"touch {directory}/pwned"
    return [
        f'q": 0, **{{"z": __import__("os").system("{touch}1")}}, "r',
        f"q': 0, **{{'z': __import__('os').system('{touch}2')}}, 'r",
        f'"""\nimport os; os.system("{touch}3")\n"""',
        f"x\nimport os; os.system('{touch}4')  #",
        f'q"]; __import__("os").system("{touch}5"); ["',
    ]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A directory the injected commands would write into, and the names that try."""
    directory = tmp_path_factory.mktemp("injection")
    yield directory, injections(directory)
    assert not list(directory.glob("pwned*")), "a symbol name ran as code"


def name_strategy(extra: list[str]):
    return st.one_of(st.sampled_from(AWKWARD + extra), st.text(min_size=0, max_size=6))


def unique_names(count: int, extra: list[str]):
    return st.lists(name_strategy(extra), min_size=count, max_size=count, unique=True)


# -- a scalar model with every name drawn ------------------------------------------------------

def scalar_model(names: list[str]) -> symgrad.Model:
    """L = (y - sigmoid(w*x + b))**2 + w**2 with every symbol renamed."""
    x, y, w, b, a, f, loss = (Symbol(n) for n in names)
    return symgrad.Model([(a, w * x + b), (f, sigmoid(a)), (loss, (y - f) ** 2 + w ** 2)],
                         inputs=[x, y], params=[w, b])


def scalar_values(model, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    values = {s: rng.normal(size=5) for s in model.inputs}
    values.update({p: float(rng.uniform(-1.5, 1.5)) for p in model.params})
    return values


def graph_numbers(model, values):
    """Loss and gradients from the graph engine, keyed by the original names."""
    graph = Graph.from_model(model)
    loss = graph.forward(values)
    return loss, {str(p): g for p, g in graph.backward().items()}


def assert_same(result, expected):
    loss, grads = result
    assert loss == pytest.approx(expected[0], rel=1e-10, abs=1e-12)
    assert set(grads) == set(expected[1])
    for name, value in expected[1].items():
        assert grads[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"codegen_names_{next(_modules)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compile_is_right_for_any_names(sandbox, data):
    names = data.draw(unique_names(7, sandbox[1]))
    model = scalar_model(names)
    values = scalar_values(model)
    compiled = symgrad.compile(model)
    assert_same(compiled({str(s): v for s, v in values.items()}), graph_numbers(model, values))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_codegen_module_is_right_for_any_names(sandbox, tmp_path, data):
    names = data.draw(unique_names(7, sandbox[1]))
    model = scalar_model(names)
    values = scalar_values(model, seed=1)
    module = load_module(symgrad.codegen(model, tmp_path / f"m{next(_modules)}.py"))
    assert module.DATA == tuple(names[:2]) and module.PARAMETERS == tuple(names[2:4])
    arguments = {module.KEYWORDS[str(s)]: v for s, v in values.items()}
    assert all(k.isascii() and k.isidentifier() for k in arguments)
    assert_same(module.loss_and_grad(**arguments), graph_numbers(model, values))


# -- a matrix model with every name drawn ------------------------------------------------------

def renamed_classifier(names: list[str]) -> MatrixModel:
    """A batched sigmoid-softmax MLP [3, 4, 2] built by hand with its matrices renamed."""
    base = mlp([3, 4, 2], "sigmoid", output="softmax", loss="cross_entropy", batch=True)
    matrices = [s for s, _ in base.stages if isinstance(s, MatrixSymbol)] + list(base.inputs) + list(base.params)
    rename = {s: MatrixSymbol(n, *s.shape) for s, n in zip(matrices, names)}
    stages = [(s.xreplace(rename), e.xreplace(rename)) for s, e in base.stages]
    return MatrixModel(stages, inputs=[rename[s] for s in base.inputs], params=[rename[s] for s in base.params],
                       batch=base.batch, loss="cross_entropy")


def matrix_values(model, samples=6, seed=2) -> dict:
    rng = np.random.default_rng(seed)
    size = {s: samples for s in model.sizes}
    values = {}
    for s in model.inputs + model.params:
        values[s] = rng.normal(size=tuple(int(d.xreplace(size)) for d in s.shape))
    x, y = model.inputs
    values[y] = np.eye(y.shape[1])[rng.integers(0, y.shape[1], samples)]
    return values


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compile_model_is_right_for_any_names(sandbox, data):
    # N is the batch size's symbol and L the loss's: the graph engine keys values by name
    names = data.draw(unique_names(10, sandbox[1]).filter(lambda ns: not {"N", "L"} & set(ns)))
    model = renamed_classifier(names)
    values = matrix_values(model)
    graph = Graph.from_model(model)
    expected_loss = graph.forward(values)
    expected = {str(p): g for p, g in graph.backward().items()}
    loss, grads = compile(model)({str(s): v for s, v in values.items()})
    assert loss == pytest.approx(expected_loss, rel=1e-10)
    assert set(grads) == set(expected) == set(names[6:])
    for name, gradient in expected.items():
        assert np.allclose(np.reshape(grads[name], gradient.shape), gradient, rtol=1e-9, atol=1e-12), name


# -- the reported examples, one by one ------------------------------------------------------------

def test_a_name_that_closes_the_string_runs_nothing(sandbox, tmp_path):
    directory, _ = sandbox
    name = f'q": 0, **{{"z": __import__("os").system("touch {directory}/pwned_api")}}, "r'
    q, w = Symbol(name), Symbol("w")
    compiled = symgrad.compile((w * q - 1) ** 2, inputs=[q])
    # L = (w q - 1)^2 at q = 2, w = 1: L = 1, dL/dw = 2 (w q - 1) q = 4
    assert compiled(**{name: 2.0, "w": 1.0}) == (1.0, {"w": 4.0})
    module = load_module(symgrad.codegen((w * q - 1) ** 2, tmp_path / "inject.py", inputs=[q]))
    assert module.loss_and_grad(**{module.KEYWORDS[name]: 2.0, "w": 1.0}) == (1.0, {"w": 4.0})
    assert module.DATA == (name,)
    assert not (directory / "pwned_api").exists()


@pytest.mark.parametrize("name", ['a"b', 'a"""b', "a\nb", "a\\b", "a'b", "\\"])
def test_quotes_backslashes_and_newlines_keep_their_name(name, tmp_path):
    s, w = Symbol(name), Symbol("w")
    # L = (w s - 1)^2 at s = 2, w = 1: dL/ds = 2 (w s - 1) w = 2, dL/dw = 2 (w s - 1) s = 4
    assert symgrad.compile((w * s - 1) ** 2)(**{name: 2.0, "w": 1.0}) == (1.0, {name: 2.0, "w": 4.0})
    module = load_module(symgrad.codegen((w * s - 1) ** 2, tmp_path / "quoted.py"))
    assert module.loss_and_grad(**{module.KEYWORDS[name]: 2.0, "w": 1.0}) == (1.0, {name: 2.0, "w": 4.0})


def test_a_fullwidth_stage_does_not_overwrite_the_input():
    x, y, w, L = sp.symbols("x y w L")
    fullwidth_y = Symbol("ｙ")  # NFKC folds it onto y
    model = symgrad.Model([(fullwidth_y, w * x), (L, (y - fullwidth_y) ** 2)], inputs=[x, y])
    # by hand at x = 1, y = 4.1, w = -0.1: ｙ = -0.1, L = 4.2^2, dL/dw = -2 (y - ｙ) x = -8.4
    loss, grads = symgrad.compile(model)(x=1.0, y=4.1, w=-0.1)
    assert loss == pytest.approx(17.64) and grads == {"w": pytest.approx(-8.4)}
    assert Graph.from_model(model).forward(x=1.0, y=4.1, w=-0.1) == pytest.approx(17.64)


def test_a_fullwidth_parameter_beside_its_ascii_twin():
    x, fullwidth_x = Symbol("x"), Symbol("ｘ")
    compiled = symgrad.compile((fullwidth_x * x - 1) ** 2, inputs=[x])
    # at ｘ = 1, x = 2: L = 1, dL/dｘ = 2 (ｘ x - 1) x = 4
    assert compiled(**{"ｘ": 1.0, "x": 2.0}) == (1.0, {"ｘ": 4.0})
    assert compiled(**{"ｘ": 3.0, "x": 2.0}) == (25.0, {"ｘ": 20.0})


def test_a_matrix_stage_named_like_an_input_and_a_parameter_named_grad():
    W, x, fullwidth_x = MatrixSymbol("grad_W", 2, 3), MatrixSymbol("x", 1, 3), MatrixSymbol("ｘ", 1, 2)
    # L = sum of squares of ｘ = x Wᵀ; by hand dL/dW = 2 ｘᵀ x
    model = MatrixModel([(fullwidth_x, x * W.T), (Symbol("L"), symgrad.matrix.SquaredNorm(fullwidth_x))],
                        inputs=[x], params=[W], batch=1)
    xs, weights = np.array([[1.0, 2.0, -1.0]]), np.array([[0.5, 0.0, 1.0], [-1.0, 1.0, 2.0]])
    loss, grads = compile(model)({"x": xs, "grad_W": weights})
    forward = xs @ weights.T
    assert loss == pytest.approx(float(np.sum(forward ** 2)))
    assert np.allclose(grads["grad_W"], 2 * forward.T @ xs)


def test_two_symbols_sharing_a_name_are_refused():
    x, positive_x, w = Symbol("x"), Symbol("x", positive=True), Symbol("w")
    with pytest.raises(CompileError, match="two different symbols of the model are named 'x'"):
        symgrad.compile((w * x - positive_x) ** 2, inputs=[x])


def test_every_name_a_generated_module_defines_is_reserved_from_the_models_symbols():
    """A model symbol named like a helper (_floats, _exp, _wide_vectors) would be renamed, never shadow it."""
    from symgrad.compiler.names import RESERVED, defined_names
    from symgrad.core.ops import helper_sources

    w, x, y = sp.symbols("w x y")
    model = symgrad.Model.coerce((sigmoid(w * x) - y) ** 2 + sp.exp(w) + symgrad.relu(w * x), inputs=[x, y])
    sources = [compile(model).source]
    if importlib.util.find_spec("numba"):
        sources.append(compile(model, backend="fused").source)
    for source in sources:
        assert defined_names(source) - RESERVED - set(helper_sources()) == set()
