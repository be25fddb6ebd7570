"""The report's training section: the lectures' smallest perceptron trained at three learning rates, one chart."""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from sympy import symbols

from .. import _optional
from ..core.model import Model
from ..training import History, figure_svg, plot_histories, train

__all__ = ["training_section", "training_chart", "SMALLEST_PERCEPTRON_DATA"]

#: lecture 002's table for y = w*x
SMALLEST_PERCEPTRON_DATA = {"x": [10.0, 2.0, 3.5, 1.0], "y": [10.1, 1.9, 3.4, 1.1]}

#: lecture 000's "impact of the learning rate": too small, about right, too big
RATES = ((1e-4, "too small: slow convergence"), (1e-2, "converges"), (1e-1, "too big: diverges"))

EPOCHS = 60


def _histories() -> list[History]:
    w, x, y = symbols("w x y")
    model = Model.from_expr((y - w * x) ** 2, inputs=[x, y])
    return [train(model, SMALLEST_PERCEPTRON_DATA, {"w": 0.0}, lr=lr, epochs=EPOCHS, progress=False)
            for lr, _ in RATES]


def training_chart(histories: list[History]):
    """The three runs' loss curves on one matplotlib ``Axes`` (log scale: they span many decades)."""
    labels = [f"η = {lr:g}: {meaning}" + (f" (stopped at epoch {h.epochs})" if h.diverged else "")
              for (lr, meaning), h in zip(RATES, histories)]
    return plot_histories(histories, labels=labels, log=True, ax=_optional.figure().subplots(),
                          title="the same model and data at three learning rates")


def training_section(images: Path) -> tuple[str, list[Path]]:
    """Train ``yhat = w*x`` on the lecture's data by gradient descent: HTML with the chart inline, no image files."""
    xs, ys = (np.array(SMALLEST_PERCEPTRON_DATA[k]) for k in ("x", "y"))
    best = float(xs @ ys / (xs @ xs))  # d/dw sum (y - w x)^2 = 0
    histories = _histories()
    rows = []
    for (lr, meaning), history in zip(RATES, histories):
        outcome = html.escape(history.message) if history.diverged else (
            f"w = {history.final['w']:.8f} (least squares {best:.8f})")
        rows.append(f"<tr><td>{lr:g}</td><td>{html.escape(meaning)}</td><td>{outcome}</td></tr>")
    chart = figure_svg(training_chart(histories).figure)
    return ("<h2 id='training'>Training the world's smallest perceptron</h2>"
            "<p class='source'>lecture 002's data for y = w·x, squared error, gradient descent from "
            "w = 0 with the compiled gradients, at the three learning rates of lecture 000's "
            "<i>impact of learning rate</i>.</p>"
            f"<figure class='training-chart'>{chart}<figcaption>loss over all the data after each epoch "
            "(log scale); a cross marks where the diverging run stopped</figcaption></figure>"
            f"<table><tr><th>learning rate</th><th>lecture 000 says</th><th>after {EPOCHS} epochs</th></tr>"
            + "".join(rows) + "</table>"), []
