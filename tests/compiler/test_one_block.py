"""A batch that fits one block runs on the whole arrays; longer ones in blocks: both give the hand-derived result."""
from __future__ import annotations

import math

import numpy as np
import pytest

import symgrad
from symgrad import losses, networks
from symgrad.errors import ArgumentError


def _mse_by_hand(x, y, w, b):
    """MSE of w*x + b: L = mean r², dL/db = -2 mean r, dL/dw = -2 mean r x, r = y - w x - b (math.fsum)."""
    r = [yi - w * xi - b for xi, yi in zip(x, y)]
    n = len(r)
    return (math.fsum(ri * ri for ri in r) / n,
            {"b": -2 * math.fsum(r) / n, "w": -2 * math.fsum(ri * xi for ri, xi in zip(r, x)) / n})


@pytest.mark.parametrize("n, block", [(1, None), (7, None), (1000, None), (1000, 1000), (1000, 999),
                                      (1000, 64), (1000, 3), (10, 1)])
def test_one_block_and_many_blocks_give_the_hand_result(n, block):
    rng = np.random.default_rng(n + (block or 0))
    x, y = rng.normal(size=n), rng.normal(size=n)
    f = symgrad.compile(networks.linear(loss=losses.squared_error), block=block)
    loss, grads = f(x=x, y=y, w=0.7, b=-0.3)
    ref_loss, ref_grads = _mse_by_hand(x, y, 0.7, -0.3)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for name in ref_grads:
        assert grads[name] == pytest.approx(ref_grads[name], rel=1e-11, abs=1e-14)


def test_the_sum_over_a_block_uses_ones_that_nobody_can_overwrite():
    # dL/db = -2 mean r: the sum of r is a dot product with a shared vector of ones, grown to the largest batch
    f = symgrad.compile(networks.linear(loss=losses.squared_error))
    for n in (3, 50, 10):  # grown, then a shorter batch reads the first 10 of the 50
        x = np.arange(n, dtype=float)
        _, grads = f(x=x, y=2 * x + 1, w=2.0, b=0.0)  # r = 1 for every sample
        assert grads["b"] == -2.0
    ones = f._function.__globals__["_ONES"]
    assert len(ones) == 50 and not ones.flags.writeable and (ones == 1.0).all()


def test_parameters_of_other_numeric_types_are_converted():
    f = symgrad.compile(networks.linear(loss=losses.squared_error))
    x = np.array([1.0, 2.0])
    reference = f(x=x, y=3 * x, w=1.0, b=0.0)
    for w in (1, np.float64(1.0), np.array(1.0), np.int32(1)):
        assert f(x=x, y=3 * x, w=w, b=0.0) == reference
    with pytest.raises(ValueError, match="parameter w must be a scalar"):
        f(x=x, y=3 * x, w=np.ones(2), b=0.0)


def test_wrong_keywords_are_named_on_the_direct_call():
    f = symgrad.compile(networks.linear(loss=losses.squared_error))
    x = np.ones(3)
    with pytest.raises(ArgumentError, match="missing argument 'b' \\(parameter\\)") as error:
        f(x=x, y=x, w=1.0)
    assert error.value.__context__ is None  # not raised inside the handler of the function's own TypeError
    with pytest.raises(ArgumentError, match="unknown argument 'z'"):
        f(x=x, y=x, w=1.0, b=0.0, z=1.0)


def test_the_default_backend_is_numpy_even_where_numba_is_installed():
    # README and docs/compile.md: backend="numpy" unless asked; "auto" is the opt-in to the fused loop
    f = symgrad.compile(networks.linear(loss=losses.squared_error))
    assert f.backend == "numpy" and "numba" not in f.source


def test_buffers_kept_between_calls_never_mix_sizes_or_threads():
    """The block buffers outlive a call (per thread): calls of other sizes and concurrent threads still agree."""
    import threading

    f = symgrad.compile(networks.linear(loss=losses.squared_error))
    rng = np.random.default_rng(3)
    batches = [(rng.normal(size=n), rng.normal(size=n), rng.normal(), rng.normal())
               for n in (5, 1000, 3, 300_000, 1, 1000)]  # one block, many blocks, and back
    for x, y, w, b in batches:
        loss, grads = f(x=x, y=y, w=w, b=b)
        expected_loss, expected = _mse_by_hand(x, y, w, b)
        np.testing.assert_allclose([loss, grads["b"], grads["w"]], [expected_loss, expected["b"], expected["w"]],
                                   rtol=1e-9)

    failures = []

    def worker(seed):
        local = np.random.default_rng(seed)
        for _ in range(100):  # one size for all: buffers shared between threads would be the same arrays
            x, y, w, b = local.normal(size=4096), local.normal(size=4096), local.normal(), local.normal()
            loss, grads = f(x=x, y=y, w=w, b=b)
            expected_loss, expected = _mse_by_hand(x, y, w, b)
            if not np.allclose([loss, grads["b"], grads["w"]], [expected_loss, expected["b"], expected["w"]],
                               rtol=1e-9, atol=1e-12):
                failures.append(seed)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
