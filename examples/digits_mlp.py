"""Train an MLP classifier on scikit-learn's 8×8 handwritten digits with symgrad's compiled matrix gradients.

The network is the lectures' ``softmax(W2 σ(W1 x + b1) + b2)`` with
cross-entropy, [64, 32, 10]; its gradients are the layer rules of
``symgrad.matrix.backprop``, compiled to NumPy for a batch (samples as
rows). The data ship inside scikit-learn (no download): 1797 images,
3/4 for training and 1/4 held out. Mini-batch gradient descent with
momentum reaches about 97% held-out accuracy in about a second.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_digits

from symgrad.matrix import backprop, mlp
from symgrad import compile

SIZES = [64, 32, 10]


def split(seed: int = 0, held_out: float = 0.25):
    """The digits as (X_train, y_train, X_test, y_test): pixels scaled to [0, 1], labels 0-9."""
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(len(y) * (1 - held_out))
    train, test = order[:cut], order[cut:]
    return X[train], y[train], X[test], y[test]


def classifier(weight_decay: float = 1e-4):
    """The network: sigmoid hidden layer, softmax output, cross-entropy plus L2 weight decay, on a batch."""
    return mlp(SIZES, "sigmoid", output="softmax", loss="cross_entropy", weight_decay=weight_decay, batch=True)


def train(X, y, epochs: int = 40, batch: int = 32, rate: float = 0.5, momentum: float = 0.9,
          weight_decay: float = 1e-4, seed: int = 0):
    """Mini-batch gradient descent with momentum on the compiled loss and gradients; returns the parameters."""
    model = classifier(weight_decay)
    loss_and_grad = compile(model)
    rng = np.random.default_rng(seed)
    params = {}
    for layer in model.layers:  # Xavier-style scale keeps the sigmoids out of saturation
        params[str(layer.weight)] = rng.normal(0.0, 1.0 / np.sqrt(layer.inputs), (layer.units, layer.inputs))
        params[str(layer.bias)] = np.zeros(layer.units)
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(y))
        total = 0.0
        for start in range(0, len(y), batch):
            rows = order[start:start + batch]
            loss, grads = loss_and_grad(X=X[rows], Y=y[rows], **params)
            total += loss * len(rows)
            for name, gradient in grads.items():
                velocity[name] *= momentum
                velocity[name] -= rate * gradient
                params[name] += velocity[name]
        losses.append(total / len(y))
    return params, losses


def predict(params: dict, X) -> np.ndarray:
    """The most probable class of each row: the forward pass written out in NumPy."""
    hidden = 1.0 / (1.0 + np.exp(-(X @ params["W1"].T + params["b1"])))
    return np.argmax(hidden @ params["W2"].T + params["b2"], axis=1)


def main() -> float:
    print("The network, in matrix form (a batch has samples as rows):")
    print(classifier())
    print("\nIts backward pass, derived by the layer rules:")
    print(backprop(classifier()))
    X_train, y_train, X_test, y_test = split()
    start = time.perf_counter()
    params, losses = train(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(predict(params, X_test) == y_test))
    print(f"\ntrained on {len(y_train)} digits in {seconds:.2f} s: loss {losses[0]:.3f} -> {losses[-1]:.4f}")
    print(f"held-out accuracy on {len(y_test)} digits: {accuracy:.1%}")
    return accuracy


if __name__ == "__main__":
    main()
