"""The lectures' worked examples derived, as plain text: partials, closed forms, update rules, chain rules."""
from __future__ import annotations

import sympy as sp

from .. import printing
from ..core.matrix_model import MatrixModel
from ..core.model import Model
from ..symbolic.chainrule import chain_rule
from ..symbolic.derive import component, grad
from ..symbolic.matrix_rules import backprop
from ..symbolic.matrix_updates import matrix_update_rules
from ..symbolic.solve import least_squares
from ..symbolic.update import update_rules
from . import catalog as lectures

__all__ = ["lecture_text", "derivative_lines", "matrix_closed_lines", "differentiated"]


def differentiated(model: Model, param):
    """What a derivative is taken by: the parameter, or for an array ``w`` its component ``w_j``."""
    return component(model, param) if isinstance(param, sp.IndexedBase) else param


def derivative_lines(model: Model, wrt, form: str) -> list[str]:
    grads = grad(model, list(wrt) if wrt else None, form=form)
    return [f"d{model.output}/d{printing.text(differentiated(model, p))} = {printing.text(g)}"
            for p, g in grads.items()]


def _section(title: str) -> str:
    return f"\n{title}\n{'=' * len(title)}"


def matrix_closed_lines(model: MatrixModel, wrt) -> list[str]:
    derivation = backprop(model, wrt)
    return [f"d{model.output}/d{printing.text(p)} = {printing.text(derivation.gradient(p, 'closed'))}"
            for p in derivation.gradients]


def _matrix_lecture_text(ex, model: MatrixModel) -> list[str]:
    wrt = list(ex.wrt) or None
    out = ["backprop, by the layer rules:"]
    out += ["  " + line for line in str(backprop(model, wrt)).splitlines()]
    out.append("closed form:")
    out += ["  " + line for line in matrix_closed_lines(model, wrt)]
    out.append("gradient descent:")
    out += ["  " + line for line in matrix_update_rules(model, wrt).text().splitlines()]
    return out


def lecture_text() -> str:
    """Every worked example of the lectures as text: model, partials, update rules, chain rule."""
    out = ["symgrad: the lectures' worked examples, derived"]
    for ex in lectures.EXAMPLES.values():
        model = ex.model
        out.append(_section(f"{ex.name}: {ex.title}"))
        out.append(f"source: lecture {ex.source}")
        out.append(str(model))
        out.append("")
        if isinstance(model, MatrixModel):
            out += _matrix_lecture_text(ex, model)
            continue
        out += derivative_lines(model, ex.wrt, "stages")
        if len(model.stages) > 1:
            out.append("closed form:")
            out += ["  " + line for line in derivative_lines(model, ex.wrt, "closed")]
        if ex.name == "least-squares":
            solution = least_squares().solution
            out += [f"{printing.text(p)} = {printing.text(v)}" for p, v in solution.items()]
            continue
        out.append("gradient descent:")
        out += ["  " + line for line in update_rules(model, list(ex.wrt) or None).text().splitlines()]
        if len(model.stages) > 2:
            out.append("chain rule:")
            out += ["  " + line for line in chain_rule(model, list(ex.wrt) or None).text().splitlines()]
    return "\n".join(line.rstrip() for line in out)
