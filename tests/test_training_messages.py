"""Training's messages say what is wrong: non-finite data or start by name, a refused lr, decay or growth.

The expected messages are written from the red-team issue: NaN/inf data or a
NaN start were reported as "diverged at epoch 0 ... lower the learning rate";
``lr=inf`` suggested "inf"; a decay returning a negative or NaN rate was
accepted; ``growth=0`` reported "the loss grew" while it fell.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from sympy import log, symbols

from symgrad import Model, networks, train
from symgrad.cli import main

w, x, y = symbols("w x y")
#: lecture 002's world's smallest perceptron y = w*x and its data
SMALLEST = Model.from_expr((y - w * x) ** 2, inputs=[x, y])
DATA = {"x": [10.0, 2.0, 3.5, 1.0], "y": [10.1, 1.9, 3.4, 1.1]}


def refusal(**arguments) -> str:
    """The message of the ValueError train refuses these arguments with."""
    given = {"model": SMALLEST, "data": DATA, "init": {"w": 0.0}, "lr": 0.01, "epochs": 5, **arguments}
    with pytest.raises(ValueError) as error:
        train(**given)
    return str(error.value)


def blames_the_learning_rate(message: str) -> bool:
    return "lower the learning rate" in message or "diverged" in message


@pytest.mark.parametrize("name, position, bad", [("x", 1, math.nan), ("y", 3, math.inf), ("x", 0, -math.inf)])
def test_non_finite_data_is_named_not_called_divergence(name, position, bad):
    data = {k: list(v) for k, v in DATA.items()}
    data[name][position] = bad
    message = refusal(data=data)
    assert f"data {name!r} is not finite" in message
    assert f"entry {position} is {bad!r}" in message
    assert not blames_the_learning_rate(message)


def test_a_non_finite_row_of_a_batch_matrix_is_located():
    X = np.ones((5, 3))
    X[2, 1] = math.nan
    model = networks.softmax_classifier(3, 2, batch=True)
    with pytest.raises(ValueError, match=r"data 'X' is not finite: its entry \[2, 1\] is nan"):
        train(model, {"X": X, "Y": np.array([0, 1, 0, 1, 0])}, lr=0.1, epochs=2, seed=0)


@pytest.mark.parametrize("start", [math.nan, math.inf])
def test_a_non_finite_start_is_named(start):
    message = refusal(init={"w": start})
    assert f"the start of 'w' is not finite ({start!r})" in message
    assert not blames_the_learning_rate(message)


def test_a_loss_undefined_at_the_start_blames_the_start_not_the_learning_rate():
    # log(w*x) at w = 0 is log(0): nothing to do with the step size
    model = Model.from_expr(log(w * x) + y, inputs=[x, y])
    message = refusal(model=model)
    assert "cannot be computed at the start (w = 0)" in message
    assert "start from other values" in message
    assert not blames_the_learning_rate(message)


@pytest.mark.parametrize("lr", [math.inf, math.nan, -0.1, 0.0, True, "0.1"])
def test_a_learning_rate_that_is_not_a_positive_finite_number_is_refused(lr):
    message = refusal(lr=lr)
    assert message.startswith(f"lr must be a positive number, not {lr!r}")
    assert "e.g. to inf" not in message and "e.g. to nan" not in message


def test_a_decay_turning_the_rate_negative_is_refused_naming_the_epoch():
    # 0.01 - 0.005 k: 0.01, 0.005, 0 (allowed: no step), then -0.005 at k = 3, the 4th epoch
    message = refusal(decay=lambda k: 0.01 - 0.005 * k)
    assert message.startswith("decay(3) returned -0.0049999")
    assert "as the learning rate of epoch 4" in message
    assert "a learning rate must be a finite number >= 0" in message


def test_a_decay_returning_nan_is_refused_at_the_first_epoch():
    message = refusal(decay=lambda k: math.nan)
    assert message.startswith("decay(0) returned nan as the learning rate of epoch 1")


def test_a_decay_rate_of_zero_is_allowed_and_leaves_the_parameters():
    history = train(SMALLEST, DATA, {"w": 0.5}, lr=0.01, epochs=3, decay=lambda k: 0.0)
    assert history.learning_rates == [0.0, 0.0, 0.0]
    assert [p["w"] for p in history.params] == [0.5] * 4


@pytest.mark.parametrize("decay", [math.inf, math.nan, -1.0])
def test_a_decay_number_must_be_finite_and_non_negative(decay):
    assert refusal(decay=decay).startswith("decay must be None, a non-negative number")


@pytest.mark.parametrize("growth", [0, 1, 0.5, -3.0, math.nan, True])
def test_growth_must_exceed_one(growth):
    assert refusal(growth=growth).startswith(f"growth must be a number greater than 1, not {growth!r}")


def test_a_falling_loss_is_never_reported_as_growing_for_any_valid_growth():
    # lr = 0.01 on this data falls monotonically to least squares (test_train.py); growth just above 1
    history = train(SMALLEST, DATA, {"w": 0.0}, lr=0.01, epochs=30, growth=1.0000001)
    assert not history.diverged and history.message == ""
    assert history.loss[-1] < history.loss[0]


@pytest.mark.parametrize("argv, named", [
    (["--columns", "x=1,nan", "y=2,4"], "data 'x' is not finite"),
    (["--columns", "x=1,2", "y=2,4", "--init", "w=nan"], "the start of 'w' is not finite"),
    (["--columns", "x=1,2", "y=2,4", "--lr", "inf"], "lr must be a positive number, not inf"),
])
def test_the_command_line_reports_them_as_input_errors(argv, named, capsys):
    status = main(["train", "(y - w*x)^2", "--inputs", "x", "y", *argv])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and named in err and "Traceback" not in err
