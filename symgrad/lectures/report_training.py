"""The report's training section: the lectures' smallest perceptron trained at three learning rates."""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from sympy import symbols

from ..core.model import Model
from ..training import train

__all__ = ["training_section", "SMALLEST_PERCEPTRON_DATA"]

#: lecture 002's table for y = w*x
SMALLEST_PERCEPTRON_DATA = {"x": [10.0, 2.0, 3.5, 1.0], "y": [10.1, 1.9, 3.4, 1.1]}

#: lecture 000's "impact of the learning rate": too small, about right, too big
RATES = ((1e-4, "too small: slow convergence"), (1e-2, "converges"), (1e-1, "too big: diverges"))


def training_section(images: Path) -> tuple[str, list[Path]]:
    """Train ``yhat = w*x`` on the lecture's data by gradient descent; HTML and the loss-curve images."""
    w, x, y = symbols("w x y")
    model = Model.from_expr((y - w * x) ** 2, inputs=[x, y])
    xs, ys = (np.array(SMALLEST_PERCEPTRON_DATA[k]) for k in ("x", "y"))
    best = float(xs @ ys / (xs @ xs))  # d/dw sum (y - w x)^2 = 0
    rows, paths = [], []
    for lr, meaning in RATES:
        history = train(model, SMALLEST_PERCEPTRON_DATA, {"w": 0.0}, lr=lr, epochs=60, progress=False)
        path = history.plot(images / f"training-lr-{lr:g}.svg", title=f"learning rate {lr:g}: {meaning}")
        paths.append(path)
        outcome = html.escape(history.message) if history.diverged else (
            f"w = {history.final['w']:.8f} (least squares {best:.8f})")
        rows.append(f"<tr><td>{lr:g}</td><td>{html.escape(meaning)}</td><td>{outcome}</td>"
                    f'<td><img src="images/{path.name}" alt="loss curve at learning rate {lr:g}" '
                    f'width="360"></td></tr>')
    return ("<h2 id='training'>Training the world's smallest perceptron</h2>"
            "<p class='source'>lecture 002's data for y = w·x, squared error, gradient descent from "
            "w = 0 with the compiled gradients, at the three learning rates of lecture 000's "
            "<i>impact of learning rate</i>.</p>"
            "<table><tr><th>learning rate</th><th>lecture 000 says</th><th>after 60 epochs</th>"
            "<th>loss per epoch</th></tr>" + "".join(rows) + "</table>"), paths
