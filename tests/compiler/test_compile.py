"""Compiled NumPy gradients: against the symbolic closed form, finite differences, and in a standalone module."""
from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import sympy as sp
from sympy import Symbol, symbols

import symgrad
from symgrad import Model, losses, networks, sigmoid, softmax
from symgrad.compiler.compiled import compile
from symgrad.errors import ArgumentError
from symgrad.compiler import codegen, generate_source, logsumexp, stable_form
from symgrad.errors import CompileError

# NumPy forms of symgrad's functions for lambdify; the reference is independent of codegen's printer
_FUNCTIONS = {
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "relu": lambda a: np.maximum(a, 0.0),
    "softplus": lambda a: np.log1p(np.exp(a)),
}


def symbolic_reference(model, values, n, reduction="mean"):
    """Loss and gradients from ``symgrad.grad(model, form="closed")``, evaluated per sample by lambdify."""
    args = list(model.inputs) + list(model.params)
    numbers = [values[str(a)] for a in args]

    def evaluate(expr):
        per_sample = np.broadcast_to(sp.lambdify(args, expr, [_FUNCTIONS, "numpy"])(*numbers), (n,))
        return float(np.mean(per_sample) if reduction == "mean" else np.sum(per_sample))

    grads = symgrad.grad(model, form="closed")
    return evaluate(model.closed_form()), {str(p): evaluate(g) for p, g in grads.items()}


def sample(model, n, rng, labels=False):
    values = {str(s): rng.normal(size=n) if n else float(rng.normal()) for s in model.inputs}
    if labels:  # targets in {-1, +1} for the hinge loss
        values["y"] = np.where(rng.random(n) < 0.5, -1.0, 1.0) if n else 1.0
    values.update({str(p): float(rng.normal()) for p in model.params})
    return values


MODELS = {
    "linear, squared error": networks.linear(loss=losses.squared_error),
    "linear, mse": networks.linear(loss=losses.mse),
    "linear, l1": networks.linear(loss=losses.l1),
    "perceptron(3), squared error": networks.perceptron(3, loss=losses.squared_error),
    "perceptron(3), hinge": networks.perceptron(3, loss=losses.hinge),
    "chain(3)": networks.chain(3),
    "chain(8), half squared error": networks.chain(8, loss=losses.half_squared_error),
    "chain(3, relu)": networks.chain(3, "relu", loss=losses.squared_error),
    "chain(2, tanh), l1": networks.chain(2, "tanh", loss=losses.l1),
    "chain(2, softplus)": networks.chain(2, "softplus", loss=losses.squared_error),
    "fully_connected(3, 2)": networks.fully_connected(3, 2, loss=losses.squared_error),
}


@pytest.mark.parametrize("n", [40, 0], ids=["batch", "scalars"])
@pytest.mark.parametrize("name", list(MODELS))
def test_compiled_gradients_equal_the_symbolic_closed_form(name, n):
    model = MODELS[name]
    rng = np.random.default_rng(len(name) + n)
    values = sample(model, n, rng, labels="hinge" in name)
    loss, grads = compile(model)(**values)
    expected_loss, expected = symbolic_reference(model, values, max(n, 1))
    assert loss == pytest.approx(expected_loss, rel=1e-12, abs=1e-14)
    assert grads.keys() == expected.keys()
    for p in expected:
        assert grads[p] == pytest.approx(expected[p], rel=1e-10, abs=1e-13), p


@pytest.mark.parametrize("name", ["linear, squared error", "perceptron(3), hinge", "chain(3)"])
def test_sum_reduction(name):
    model = MODELS[name]
    values = sample(model, 25, np.random.default_rng(3), labels="hinge" in name)
    loss, grads = compile(model, reduction="sum")(**values)
    expected_loss, expected = symbolic_reference(model, values, 25, reduction="sum")
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for p in expected:
        assert grads[p] == pytest.approx(expected[p], rel=1e-10, abs=1e-13)


@pytest.mark.parametrize("name", ["linear, mse", "perceptron(3), squared error",
                                  "chain(8), half squared error", "chain(2, softplus)"])
def test_compiled_gradients_equal_central_differences(name):
    model = MODELS[name]
    f = compile(model)
    values = sample(model, 30, np.random.default_rng(7))
    _, grads = f(**values)
    h = 1e-6
    for p in grads:
        up, down = dict(values), dict(values)
        up[p] += h
        down[p] -= h
        numeric = (f(**up)[0] - f(**down)[0]) / (2 * h)
        assert grads[p] == pytest.approx(numeric, rel=1e-6, abs=1e-8), p


def test_blocks_give_the_same_result_as_one_pass():
    # 50 rows in blocks of 8: six full blocks and a shorter last one
    model = MODELS["chain(8), half squared error"]
    values = sample(model, 50, np.random.default_rng(11))
    loss, grads = compile(model, block=8)(**values)
    expected_loss, expected = compile(model, block=1024)(**values)
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    for p in expected:
        assert grads[p] == pytest.approx(expected[p], rel=1e-12, abs=1e-15)


def test_stages_without_data_regularisation_and_a_keyword_named_parameter():
    # c = w**2 has no data (computed once, its adjoint summed over the samples);
    # the loss adds lambda*w**2, a per-batch constant; "lambda" is a Python keyword
    w, x, y, c, r, L, lam = symbols("w x y c r L lambda")
    model = Model([(c, w**2), (r, y - c * x), (L, r**2 + lam * w**2)], inputs=[x, y])
    values = sample(model, 20, np.random.default_rng(5))
    f = compile(model)
    loss, grads = f(values)
    expected_loss, expected = symbolic_reference(model, values, 20)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert grads == pytest.approx(expected, rel=1e-10)
    assert "def loss_and_grad(*, x, y, lambda_, w)" in f.source


def test_a_loss_whose_derivative_reuses_its_value():
    w, x, L = symbols("w x L")
    model = Model([(L, sp.exp(w * x))], inputs=[x])
    values = {"x": np.linspace(-1, 1, 9), "w": 0.3}
    loss, grads = compile(model)(**values)
    assert loss == pytest.approx(np.mean(np.exp(0.3 * values["x"])))
    assert grads["w"] == pytest.approx(np.mean(values["x"] * np.exp(0.3 * values["x"])))


def test_an_expression_without_data_compiles_to_a_scalar_function():
    w = Symbol("w")
    f = compile(w**2 + 3 * w)
    assert f(w=1.0) == (4.0, {"w": 5.0})


def test_gradients_with_respect_to_some_parameters():
    f = compile(MODELS["linear, squared error"], wrt=["w"])
    loss, grads = f(x=[1.0, 2.0], y=[1.0, 1.0], w=1.0, b=0.0)
    assert list(grads) == ["w"]
    assert grads["w"] == pytest.approx(2 * (0 * 1 + 1 * 2) / 2)


# -- numerical stability -------------------------------------------------------------------

def test_sigmoid_at_extreme_inputs_has_no_overflow():
    # pytest turns warnings into errors: an overflow in exp would fail this test
    a, f, x = symbols("a f x")
    model = Model([(a, Symbol("w") * x), (f, sigmoid(a))], inputs=[x])
    loss, grads = compile(model)(x=np.array([-1000.0, 1000.0]), w=1.0)
    assert loss == 0.5  # sigmoid(-1000) = 0 and sigmoid(1000) = 1, exactly
    assert grads == {"w": 0.0}
    with np.errstate(all="raise"):
        assert compile(model)(x=-1000.0, w=1.0) == (0.0, {"w": 0.0})


def test_softplus_and_logs_of_sigmoids_are_stable():
    a, x, y, L, w = symbols("a x y L w")
    # binary cross-entropy written with logs of sigmoids
    model = Model([(a, w * x), (L, -(y * sp.log(sigmoid(a)) + (1 - y) * sp.log(1 - sigmoid(a))))],
                  inputs=[x, y])
    loss, grads = compile(model)(x=np.array([1000.0, -1000.0]), y=np.array([1.0, 0.0]), w=1.0)
    assert loss == 0.0 and grads == {"w": 0.0}
    loss, grads = compile(model)(x=np.array([1000.0]), y=np.array([0.0]), w=1.0)
    assert loss == pytest.approx(1000.0) and grads["w"] == pytest.approx(1000.0)


def test_cross_entropy_of_a_softmax_is_computed_as_log_sum_exp():
    x, w1, w2, z1, z2, L = symbols("x w1 w2 z1 z2 L")
    y1, y2 = symbols("y1 y2")
    model = Model([(z1, w1 * x), (z2, w2 * x), (L, losses.cross_entropy([y1, y2], softmax([z1, z2])))],
                  inputs=[x, y1, y2])
    f = compile(model)
    assert "logsumexp" in f.source
    values = sample(model, 15, np.random.default_rng(2))
    loss, grads = f(**values)
    expected_loss, expected = symbolic_reference(model, values, 15)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert grads == pytest.approx(expected, rel=1e-10)
    # scores of +-1000: exp would overflow; log-sum-exp does not
    loss, grads = f(x=np.array([1000.0]), y1=1.0, y2=0.0, w1=1.0, w2=-1.0)
    assert loss == 0.0 and grads == {"w1": 0.0, "w2": 0.0}
    loss, grads = f(x=np.array([1000.0]), y1=0.0, y2=1.0, w1=1.0, w2=-1.0)
    assert loss == pytest.approx(2000.0) and grads == pytest.approx({"w1": 1000.0, "w2": -1000.0})


def test_stable_form_rewrites():
    z1, z2 = symbols("z1 z2", real=True)
    assert stable_form(sp.log(1 + sp.exp(z1))) == symgrad.softplus(z1)
    assert stable_form(sp.log(1 - sigmoid(z1))) == -symgrad.softplus(z1)
    assert stable_form(sp.exp(z1) / (sp.exp(z1) + sp.exp(z2))) == sp.exp(z1 - logsumexp(z1, z2))


# -- errors -----------------------------------------------------------------------------------

@pytest.fixture
def linear():
    return compile(MODELS["linear, squared error"])


def test_a_missing_argument_is_named(linear):
    with pytest.raises(TypeError, match="missing argument 'b' \\(parameter\\)"):
        linear(x=[1.0], y=[2.0], w=1.0)
    with pytest.raises(TypeError, match="missing argument 'y' \\(data\\)"):
        linear(x=[1.0], w=1.0, b=0.0)


def test_an_unknown_argument_is_named(linear):
    with pytest.raises(ArgumentError, match="unknown argument 'z'.*data x, y and parameters b, w"):
        linear(x=[1.0], y=[2.0], w=1.0, b=0.0, z=3.0)


def test_data_of_different_lengths_are_named(linear):
    with pytest.raises(ValueError, match="data y has 2 samples but x has 3"):
        linear(x=[1.0, 2.0, 3.0], y=[1.0, 2.0], w=1.0, b=0.0)


@pytest.mark.parametrize("values, message", [
    ({"x": np.ones((2, 2))}, "data x must be a 1-D array"),
    ({"x": [], "y": []}, "data x is empty"),
    ({"y": [1.0, 2.0, 3.0]}, "data y has 3 samples but x has 2"),
    ({"x": "abc"}, "data x must be real numbers, not str 'abc'"),
    ({"x": [1.0, None]}, "data x must be real numbers, not list"),
    ({"w": np.ones(2)}, "parameter w must be a scalar, not an array of shape \\(2,\\)"),
    ({"b": None}, "parameter b must be a real number, not NoneType None"),
    ({"b": 1j}, "parameter b must be a real number, not complex"),
])
def test_bad_values_are_named(linear, values, message):
    arguments = {"x": [1.0, 2.0], "y": [1.0, 2.0], "w": 1.0, "b": 0.0, **values}
    with pytest.raises((TypeError, ValueError), match=message):
        linear(**arguments)


def test_compile_errors_are_clear():
    with pytest.raises(CompileError, match="unknown reduction 'median'"):
        compile(MODELS["linear, mse"], reduction="median")
    with pytest.raises(CompileError, match="cannot differentiate with respect to x: it is data"):
        compile(MODELS["linear, mse"], wrt=["x"])
    with pytest.raises(CompileError, match="written over a data set"):
        compile(networks.perceptron(indexed=True, loss=losses.squared_error))
    with pytest.raises(symgrad.ModelError, match="add a loss"):
        compile(networks.fully_connected(2, 2))


# -- the source ---------------------------------------------------------------------------------

def test_source_reads_like_backprop_by_hand():
    source = compile(networks.chain(3, loss=losses.half_squared_error)).source
    for line in ["a1 = np.multiply(x, w1, out=", "f1 = sigmoid(a1, out=", "t1 = np.subtract(f3, y, out=",
                 "# d_a3 = f3*t1*(1 - f3)", "d_f2 = np.multiply(d_a3, w3, out=", "grad_w3 += d_a3.dot(f2)",
                 "grad_w1 += d_a1.dot(x)", "grad_b += d_a1.dot(ones)"]:
        assert line in source, line
    assert "import symgrad" not in source


def test_generated_code_grows_linearly_with_depth():
    sizes = {}
    for depth in (8, 16, 32):
        start = time.perf_counter()
        source = generate_source(networks.chain(depth, loss=losses.half_squared_error))
        if depth == 32:
            assert time.perf_counter() - start < 2.0  # about 0.1 s; the benchmark measures it
        sizes[depth] = source.count("\n")
    assert sizes[32] - sizes[16] == 2 * (sizes[16] - sizes[8])


def test_tracebacks_and_inspect_show_the_generated_lines(linear):
    assert "grad_w += -2*t1.dot(x)" in inspect.getsource(linear._function)
    with pytest.raises(ValueError) as error:
        linear(x=[1.0, 2.0], y=[1.0], w=1.0, b=0.0)
    assert "samples but" in str(error.traceback[-1].statement)  # the generated line itself


def test_codegen_writes_a_module_that_runs_without_symgrad(tmp_path):
    model = networks.chain(3, loss=losses.half_squared_error)
    path = codegen(model, tmp_path / "chain3_gradients.py")
    assert path.read_text() == compile(model).source
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed, not left behind
    script = textwrap.dedent(f"""
        import importlib.util, sys
        sys.modules["symgrad"] = None  # hidden, even where it is installed
        try:
            import symgrad
        except ImportError:
            pass
        else:
            raise SystemExit("symgrad is importable")
        spec = importlib.util.spec_from_file_location("chain3_gradients", {str(path)!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        import numpy as np
        loss, grads = module.loss_and_grad(x=np.array([0.5, -1.0]), y=np.array([1.0, 0.0]),
                                           b=0.1, w1=0.8, w2=-1.2, w3=1.5)
        print(repr(loss), repr(grads))
    """)
    result = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    values = {"x": np.array([0.5, -1.0]), "y": np.array([1.0, 0.0]),
              "b": 0.1, "w1": 0.8, "w2": -1.2, "w3": 1.5}
    assert result.stdout.strip() == " ".join(map(repr, compile(model)(**values)))


def test_codegen_leaves_the_old_file_when_generation_fails(tmp_path):
    path = tmp_path / "gradients.py"
    path.write_text("# previous version\n")
    with pytest.raises(CompileError):
        codegen(MODELS["linear, mse"], path, reduction="median")
    assert path.read_text() == "# previous version\n"


def test_generated_source_is_shown_in_tracebacks_and_forgotten_when_freed():
    import gc
    import inspect
    import linecache

    from sympy import symbols

    w, x = symbols("w x")
    f = compile((w * x) ** 2, inputs=[x])
    filename = inspect.getsourcefile(f._function)
    assert filename in linecache.cache and "def loss_and_grad" in inspect.getsource(f._function)
    del f
    gc.collect()
    assert filename not in linecache.cache
