"""Gradient descent, SGD and mini-batch training on compiled gradients, with a loss history that detects divergence."""
from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from ._tools import is_stream, write_file
from .compiler.api import compile
from .errors import DivergenceError
from .compiler.compiled import CompiledGradient
from .compiler.matrix import CompiledModel

__all__ = ["train", "History", "DivergenceError", "METHODS"]

#: ``gd``: one step per epoch on all the data; ``sgd``: one step per sample;
#: ``minibatch``: one step per batch of ``batch_size`` samples
METHODS = ("gd", "sgd", "minibatch")


@dataclass
class History:
    """What training did: the loss and the parameters after every epoch.

    ``loss[0]`` and ``params[0]`` are at the initial values, ``loss[k]`` and
    ``params[k]`` after epoch ``k``; ``loss`` is always over all the data.
    ``step_loss`` is the loss of each step's batch, before its update.
    """

    method: str
    lr: float
    batch_size: int
    loss: list[float] = field(default_factory=list)
    #: the parameters after each epoch: numbers, or arrays for a matrix model
    params: list[dict] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    #: the learning rate of each epoch (they differ with ``decay``)
    learning_rates: list[float] = field(default_factory=list)
    diverged: bool = False
    #: why training diverged, and what to try instead
    message: str = ""

    @property
    def final(self) -> dict:
        """The parameters at the end of training."""
        return self.params[-1]

    @property
    def epochs(self) -> int:
        """Epochs actually run."""
        return len(self.loss) - 1

    def __repr__(self) -> str:
        state = f"diverged: {self.message}" if self.diverged else (
            f"loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}")
        return f"<History {self.method}, lr={self.lr:g}, {self.epochs} epochs, {state}>"

    def svg(self, title: str | None = None, log: bool | None = None) -> str:
        """The loss curve as an SVG line plot; ``log`` scale by default when the loss spans 100x or more."""
        return _svg_plot(self.loss, title or f"{self.method}, learning rate {self.lr:g}", log)

    def plot(self, path, title: str | None = None, log: bool | None = None) -> Path:
        """Draw the loss per epoch into an SVG file (written atomically) and return its path.

        >>> import os, tempfile
        >>> h = History("gd", 0.1, 4, loss=[4.0, 1.0, 0.25], params=[{}, {}, {}])
        >>> h.plot(os.path.join(tempfile.mkdtemp(), "loss.svg")).suffix
        '.svg'
        """
        path = Path(path)
        if path.suffix.lower() != ".svg" and not is_stream(path):  # /dev/stdout needs no suffix
            raise ValueError(f"plot writes SVG, not {path.suffix or 'a file without suffix'}: "
                             f"name the file {path.with_suffix('.svg').name}")
        return write_file(path, self.svg(title, log))

    def _repr_svg_(self) -> str:
        return self.svg()


# -- the plot --------------------------------------------------------------------------

def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + k * step for k in range(int((high - first) / step + 1e-9) + 1)]


def _svg_plot(values, title: str, log: bool | None) -> str:
    points = [(i, v) for i, v in enumerate(values) if math.isfinite(v)]
    if log is None:
        positive = [v for _, v in points if v > 0]
        log = len(positive) == len(points) and bool(points) and max(positive) >= 100 * min(positive)
    if log:
        points = [(i, math.log10(v)) for i, v in points if v > 0]
    width, height, left, right, top, bottom = 640, 400, 72, 24, 40, 48
    xs = [i for i, _ in points] or [0]
    ys = [v for _, v in points] or [0.0]
    x_low, x_high = 0, max(max(xs), 1)
    y_low, y_high = min(ys), max(ys)
    if y_high - y_low < 1e-12 * max(1.0, abs(y_high)):
        y_low, y_high = y_low - 0.5, y_high + 0.5
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x):
        return left + (x - x_low) / (x_high - x_low) * plot_w

    def sy(y):
        return top + (y_high - y) / (y_high - y_low) * plot_h

    def label(y):
        return f"1e{y:g}" if log else f"{y:.4g}"

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
    ]
    y_ticks = [t for t in _ticks(y_low, y_high) if not log or float(t).is_integer()] or [y_low, y_high]
    for t in y_ticks:
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{label(t)}</text>')
    for t in _ticks(x_low, x_high):
        if float(t).is_integer():
            out.append(f'<text x="{sx(t):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{t:g}</text>')
    out += [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 10}" text-anchor="middle">epoch</text>',
        f'<text x="16" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {top + plot_h / 2})">{"loss (log scale)" if log else "loss"}</text>',
    ]
    if points:
        coordinates = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
        out.append(f'<polyline points="{coordinates}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# -- the progress bar ---------------------------------------------------------------------

class _Progress:
    """A one-line progress bar on a terminal (``\\r``), silent elsewhere."""

    def __init__(self, total: int, enabled: bool | None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled if enabled is not None else _is_terminal(self.stream)
        self.total, self.shown = total, 0.0

    def update(self, epoch: int, loss: float, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.shown < 0.1):
            return
        self.shown = now
        filled = int(24 * epoch / max(self.total, 1))
        bar = "#" * filled + "." * (24 - filled)
        self.stream.write(f"\repoch {epoch}/{self.total} [{bar}] loss {loss:.6g}")
        self.stream.flush()

    def close(self, epoch: int, loss: float, message: str = "") -> None:
        if self.enabled:
            self.update(epoch, loss, force=True)
            self.stream.write("\n" + (message + "\n" if message else ""))
            self.stream.flush()


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# -- training ----------------------------------------------------------------------------------

def _check_names(given: Mapping, expected: tuple, what: str, plural: str) -> None:
    unknown = [k for k in given if k not in expected]
    if unknown:
        raise ValueError(f"unknown {what} {unknown[0]!r}: the model's {plural} are {', '.join(expected)}")
    missing = [k for k in expected if k not in given]
    if missing:
        raise ValueError(f"missing {what} {missing[0]!r}: give all of {', '.join(expected)}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _check_settings(lr, epochs, growth) -> None:
    """The learning rate, the number of epochs and the growth bound, or a ValueError naming the bad one."""
    if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, not {epochs!r}")
    if not (_is_number(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, not {lr!r}")
    if not math.isfinite(lr):
        raise ValueError(f"lr must be a positive number, not {lr!r}: an infinite step leaves every "
                         "parameter infinite; try lr=0.01 and raise it while the loss still falls")
    if not (_is_number(growth) and growth > 1):
        raise ValueError(f"growth must be a number greater than 1, not {growth!r}: training stops as "
                         "diverged when the loss grows past growth times its first value "
                         "(math.inf never stops it)")


def _schedule(lr: float, decay) -> Callable[[int], float]:
    if decay is None:
        return lambda epoch: lr
    if callable(decay):
        return decay
    if _is_number(decay) and decay >= 0 and math.isfinite(decay):
        return lambda epoch: lr / (1 + decay * epoch)
    raise ValueError(f"decay must be None, a non-negative number or a function of the epoch, not {decay!r}")


def _rate(rate_at: Callable[[int], float], k: int) -> float:
    """The learning rate ``decay(k)`` gave for epoch ``k + 1`` (as the history counts), checked: finite, >= 0."""
    value = rate_at(k)
    if not _is_number(value) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"decay({k}) returned {value!r} as the learning rate of epoch {k + 1}: "
                         "a learning rate must be a finite number >= 0")
    return float(value)


def _check_finite(values: Mapping, what: str) -> None:
    """Every number of the data or the start finite, or a ValueError naming the first that is not."""
    for name, value in values.items():
        array = np.asarray(value)
        if array.dtype.kind not in "fc" or np.all(np.isfinite(array)):
            continue
        if array.ndim == 0:
            raise ValueError(f"{what} {name!r} is not finite ({array.item()!r}): give a finite number")
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        place = f"entry {where[0]}" if len(where) == 1 else f"entry {list(where)}"
        raise ValueError(f"{what} {name!r} is not finite: its {place} is {array[where].item()!r}; "
                         "remove or replace it before training")


def _initial(function, init: Mapping | None, rng) -> dict:
    """Starting values: the user's, else zero for a scalar model and, for a network, small random
    weights (uniform in ±1/√fan-in, as PyTorch's Linear) with zero biases, so hidden units differ."""
    if init is not None:
        _check_names(init, function.params, "parameter", "parameters")
        if isinstance(function, CompiledModel):
            return {p: np.array(init[p], dtype=float) for p in function.params}
        return {p: float(init[p]) for p in function.params}
    if not isinstance(function, CompiledModel):
        return {p: 0.0 for p in function.params}
    model = function.model
    biases = {str(layer.bias) for layer in model.layers if layer.bias is not None}
    values = {}
    for p in function.params:
        shape = tuple(int(n) for n in model.shapes[model.symbol(p)])
        if p in biases:
            values[p] = np.zeros(shape)
        else:
            bound = 1.0 / math.sqrt(shape[1])
            values[p] = rng.uniform(-bound, bound, size=shape)
    return values


def _shown(value) -> str:
    """A starting value for a message: a number, or an array by its shape."""
    return f"{value:g}" if np.ndim(value) == 0 else f"an array of shape {np.shape(value)}"


def _finite(values) -> bool:
    return all(np.all(np.isfinite(v)) for v in values)


def _step(value, gradient, rate):
    if not isinstance(value, np.ndarray):
        return value - rate * gradient
    # a new array, so the history keeps the old one; the gradient in the parameter's own shape
    # (a bias may come back flat), never broadcast against it
    return value - rate * np.reshape(gradient, value.shape)


def _snapshot(params: dict) -> dict:
    # arrays are copied: the next step must not change what the history recorded
    return {p: v.copy() if isinstance(v, np.ndarray) else v for p, v in params.items()}


def _batches(method, n, batch_size, shuffle, rng):
    if method == "gd":
        return [slice(None)]
    order = rng.permutation(n) if shuffle else None
    starts = range(0, n, batch_size)
    if order is None:
        return [slice(s, s + batch_size) for s in starts]
    return [order[s:s + batch_size] for s in starts]


class _Diverged(Exception):
    pass


def train(model, data: Mapping, init: Mapping | None = None, lr: float = 0.01, epochs: int = 100,
          method: str = "gd", batch_size: int | None = None, shuffle: bool = True,
          seed: int | None = None, decay=None, progress: bool | None = None,
          growth: float = 1e4, on_divergence: str = "stop") -> History:
    """Train a model's parameters by gradient descent on its compiled gradients.

    ``data`` maps each input name to an array (one value per sample, or for
    a matrix model one row per sample); ``init`` maps each parameter name to
    its starting value (if ``None``: zero for a scalar model; small random
    weights seeded by ``seed`` and zero biases for a network). ``method`` is ``"gd"`` (one step per epoch on all the data),
    ``"sgd"`` (one step per sample) or ``"minibatch"`` (steps on batches of
    ``batch_size``, 32 by default), the samples ``shuffle``d each epoch by a
    generator seeded with ``seed``. The learning rate of epoch ``k`` is
    ``lr``, or ``lr / (1 + decay*k)`` for a number ``decay``, or
    ``decay(k)`` for a function. ``model`` may also be an already compiled
    function from :func:`symgrad.compile`. A matrix model
    (:func:`symgrad.networks.mlp`, ...) trains its weight matrices the same way.

    Training stops as diverged when the loss or a parameter overflows, or
    when the loss grows to more than ``growth`` times its initial value;
    ``history.diverged`` and ``history.message`` say so (or, with
    ``on_divergence="raise"``, a :class:`DivergenceError` does). A progress
    bar is drawn on stderr when it is a terminal (``progress=True`` forces
    it, ``False`` turns it off).

    The lectures' world's smallest perceptron ``yhat = w*x``:

    >>> from sympy import symbols
    >>> from symgrad import Model
    >>> w, x, y = symbols('w x y')
    >>> smallest = Model.from_expr((y - w*x)**2, inputs=[x, y])
    >>> data = {"x": [10, 2, 3.5, 1], "y": [10.1, 1.9, 3.4, 1.1]}
    >>> history = train(smallest, data, {"w": 0.0}, lr=0.01, epochs=30)
    >>> history
    <History gd, lr=0.01, 30 epochs, loss 29.6 -> 0.009355>
    >>> round(history.final["w"], 6)  # least squares: sum(x*y)/sum(x*x) = 117.8/117.25
    1.004691
    >>> print(train(smallest, data, {"w": 0.0}, lr=0.05).message)
    the loss grew from 29.6 to 2.971e+05 by epoch 7 (learning rate 0.05):
    lower the learning rate, e.g. to 0.005
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (must be one of {list(METHODS)})")
    if on_divergence not in ("stop", "raise"):
        raise ValueError(f"on_divergence must be 'stop' or 'raise', not {on_divergence!r}")
    _check_settings(lr, epochs, growth)
    function = model if isinstance(model, CompiledGradient) else compile(model)
    _check_names(data, function.inputs, "data", "data")
    # integer class labels stay integers (a classifier turns them into one-hot rows)
    arrays = {k: a if a.dtype.kind in "iu" else a.astype(float)
              for k, a in ((k, np.asarray(v)) for k, v in data.items())}
    # the samples are the first axis: the entries of a 1-D array, the rows of a batch matrix
    n = max([len(a) for a in arrays.values() if a.ndim >= 1], default=1)
    _check_finite(arrays, "data")
    rng = np.random.default_rng(seed)
    params = _initial(function, init, rng)
    _check_finite(params, "the start of")
    if method == "gd":
        if batch_size not in (None, n):
            raise ValueError("method 'gd' uses all the data in each step; use 'minibatch' for batch_size")
        batch_size = n
    elif method == "sgd":
        if batch_size not in (None, 1):
            raise ValueError("method 'sgd' takes one sample per step; use 'minibatch' for batch_size")
        batch_size = 1
    else:
        batch_size = 32 if batch_size is None else batch_size
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
    rate_at = _schedule(lr, decay)
    history = History(method, float(lr), batch_size)
    bar = _Progress(epochs, progress)

    def evaluate(batch):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            try:
                loss, grads = function(**batch, **params)
            except FloatingPointError as error:
                raise _Diverged(f"a floating-point error ({error})") from None
        if not (math.isfinite(loss) and _finite(grads.values())):
            raise _Diverged("the loss overflowed" if history.loss else "it is not finite")
        return loss, grads

    epoch, rate = 0, lr
    try:
        loss, grads = evaluate(arrays)
    except _Diverged as reason:  # before any step, the learning rate has played no part yet
        start = ", ".join(f"{p} = {_shown(v)}" for p, v in params.items())
        raise ValueError(f"the loss cannot be computed at the start ({start}): {reason}; "
                         "the model is not defined there, so start from other values") from None
    try:
        history.loss.append(loss)
        history.params.append(_snapshot(params))
        reference = loss if loss > 0 else 1.0
        for epoch in range(1, epochs + 1):
            rate = _rate(rate_at, epoch - 1)
            history.learning_rates.append(rate)
            for index in _batches(method, n, batch_size, shuffle, rng):
                if method != "gd":
                    loss, grads = evaluate({k: a[index] if a.ndim else a for k, a in arrays.items()})
                history.step_loss.append(loss)
                for p, g in grads.items():
                    params[p] = _step(params[p], g, rate)
                if not _finite(params.values()):
                    raise _Diverged("a parameter overflowed")
            loss, grads = evaluate(arrays)
            history.loss.append(loss)
            history.params.append(_snapshot(params))
            bar.update(epoch, loss)
            if loss > growth * reference:
                raise _Diverged(f"the loss grew from {history.loss[0]:.4g} to {loss:.4g}")
    except _Diverged as reason:
        history.diverged = True
        where = "by" if str(reason).startswith("the loss grew") else "at"
        history.message = (f"{reason} {where} epoch {epoch} (learning rate {rate:g}): "
                           f"lower the learning rate, e.g. to {rate / 10:g}")
        if len(history.params) <= epoch:  # the epoch that failed: record where it got to
            history.loss.append(math.inf)
            history.params.append(_snapshot(params))
        bar.close(epoch, history.loss[-1], "training diverged: " + history.message)
        if on_divergence == "raise":
            raise DivergenceError(history.message, history) from None
        return history
    bar.close(epochs, history.loss[-1])
    return history
