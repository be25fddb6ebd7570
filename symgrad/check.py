"""The gradient check, four ways: symbolic, graph engine, compiled NumPy and central finite differences."""
from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .derive import grad
from .graph import Graph
from .model import Model
from .numeric import evaluator

__all__ = ["GradientCheck", "check_gradients"]

METHODS = ("symbolic", "graph", "compiled", "finite differences")


#: how far each method may stray from the symbolic value (relative to max(1, |value|)):
#: the graph and compiled code are exact up to round-off; central differences
#: carry O(h^2) truncation and O(eps/h) round-off
TOLERANCES = {"graph": 1e-9, "compiled": 1e-9, "finite differences": 1e-5}


@dataclass
class GradientCheck:
    """Each parameter's gradient by every method, and the largest relative disagreement."""

    point: dict
    #: parameter name -> method -> value (None where a method is unavailable)
    values: dict

    def _errors(self):
        for name, by_method in self.values.items():
            reference = by_method["symbolic"]
            for method, value in by_method.items():
                if method != "symbolic" and value is not None:
                    yield name, method, value, abs(value - reference) / max(1.0, abs(reference))

    @property
    def max_relative_error(self) -> float:
        return max((error for *_, error in self._errors()), default=0.0)

    def disagreements(self) -> list[str]:
        return [f"{name}: {method} gives {value:.10g}, symbolic {self.values[name]['symbolic']:.10g}"
                for name, method, value, error in self._errors() if error > TOLERANCES[method]]

    @property
    def ok(self) -> bool:
        return not self.disagreements()

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        header = f"{'parameter':<10}" + "".join(f"{m:>20}" for m in METHODS)
        lines = [header]
        for name, by_method in self.values.items():
            cells = "".join(f"{'—' if by_method.get(m) is None else format(by_method[m], '.10g'):>20}"
                            for m in METHODS)
            lines.append(f"{name:<10}{cells}")
        verdict = "all agree" if self.ok else "DISAGREE: " + "; ".join(self.disagreements())
        lines.append(f"largest relative error {self.max_relative_error:.2e} ({verdict})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{m}</th>" for m in ("parameter", *METHODS))
        rows = []
        for name, by_method in self.values.items():
            cells = "".join(f"<td>{'—' if by_method.get(m) is None else f'{by_method[m]:.10g}'}</td>"
                            for m in METHODS)
            rows.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>")
        status = "all agree" if self.ok else "<b>disagree</b>: " + html.escape("; ".join(self.disagreements()))
        return (f"<table><tr>{head}</tr>{''.join(rows)}</table>"
                f"<p>largest relative error {self.max_relative_error:.2e}: {status}</p>")


def _random_point(model: Model, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    names = [str(s) for s in (*model.inputs, *model.params)]
    return {name: round(float(rng.uniform(-1.5, 1.5)), 3) for name in names}


def _compiled(model: Model, point: dict) -> dict | None:
    try:
        from .compiled import compile as compile_model
    except ImportError:  # the compiled view is optional in this check
        return None
    _, grads = compile_model(model)(**point)
    return {str(k): float(v) for k, v in grads.items()}


def check_gradients(model_or_expr, values: Mapping | None = None, *, seed: int = 0,
                    step: float = 1e-6, inputs=()) -> GradientCheck:
    """Compare every parameter's gradient computed four independent ways at one point.

    ``values`` gives the inputs and parameters (by name); missing ones are
    drawn at random with ``seed``. The check is a table (``print`` it, or
    let Jupyter show it) and is true when every method agrees with the
    symbolic gradient within :data:`TOLERANCES`.

    >>> from symgrad import networks, losses
    >>> table = check_gradients(networks.chain(3, loss=losses.half_squared_error), seed=1)
    >>> table.ok
    True
    """
    model = Model.coerce(model_or_expr, inputs=inputs)
    point = _random_point(model, seed)
    point.update({str(k): float(v) for k, v in (values or {}).items()})
    symbols = [model.symbol(name) for name in point]
    closed = model.closed_form()
    gradients = grad(model, list(model.params), form="closed")

    graph = Graph.from_model(model)
    graph.forward(point)
    graph_grads = {str(k): float(v) for k, v in graph.backward().items()}
    compiled = _compiled(model, point)
    loss = evaluator(closed, symbols)

    table = {}
    for param, expression in gradients.items():
        name = str(param)
        up, down = dict(point), dict(point)
        up[name] += step
        down[name] -= step
        table[name] = {
            "symbolic": float(evaluator(expression, symbols)(*point.values())),
            "graph": graph_grads[name],
            "compiled": None if compiled is None else compiled[name],
            "finite differences": (float(loss(*up.values())) - float(loss(*down.values()))) / (2 * step),
        }
    return GradientCheck(point, table)
