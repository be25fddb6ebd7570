"""Gradient descent, SGD and mini-batch training on compiled gradients, with a loss history that detects divergence."""
from __future__ import annotations

import html
import io
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _optional
from ._tools import is_stream, write_file
from .compiler.api import compile
from .compiler.arrays import is_dask, take_batch
from .errors import DivergenceError
from .compiler.compiled import CompiledGradient
from .compiler.matrix import CompiledModel

__all__ = ["train", "History", "plot_histories", "figure_svg", "DivergenceError", "METHODS"]

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

    def label(self) -> str:
        """A legend entry: the learning rate, and where training diverged."""
        return f"learning rate {self.lr:g}" + (f", diverged at epoch {self.epochs}" if self.diverged else "")

    def plot(self, path=None, title: str | None = None, log: bool | None = None, *, ax=None):
        """Draw the loss per epoch with matplotlib and return the ``Axes``; with ``path``, also write it as SVG.

        ``log`` scale by default when the loss spans 100x or more. Given
        ``ax``, the curve is drawn there (a figure of your own); else in a
        new pyplot figure (shown inline in Jupyter), or, with ``path``, in a
        figure of its own on the Agg canvas that is written to the file
        (atomically, honouring the umask) and never shown.

        >>> import os, tempfile
        >>> h = History("gd", 0.1, 4, loss=[4.0, 1.0, 0.25], params=[{}, {}, {}])
        >>> axes = h.plot(os.path.join(tempfile.mkdtemp(), "loss.svg"))
        >>> [line.get_ydata().tolist() for line in axes.get_lines()]
        [[4.0, 1.0, 0.25]]
        """
        return plot_histories([self], path, title=title or self.label(), log=log, ax=ax)

    def svg(self, title: str | None = None, log: bool | None = None) -> str:
        """The loss curve as SVG text written by matplotlib."""
        axes = plot_histories([self], title=title or self.label(), log=log, ax=_optional.figure().subplots())
        return figure_svg(axes.figure)

    def _repr_html_(self) -> str:
        # Jupyter: the curve, and under it what happened (a divergence says why and what to try)
        status = (f"<p style='color:#b42318'><b>diverged</b>: {html.escape(self.message)}</p>" if self.diverged
                  else f"<p>{html.escape(self.method)}, learning rate {self.lr:g}, {self.epochs} epochs: "
                       f"loss {self.loss[0]:.4g} &rarr; {self.loss[-1]:.4g}</p>" if self.loss else "<p>no epochs</p>")
        return f"<div class='history'>{self.svg()}{status}</div>"


# -- the plot: matplotlib ------------------------------------------------------------------

def _use_log(histories) -> bool:
    finite = [v for h in histories for v in h.loss if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) >= 100 * min(finite)


def _draw(ax, history: History, label: str) -> None:
    """One line: the finite losses by epoch; a diverged run ends in a cross where it was last finite."""
    points = [(epoch, value) for epoch, value in enumerate(history.loss) if math.isfinite(value)]
    epochs, values = [e for e, _ in points], [v for _, v in points]
    (line,) = ax.plot(epochs, values, label=label)
    if history.diverged and points:  # a marker, not a second line: one line per history
        ax.scatter(epochs[-1:], values[-1:], marker="x", s=60, color=line.get_color(), zorder=3)


def plot_histories(histories, path=None, *, labels=None, title: str | None = None, log: bool | None = None,
                   ax=None):
    """Several loss curves on one chart (e.g. one per learning rate); the ``Axes``, and the SVG file at ``path``.

    >>> h1 = History("gd", 0.1, 4, loss=[4.0, 1.0], params=[{}, {}])
    >>> h2 = History("gd", 0.01, 4, loss=[4.0, 3.0], params=[{}, {}])
    >>> axes = plot_histories([h1, h2], ax=_optional.figure().subplots())
    >>> [line.get_label() for line in axes.get_lines()]
    ['learning rate 0.1', 'learning rate 0.01']
    """
    histories = list(histories)
    labels = [h.label() for h in histories] if labels is None else list(labels)
    if len(labels) != len(histories):
        raise ValueError(f"{len(labels)} labels for {len(histories)} histories: give one label per history")
    if path is not None:
        path = Path(path)
        if path.suffix.lower() != ".svg" and not is_stream(path):  # /dev/stdout needs no suffix
            raise ValueError(f"plot writes SVG, not {path.suffix or 'a file without suffix'}: "
                             f"name the file {path.with_suffix('.svg').name}")
    if ax is None:
        ax = _optional.figure().subplots() if path is not None else _optional.pyplot().subplots()[1]
    for history, label in zip(histories, labels):
        _draw(ax, history, label)
    if _use_log(histories) if log is None else log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (over all the data)")
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    if len(histories) > 1:
        ax.legend()
    if path is not None:
        write_file(path, figure_svg(ax.figure))
    return ax


def figure_svg(fig) -> str:
    """A figure as SVG text, the same bytes every time (fixed ids, no date), without the XML prologue."""
    fig.set_size_inches(6.4, 4.0)
    fig.tight_layout()
    buffer = io.StringIO()
    with _optional.matplotlib().rc_context({"svg.hashsalt": "symgrad", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # inline in HTML: the <?xml ...> prologue and DOCTYPE are not allowed there


# -- the progress bar: tqdm -----------------------------------------------------------------

class _Progress:
    """tqdm's bar over the epochs (rate, time left, the loss): a text bar on a terminal, a widget in Jupyter.

    ``enabled=None`` draws it when ``stream`` is a terminal or in a notebook.
    """

    def __init__(self, total: int, enabled: bool | None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled if enabled is not None else (_is_terminal(self.stream) or _optional.ipython_kernel())
        self.bar = _bar(total, self.stream) if self.enabled else None

    def update(self, epoch: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {loss:.6g}", refresh=False)
            self.bar.update(epoch - self.bar.n)

    def close(self, epoch: int, loss: float, message: str = "") -> None:
        if self.bar is not None:
            self.update(epoch, loss)
            self.bar.close()
            if message:
                self.stream.write(message + "\n")
                self.stream.flush()


def _bar(total: int, stream):
    options = dict(total=total, file=stream, unit="epoch", desc="training", dynamic_ncols=True)
    try:
        return _optional.tqdm_auto()(**options)
    except ImportError:  # a notebook without ipywidgets: tqdm's widget cannot be shown, its text bar can
        return _optional.tqdm_text()(**options)


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
    ``on_divergence="raise"``, a :class:`DivergenceError` does). A tqdm
    progress bar (epochs, rate, time left, the loss) is drawn on stderr when
    it is a terminal and as a widget in Jupyter (``progress=True`` forces
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
              for k, a in ((k, v if is_dask(v) else np.asarray(v)) for k, v in data.items())}
    chunked = any(is_dask(a) for a in arrays.values())
    if chunked and not isinstance(function, CompiledGradient):
        raise ValueError("Dask data are for scalar models (symgrad.compile of a Model); "
                         "a matrix model trains on NumPy arrays")
    # the samples are the first axis: the entries of a 1-D array, the rows of a batch matrix
    n = max([a.shape[0] for a in arrays.values() if a.ndim >= 1], default=1)
    # Dask data are checked as they are read: a non-finite sample makes the loss non-finite, which stops training
    _check_finite({k: a for k, a in arrays.items() if not is_dask(a)}, "data")
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
                if method != "gd" and chunked:  # a mini-batch of Dask data is read into memory
                    loss, grads = evaluate(take_batch(arrays, index))
                elif method != "gd":
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
