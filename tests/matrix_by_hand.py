"""An MLP's loss and backprop written by hand in plain NumPy, independent of symgrad: a reference for the tests.

Samples are rows, as in a batch: ``Z_k = H_(k-1) W_kᵀ + b_kᵀ``, ``H_k = f(Z_k)``;
the loss is the mean over the rows of half the squared error, of the
cross-entropy or of the binary cross-entropy, plus ``decay · Σ‖W_k‖²``. Biases are k×1 columns (``None`` for
a layer without one). Nothing here calls symgrad.
"""
from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


_GELU_C, _GELU_K = np.sqrt(2.0 / np.pi), 0.044715


def _gelu(z):
    return 0.5 * z * (1.0 + np.tanh(_GELU_C * (z + _GELU_K * z**3)))


def _gelu_slope(z):
    # d/dz of ½ z (1 + tanh u), u = c (z + k z³): ½ (1 + tanh u) + ½ z (1 - tanh² u) c (1 + 3 k z²)
    t = np.tanh(_GELU_C * (z + _GELU_K * z**3))
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _GELU_C * (1.0 + 3.0 * _GELU_K * z * z)


#: f and f' of each element-wise activation
FUNCTIONS = {
    "identity": (lambda z: z, np.ones_like),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "softplus": (lambda z: np.logaddexp(0.0, z), _sigmoid),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
            lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))),
    "gelu": (_gelu, _gelu_slope),
}


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(X, weights, biases, activations):
    """Each layer's pre-activation ``Z_k`` and output ``H_k`` (``H_0 = X``)."""
    outputs, pre = [np.asarray(X, dtype=float)], []
    for W, b, activation in zip(weights, biases, activations):
        Z = outputs[-1] @ W.T
        if b is not None:
            Z = Z + b.reshape(1, -1)  # the row bᵀ added to every sample
        pre.append(Z)
        outputs.append(softmax(Z) if activation == "softmax" else FUNCTIONS[activation][0](Z))
    return pre, outputs


def loss(X, Y, weights, biases, activations, kind, decay=0.0) -> float:
    """The mean loss over the rows plus ``decay · Σ‖W‖²``."""
    _, outputs = forward(X, weights, biases, activations)
    P, N = outputs[-1], X.shape[0]
    if kind == "cross_entropy":
        data = -np.sum(Y * np.log(P)) / N
    elif kind == "binary_cross_entropy":  # each output a yes/no probability
        data = -np.sum(Y * np.log(P) + (1.0 - Y) * np.log(1.0 - P)) / N
    else:
        data = 0.5 * np.sum((P - Y) ** 2) / N
    return float(data + decay * sum(np.sum(W * W) for W in weights))


def backprop(X, Y, weights, biases, activations, kind, decay=0.0):
    """The loss and the gradients ``[(dW_k, db_k)]`` by the chain rule, layer by layer from the loss."""
    pre, outputs = forward(X, weights, biases, activations)
    P, N = outputs[-1], X.shape[0]
    if kind == "cross_entropy":
        dP = -Y / P / N
    elif kind == "binary_cross_entropy":
        dP = (P - Y) / (P * (1.0 - P)) / N
    else:
        dP = (P - Y) / N
    if activations[-1] == "softmax":  # the Jacobian of softmax, row by row: dZ = P ⊙ (dP - <dP, P>)
        dZ = P * (dP - np.sum(dP * P, axis=1, keepdims=True))
    else:
        dZ = dP * FUNCTIONS[activations[-1]][1](pre[-1])
    gradients = [None] * len(weights)
    for k in reversed(range(len(weights))):
        dW = dZ.T @ outputs[k] + 2.0 * decay * weights[k]
        db = None if biases[k] is None else dZ.sum(axis=0).reshape(-1, 1)
        gradients[k] = (dW, db)
        if k:
            dZ = (dZ @ weights[k]) * FUNCTIONS[activations[k - 1]][1](pre[k - 1])
    return loss(X, Y, weights, biases, activations, kind, decay), gradients


def central_differences(f, value, step: float = 1e-6) -> np.ndarray:
    """``(f(v + h e_i) - f(v - h e_i)) / 2h`` for every entry ``i`` of ``value``."""
    value = np.asarray(value, dtype=float)
    out = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        up, down = value.copy(), value.copy()
        up[index] += step
        down[index] -= step
        out[index] = (f(up) - f(down)) / (2 * step)
    return out
