"""Compiled gradients and training over Dask arrays: chunk sums equal the in-memory results."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import symgrad
from symgrad import losses, networks
from symgrad.errors import ArgumentError

da = pytest.importorskip("dask.array", reason="Dask arrays need dask (pip install symgrad[scale])")
distributed = pytest.importorskip("distributed")

CHAIN = networks.chain(3, loss=losses.half_squared_error)
PARAMS = {"b": 0.1, "w1": 0.8, "w2": -1.2, "w3": 1.5}


@pytest.fixture(scope="module")
def client():
    """A LocalCluster in this process: one worker of two threads (no dashboard, no extra processes)."""
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(11)
    return rng.normal(size=5000), rng.random(5000)


def _close(result, reference, rtol=1e-12):
    assert result[1].keys() == reference[1].keys()
    np.testing.assert_allclose(result[0], reference[0], rtol=rtol)
    for name in reference[1]:
        np.testing.assert_allclose(result[1][name], reference[1][name], rtol=rtol, atol=1e-15, err_msg=name)


def test_mse_over_chunks_matches_the_hand_formula(client):
    """MSE of w*x + b over 11 unequal chunks: L = mean r², dL/db = -2 mean r, dL/dw = -2 mean r x."""
    x = np.linspace(-2.0, 3.0, 101)
    y = 2.0 * x + 0.5 + np.sin(7 * x)
    r = y - (0.7 * x - 0.2)
    f = symgrad.compile(networks.linear(loss=losses.squared_error))
    loss, grads = f(x=da.from_array(x, chunks=10), y=da.from_array(y, chunks=10), w=0.7, b=-0.2)
    assert loss == pytest.approx(np.mean(r**2), rel=1e-13)
    assert grads["b"] == pytest.approx(-2 * np.mean(r), rel=1e-13)
    assert grads["w"] == pytest.approx(-2 * np.mean(r * x), rel=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_chunked_equals_in_memory_on_a_local_cluster(client, samples, reduction):
    x, y = samples
    f = symgrad.compile(CHAIN, reduction=reduction)
    reference = f(x=x, y=y, **PARAMS)
    # many chunks, the two arrays chunked differently (y is rechunked to x's chunks), a scalar datum
    _close(f(x=da.from_array(x, chunks=313), y=da.from_array(y, chunks=1000), **PARAMS), reference)
    _close(f(x=da.from_array(x, chunks=500), y=y, **PARAMS), reference)
    _close(f(x=da.from_array(x, chunks=500), y=0.25, **PARAMS), f(x=x, y=0.25, **PARAMS))


def test_fused_backend_over_chunks(client, samples, tmp_path, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path))
    x, y = samples
    f = symgrad.compile(CHAIN, backend="fused")
    reference = symgrad.compile(CHAIN)(x=x, y=y, **PARAMS)
    _close(f(x=da.from_array(x, chunks=400), y=da.from_array(y, chunks=400), **PARAMS), reference)


def test_chunked_data_errors(client):
    f = symgrad.compile(networks.linear(loss=losses.squared_error))
    with pytest.raises(ValueError, match="data y has 4 samples but x has 6"):
        f(x=da.ones(6, chunks=2), y=da.ones(4, chunks=2), w=1.0, b=0.0)
    with pytest.raises(ValueError, match="must be a 1-D array"):
        f(x=da.ones((6, 2), chunks=2), y=da.ones(6, chunks=2), w=1.0, b=0.0)
    with pytest.raises(ArgumentError, match="parameter w is a Dask array"):
        f(x=da.ones(6, chunks=2), y=da.ones(6, chunks=2), w=da.ones(()), b=0.0)


def test_a_standalone_module_refuses_dask_by_name(tmp_path):
    path = symgrad.codegen(networks.linear(loss=losses.squared_error), tmp_path / "mse.py")
    namespace = {}
    exec(path.read_text(), namespace)
    with pytest.raises(TypeError, match="data x is a dask.array.core.Array"):
        namespace["loss_and_grad"](x=da.ones(4, chunks=2), y=np.ones(4), w=1.0, b=0.0)


@pytest.mark.parametrize("method", ["gd", "minibatch"])
def test_train_over_dask_equals_in_memory(client, method):
    rng = np.random.default_rng(2)
    x = rng.normal(size=600)
    y = 3 * x + 1 + 0.1 * rng.normal(size=600)
    model = networks.linear(loss=losses.squared_error)
    settings = dict(lr=0.1, epochs=3, method=method, seed=4, progress=False)
    if method == "minibatch":
        settings["batch_size"] = 200
    in_memory = symgrad.train(model, {"x": x, "y": y}, **settings)
    chunked = symgrad.train(model, {"x": da.from_array(x, chunks=50), "y": da.from_array(y, chunks=50)}, **settings)
    np.testing.assert_allclose(chunked.loss, in_memory.loss, rtol=1e-12)
    for name in ("w", "b"):
        assert chunked.final[name] == pytest.approx(in_memory.final[name], rel=1e-12)


def test_a_compiled_function_pickles_for_worker_processes():
    """Sent to a Dask worker in another process, a compiled function is compiled again there, once."""
    f = symgrad.compile(CHAIN, wrt=["w1", "b"], reduction="sum")
    copy = pickle.loads(pickle.dumps(f))
    again = pickle.loads(pickle.dumps(f))
    assert copy is again  # rebuilt once per process, by its source
    assert (copy.wrt, copy.reduction) == (("w1", "b"), "sum")
    x = np.linspace(-1.0, 1.0, 9)
    assert copy(x=x, y=x**2, **PARAMS) == f(x=x, y=x**2, **PARAMS)
