"""Training on compiled gradients: the lectures' smallest perceptron, SGD, mini-batches, divergence, plots."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from matplotlib.figure import Figure
from sympy import symbols

from symgrad import Model, losses, networks
from symgrad.compiler.compiled import compile
from symgrad.training import DivergenceError, History, _Progress, train

# the world's smallest perceptron: yhat = w*x with squared error (lecture 2)
X = np.array([10, 2, 3.5, 1])
Y = np.array([10.1, 1.9, 3.4, 1.1])
W_STAR = np.sum(X * Y) / np.sum(X * X)  # least squares, set dL/dw = 0


@pytest.fixture(scope="module")
def smallest():
    w, x, y = symbols("w x y")
    return Model.from_expr((y - w * x) ** 2, inputs=[x, y])


def test_smallest_perceptron_converges_to_least_squares(smallest):
    history = train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=0.01, epochs=100)
    assert not history.diverged
    assert abs(history.final["w"] - W_STAR) < 1e-6
    assert history.epochs == 100 and len(history.params) == 101
    assert np.all(np.diff(history.loss) <= 1e-15)  # the loss never rises


def test_a_too_small_learning_rate_converges_slowly(smallest):
    slow = train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=1e-4, epochs=100)
    fast = train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=1e-2, epochs=100)
    assert not slow.diverged
    assert np.all(np.diff(slow.loss) < 0)  # still going down at every epoch ...
    assert abs(slow.final["w"] - W_STAR) > 0.1  # ... but far from the minimum
    assert slow.loss[-1] > 100 * fast.loss[-1]


def test_a_too_large_learning_rate_is_reported_as_divergence(smallest):
    history = train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=0.05, epochs=10_000)
    assert history.diverged
    assert history.epochs < 20  # stopped early, long before any overflow
    assert "the loss grew" in history.message
    assert f"by epoch {history.epochs}" in history.message
    assert "lower the learning rate, e.g. to 0.005" in history.message
    assert "diverged" in repr(history)


def test_divergence_can_raise(smallest):
    with pytest.raises(DivergenceError, match="lower the learning rate") as error:
        train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=0.05, on_divergence="raise")
    assert error.value.history.diverged


def test_overflow_is_divergence_not_a_numpy_warning(smallest):
    # growth=inf disables the growth check: the overflow itself must be caught
    history = train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=0.05, epochs=10_000, growth=np.inf)
    assert history.diverged
    assert "overflow" in history.message and "at epoch" in history.message
    assert history.loss[-1] == np.inf


def line_data(n=64, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, n)
    return {"x": x, "y": 2 * x + 1}


@pytest.mark.parametrize("method, batch_size, lr, epochs", [
    ("sgd", None, 0.1, 40), ("minibatch", 8, 0.3, 80), ("gd", None, 0.5, 200)])
def test_every_method_fits_a_line(method, batch_size, lr, epochs):
    model = networks.linear(loss=losses.squared_error)
    history = train(model, line_data(), {"w": 0.0, "b": 0.0}, lr=lr, epochs=epochs,
                    method=method, batch_size=batch_size, seed=1)
    assert history.final == pytest.approx({"w": 2.0, "b": 1.0}, abs=1e-4)
    steps_per_epoch = {"sgd": 64, "minibatch": 8, "gd": 1}[method]
    assert len(history.step_loss) == epochs * steps_per_epoch


def test_shuffling_is_reproducible_with_a_seed():
    model = compile(networks.linear(loss=losses.squared_error))  # a compiled function works too
    runs = [train(model, line_data(), None, lr=0.05, epochs=3, method="sgd", seed=s) for s in (7, 7, 8)]
    assert runs[0].step_loss == runs[1].step_loss
    assert runs[0].step_loss != runs[2].step_loss
    ordered = [train(model, line_data(), None, lr=0.05, epochs=3, method="sgd", shuffle=False, seed=s)
               for s in (7, 8)]
    assert ordered[0].step_loss == ordered[1].step_loss


def test_learning_rate_decay():
    model = networks.linear(loss=losses.squared_error)
    history = train(model, line_data(), None, lr=0.2, epochs=4, decay=1.0)
    assert history.learning_rates == pytest.approx([0.2, 0.1, 0.2 / 3, 0.05])
    halving = train(model, line_data(), None, lr=0.2, epochs=3, decay=lambda k: 0.2 * 0.5**k)
    assert halving.learning_rates == pytest.approx([0.2, 0.1, 0.05])


def test_sigmoid_chain_trains_without_warnings():
    data = line_data(128)
    data["x"][:4] = [-1000.0, 1000.0, -800.0, 900.0]  # saturated units: sigmoid is exactly 0 or 1
    data["y"] = (data["x"] > 0).astype(float)
    model = networks.chain(2, loss=losses.half_squared_error)
    init = {"b": 0.0, "w1": 1.0, "w2": 1.0}
    history = train(model, data, init, lr=2.0, epochs=200, method="minibatch", batch_size=16, seed=0)
    assert not history.diverged
    assert history.loss[-1] < 0.7 * history.loss[0]


@pytest.mark.parametrize("arguments, message", [
    ({"method": "adam"}, "unknown method 'adam'"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"epochs": 2.5}, "epochs must be a non-negative integer"),
    ({"data": {"x": X}}, "missing data 'y'"),
    ({"data": {"x": X, "y": Y, "z": X}}, "unknown data 'z'"),
    ({"init": {"v": 1.0}}, "unknown parameter 'v': the model's parameters are w"),
    ({"init": {}}, "missing parameter 'w'"),
    ({"method": "sgd", "batch_size": 4}, "use 'minibatch' for batch_size"),
    ({"method": "minibatch", "batch_size": 0}, "batch_size must be a positive integer"),
    ({"decay": "fast"}, "decay must be None"),
])
def test_bad_arguments_are_named(smallest, arguments, message):
    values = {"data": {"x": X, "y": Y}, "init": {"w": 0.0}, **arguments}
    with pytest.raises(ValueError, match=message):
        train(smallest, values.pop("data"), values.pop("init"), **values)


def test_progress_bar_only_when_asked_or_on_a_terminal(smallest, capsys):
    train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=0.01, epochs=5)
    assert capsys.readouterr().err == ""  # pytest's stderr is not a terminal
    train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=0.01, epochs=5, progress=False)
    assert capsys.readouterr().err == ""
    train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=0.01, epochs=5, progress=True)
    err = capsys.readouterr().err
    # tqdm's bar: the epoch count, the rate in epochs per second, and the loss after the 5th epoch
    w5 = 0.0
    for _ in range(5):  # gradient descent by hand on the mean loss: dL/dw = -2 mean x (y - w x)
        w5 -= 0.01 * -2 * np.mean(X * (Y - w5 * X))
    assert "5/5" in err and "epoch/s" in err and f"loss {np.mean((Y - w5 * X) ** 2):.6g}" in err

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = _Progress(3, None, stream)  # a terminal: drawn without being asked
    bar.update(1, 0.5)
    bar.close(3, 0.25, "done")
    assert "3/3" in stream.getvalue() and "loss 0.25" in stream.getvalue()
    assert stream.getvalue().endswith("done\n")
    silent = Terminal()
    _Progress(3, False, silent).close(3, 0.25, "done")
    assert silent.getvalue() == ""


def test_a_diverged_run_with_a_bar_says_why_after_it(smallest, capsys):
    history = train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=0.05, epochs=100, progress=True)
    err = capsys.readouterr().err
    assert history.diverged and err.endswith("training diverged: " + history.message + "\n")
    assert f"{history.epochs}/100" in err  # the bar stops where training stopped


def test_plot_writes_an_svg_line_plot(smallest, tmp_path):
    history = train(smallest, {"x": X, "y": Y}, {"w": 0.0}, lr=0.01, epochs=30)
    axes = history.plot(tmp_path / "loss.svg")
    (line,) = axes.get_lines()
    assert line.get_xdata().tolist() == list(range(31))
    assert line.get_ydata().tolist() == history.loss
    assert axes.get_yscale() == "log"  # the loss spans 3000x (29.6 to 0.0094)
    assert axes.get_xlabel() == "epoch"
    root = ET.parse(tmp_path / "loss.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(ValueError, match="plot writes SVG, not .png: name the file loss.svg"):
        history.plot(tmp_path / "loss.png")


def test_plot_of_a_diverged_run_skips_the_overflow():
    history = History("gd", 1.0, 4, loss=[1.0, 2.0, np.inf], params=[{}, {}, {}], diverged=True,
                      message="the loss overflowed at epoch 2")
    figure = Figure()
    (line,) = history.plot(ax=figure.subplots()).get_lines()
    assert line.get_ydata().tolist() == [1.0, 2.0]
    assert ET.fromstring(history.svg(log=False)).tag == "{http://www.w3.org/2000/svg}svg"
