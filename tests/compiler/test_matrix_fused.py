"""A matrix model's fused backend (numba kernels around the BLAS products) against its NumPy backend, to 1e-12."""
from __future__ import annotations

import os

import numpy as np
import pytest

import symgrad
from symgrad import networks
from symgrad.errors import CompileError

pytest.importorskip("numba", reason="the fused backend needs numba (pip install symgrad[fast])")


@pytest.fixture(scope="module", autouse=True)
def cache_in_tmp(tmp_path_factory):
    """Generated kernels and numba's machine code go to a temporary directory, not the user's cache."""
    saved = os.environ.get("SYMGRAD_CACHE_DIR")
    os.environ["SYMGRAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("matrix-fused-cache"))
    yield
    if saved is None:
        del os.environ["SYMGRAD_CACHE_DIR"]
    else:
        os.environ["SYMGRAD_CACHE_DIR"] = saved


def _values(sizes, loss, n, rng, labels=False):
    if loss == "cross_entropy":
        classes = rng.integers(0, sizes[-1], n)
        y = classes if labels else np.eye(sizes[-1])[classes]
    else:
        y = rng.random((n, sizes[-1]))
    values = {"X": rng.normal(size=(n, sizes[0])), "Y": y}
    for k in range(1, len(sizes)):
        values[f"W{k}"] = rng.normal(size=(sizes[k], sizes[k - 1]))
        values[f"b{k}"] = rng.normal(size=sizes[k])
    return values


CASES = [  # sizes, hidden activation, output, loss
    ([5, 4, 3], "sigmoid", "softmax", "cross_entropy"),
    ([3, 4, 1], "tanh", "sigmoid", "binary_cross_entropy"),
    ([3, 4, 5, 2], "relu", "identity", "squared_error"),
    ([1, 1, 1], "sigmoid", "sigmoid", "binary_cross_entropy"),     # width-1 layers
    ([2, 1, 3], "tanh", "softmax", "cross_entropy"),               # a width-1 hidden layer
    ([4, 6, 2], "softplus", "identity", "squared_error"),
    ([4, 6, 2], "gelu", "identity", "squared_error"),              # f' only from z: the delta stays NumPy
    ([4, 6, 2], "leaky_relu", "identity", "squared_error"),        # f' a Piecewise: the delta stays NumPy
]


def _agree(fused, numpy, what):
    (loss, grads), (ref_loss, ref_grads) = fused, numpy
    assert loss == pytest.approx(ref_loss, rel=1e-12, abs=1e-300), what
    assert grads.keys() == ref_grads.keys()
    for name, ref in ref_grads.items():
        assert grads[name].shape == ref.shape, (what, name)
        np.testing.assert_allclose(grads[name], ref, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(ref).max()),
                                   err_msg=f"{what}: {name}")


@pytest.mark.parametrize("sizes, activation, output, loss", CASES)
def test_fused_equals_numpy(sizes, activation, output, loss):
    model = networks.mlp(sizes, activation, output=output, loss=loss, batch=True)
    fused, numpy = symgrad.compile(model, backend="fused"), symgrad.compile(model)
    assert (fused.backend, numpy.backend) == ("fused", "numpy")
    rng = np.random.default_rng(len(sizes) * 100 + sizes[1])
    for n in (1, 7, 197):  # one sample, a few, a batch
        values = _values(sizes, loss, n, rng)
        _agree(fused(dict(values)), numpy(dict(values)), f"{activation}/{loss}, N={n}")


def test_the_kernels_replace_the_element_wise_statements():
    model = networks.mlp([5, 4, 3], "sigmoid", output="softmax", loss="cross_entropy", batch=True)
    source = symgrad.compile(model, backend="fused").source
    assert "\n    Z1 += b1.T\n" not in source  # the bias is added in the kernel (the comment says so)
    assert "H1 = _activation_0_sigmoid(Z1, b1)" in source
    assert "sums_delta1 = _delta_1_sigmoid(delta1, H1)" in source and "grad_b1 = sums_delta1" in source
    assert "delta1.sum(" not in source


def test_class_labels_and_saturated_units():
    model = networks.mlp([3, 5, 4], "sigmoid", output="softmax", loss="cross_entropy", batch=True)
    fused, numpy = symgrad.compile(model, backend="fused"), symgrad.compile(model)
    rng = np.random.default_rng(3)
    values = _values([3, 5, 4], "cross_entropy", 20, rng, labels=True)
    values["W1"] = values["W1"] * 400.0  # sigmoid of ±hundreds: 0 and 1 exactly, the NumPy code's values
    _agree(fused(dict(values)), numpy(dict(values)), "labels, saturated")


def test_auto_is_fused_and_an_unknown_backend_is_an_error():
    # codegen's module of the fused function: tests/compiler/test_codegen_fused.py
    model = networks.mlp([2, 3, 1], "tanh", loss="squared_error", batch=True)
    assert symgrad.compile(model, backend="auto").backend == "fused"
    with pytest.raises(CompileError, match="unknown backend 'gpu'"):
        symgrad.compile(model, backend="gpu")


def test_the_kernels_ask_llvm_for_512_bit_vectors(tmp_path, monkeypatch):
    """As the scalar fused loop: LLVM's choice for AVX-512 CPUs is 256-bit vectors unless a function asks."""
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path))  # compiled here: numba cannot show cached code's IR
    f = symgrad.compile(networks.mlp([3, 5, 2], activation="sigmoid", loss="squared_error"), backend="fused")
    kernels = [k for k in f._function.__globals__.values() if hasattr(k, "inspect_llvm") and k.signatures]
    assert len(kernels) == 2  # σ of the scores plus the bias, and the delta times σ(1 - σ)
    for kernel in kernels:
        assert not kernel.stats.cache_hits
        assert '"prefer-vector-width"="512"' in kernel.inspect_llvm(kernel.signatures[0])
