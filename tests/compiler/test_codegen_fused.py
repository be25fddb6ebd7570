"""codegen's fused module of a matrix model: its numba kernels and NumPy code in one file that needs no symgrad.

The reference is ``compile(model, backend="numpy")`` on the same inputs (an
independent code path: no kernels, NumPy's own element-wise passes), and
finite differences of its loss.
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgrad
from symgrad import lectures, networks
from symgrad.cli import main
from symgrad.compiler import FusedUnavailableWarning
from symgrad.compiler import fused as fused_backend
from symgrad.compiler import matrix
from symgrad.errors import CompileError

MODELS = {  # sizes, hidden activation, output, loss
    "sigmoid, one feature, one output": ([1, 4, 1], "sigmoid", "identity", "squared_error"),
    "tanh, softmax classifier": ([3, 5, 4], "tanh", "softmax", "cross_entropy"),
    "relu, a width-1 hidden layer": ([4, 1, 3, 2], "relu", "identity", "squared_error"),
    # the kernels' per-element sigmoid beside the NumPy sigmoid that the output layer calls
    "sigmoid, binary cross-entropy": ([3, 4, 1], "sigmoid", "sigmoid", "binary_cross_entropy"),
}
_names = itertools.count(1)


def _model(name):
    sizes, activation, output, loss = MODELS[name]
    return networks.mlp(sizes, activation, output=output, loss=loss, batch=True)


def _import(path):
    spec = importlib.util.spec_from_file_location(f"codegen_fused_{next(_names)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Each model's fused module, written and imported once (numba compiles its kernels on the first call)."""
    pytest.importorskip("numba", reason="the fused module runs numba kernels (pip install symgrad[fast])")
    folder = tmp_path_factory.mktemp("codegen-fused")
    modules = {}
    for number, name in enumerate(MODELS):
        path = symgrad.codegen(_model(name), folder / f"fused_{number}.py", backend="fused")
        modules[name] = (path, _import(path))
    return modules


def _values(name, n, rng, column_biases=False):
    sizes, _, _, loss = MODELS[name]
    if loss == "cross_entropy":
        y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    else:
        y = rng.random((n, sizes[-1]))
    values = {"X": rng.normal(size=(n, sizes[0])), "Y": y}
    for k in range(1, len(sizes)):
        values[f"W{k}"] = rng.normal(size=(sizes[k], sizes[k - 1]))
        values[f"b{k}"] = rng.normal(size=(sizes[k], 1) if column_biases else sizes[k])
    return values


def _agree(result, reference, model, rtol=1e-12, what=""):
    """The fused module's loss and gradients (in the declared shapes) against the NumPy backend's."""
    (loss, grads), (ref_loss, ref_grads) = result, reference
    assert isinstance(loss, float)
    assert loss == pytest.approx(ref_loss, rel=rtol, abs=1e-300), what
    assert list(grads) == list(ref_grads)
    for name, ref in ref_grads.items():
        declared = model.shapes[model.symbol(name)]
        assert grads[name].shape == declared, (what, name)
        ref = np.reshape(ref, declared)
        np.testing.assert_allclose(grads[name], ref, rtol=rtol, atol=rtol * max(1.0, np.abs(ref).max()),
                                   err_msg=f"{what}: {name}")


@pytest.mark.parametrize("name", MODELS)
def test_the_written_module_equals_the_numpy_backend(written, name):
    model = _model(name)
    module = written[name][1]
    reference = symgrad.compile(model, backend="numpy")
    rng = np.random.default_rng(sum(MODELS[name][0]))
    for n, columns in ((1, False), (1, True), (7, True), (200, False)):  # one sample, a few, a batch
        values = _values(name, n, rng, column_biases=columns)
        _agree(module.loss_and_grad(**values), reference(dict(values)), model, what=f"N={n}")
        positional = [values[str(s)] for s in (*model.inputs, *model.params)]
        _agree(module.loss_and_grad(*positional), reference(dict(values)), model, what=f"N={n}, by position")


def test_the_written_function_is_the_one_compile_runs(written, tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))
    name = "sigmoid, binary cross-entropy"
    text = written[name][0].read_text()
    compiled = symgrad.compile(_model(name), backend="fused")
    function = compiled.source[compiled.source.index("def loss_and_grad"):]
    assert text.endswith(function)
    # the numba import at the top, the kernels (and their helpers) before the function, one docstring
    assert text.startswith('"""') and "Needs NumPy and numba, not symgrad" in text
    assert text.index("import numba") < text.index("def _exp") < text.index("def _sigmoid(a):") \
        < text.index("def _activation_0_sigmoid") < text.index("def _delta_1_sigmoid") < text.index(function)
    assert "def sigmoid(a, out=None):" in text  # the NumPy helper of the output layer, under its own name
    assert "given to this module by symgrad.compile" not in text and "symgrad" not in text.split('"""', 2)[2]


def test_inputs_of_any_float_type_or_memory_order(written):
    """Fortran-ordered and integer arrays give the float64 numbers; float32 stays float32, as in the NumPy code."""
    name = "tanh, softmax classifier"
    model, module = _model(name), written[name][1]
    reference = symgrad.compile(model, backend="numpy")
    values = _values(name, 9, np.random.default_rng(5))
    expected = reference(dict(values))
    _agree(module.loss_and_grad(**{k: np.asfortranarray(v) for k, v in values.items()}), expected, model,
           what="Fortran order")
    strided = {k: np.repeat(v, 2, axis=-1)[..., ::2] for k, v in values.items()}  # views that are not contiguous
    _agree(module.loss_and_grad(**strided), expected, model, what="strided views")
    integers = {k: np.round(3 * v) for k, v in values.items()}
    _agree(module.loss_and_grad(**{k: v.astype(np.int64) for k, v in integers.items()}),
           reference(dict(integers)), model, what="integer arrays")
    single = {k: v.astype(np.float32) for k, v in values.items()}
    loss, grads = module.loss_and_grad(**single)
    assert all(g.dtype == np.float32 for g in grads.values())
    _agree((loss, grads), reference(dict(single)), model, rtol=2e-5, what="float32")   # float32's rounding
    _agree((loss, grads), expected, model, rtol=2e-5, what="float32 against float64")


def test_a_bias_of_the_wrong_length_is_an_error_not_a_read_past_its_end(written):
    name = "sigmoid, binary cross-entropy"
    values = _values(name, 3, np.random.default_rng(0))
    values["b1"] = values["b1"][:3]
    with pytest.raises(ValueError, match="a bias must have one entry for each unit of its layer"):
        written[name][1].loss_and_grad(**values)


def test_gradients_against_finite_differences_of_the_numpy_loss(written):
    name = "sigmoid, one feature, one output"
    model, module = _model(name), written[name][1]
    numpy_loss = symgrad.compile(model, backend="numpy")
    values = _values(name, 5, np.random.default_rng(11), column_biases=True)
    _, grads = module.loss_and_grad(**values)
    step = 1e-6
    for param in model.params:
        name = str(param)
        estimate = np.zeros_like(values[name])
        for index in np.ndindex(values[name].shape):
            sides = []
            for sign in (1, -1):
                moved = {k: v.copy() for k, v in values.items()}
                moved[name][index] += sign * step
                sides.append(numpy_loss(moved)[0])
            estimate[index] = (sides[0] - sides[1]) / (2 * step)
        np.testing.assert_allclose(grads[name], estimate, rtol=1e-6, atol=1e-9, err_msg=name)


_WITHOUT_SYMGRAD = textwrap.dedent("""
    import importlib.util, json, sys
    import numpy as np
    spec = importlib.util.spec_from_file_location("alone", "alone.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    values = {k: np.asarray(v) for k, v in json.loads(sys.argv[1]).items()}
    loss, grads = module.loss_and_grad(**values)
    assert not [name for name in sys.modules if name.split(".")[0] == "symgrad"], "symgrad was imported"
    print(json.dumps({"loss": loss, "grads": {k: g.tolist() for k, g in grads.items()}}))
""")


def test_the_written_module_runs_without_symgrad(written, tmp_path):
    name = "relu, a width-1 hidden layer"
    shutil.copy(written[name][0], tmp_path / "alone.py")  # an empty folder: nothing else to import from
    values = _values(name, 6, np.random.default_rng(2))
    result = subprocess.run([sys.executable, "-I", "-c", _WITHOUT_SYMGRAD,
                             json.dumps({k: v.tolist() for k, v in values.items()})],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    model = _model(name)
    _agree((out["loss"], {k: np.array(g) for k, g in out["grads"].items()}),
           symgrad.compile(model, backend="numpy")(dict(values)), model, what="in a process without symgrad")


def test_auto_writes_the_fused_module_where_numba_is(written, tmp_path):
    name = "sigmoid, binary cross-entropy"
    path = symgrad.codegen(_model(name), tmp_path / "auto.py", backend="auto")
    assert path.read_text() == written[name][0].read_text()


def test_without_numba_auto_warns_and_writes_the_numpy_module_and_fused_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(fused_backend, "available", lambda: False)
    model = _model("tanh, softmax classifier")
    with pytest.warns(FusedUnavailableWarning, match="numba is not installed"):
        path = symgrad.codegen(model, tmp_path / "auto.py", backend="auto")
    assert path.read_text() == symgrad.compile(model, backend="numpy").source
    with pytest.raises(CompileError, match="backend='fused' needs numba"):
        symgrad.codegen(model, tmp_path / "fused.py", backend="fused")
    assert not (tmp_path / "fused.py").exists()
    with pytest.raises(CompileError, match="unknown backend 'gpu'"):
        symgrad.codegen(model, tmp_path / "gpu.py", backend="gpu")


def test_a_numpy_helper_named_as_a_kernel_helper_is_refused(monkeypatch):
    """The kernels' names start with an underscore; were a NumPy helper to take one, the module is not written."""
    monkeypatch.setattr(matrix, "HELPERS", matrix.HELPERS + "\n\ndef _exp(a):\n    return np.exp(a)\n")
    model = _model("sigmoid, binary cross-entropy")
    with pytest.raises(CompileError, match="_exp names both a numba kernel's helper and a NumPy helper"):
        matrix.module_source(model, fused=True)
    assert "def _exp(a):" in matrix.module_source(model)  # the NumPy module alone has no kernels to meet


def test_a_model_without_kernels_writes_the_numpy_module(tmp_path):
    """A linear model has no element-wise stage for a kernel: its fused function is the NumPy one."""
    model = networks.mlp([3, 2], loss="squared_error", batch=True)
    path = symgrad.codegen(model, tmp_path / "linear.py", backend="fused")
    assert path.read_text() == symgrad.compile(model, backend="numpy").source


# -- the command line -----------------------------------------------------------------------

def test_cli_fused_module_of_a_matrix_and_of_a_scalar_model(tmp_path, monkeypatch, capsys):
    pytest.importorskip("numba", reason="the fused modules run numba code (pip install symgrad[fast])")
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))  # the scalar model is compiled to write it
    assert main(["codegen", "mlp", "-o", str(tmp_path / "mlp_fused.py"), "--backend", "fused"]) == 0
    assert main(["codegen", "chain3", "-o", str(tmp_path / "chain3_fused.py"), "--backend", "fused"]) == 0
    assert capsys.readouterr().err == ""

    network = _import(tmp_path / "mlp_fused.py")
    example = {k: np.asarray(v, dtype=float) for k, v in lectures.example("mlp").values.items()}
    rng = np.random.default_rng(4)
    batch = {"X": rng.normal(size=(5, 3)), "Y": np.eye(2)[rng.integers(0, 2, 5)]}
    params = {k: v for k, v in example.items() if k[0] in "Wb"}
    matrix = symgrad.compile(lectures.model("mlp"))  # the lecture's model, compiled as a batch
    _agree(network.loss_and_grad(**batch, **params), matrix({**batch, **params}), matrix.model)

    chain = _import(tmp_path / "chain3_fused.py")
    assert "import numba" in (tmp_path / "chain3_fused.py").read_text()
    values = {"x": rng.normal(size=50), "y": rng.normal(size=50), "b": 0.1, "w1": 0.8, "w2": -1.2, "w3": 1.5}
    loss, grads = chain.loss_and_grad(**values)
    ref_loss, ref_grads = symgrad.compile(lectures.model("chain3"), backend="numpy")(**values)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert grads == pytest.approx(ref_grads, rel=1e-12)


def test_cli_without_numba_fused_is_a_one_line_error_and_auto_a_warning(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fused_backend, "available", lambda: False)
    for model in ("mlp", "chain3"):
        assert main(["codegen", model, "-o", str(tmp_path / "fused.py"), "--backend", "fused"]) == 2
        assert capsys.readouterr().err == ("symgrad codegen: error: backend='fused' needs numba: "
                                           "pip install symgrad[fast]\n")
        assert main(["codegen", model, "-o", str(tmp_path / "auto.py"), "--backend", "auto"]) == 0
        captured = capsys.readouterr()
        assert captured.err == ("symgrad codegen: warning: numba is not installed (pip install symgrad[fast]): "
                                "compiled to NumPy code\n")
        assert captured.out == f"{tmp_path / 'auto.py'}\n"
        assert "numba" not in (tmp_path / "auto.py").read_text()
    assert not (tmp_path / "fused.py").exists()


def test_cli_backend_choices_are_argparse_s(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["codegen", "mlp", "-o", str(tmp_path / "m.py"), "--backend", "gpu"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "symgrad codegen: error: argument --backend: invalid choice: 'gpu'" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["codegen", "--help"])
    assert "--backend {numpy,fused,auto}" in capsys.readouterr().out
