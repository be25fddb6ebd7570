"""The gradient check, four ways: symbolic, graph engine, compiled NumPy and central finite differences."""
from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy import MatrixSymbol

from .compiler.api import compile
from .printing import name_text
from .errors import CompileError
from .symbolic.derive import grad
from .symbolic.matrix_rules import backprop
from .compiler.printer import stable_form
from .graph.engine import Graph
from .core.expressions import CrossEntropy
from .core.matrix_model import MatrixModel
from .numeric.matrices import evaluate, random_values
from .core.shapes import as_declared, shape_text
from .core.model import Model
from .numeric.points import evaluator

__all__ = ["GradientCheck", "check_gradients"]

METHODS = ("symbolic", "graph", "compiled", "finite differences")


#: how far each method may stray from the symbolic value (relative to max(1, |value|), entry by entry):
#: the graph and compiled code are exact up to round-off; central differences
#: carry O(h^2) truncation and O(eps/h) round-off
TOLERANCES = {"graph": 1e-9, "compiled": 1e-9, "finite differences": 1e-5}


def _relative_error(value, reference) -> float:
    """The largest entry-wise ``|value - reference| / max(1, |reference|)``.

    A NaN, an infinity or a wrong shape is an infinite error: a broken
    method is reported, never passed.

    >>> _relative_error([[1.0, 2.5]], [[1.0, 2.0]]), _relative_error(float('nan'), 1.0)
    (0.25, inf)
    """
    value, reference = np.asarray(value, dtype=float), np.asarray(reference, dtype=float)
    if value.shape != reference.shape:
        return math.inf
    if value.size == 0:
        return 0.0
    with np.errstate(all="ignore"):
        errors = np.abs(value - reference) / np.maximum(1.0, np.abs(reference))
    return float(errors.max()) if np.all(np.isfinite(errors)) else math.inf


def _plain(value):
    """A value as JSON-ready numbers: a float, or nested lists for an array."""
    if value is None:
        return None
    array = np.asarray(value, dtype=float)
    return float(array) if array.ndim == 0 else array.tolist()


@dataclass
class GradientCheck:
    """Each parameter's gradient by every method, and the largest relative disagreement.

    For a matrix model (``shapes`` not empty) every value is an array of
    the parameter's shape; the table then shows, per parameter, the size
    of the symbolic gradient (its Frobenius norm) and each other method's
    largest entry-wise difference from it.
    """

    point: dict
    #: parameter name -> method -> value (None where a method is unavailable)
    values: dict
    #: a matrix model's parameter shapes by name; empty for a scalar model
    shapes: dict = field(default_factory=dict)
    #: remarks printed under the table (an unavailable method, an assumption of a rule)
    notes: list = field(default_factory=list)

    @property
    def matrix(self) -> bool:
        return bool(self.shapes)

    def _errors(self):
        for name, by_method in self.values.items():
            reference = by_method["symbolic"]
            for method, value in by_method.items():
                if method != "symbolic" and value is not None:
                    yield name, method, value, _relative_error(value, reference)

    @property
    def errors(self) -> dict:
        """Parameter name -> method -> largest relative error against the symbolic gradient."""
        table: dict = {name: {} for name in self.values}
        for name, method, _, error in self._errors():
            table[name][method] = error
        return table

    @property
    def max_relative_error(self) -> float:
        return max((error for *_, error in self._errors()), default=0.0)

    def _difference(self, name: str, method: str) -> float | None:
        """A matrix method's largest absolute entry-wise difference from the symbolic gradient."""
        value, reference = self.values[name][method], self.values[name]["symbolic"]
        if value is None:
            return None
        value, reference = np.asarray(value, dtype=float), np.asarray(reference, dtype=float)
        if value.shape != reference.shape:
            return math.inf
        with np.errstate(all="ignore"):
            difference = np.abs(value - reference)
        return float(difference.max()) if np.all(np.isfinite(difference)) else math.inf

    def _disagreement(self, name: str, method: str, value) -> str:
        reference = self.values[name]["symbolic"]
        if not self.matrix:
            return f"{name}: {method} gives {value:.10g}, symbolic {reference:.10g}"
        value, reference = np.asarray(value, dtype=float), np.asarray(reference, dtype=float)
        if value.shape != reference.shape:
            return (f"{name}: {method} gives a {shape_text(value.shape) or 'scalar'} gradient, "
                    f"symbolic {shape_text(reference.shape) or 'scalar'}")
        with np.errstate(all="ignore"):
            errors = np.abs(value - reference) / np.maximum(1.0, np.abs(reference))
        where = np.unravel_index(int(np.argmax(np.where(np.isfinite(errors), errors, np.inf))), errors.shape)
        entry = f" at entry {tuple(int(i) for i in where)}" if value.ndim else ""
        return (f"{name}: {method} gives {value[where]:.10g}{entry}, symbolic {reference[where]:.10g} "
                f"(largest relative error {_relative_error(value, reference):.2e})")

    def disagreements(self) -> list[str]:
        return [self._disagreement(name, method, value)
                for name, method, value, error in self._errors() if not error <= TOLERANCES[method]]

    @property
    def ok(self) -> bool:
        return not self.disagreements()

    def __bool__(self) -> bool:
        return self.ok

    def _verdict(self) -> str:
        return "all agree" if self.ok else "DISAGREE: " + "; ".join(self.disagreements())

    def _footer(self) -> list[str]:
        return [f"largest relative error {self.max_relative_error:.2e} ({self._verdict()})",
                *(f"({note})" for note in self.notes)]

    def __str__(self) -> str:
        if self.matrix:
            return self._matrix_text()
        header = f"{'parameter':<10}" + "".join(f"{m:>20}" for m in METHODS)
        lines = [header]
        for name, by_method in self.values.items():
            cells = "".join(f"{'—' if by_method.get(m) is None else format(by_method[m], '.10g'):>20}"
                            for m in METHODS)
            lines.append(f"{name_text(name):<10}{cells}")  # a component W1_1_2 as W₁,₁₂
        return "\n".join(lines + self._footer())

    # -- the matrix table: one row per parameter, norms and largest differences ------------------

    _MATRIX_HEADINGS = ("parameter", "shape", "symbolic ‖g‖", *(f"{m} max|Δ|" for m in METHODS[1:]),
                        "max rel. error")
    _MATRIX_LEGEND = ("‖g‖: Frobenius norm of the symbolic gradient; max|Δ|: largest entry-wise "
                      "|method - symbolic|; rel. error: |Δ| / max(1, |symbolic|), entry by entry")

    def _matrix_rows(self) -> list[tuple[str, ...]]:
        rows = []
        for name, by_method in self.values.items():
            norm = float(np.linalg.norm(np.asarray(by_method["symbolic"], dtype=float)))
            differences = [self._difference(name, m) for m in METHODS[1:]]
            errors = [e for e in self.errors[name].values()]
            rows.append((name, shape_text(self.shapes[name]) or "scalar", f"{norm:.6g}",
                         *("—" if d is None else f"{d:.2e}" for d in differences),
                         f"{max(errors, default=0.0):.2e}"))
        return rows

    def _matrix_text(self) -> str:
        rows = [self._MATRIX_HEADINGS, *self._matrix_rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(self._MATRIX_HEADINGS))]
        lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
                 for row in rows]
        return "\n".join([*(line.rstrip() for line in lines), self._MATRIX_LEGEND, *self._footer()])

    def __repr__(self) -> str:
        # one line: how many gradients, by which methods, and whether they agree (the table is str())
        names = ", ".join(self.values)
        return f"<GradientCheck of {names}: largest relative error {self.max_relative_error:.2e}, {self._verdict()}>"

    def _repr_html_(self) -> str:
        if self.matrix:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in self._MATRIX_HEADINGS)
            rows = ["<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                    for row in self._matrix_rows()]
            legend = f"<p class='source'>{html.escape(self._MATRIX_LEGEND)}.</p>"
        else:
            head = "".join(f"<th>{m}</th>" for m in ("parameter", *METHODS))
            rows = []
            for name, by_method in self.values.items():
                cells = "".join(f"<td>{'—' if by_method.get(m) is None else f'{by_method[m]:.10g}'}</td>"
                                for m in METHODS)
                rows.append(f"<tr><td>{html.escape(name_text(name))}</td>{cells}</tr>")
            legend = ""
        status = ("<span class='ok'>all agree</span>" if self.ok else
                  "<span class='wrong'>disagree</span>: " + html.escape("; ".join(self.disagreements())))
        notes = "".join(f"<p class='source'>{html.escape(note)}</p>" for note in self.notes)
        return (f"<table><tr>{head}</tr>{''.join(rows)}</table>{legend}"
                f"<p>largest relative error {self.max_relative_error:.2e}: {status}</p>{notes}")

    def to_dict(self) -> dict:
        """The check as JSON-ready data: the point, every gradient, the errors and the verdict."""
        out = {"point": {k: _plain(v) for k, v in self.point.items()},
               "gradients": {name: {m: _plain(v) for m, v in by_method.items()}
                             for name, by_method in self.values.items()},
               "max_relative_error": self.max_relative_error, "ok": self.ok}
        if self.matrix:
            out["shapes"] = {name: list(shape) for name, shape in self.shapes.items()}
            out["relative_errors"] = self.errors
        if self.notes:
            out["notes"] = list(self.notes)
        return out


# -- scalar models ---------------------------------------------------------------------------------

def _random_point(model: Model, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    names = [str(s) for s in (*model.inputs, *model.params)]
    return {name: round(float(rng.uniform(-1.5, 1.5)), 3) for name in names}


def _number(name, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"the check runs at one point: {name} must be a number, not {value!r}") from None


def _compiled(model: Model, point: dict) -> dict | None:
    _, grads = compile(model)(**point)
    return {str(k): float(v) for k, v in grads.items()}


def _without_base_division(expression: sp.Expr) -> sp.Expr:
    """The gradient with powers of one base merged: d(E^x)/dE = x E^x / E reads x E^(x - 1), finite at E = 0."""
    return sp.powsimp(expression, combine="exp")


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

    A :class:`~symgrad.matrix.MatrixModel` is checked matrix by matrix: the
    layer rules of :func:`~symgrad.matrix.backprop` evaluated with NumPy,
    the graph engine, :func:`symgrad.compile` and central
    differences entry by entry.

    >>> from symgrad.matrix import softmax_classifier
    >>> table = check_gradients(softmax_classifier(2, 2), {'x': [1, 1], 'y': [1, 0],
    ...                         'W1': [[2, 1], [-1, 0]], 'b1': [0, 0]})
    >>> table.values['b1']['symbolic'].round(3).ravel()      # p - y
    array([-0.018,  0.018])
    >>> table.ok
    True
    """
    if isinstance(model_or_expr, MatrixModel):
        return _check_matrix(model_or_expr, values, seed, step)
    model = Model.coerce(model_or_expr, inputs=inputs)
    point = _random_point(model, seed)
    point.update({str(k): _number(k, v) for k, v in (values or {}).items()})
    symbols = [model.symbol(name) for name in point]
    closed = model.closed_form()
    gradients = grad(model, list(model.params), form="closed")

    graph = Graph.from_model(model)
    graph.forward(point)
    graph_grads = {str(k): float(v) for k, v in graph.backward().items()}
    compiled = _compiled(model, point)
    # differences of the loss in its overflow-free form: log(1 - σ(40)) is -40, not log(0)
    loss = evaluator(stable_form(closed), symbols)

    table = {}
    for param, expression in gradients.items():
        name = str(param)
        up, down = dict(point), dict(point)
        up[name] += step
        down[name] -= step
        table[name] = {
            "symbolic": float(evaluator(_without_base_division(expression), symbols)(*point.values())),
            "graph": graph_grads[name],
            "compiled": None if compiled is None else compiled[name],
            "finite differences": (float(loss(*up.values())) - float(loss(*down.values()))) / (2 * step),
        }
    return GradientCheck(point, table)


# -- matrix models ---------------------------------------------------------------------------------

def matrix_point(model: MatrixModel, values: Mapping | None = None, seed: int = 0) -> dict:
    """Values of every input and parameter of a matrix model, as declared (2-D arrays), by name.

    Given ``values`` are kept; the rest are drawn with ``seed``, rounded to
    two decimals, except that a cross-entropy's target is a distribution
    (each column sums to 1), as its ``p - y`` rule assumes. A batch size
    not fixed by a given value is 3.
    """
    given = {str(k): v for k, v in (values or {}).items()}
    declared = {str(s): model.shapes[s] for s in (*model.inputs, *model.params)}
    sizes: dict = {}
    for name, shape in declared.items():
        if name in given and shape:
            array = as_declared(np.asarray(given[name], dtype=float), shape)  # a flat N×1 column fixes N too
            for want, got in zip(shape, array.shape if array.ndim == 2 else ()):
                if sp.sympify(want).is_Symbol:
                    sizes.setdefault(sp.sympify(want), got)
    for size in model.sizes:
        sizes.setdefault(size, 3)
    distributions = {e.args[0]: e.axis for _, stage in model.stages for e in sp.preorder_traversal(stage)
                     if isinstance(e, CrossEntropy)}
    missing = [s for s in (*model.inputs, *model.params) if str(s) not in given]
    drawn = random_values(missing, np.random.default_rng(seed), sizes, distributions)
    for symbol, value in drawn.items():
        if symbol not in distributions:  # readable numbers; a distribution must keep summing to 1
            drawn[symbol] = np.round(value, 2)
    arrays, _ = model.bind({**{str(s): v for s, v in drawn.items()}, **given})
    return {name: arrays[name] for name in declared}


def _forward(model: MatrixModel, values: dict, sizes: dict) -> dict:
    # every stage once, in order, with NumPy: the numeric half shared by the rules and the differences
    values = dict(values)
    for stage, expression in model.stages:
        values[stage] = evaluate(expression, values, sizes)
    return values


def _leaves(model: MatrixModel, point: dict) -> tuple[dict, dict]:
    values = {s: point[str(s)] for s in (*model.inputs, *model.params)}
    _, sizes = model.bind(point)
    values.update({s: float(n) for s, n in sizes.items()})  # the batch size N of a mean
    return values, sizes


def _symbolic_matrix(model: MatrixModel, derivation, point: dict) -> dict:
    """The layer rules' gradients evaluated numerically: the forward stages, then each delta, then each gradient."""
    values, sizes = _leaves(model, point)
    values = _forward(model, values, sizes)
    for delta, definition, _ in derivation.deltas:
        values[delta] = evaluate(definition, values, sizes)
    return {str(p): np.asarray(evaluate(g, values, sizes), dtype=float) for p, g in derivation.gradients.items()}


def _graph_matrix(model: MatrixModel, point: dict) -> dict:
    graph = Graph.from_model(model)
    graph.forward(point)
    # the point holds every value 2-D, as declared, so each gradient comes back 2-D
    return {str(p): np.asarray(g, dtype=float) for p, g in graph.backward().items()}


def _compiled_matrix(model: MatrixModel, point: dict) -> tuple[dict | None, str | None]:
    try:
        compiled = compile(model)
    except CompileError as error:
        return None, f"compiled: not available for this model ({error})"
    arguments = {str(p): point[str(p)] for p in model.params}
    # a model of one sample is compiled as its batched twin: the column x becomes a batch X of one row
    for mine, theirs in zip(model.inputs, compiled.model.inputs):
        value = point[str(mine)]
        one_sample = model.batch is None and isinstance(mine, MatrixSymbol)
        arguments[str(theirs)] = value.T if one_sample else value
    _, grads = compiled(arguments)
    return {name: np.asarray(g, dtype=float) for name, g in grads.items()}, None


def _finite_differences_matrix(model: MatrixModel, point: dict, step: float) -> dict:
    """Central differences of the loss, entry by entry of every parameter."""
    values, sizes = _leaves(model, point)
    output = model.output

    def loss(changed: dict) -> float:
        return float(_forward(model, {**values, **changed}, sizes)[output])

    out = {}
    for param in model.params:
        base = np.asarray(values[param], dtype=float)
        gradient = np.zeros(base.shape)
        for index in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[index] += step
            down[index] -= step
            gradient[index] = (loss({param: up}) - loss({param: down})) / (2 * step)
        out[str(param)] = gradient
    return out


def _check_matrix(model: MatrixModel, values: Mapping | None, seed: int, step: float) -> GradientCheck:
    derivation = backprop(model)
    point = matrix_point(model, values, seed)
    symbolic = _symbolic_matrix(model, derivation, point)
    graph = _graph_matrix(model, point)
    compiled, unavailable = _compiled_matrix(model, point)
    differences = _finite_differences_matrix(model, point, step)
    # a gradient a method fails to give is NaN, which the table reports as a disagreement
    table = {name: {"symbolic": value, "graph": graph.get(name, np.full(value.shape, np.nan)),
                    "compiled": None if compiled is None else compiled.get(name, np.full(value.shape, np.nan)),
                    "finite differences": differences[name]}
             for name, value in symbolic.items()}
    shapes = {name: np.shape(point[name]) for name in table}
    notes = [*derivation.notes, *([unavailable] if unavailable else [])]
    return GradientCheck(point, table, shapes, notes)
