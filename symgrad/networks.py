"""Builders for the lectures' networks: linear model, perceptron, deep chain, fully connected layer."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp
from sympy import IndexedBase, Sum, Symbol

from .core.functions import sigmoid
from .core.model import Model
from .core.ops import ACTIVATIONS
from .layers import batched, dense, mlp, softmax_classifier, stack

__all__ = ["linear", "perceptron", "chain", "fully_connected", "parameter_count", "activation"]

_IDENTITY: dict[str, Callable] = {"identity": lambda a: a, "linear": lambda a: a}


def activation(name_or_function) -> Callable:
    """An activation by name (``"sigmoid"``, ``"relu"``, ``"tanh"``, ``"softplus"``, ``"identity"``) or as given.

    >>> activation("sigmoid")
    sigmoid
    """
    if name_or_function is None:
        return _IDENTITY["identity"]
    if isinstance(name_or_function, str):
        # the op table's activations (a registered one too), and the identity
        known = {**ACTIVATIONS, **_IDENTITY}
        try:
            return known[name_or_function]
        except KeyError:
            raise ValueError(
                f"unknown activation {name_or_function!r} (must be one of {sorted(known)})"
            ) from None
    if not callable(name_or_function):
        raise TypeError(f"activation must be a name or a function, not {name_or_function!r}")
    return name_or_function


def _finish(model: Model, loss, target) -> Model:
    return model if loss is None else model.with_loss(loss, target)


def linear(weight="w", bias="b", input="x", loss=None, target="y") -> Model:
    """The linear model ``yhat = w*x + b`` (or ``theta0 + theta1*x`` with other names).

    >>> print(linear())
    ŷ = b + w·x
    >>> linear(weight="theta1", bias="theta0").params
    (theta0, theta1)
    """
    w, b, x = (Symbol(n) if isinstance(n, str) else n for n in (weight, bias, input))
    model = Model([(Symbol("yhat"), w * x + b)], inputs=[x], name="linear")
    return _finish(model, loss, Symbol(target) if isinstance(target, str) else target)


def perceptron(features: int | None = 2, activation_function=sigmoid, loss=None,
               indexed: bool = False) -> Model:
    """The perceptron ``f = act(sum_k w_k x_k)``.

    With ``indexed=False`` it has ``features`` concrete inputs ``x1..xm`` and
    weights ``w1..wm`` and the stages ``a`` and ``f``. With ``indexed=True``
    it is written over a data set as the lectures do: ``x[i, k]`` is feature
    k of sample i, ``y[i]`` the target, ``w[k]`` the weights, ``m`` features
    and ``N`` samples; a loss is then summed over the samples.

    >>> print(perceptron(2))
    a = w1·x1 + w2·x2
    f = σ(a)
    >>> from symgrad.losses import squared_error
    >>> print(perceptron(indexed=True, loss=squared_error))
    L = Σᵢ₌₁ᴺ (yᵢ - σ(Σₖ₌₁ᵐ (wₖ·xᵢₖ)))^2
    """
    act = activation(activation_function)
    if indexed:
        w, x, y = IndexedBase("w"), IndexedBase("x"), IndexedBase("y")
        i, k, m, n = sp.symbols("i k m N")
        prediction = act(Sum(w[k] * x[i, k], (k, 1, m)))
        if loss is None:
            return Model([(Symbol("f"), prediction)], inputs=[x], name="perceptron")
        return Model([(Symbol("L"), loss(y[i], prediction, over=(i, 1, n)))],
                     inputs=[x, y], name="perceptron")
    if features is None or features < 1:
        raise ValueError(f"a perceptron needs at least one feature, not {features!r}")
    ws = sp.symbols(f"w1:{features + 1}")
    xs = sp.symbols(f"x1:{features + 1}")
    a = Symbol("a")
    model = Model([(a, sp.Add(*[wk * xk for wk, xk in zip(ws, xs)])), (Symbol("f"), act(a))],
                  inputs=xs, name="perceptron")
    return _finish(model, loss, Symbol("y"))


def chain(depth: int, activation_function=sigmoid, loss=None) -> Model:
    """The lectures' deep chain ``f_D(w_D * ... f_1(w_1*x + b))``, one unit per layer.

    Stages ``a1 = w1*x + b, f1 = act(a1), a2 = w2*f1, f2 = act(a2), ...``;
    with a ``loss`` a final stage ``L = loss(y, f_D)``.

    >>> print(chain(2))
    a1 = b + w1·x
    f1 = σ(a1)
    a2 = f1·w2
    f2 = σ(a2)
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, not {depth!r}")
    act = activation(activation_function)
    x, b = Symbol("x"), Symbol("b")
    stages, previous = [], None
    for layer in range(1, depth + 1):
        w, a, f = sp.symbols(f"w{layer} a{layer} f{layer}")
        stages.append((a, w * x + b if previous is None else w * previous))
        stages.append((f, act(a)))
        previous = f
    model = Model(stages, inputs=[x], name=f"chain{depth}")
    return _finish(model, loss, Symbol("y"))


def fully_connected(inputs: int, outputs: int, activation_function=None, loss=None) -> Model:
    """A fully connected layer ``l_j = sum_k W_j_k x_k + b_j`` with explicit component symbols.

    ``W_j_k`` is row j, column k of the ``outputs x inputs`` weight matrix.
    With an activation, stages ``f_j = act(l_j)`` follow. The model has one
    output per unit; give a ``loss`` (summed over the units) for a scalar.

    >>> print(fully_connected(2, 1))
    l₁ = W₁₁·x₁ + W₁₂·x₂ + b₁
    """
    for name, size in (("inputs", inputs), ("outputs", outputs)):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"{name} must be a positive integer, not {size!r}")
    act = activation(activation_function)
    xs = [Symbol(f"x_{k}") for k in range(1, inputs + 1)]
    stages, outs = [], []
    for j in range(1, outputs + 1):
        l_j = Symbol(f"l_{j}")
        stages.append((l_j, sp.Add(*[Symbol(f"W_{j}_{k}") * xs[k - 1] for k in range(1, inputs + 1)],
                                   Symbol(f"b_{j}"))))
        outs.append(l_j)
    if activation_function is not None:
        for j in range(1, outputs + 1):
            f_j = Symbol(f"f_{j}")
            stages.append((f_j, act(Symbol(f"l_{j}"))))
        outs = [Symbol(f"f_{j}") for j in range(1, outputs + 1)]
    model = Model(stages, inputs=xs, output=outs, name=f"fully_connected({inputs}, {outputs})")
    if loss is None:
        return model
    return model.with_loss(loss, [Symbol(f"y_{j}") for j in range(1, outputs + 1)])


def parameter_count(sizes: Sequence[int]) -> int:
    """Weights and biases of a fully connected network with the given layer sizes.

    >>> parameter_count([3, 4, 2])  # (3*4 + 4*2) weights + (4 + 2) biases
    26
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(not isinstance(n, int) or n < 1 for n in sizes):
        raise ValueError(f"layer sizes must be two or more positive integers, not {sizes!r}")
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:]))


# -- matrix form: the layer as a whole, W x + b (built in symgrad/layers.py) ---------------

__all__ += ["dense", "mlp", "softmax_classifier", "stack", "batched"]
