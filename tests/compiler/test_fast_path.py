"""The argument check's fast path (float64 arrays of one length) answers as the full check does."""
from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad import losses, networks

MSE = symgrad.compile(networks.linear(loss=losses.squared_error))
X = np.array([1.0, 2.0, 3.0, 4.0])
Y = 2 * X + 1


def _by_hand(x, y, w, b):
    """MSE of w*x + b: L = mean r², dL/db = -2 mean r, dL/dw = -2 mean r x, r = y - w x - b."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    r = y - w * x - b
    return np.mean(r**2), {"b": -2 * np.mean(r), "w": -2 * np.mean(r * x)}


@pytest.mark.parametrize("x, y", [
    (X, Y),                                   # the fast path
    (X.astype(">f8"), Y),                     # big-endian: converted
    (X[::-1].copy()[::-1], Y),                # a reversed view
    (X.astype(np.float32), Y),                # float32: converted to float64
    (X.astype(int), Y),                       # integers
    (list(X), Y), (X, 3.0), (np.float64(2.0), Y),
])
def test_every_kind_of_data_gives_the_hand_result(x, y):
    loss, grads = MSE(x=x, y=y, w=0.5, b=-1.0)
    ref_loss, ref_grads = _by_hand(x, y, 0.5, -1.0)
    assert loss == pytest.approx(ref_loss, rel=1e-6 if np.asarray(x).dtype == np.float32 else 1e-14)
    for name in ref_grads:
        assert grads[name] == pytest.approx(ref_grads[name], rel=1e-6, abs=1e-12)


def test_errors_are_those_of_the_full_check():
    with pytest.raises(ValueError, match="data y has 3 samples but x has 4"):
        MSE(x=X, y=Y[:3], w=1.0, b=0.0)
    with pytest.raises(ValueError, match="data y must be a 1-D array"):
        MSE(x=X, y=np.ones((4, 1)), w=1.0, b=0.0)
    with pytest.raises(ValueError, match="data x is empty"):
        MSE(x=np.array([]), y=np.array([]), w=1.0, b=0.0)
    with pytest.raises(TypeError, match="data y must be real numbers"):
        MSE(x=X, y=np.array(["a", "b", "c", "d"]), w=1.0, b=0.0)
