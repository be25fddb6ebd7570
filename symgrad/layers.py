"""Builders of matrix models: a dense layer, a multi-layer perceptron, the softmax classifier, stacked layers."""
from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
from sympy import MatrixSymbol, Symbol

from .errors import ModelError
from .core.ops import ACTIVATIONS as LAYER_ACTIVATIONS
from .core.expressions import (ACTIVATIONS, BinaryCrossEntropy, CrossEntropy, Elementwise, HalfSquaredError, Softmax,
                                SquaredNorm, broadcast, is_matrix, text)
from .core.matrix_model import Layer, MatrixModel
from .core.shapes import product_error, size_symbols
from .errors import ShapeError

__all__ = ["dense", "mlp", "softmax_classifier", "stack", "batched", "LOSSES", "OUTPUTS"]

#: the losses a builder can end with
LOSSES = ("cross_entropy", "binary_cross_entropy", "squared_error")
_ALIASES = {None: "identity", "linear": "identity"}


def outputs() -> tuple[str, ...]:
    """The activations a layer can have: ``"identity"``, ``"softmax"`` and the op table's activations.

    >>> outputs()[:4]
    ('identity', 'softmax', 'sigmoid', 'relu')
    """
    return ("identity", "softmax", *LAYER_ACTIVATIONS)


def __getattr__(name):
    # OUTPUTS is read from the op table when asked for, so that a registered activation is in it
    if name == "OUTPUTS":
        return outputs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _activation(name, where: str) -> str:
    if callable(name) and not isinstance(name, str):
        reverse = {f: n for n, f in ACTIVATIONS.items()}
        if name in reverse:
            return reverse[name]
    name = _ALIASES.get(name, name)
    if name not in outputs():
        raise ValueError(f"unknown {where} {name!r} (must be one of {list(outputs())})")
    return name


def _count(n: int, noun: str) -> str:
    """``1 unit``, ``3 units``: a number with its noun."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _size(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive integer, not {n!r}")
    return n


def _batch_size(batch):
    if batch is None or batch is False:
        return None
    if batch is True:
        return Symbol("N", integer=True, positive=True)
    if isinstance(batch, str):
        return Symbol(batch, integer=True, positive=True)
    if isinstance(batch, int):
        return _size(batch, "batch")
    if isinstance(batch, Symbol):
        return batch
    raise ValueError(f"batch must be None, True, a size or a symbol, not {batch!r}")


def _bias_flag(bias) -> bool:
    if not isinstance(bias, bool):
        raise ValueError(f"bias must be True or False, not {bias!r}")
    return bias


def _decay_coefficient(weight_decay):
    """The weight-decay coefficient as a SymPy scalar: a number, a symbol name or an expression such as λ/2."""
    if isinstance(weight_decay, str):
        if weight_decay.isidentifier():
            return Symbol(weight_decay)
        try:
            weight_decay = float(weight_decay)  # checked as a number below
        except ValueError:
            raise ValueError(f"weight_decay {weight_decay!r} is neither a number nor a symbol name such as "
                             "'lambda'; give an expression such as λ/2 as a SymPy expression") from None
    if isinstance(weight_decay, bool):
        raise ValueError(f"weight_decay must be a number, a symbol name or a SymPy expression, not {weight_decay!r}")
    try:
        coefficient = sp.sympify(weight_decay, strict=True)
    except (sp.SympifyError, TypeError):
        raise ValueError(f"weight_decay must be a number, a symbol name or a SymPy expression, "
                         f"not {weight_decay!r}") from None
    if not isinstance(coefficient, sp.Expr) or is_matrix(coefficient) or coefficient.is_real is False:
        raise ValueError(f"weight_decay must be a real scalar, not {weight_decay!r}")
    if coefficient.is_number and not coefficient.is_finite:
        raise ValueError(f"weight_decay must be finite, not {weight_decay!r}")
    return coefficient


def _decay_inputs(coefficient, taken: set, roles: dict) -> list[Symbol]:
    """The coefficient's free symbols, which become inputs of the model (numbers the user supplies)."""
    found = sorted(coefficient.free_symbols, key=sp.default_sort_key)
    for s in found:
        what = ("the weight-decay strength" if s == coefficient
                else f"a symbol of the weight-decay coefficient {text(coefficient)}")
        if str(s) in taken:
            raise ModelError(f"{s}, {what}, is already a name of the model ({', '.join(sorted(taken))}); "
                             "call it something else")
        roles[s] = what
    return found


def _build(specs: list[tuple[int, int, str, bool]], loss, weight_decay, batch, name: str) -> MatrixModel:
    """The model of layers ``(inputs, units, activation, bias)`` in order, with an optional loss."""
    batch = _batch_size(batch)
    batched = batch is not None
    # one sample: column vectors x, z1, h1 (the lectures' W x + b); a batch: rows X, Z1, H1 (samples × features)
    upper = str.upper if batched else (lambda s: s)

    def data(label: str, width: int) -> MatrixSymbol:
        return MatrixSymbol(upper(label), batch, width) if batched else MatrixSymbol(label, width, 1)

    x = data("x", specs[0][0])
    roles = {x: (f"the batch of inputs ({batch} samples × {_count(specs[0][0], 'feature')})" if batched
                 else f"the input ({_count(specs[0][0], 'feature')})")}
    stages, layers, previous = [], [], x
    for k, (n_in, n_out, act, has_bias) in enumerate(specs, start=1):
        W = MatrixSymbol(f"W{k}", n_out, n_in)
        b = MatrixSymbol(f"b{k}", n_out, 1) if has_bias else None
        roles[W] = f"the weights of layer {k} ({_count(n_in, 'input')} → {_count(n_out, 'unit')})"
        z = data(f"z{k}", n_out)
        # W·x + b for a column; X·Wᵀ + 1·bᵀ for a batch, whose rows are the samples
        value = previous * W.T if batched else W * previous
        if b is not None:
            roles[b] = f"the biases of layer {k} ({_count(n_out, 'unit')})"
            value = value + broadcast(b, batch) if batched else value + b
        stages.append((z, value))
        last = k == len(specs)
        post = None
        if act == "softmax":
            post = data("p", n_out)
            stages.append((post, Softmax(z, 1 if batched else 0)))
        elif act != "identity":
            post = data("yhat" if last else f"h{k}", n_out)
            stages.append((post, Elementwise(act, z)))
        layers.append(Layer(k, W, b, z, post, act, n_in, n_out))
        previous = z if post is None else post
    inputs = [x]
    if loss is not None:
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r} (must be one of {list(LOSSES)} or None)")
        y = data("y", specs[-1][1])
        roles[y] = f"the target{'s' if batched else ''} ({_count(specs[-1][1], 'output')})"
        inputs.append(y)
        axis = 1 if batched else 0
        if loss == "cross_entropy":
            if specs[-1][2] != "softmax":
                raise ModelError(f"cross-entropy needs probabilities: give the last layer output='softmax', "
                                 f"not {specs[-1][2]!r}")
            value = CrossEntropy(y, previous, axis)
        elif loss == "binary_cross_entropy":
            if specs[-1][2] != "sigmoid":
                raise ModelError(f"binary cross-entropy needs probabilities: give the last layer output='sigmoid', "
                                 f"not {specs[-1][2]!r}")
            value = BinaryCrossEntropy(y, previous, axis)
        else:
            value = HalfSquaredError(y, previous, axis)
        if weight_decay is not None:
            strength = _decay_coefficient(weight_decay)
            taken = {str(s) for s in (*inputs, *roles, *(s for s, _ in stages), *size_symbols([x.shape]))} | {"L"}
            inputs += _decay_inputs(strength, taken, roles)
            value = value + strength * sp.Add(*[SquaredNorm(layer.weight) for layer in layers])
        stages.append((Symbol("L"), value))
    elif weight_decay is not None:
        raise ModelError("weight decay is added to a loss: give loss='cross_entropy', 'binary_cross_entropy' "
                         "or 'squared_error'")
    params = [p for layer in layers for p in (layer.weight, layer.bias) if p is not None]
    return MatrixModel(stages, inputs=inputs, params=params, name=name, roles=roles, layers=layers,
                       specs=tuple(specs), loss=loss, weight_decay=weight_decay, batch=batch)


def mlp(sizes: Sequence[int], activation="sigmoid", output="identity", loss=None, weight_decay=None,
        batch=None, bias=True) -> MatrixModel:
    """A multi-layer perceptron ``[n0, n1, ..., nk]`` in matrix form: ``h_k = act(W_k h_(k-1) + b_k)``.

    Layer k has weights ``Wk`` (n_k × n_(k-1)) and biases ``bk`` (n_k × 1);
    hidden layers use ``activation``, the last one ``output``
    (``"identity"``, ``"softmax"``, ``"sigmoid"``, ...). ``loss`` is
    ``None``, ``"cross_entropy"`` (after a softmax), ``"binary_cross_entropy"``
    (after a sigmoid: independent yes/no outputs) or ``"squared_error"``
    (half the squared error); ``weight_decay`` (a number, a symbol name
    such as ``"lambda"`` or a SymPy expression such as ``λ/2``, whose
    symbols become inputs of the model) adds ``λ·Σ‖Wk‖²``. With ``batch``
    (``True`` for a symbol ``N``, or a size) the input is a batch matrix
    ``X`` of samples × features, the loss the mean over its rows.
    ``bias=False`` leaves the biases out: ``h_k = act(W_k h_(k-1))``.

    >>> print(mlp([4, 3, 2], 'sigmoid', output='softmax', loss='cross_entropy'))
    z1 = W1·x + b1    (3×1)
    h1 = σ(z1)        (3×1)
    z2 = W2·h1 + b2   (2×1)
    p = softmax(z2)   (2×1)
    L = CE(y, p)
    >>> print(mlp([4, 3, 2], 'relu', loss='squared_error', batch=True))
    Z1 = X·W1ᵀ + 1·b1ᵀ    (N×3)
    H1 = ReLU(Z1)         (N×3)
    Z2 = H1·W2ᵀ + 1·b2ᵀ   (N×2)
    L = ½‖Z2 - Y‖²
    >>> lam = Symbol('lambda')
    >>> m = mlp([2, 1], loss='squared_error', weight_decay=lam/2, bias=False)
    >>> print(m)
    z1 = W1·x   (1×1)
    L = ½‖z1 - y‖² + λ·‖W1‖²/2
    >>> m.inputs, m.params
    ((x, y, lambda), (W1,))
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least two sizes (inputs and outputs), not {sizes!r}")
    sizes = [_size(n, f"layer size {i}") for i, n in enumerate(sizes)]
    hidden = _activation(activation, "activation")
    last = _activation(output, "output")
    if hidden == "softmax":
        raise ValueError("softmax is an output, not a hidden activation")
    bias = _bias_flag(bias)
    specs = [(a, b, hidden, bias) for a, b in zip(sizes, sizes[1:])]
    specs[-1] = (specs[-1][0], specs[-1][1], last, bias)
    return _build(specs, loss, weight_decay, batch, name=f"mlp{sizes}")


def dense(inputs: int, units: int, activation=None, loss=None, weight_decay=None, batch=None,
          bias=True) -> MatrixModel:
    """One fully connected layer ``f(x, W) = act(W x + b)`` in matrix form (W is units × inputs).

    ``bias=False`` gives ``act(W x)``.

    >>> m = dense(3, 3, 'sigmoid')
    >>> print(m)
    z1 = W1·x + b1   (3×1)
    ŷ = σ(z1)        (3×1)
    >>> m.shapes[m.params[0]]
    (3, 3)
    """
    last = _activation(activation, "activation")
    return _build([(_size(inputs, "inputs"), _size(units, "units"), last, _bias_flag(bias))], loss,
                  weight_decay, batch, name=f"dense({inputs}, {units})")


def softmax_classifier(inputs: int, classes: int, hidden: Sequence[int] = (), activation="sigmoid",
                       weight_decay=None, batch=None, bias=True) -> MatrixModel:
    """The softmax classifier ``p = softmax(W x + b)`` with cross-entropy, optionally after hidden layers.

    >>> m = softmax_classifier(32, 8)   # 32 inputs, 8 classes: W is 8×32
    >>> m.shapes[m.symbol('W1')]
    (8, 32)
    >>> print(m)
    z1 = W1·x + b1    (8×1)
    p = softmax(z1)   (8×1)
    L = CE(y, p)
    """
    return mlp([inputs, *hidden, classes], activation, output="softmax", loss="cross_entropy",
               weight_decay=weight_decay, batch=batch, bias=bias)


def stack(*layers: MatrixModel, loss=None, weight_decay=None, batch=None) -> MatrixModel:
    """Layers made with :func:`dense` stacked in order; each must take as many inputs as the last gives.

    Each layer keeps its activation and whether it has a bias.

    >>> print(stack(dense(4, 3, 'tanh'), dense(3, 2)))
    z1 = W1·x + b1    (3×1)
    h1 = tanh(z1)     (3×1)
    z2 = W2·h1 + b2   (2×1)
    >>> stack(dense(4, 3, 'tanh'), dense(5, 2))
    Traceback (most recent call last):
    ...
    symgrad.errors.ShapeError: layer 2 takes 5 inputs but layer 1 gives 3 units: W2·h1 is undefined: W2 is 2×5 and h1 is 3×1, and the 5 columns of W2 do not match the 3 rows of h1
    """
    if not layers:
        raise ValueError("stack needs at least one layer")
    specs = []
    for k, model in enumerate(layers, start=1):
        if not isinstance(model, MatrixModel) or len(model.layers) != 1:
            raise TypeError(f"stack takes layers made with dense(...); argument {k} is {model!r}")
        layer = model.layers[0]
        if specs and specs[-1][1] != layer.inputs:
            n_out = specs[-1][1]
            previous = f"h{k - 1}" if specs[-1][2] != "identity" else f"z{k - 1}"
            raise ShapeError(f"layer {k} takes {_count(layer.inputs, 'input')} but layer {k - 1} gives "
                             f"{_count(n_out, 'unit')}: "
                             + product_error(f"W{k}", (layer.units, layer.inputs), previous, (n_out, 1)))
        if layer.activation == "softmax" and k < len(layers):
            raise ValueError(f"layer {k} is a softmax: only the last layer can be")
        specs.append((layer.inputs, layer.units, layer.activation, layer.bias is not None))
    return _build(specs, loss, weight_decay, batch, name="stack")


def batched(model: MatrixModel, batch=True) -> MatrixModel:
    """The same network over a batch matrix (samples × features): ``X·W1ᵀ + 1·b1ᵀ``; the loss is the mean.

    >>> print(batched(dense(2, 1, loss='squared_error')).stages[0][1])
    X*W1.T + 1*b1.T
    """
    if "specs" not in model.spec:
        raise ModelError("only a model built by dense, mlp, softmax_classifier or stack can be batched")
    return _build(list(model.spec["specs"]), model.spec["loss"], model.spec["weight_decay"],
                  batch, name=model.name)
