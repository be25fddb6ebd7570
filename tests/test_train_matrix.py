"""Training a matrix model: the step is the hand-backprop gradient, the history is not aliased, labels work."""
import numpy as np
import pytest

import symgrad
from symgrad import networks


def hand_softmax_gradients(X, labels, W, b):
    """Backprop by hand for p = softmax(X Wᵀ + b), mean cross-entropy: dZ = (P - Y)/N."""
    Z = X @ W.T + b
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    Y = np.eye(W.shape[0])[labels]
    dZ = (P - Y) / len(X)
    return dZ.T @ X, dZ.sum(axis=0)


def test_one_gradient_step_is_the_hand_backprop_step():
    rng = np.random.default_rng(3)
    X, labels = rng.normal(size=(7, 3)), rng.integers(0, 2, size=7)
    W, b = rng.normal(size=(2, 3)), rng.normal(size=2)
    history = symgrad.train(networks.softmax_classifier(3, 2, batch=True), {"X": X, "Y": labels},
                            {"W1": W, "b1": b}, lr=0.3, epochs=1)
    dW, db = hand_softmax_gradients(X, labels, W, b)
    np.testing.assert_allclose(history.final["W1"], W - 0.3 * dW, rtol=1e-12)
    np.testing.assert_allclose(np.ravel(history.final["b1"]), b - 0.3 * db, rtol=1e-12)
    # the recorded start is the start, not the array the step changed
    np.testing.assert_array_equal(history.params[0]["W1"], W)


def test_a_network_learns_a_separable_problem_from_the_default_start():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = networks.mlp([2, 3, 2], "tanh", output="softmax", loss="cross_entropy", batch=True)
    history = symgrad.train(model, {"X": X, "Y": labels}, lr=0.5, epochs=150, seed=1)
    assert not history.diverged
    assert history.loss[-1] < 0.5 * history.loss[0]
    # default start: random weights (hidden units differ), zero biases
    start = history.params[0]
    assert not np.allclose(start["W1"][0], start["W1"][1])
    assert np.all(start["b1"] == 0)


def test_minibatch_training_takes_rows_as_samples():
    rng = np.random.default_rng(5)
    X, labels = rng.normal(size=(10, 3)), rng.integers(0, 2, size=10)
    W, b = np.zeros((2, 3)), np.zeros(2)
    history = symgrad.train(networks.softmax_classifier(3, 2, batch=True), {"X": X, "Y": labels},
                            {"W1": W, "b1": b}, lr=0.1, epochs=1, method="minibatch", batch_size=4,
                            shuffle=False)
    # three steps over rows 0-3, 4-7, 8-9, each the hand gradient at the current weights
    for rows in (slice(0, 4), slice(4, 8), slice(8, 10)):
        dW, db = hand_softmax_gradients(X[rows], labels[rows], W, b)
        W, b = W - 0.1 * dW, b - 0.1 * db
    np.testing.assert_allclose(history.final["W1"], W, rtol=1e-12)
    assert len(history.step_loss) == 3


def test_a_wrongly_shaped_start_is_an_error_naming_the_parameter():
    model = networks.softmax_classifier(3, 2, batch=True)
    with pytest.raises(ValueError, match="W1"):
        symgrad.train(model, {"X": np.ones((2, 3)), "Y": np.array([0, 1])},
                      {"W1": np.ones((3, 2)), "b1": np.zeros(2)}, epochs=1)
