"""The lecture report: one HTML page deriving, drawing, verifying and checking every worked example.

Math is typeset as MathML (converted from LaTeX by ``latex2mathml``), which
browsers render natively: the page needs no JavaScript and no network.
Every file (the page and each image) is written to a temporary name first
and renamed into place (:func:`symgrad._tools.write_file`), and the page
last, so an interrupted run never leaves a half-written ``index.html``.
"""
from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp
from latex2mathml.converter import convert

from . import catalog as lectures
from .. import printing
from .._tools import check_writable, ensure_folder, write_file
from ..symbolic.chainrule import chain_rule
from .claims import ClaimResult, check_all
from ..symbolic.derive import grad
from ..core.matrix_model import MatrixModel
from ..symbolic.matrix_rules import backprop, matrix_grad
from ..core.expressions import latex as matrix_latex
from ..core.shapes import shape_text
from ..symbolic.matrix_updates import matrix_update_rules
from ..core.model import Model
from ..symbolic.solve import least_squares
from ..symbolic.update import update_rules

__all__ = ["write_report", "math_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #bbb; }
.source { color: #666; font-size: 0.9rem; }
math[display="block"] { margin: 0.35rem 0; font-size: 1.1rem; }
table { border-collapse: collapse; margin: 0.5rem 0; } td, th { border: 1px solid #ccc; padding: 0.3rem 0.6rem; }
.ok { color: #14713d; font-weight: bold; } .wrong { color: #b3261e; font-weight: bold; }
.graph { overflow-x: auto; } .graph img { max-width: 100%; border: 1px solid #ddd; }
.graph img.wide { max-width: none; height: auto; }
.summary { font-size: 1.15rem; background: #f4f4f4; padding: 0.8rem 1rem; }
code, pre { background: #f6f6f6; padding: 0.1rem 0.3rem; }
.eq { overflow-x: auto; overflow-y: hidden; }
"""


def _rows(latex: str) -> list[str]:
    # latex2mathml has no `aligned`: typeset an aligned block one row at a time
    match = re.fullmatch(r"\\begin\{aligned\}(.*)\\end\{aligned\}", latex.strip(), re.S)
    if not match:
        return [latex]
    return [row.replace("&", "") for row in match.group(1).split(r" \\ ")]


def math_html(latex: str, display: bool = True) -> str:
    """LaTeX as MathML, falling back to the LaTeX source in ``<code>`` if it cannot be converted.

    >>> math_html("x^2", display=False).startswith('<math')
    True
    """
    out = []
    for row in _rows(latex):
        try:
            mathml = convert(row, display="block" if display else "inline")
        except Exception:  # an exotic command: show the source rather than nothing
            mathml = f"<code>{html.escape(row)}</code>"
        out.append(f'<div class="eq">{mathml}</div>' if display else mathml)
    return "\n".join(out)


@dataclass
class _Section:
    name: str
    title: str
    source: str
    parts: list[str] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)


def _gradient_latex(model: Model, wrt, form: str) -> str:
    grads = grad(model, list(wrt) or None, form=form)
    rows = [rf"\frac{{\partial {sp.latex(model.output)}}}{{\partial {printing.latex(p)}}} &= {printing.latex(g)}"
            for p, g in grads.items()]
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def _aligned(rows: list[str], shapes=None) -> str:
    # each row of a matrix derivation carries the shape of what it computes, as the text form does
    if shapes is not None:
        times = r" \times "
        rows = [rf"{row} \qquad ({shape_text(shape).replace('×', times)})" if shape else row
                for row, shape in zip(rows, shapes)]
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def _matrix_derivation(example: lectures.Example, model: MatrixModel) -> _Section:
    """A network of matrices: its stages, the layer rules of backprop, the closed form and the update steps."""
    section = _Section(example.name, example.title, example.source)
    shapes = [getattr(s, "shape", None) for s, _ in model.stages]
    section.parts.append("<h3>Model</h3>" + math_html(_aligned(_rows(model.latex()), shapes)))
    derivation = backprop(model, list(example.wrt) or None)
    shapes = [shape for *_, shape in derivation.rows()]
    notes = "".join(f"<p class='source'>{html.escape(note[0].upper() + note[1:])}.</p>" for note in derivation.notes)
    section.parts.append(
        "<h3>Backpropagation by the layer rules</h3>"
        "<p>From the loss backwards: <code>C = A B</code> sends <code>dA = dC Bᵀ</code> and "
        "<code>dB = Aᵀ dC</code>, <code>H = σ(Z)</code> sends <code>dZ = dH ⊙ σ'(Z)</code>; "
        "an adjoint that feeds several gradients is named δ.</p>"
        + math_html(_aligned(_rows(derivation.latex()), shapes)) + notes)
    closed = matrix_grad(model, list(example.wrt) or None, form="closed")
    rows = [rf"\frac{{\partial {sp.latex(model.output)}}}{{\partial {matrix_latex(p)}}} &= {matrix_latex(g)}"
            for p, g in closed.items()]
    section.parts.append("<h4>Closed form</h4>" + math_html(_aligned(rows)))
    steps = matrix_update_rules(model, list(example.wrt) or None)
    section.parts.append("<h3>Gradient descent</h3>" + math_html(steps.latex()))
    return section


def _derivation(example: lectures.Example) -> _Section:
    model = example.model
    if isinstance(model, MatrixModel):
        return _matrix_derivation(example, model)
    section = _Section(example.name, example.title, example.source)
    section.parts.append("<h3>Model</h3>" + math_html(model.latex()))
    section.parts.append("<h3>Partial derivatives</h3>" + math_html(_gradient_latex(model, example.wrt, "stages")))
    if len(model.stages) > 1 and len(model.stages) <= 8:
        section.parts.append("<h4>Closed form</h4>" + math_html(_gradient_latex(model, example.wrt, "closed")))
    if len(model.stages) > 2:
        rules = chain_rule(model, list(example.wrt) or None)
        section.parts.append("<h3>Chain rule</h3>" + math_html(rules.latex()))
    if example.name != "least-squares":
        rules = update_rules(model, list(example.wrt) or None)
        section.parts.append("<h3>Gradient descent</h3>" + math_html(rules.latex()))
    else:
        solution = least_squares().solution
        rows = [rf"{sp.latex(p)} &= {sp.latex(v)}" for p, v in solution.items()]
        section.parts.append("<h3>Closed-form minimiser</h3>"
                             + math_html(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"))
    return section


def _claims_html(results: list[ClaimResult]) -> str:
    rows = []
    for result in results:
        mark = '<span class="ok">✓ holds</span>' if result.ok else '<span class="wrong">✗ wrong</span>'
        rows.append(
            f"<tr><td>{result.claim.lecture}</td><td>{math_html(result.claim.slide, display=False)}</td>"
            f"<td>{mark}</td><td>{html.escape(result.reason)}</td></tr>")
    return ("<table><tr><th>lecture</th><th>the slide says</th><th>verdict</th><th>why</th></tr>"
            + "".join(rows) + "</table>")


def write_report(out_dir: str | os.PathLike = "lecture-report", extras=None, appendix=None) -> Path:
    """Derive, verify (and, through ``extras``, draw and check) every example; write ``index.html``.

    ``extras(example, images_dir)`` may return HTML and image paths to add
    to an example's section (the graph drawings use it); ``appendix(images_dir)``
    HTML and images for a closing section (training). Returns the page's path.
    """
    out = Path(out_dir)
    images = out / "images"
    # a folder that cannot be made or written is reported before the work, not after it
    check_writable(ensure_folder(out) / "index.html")
    if extras is not None or appendix is not None:
        ensure_folder(images)
    sections = []
    for example in lectures.EXAMPLES.values():
        section = _derivation(example)
        if extras is not None:
            more_html, more_images = extras(example, images)
            section.parts.append(more_html)
            section.images += more_images
        sections.append(section)
    results = check_all()
    wrong = [r for r in results if not r.ok]
    body = ["<h1>symgrad: the lectures' worked examples</h1>",
            f'<p class="summary">{len(results)} slide claims checked: '
            f'<span class="ok">{len(results) - len(wrong)} hold</span>, '
            f'<span class="wrong">{len(wrong)} are wrong</span>. '
            f"{len(sections)} worked examples derived below.</p>",
            "<h2>Which slide claims hold</h2>", _claims_html(results)]
    for section in sections:
        body.append(f'<h2 id="{section.name}">{html.escape(section.title)}</h2>')
        body.append(f'<p class="source">{html.escape(section.name)} · lecture {html.escape(section.source)}</p>')
        body += section.parts
    if appendix is not None:
        body.append(appendix(images)[0])
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<title>symgrad lecture report</title>"
            f"<style>{_STYLE}</style></head><body>" + "\n".join(body) + "</body></html>")
    return write_file(out / "index.html", page)
