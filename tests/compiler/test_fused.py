"""The fused (numba) backend against the NumPy backend, its fallback without numba, and its disk cache."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symgrad
from symgrad import losses, networks
from symgrad.compiler import FusedUnavailableWarning
from symgrad.compiler.printer import logsumexp
from symgrad.errors import ArgumentError, CompileError
from symgrad.lectures.catalog import EXAMPLES

pytest.importorskip("numba", reason="the fused backend needs numba (pip install symgrad[fast])")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def cache_in_tmp(tmp_path_factory):
    """Generated modules and numba's machine code go to a temporary directory, not the user's cache."""
    saved = os.environ.get("SYMGRAD_CACHE_DIR")
    os.environ["SYMGRAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("fused-cache"))
    yield
    if saved is None:
        del os.environ["SYMGRAD_CACHE_DIR"]
    else:
        os.environ["SYMGRAD_CACHE_DIR"] = saved


def _lecture_models():
    for name, example in EXAMPLES.items():
        if example.matrix:
            continue
        model = example.model
        if not model.inputs or any(stage.has(sp.Sum, sp.Indexed) for _, stage in model.stages):
            continue  # no data to loop over, or written over a data set: the NumPy backend's job alone
        yield name, model


z1, z2, z3 = sp.symbols("z1 z2 z3", real=True)
OTHER_MODELS = {
    # log of a sigmoid (softplus), tanh with |.| (sign), relu (Max, Heaviside), a softmax (log-sum-exp)
    "perceptron(2), cross entropy": networks.perceptron(2, loss=losses.cross_entropy),
    "chain(2, tanh), l1": networks.chain(2, "tanh", loss=losses.l1),
    "chain(3, relu)": networks.chain(3, "relu", loss=losses.squared_error),
    "softmax of 3 scores": symgrad.Model.coerce(
        -sp.log(sp.exp(z1) / (sp.exp(z1) + sp.exp(z2) + sp.exp(z3))), inputs=[z2, z3]),
}
MODELS = dict(_lecture_models()) | OTHER_MODELS


@pytest.fixture(scope="module")
def compiled():
    """Each model compiled once by both backends (numba's compile is the slow part)."""
    return {name: (symgrad.compile(model), symgrad.compile(model, backend="fused"))
            for name, model in MODELS.items()}


def _values(model, n, rng, scale=1.0):
    values = {str(s): scale * rng.normal(size=n) for s in model.inputs}
    values.update({str(p): float(rng.normal()) for p in model.params})
    return values


def _agree(fused_result, numpy_result):
    loss, grads = fused_result
    ref_loss, ref_grads = numpy_result
    assert grads.keys() == ref_grads.keys()
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=1e-300)
    for name in ref_grads:
        np.testing.assert_allclose(grads[name], ref_grads[name], rtol=1e-12, atol=1e-14, err_msg=name)


def test_the_lecture_models_are_covered():
    assert {"mse-linear", "perceptron", "chain3", "max-gate"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("n", [1, 7, 1000, 40_000])  # 40 000 runs the parallel kernel
def test_fused_agrees_with_numpy(compiled, name, n):
    numpy_function, fused_function = compiled[name]
    assert fused_function.backend == "fused" and numpy_function.backend == "numpy"
    values = _values(MODELS[name], n, np.random.default_rng(n))
    _agree(fused_function(**values), numpy_function(**values))


@pytest.mark.parametrize("name", MODELS)
def test_fused_agrees_at_saturation(compiled, name):
    """Data of ±1000 saturate sigmoid, softplus and exp: the stable forms keep every number finite and equal."""
    numpy_function, fused_function = compiled[name]
    rng = np.random.default_rng(3)
    values = {str(s): rng.choice([-1000.0, 1000.0], size=64) for s in MODELS[name].inputs}
    values.update({str(p): float(rng.choice([-1.0, 1.0])) for p in MODELS[name].params})
    result = fused_function(**values)
    with np.errstate(all="ignore"):
        reference = numpy_function(**values)
    _agree(result, reference)  # inf and NaN where the NumPy code has them, too
    if name != "perceptron(2), cross entropy":  # its log(f) is a stage of its own: -inf at f = 0 in both
        assert np.isfinite(result[0]) and all(np.isfinite(list(result[1].values())))


def test_fused_mse_matches_the_hand_derivation(compiled):
    """MSE of w*x + b: L = mean (y - wx - b)², dL/db = -2 mean r, dL/dw = -2 mean r x (r = y - wx - b)."""
    _, fused_function = compiled["mse-linear"]
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 5.0, 7.0, 9.0])
    r = y - (0.5 * x - 1.0)
    loss, grads = fused_function(x=x, y=y, w=0.5, b=-1.0)
    assert loss == pytest.approx(np.mean(r**2), rel=1e-14)
    assert grads["b"] == pytest.approx(-2 * np.mean(r), rel=1e-14)
    assert grads["w"] == pytest.approx(-2 * np.mean(r * x), rel=1e-14)


def test_fused_takes_scalars_strided_and_integer_data(compiled):
    numpy_function, fused_function = compiled["chain3"]
    rng = np.random.default_rng(5)
    x = rng.normal(size=200)
    values = {"x": x[::2], "y": 0.5, "b": 0.1, "w1": 1, "w2": -1.0, "w3": np.float64(2.0)}
    _agree(fused_function(**values), numpy_function(**values))
    _agree(fused_function(x=np.arange(5), y=1, b=0, w1=1, w2=1, w3=1),
           numpy_function(x=np.arange(5), y=1, b=0, w1=1, w2=1, w3=1))


def test_fused_keeps_the_argument_errors(compiled):
    _, fused_function = compiled["mse-linear"]
    with pytest.raises(ValueError, match="data y has 2 samples but x has 3"):
        fused_function(x=np.ones(3), y=np.ones(2), w=1.0, b=0.0)
    with pytest.raises(ValueError, match="must be a 1-D array"):
        fused_function(x=np.ones((3, 2)), y=np.ones(3), w=1.0, b=0.0)
    with pytest.raises(TypeError, match="data x must be real numbers"):
        fused_function(x=np.array(["a"]), y=np.ones(1), w=1.0, b=0.0)
    with pytest.raises(ArgumentError, match="missing argument 'b'"):
        fused_function(x=1.0, y=1.0, w=1.0)


def test_sum_reduction(compiled):
    model = MODELS["chain3"]
    values = _values(model, 50, np.random.default_rng(8))
    summed = symgrad.compile(model, reduction="sum", backend="fused")(**values)
    mean = compiled["chain3"][1](**values)
    assert summed[0] == pytest.approx(50 * mean[0], rel=1e-13)


def test_a_model_without_data_is_refused_by_fused_and_falls_back_under_auto():
    example = EXAMPLES["graph-qzf"].model
    with pytest.raises(CompileError, match="does not depend on data"):
        symgrad.compile(example, backend="fused")
    with pytest.warns(FusedUnavailableWarning, match="does not depend on data"):
        function = symgrad.compile(example, backend="auto")
    assert function.backend == "numpy"


def test_without_numba(monkeypatch):
    """numba absent: auto warns once and compiles NumPy code; fused names the missing extra."""
    monkeypatch.setitem(sys.modules, "numba", None)  # find_spec then says: not installed
    model = networks.linear(loss=losses.squared_error)
    with pytest.warns(FusedUnavailableWarning, match=r"pip install symgrad\[fast\]"):
        function = symgrad.compile(model, backend="auto")
    assert function.backend == "numpy"
    assert function(x=[1.0, 2.0], y=[3.0, 5.0], w=1.0, b=0.0) == (6.5, {"b": -5.0, "w": -8.0})
    with pytest.raises(CompileError, match=r"needs numba: pip install symgrad\[fast\]"):
        symgrad.compile(model, backend="fused")


def test_unknown_backend_and_matrix_models():
    with pytest.raises(CompileError, match="unknown backend 'gpu'"):
        symgrad.compile(networks.linear(loss=losses.squared_error), backend="gpu")
    # a matrix model's fused backend is numba kernels around its BLAS products (tests/compiler/test_matrix_fused.py)
    assert symgrad.compile(networks.mlp([2, 1], loss="squared_error"), backend="fused").backend == "fused"


def test_codegen_writes_the_fused_module(tmp_path, compiled):
    path = symgrad.codegen(MODELS["mse-linear"], tmp_path / "fused_mse.py", backend="fused")
    text = path.read_text()
    assert "import numba" in text and "_numba.prange" in text
    assert "fastmath=FASTMATH" in text and "'nnan'" not in text and "'ninf'" not in text


_SECOND_PROCESS = textwrap.dedent("""
    import json, symgrad
    from symgrad import losses, networks
    f = symgrad.compile(networks.chain(2, loss=losses.half_squared_error), backend="fused")
    kernel = f._function.__globals__["_serial_kernel"]
    print(json.dumps({"hits": sum(kernel.stats.cache_hits.values()), "seconds": f.compile_seconds,
                      "loss": f(x=[1.0, 2.0], y=[0.0, 1.0], b=0.0, w1=1.0, w2=1.0)[0]}))
""")


def test_the_machine_code_is_cached_on_disk_for_a_second_process(tmp_path):
    env = {**os.environ, "SYMGRAD_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    runs = [json.loads(subprocess.run([sys.executable, "-c", _SECOND_PROCESS], env=env, capture_output=True,
                                      text=True, check=True, timeout=120).stdout) for _ in range(2)]
    assert runs[0]["hits"] == 0 and runs[1]["hits"] >= 1
    assert runs[1]["loss"] == runs[0]["loss"]
    assert list(tmp_path.glob("symgrad_fused_*.py"))


def test_the_vectorisable_exp_matches_numpy_from_overflow_to_underflow():
    """The fused loop's own exp (no libm call, so LLVM vectorises it) against np.exp, value by value."""
    numba = pytest.importorskip("numba")
    w, x = sp.symbols("w x")
    function = symgrad.compile(symgrad.Model.coerce(sp.exp(w * x), inputs=[x]), backend="fused")
    exp = function._function.__globals__["_exp"]

    @numba.njit
    def each(values):
        out = np.empty_like(values)
        for i in range(values.size):
            out[i] = exp(values[i])
        return out

    edges = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 709.78, 709.79, -708.3, -744.0, -745.13, -745.14]
    # the last finite and the first infinite result, the last nonzero and the first zero one, and the clamps
    thresholds = [709.782712893384, -745.1332191019412, -746.0, 710.0, -708.3964185322641]
    edges += [np.nextafter(t, d) for t in thresholds for d in (-np.inf, np.inf)] + thresholds
    values = np.concatenate([np.linspace(-760.0, 720.0, 100_001), edges])
    with np.errstate(over="ignore"):
        reference = np.exp(values)
    ours = each(values)
    normal = np.isfinite(reference) & (reference >= np.finfo(float).tiny)
    np.testing.assert_allclose(ours[normal], reference[normal], rtol=4.5e-16)   # within 2 ulp
    subnormal = (reference > 0) & ~normal
    np.testing.assert_allclose(ours[subnormal], reference[subnormal], rtol=1e-12, atol=1e-320)
    rest = ~(normal | subnormal)  # inf, 0 and NaN exactly where NumPy has them
    np.testing.assert_array_equal(ours[rest], reference[rest])
    # and through a compiled loss: L = e^(w x), dL/dw = x e^(w x)
    loss, grads = function(x=np.array([2.0, -3.0]), w=0.5)
    assert loss == pytest.approx((np.exp(1.0) + np.exp(-1.5)) / 2, rel=1e-15)
    assert grads["w"] == pytest.approx((2 * np.exp(1.0) - 3 * np.exp(-1.5)) / 2, rel=1e-15)


def test_both_kernels_ask_llvm_for_512_bit_vectors(tmp_path, monkeypatch):
    """LLVM vectorises for AVX-512 CPUs in 256-bit registers unless a function asks otherwise; the loops ask."""
    pytest.importorskip("numba")
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path))  # compiled here: numba cannot show cached code's IR
    w, x = sp.symbols("w x")
    function = symgrad.compile(symgrad.Model.coerce(sp.log(1 + w**2 * x**4) / 7, inputs=[x]), backend="fused")
    module = sys.modules[[name for name in sys.modules if name.startswith("symgrad_fused_")
                          and getattr(sys.modules[name], "loss_and_grad", None) is function._function][0]]
    serial, parallel = module._serial_kernel, module._parallel_kernel
    assert not serial.stats.cache_hits and not parallel.stats.cache_hits
    assert '"prefer-vector-width"="512"' in serial.inspect_llvm(serial.signatures[0])
    # the parallel kernel's loop is a function of its own (numba's parfor gufunc), in a library it links
    linked = parallel.overloads[parallel.signatures[0]].library._linking_libraries
    loops = [library for library in linked if "parfor_gufunc" in library.name]
    assert loops and all('"prefer-vector-width"="512"' in library.get_llvm_str() for library in loops)


@pytest.mark.parametrize("kind", ["logsumexp", "sigmoid", "softplus"])
def test_a_stage_without_data_is_computed_before_the_loop_with_its_numpy_helper(kind):
    """c(w) needs no sample: it is computed once, outside the loop, by NumPy code calling NumPy's helper of c
    (its loop twin is _sigmoid, ...); a NameError here once stopped such a model (softplus: its derivative σ)."""
    pytest.importorskip("numba")
    w1, w2, x, y, c, L = sp.symbols("w1 w2 x y c L")
    stage = {"logsumexp": sp.log(sp.exp(w1) + sp.exp(w2)), "sigmoid": symgrad.sigmoid(w2),
             "softplus": symgrad.softplus(w2)}[kind]
    model = symgrad.Model([(c, stage), (L, (x * w1 - c - y) ** 2)], inputs=[x, y])
    xs, ys = np.linspace(-1.0, 1.0, 50_000), np.linspace(0.0, 1.0, 50_000)
    values = dict(x=xs, y=ys, w1=0.3, w2=-0.7)
    loss, grads = symgrad.compile(model, backend="fused")(**values)
    c_value = {"logsumexp": np.logaddexp(0.3, -0.7), "sigmoid": 1 / (1 + np.exp(0.7)),
               "softplus": np.log1p(np.exp(-0.7))}[kind]
    assert loss == pytest.approx(np.mean((0.3 * xs - c_value - ys) ** 2), rel=1e-12)
    reference = symgrad.compile(model)(**values)[1]
    assert grads == pytest.approx(reference, rel=1e-12)
