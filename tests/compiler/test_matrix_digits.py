"""Real use: an MLP trained with the compiled matrix gradients classifies held-out handwritten digits."""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_mlp.py"


def load_example():
    spec = importlib.util.spec_from_file_location("digits_mlp", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mlp_reaches_90_percent_on_held_out_digits_in_seconds():
    digits = load_example()
    X_train, y_train, X_test, y_test = digits.split(seed=0)
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    start = time.perf_counter()
    params, losses = digits.train(X_train, y_train, seed=0)
    seconds = time.perf_counter() - start
    accuracy = np.mean(digits.predict(params, X_test) == y_test)
    assert accuracy >= 0.90
    assert losses[-1] < losses[0] / 4  # the loss went down, as training should make it
    assert seconds < 10
