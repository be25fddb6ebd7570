"""The lecture report: one HTML page deriving, drawing, verifying and checking every worked example.

Math is typeset as MathML (converted from LaTeX by ``latex2mathml``), which
browsers render natively: the page needs no JavaScript and no network. The
page is one self-contained file (every drawing inlined as a ``data:`` URI),
so it can be mailed or uploaded as it is. It is written to a temporary name
first and renamed into place (:func:`symgrad._tools.write_file`), so an
interrupted run never leaves a half-written ``index.html``.
"""
from __future__ import annotations

import base64
import html
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp

from . import catalog as lectures
from .. import printing
from ..printing.mathml import aligned_rows, math_html
from .._tools import check_writable, ensure_folder, write_file
from ..symbolic.chainrule import chain_rule
from ..documents import FileReport
from .checked import check_lectures
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
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 3rem; border-bottom: 2px solid #888; }
h3 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
.source { color: #666; font-size: 0.9rem; }
math { font-family: "STIX Two Math", "Latin Modern Math", "DejaVu Math TeX Gyre", math; }
math[display="block"] { margin: 0.35rem 0; font-size: 1.15rem; }
p math, li math, td math { font-size: 1.15em; }
/* a fraction in running text or a table cell is set at full size, not at script size */
td math, p math { math-style: normal; }
table { border-collapse: collapse; margin: 0.5rem 0; } td, th { border: 1px solid #ccc; padding: 0.3rem 0.6rem; }
th { background: #f4f4f4; text-align: left; }
.ok { color: #14713d; font-weight: bold; white-space: nowrap; }
.wrong { color: #b3261e; font-weight: bold; white-space: nowrap; }
/* border-box: the drawing's border counts inside its 100%, so a fitted drawing never overflows its box */
.graph { overflow-x: auto; } .graph img { max-width: 100%; border: 1px solid #ddd; box-sizing: border-box; }
.graph img.wide { max-width: none; height: auto; }
.summary { font-size: 1.15rem; background: #f4f4f4; padding: 0.8rem 1rem; }
nav.contents { background: #fafafa; border: 1px solid #ddd; padding: 0.5rem 1.5rem; }
nav.contents h2 { margin-top: 0.5rem; }
nav.contents ol { margin: 0.2rem 0; list-style: none; padding-left: 1.2rem; } nav.contents li { margin: 0.15rem 0; }
/* the claims table is exactly the column's width: fixed columns, a long formula scrolls inside its cell and
   a long reason wraps, instead of the table growing past the column */
table.claims { width: 100%; table-layout: fixed; }
table.claims col.lecture { width: 7.5rem; } table.claims col.verdict { width: 6rem; }
table.claims col.slide { width: 48%; } table.claims col.link { width: 5.5rem; }
table.claims td { overflow-wrap: anywhere; vertical-align: middle; }
table.claims td.slide { overflow-x: auto; overflow-y: hidden; }
code, pre { background: #f6f6f6; padding: 0.1rem 0.3rem; }
.eq { overflow-x: auto; overflow-y: hidden; }
a { color: #1a4f9c; }
"""

@dataclass
class _Section:
    name: str
    title: str
    lecture: str
    parts: list[str] = field(default_factory=list)


def _gradient_latex(model: Model, wrt, form: str) -> str:
    grads = grad(model, list(wrt) or None, form=form)
    rows = [rf"\frac{{\partial {sp.latex(model.output)}}}{{\partial {printing.latex(p)}}} &= {printing.latex(g)}"
            for p, g in grads.items()]
    return printing.aligned_latex(rows)


def _aligned(rows: list[str], shapes=None) -> str:
    # each row of a matrix derivation carries the shape of what it computes, as the text form does
    if shapes is not None:
        times = r" \times "
        rows = [rf"{row} \qquad ({shape_text(shape).replace('×', times)})" if shape else row
                for row, shape in zip(rows, shapes)]
    return printing.aligned_latex(rows)


def _inline(latex: str) -> str:
    return math_html(latex, display=False)


#: the layer rules of backprop, as the matrix derivation uses them
_LAYER_RULES = "{} sends {} and {}, {} sends {}".format(*map(_inline, [
    "C = A B", r"dA = dC\, B^{\top}", r"dB = A^{\top} dC", r"H = \sigma(Z)", r"dZ = dH \odot \sigma^{\prime}(Z)"]))


def _matrix_derivation(example: lectures.Example, model: MatrixModel) -> _Section:
    """A network of matrices: its stages, the layer rules of backprop, the closed form and the update steps."""
    section = _Section(example.name, example.title, example.lecture)
    shapes = [getattr(s, "shape", None) for s, _ in model.stages]
    section.parts.append("<h4>Model</h4>" + math_html(_aligned(aligned_rows(model.latex()), shapes)))
    derivation = backprop(model, list(example.wrt) or None)
    shapes = [shape for *_, shape in derivation.rows()]
    notes = "".join(f"<p class='source'>{html.escape(note[0].upper() + note[1:])}.</p>" for note in derivation.notes)
    section.parts.append(
        "<h4>Backpropagation by the layer rules</h4>"
        f"<p>From the loss backwards: {_LAYER_RULES}; an adjoint that feeds several gradients is named δ.</p>"
        + math_html(_aligned(aligned_rows(derivation.latex()), shapes)) + notes)
    closed = matrix_grad(model, list(example.wrt) or None, form="closed")
    rows = [rf"\frac{{\partial {sp.latex(model.output)}}}{{\partial {matrix_latex(p)}}} &= {matrix_latex(g)}"
            for p, g in closed.items()]
    section.parts.append("<h5>Closed form</h5>" + math_html(_aligned(rows)))
    steps = matrix_update_rules(model, list(example.wrt) or None)
    section.parts.append("<h4>Gradient descent</h4>" + math_html(steps.latex()))
    return section


def _derivation(example: lectures.Example) -> _Section:
    model = example.model
    if isinstance(model, MatrixModel):
        return _matrix_derivation(example, model)
    section = _Section(example.name, example.title, example.lecture)
    section.parts.append("<h4>Model</h4>" + math_html(model.latex()))
    section.parts.append("<h4>Partial derivatives</h4>" + math_html(_gradient_latex(model, example.wrt, "stages")))
    if len(model.stages) > 1 and len(model.stages) <= 8:
        section.parts.append("<h5>Closed form</h5>" + math_html(_gradient_latex(model, example.wrt, "closed")))
    if len(model.stages) > 2:
        rules = chain_rule(model, list(example.wrt) or None)
        section.parts.append("<h4>Chain rule</h4>" + math_html(rules.latex()))
    if example.name != "least-squares":
        rules = update_rules(model, list(example.wrt) or None)
        section.parts.append("<h4>Gradient descent</h4>" + math_html(rules.latex()))
    else:
        solution = least_squares().solution
        rows = [rf"{sp.latex(p)} &= {sp.latex(v)}" for p, v in solution.items()]
        section.parts.append("<h4>Closed-form minimiser</h4>"
                             + math_html(printing.aligned_latex(rows)))
    return section


def _lecture_anchor(lecture: str) -> str:
    return f"lecture-{lecture}"


#: the kinds of finding the claims table lists (a definition states nothing to check)
_CLAIM_KINDS = ("derivative", "update_rule", "step", "number", "matrix", "identity")


def _lecture_of(report: FileReport) -> str:
    """The lecture code (``002``) of a checked lecture document, from its file name."""
    return Path(report.file).name[:3]


def _claims_html(reports: list[FileReport], numbers: dict[str, str]) -> str:
    """Every claim the lecture documents make that was decided, in document order, with its verdict."""
    rows = []
    for report in reports:
        lecture = _lecture_of(report)
        anchor = _lecture_anchor(lecture)
        course = lectures.LECTURES[lecture].split(":")[0]
        for finding in report.findings:
            if finding.kind not in _CLAIM_KINDS or finding.verdict not in ("holds", "wrong"):
                continue
            mark = '<span class="ok">✓ holds</span>' if finding.verdict == "holds" else \
                '<span class="wrong">✗ wrong</span>'
            why = html.escape(finding.reason) + (
                f"; correct: <code>{html.escape(finding.correction)}</code>" if finding.correction else "")
            rows.append(
                f'<tr><td><a href="#{anchor}">{html.escape(course)}</a></td>'
                f"<td class='slide'>{math_html(finding.source, display=False)}</td><td>{mark}</td>"
                f"<td>{why}</td>"
                f'<td><a class="claim-link" href="#{anchor}">§{numbers[anchor]}</a> '
                f'<span class="source">line {finding.line}</span></td></tr>')
    columns = "".join(f"<col class='{name}'>" for name in ("lecture", "slide", "verdict", "why", "link"))
    return (f"<table class='claims'><colgroup>{columns}</colgroup>"
            "<tr><th>lecture</th><th>the slide says</th><th>verdict</th><th>why</th>"
            "<th>where</th></tr>" + "".join(rows) + "</table>")


def _by_lecture(sections: list[_Section]) -> dict[str, list[_Section]]:
    grouped: dict[str, list[_Section]] = {lecture: [] for lecture in lectures.LECTURES}
    for section in sections:
        grouped[section.lecture].append(section)
    return grouped


def _numbers(grouped: dict[str, list[_Section]]) -> dict[str, str]:
    """Each lecture's and example's section number (``2`` and ``2.1``), by anchor."""
    numbers = {}
    for k, (lecture, sections) in enumerate(grouped.items(), start=1):
        numbers[_lecture_anchor(lecture)] = str(k)
        numbers.update({s.name: f"{k}.{j}" for j, s in enumerate(sections, start=1)})
    return numbers


def _contents(grouped: dict[str, list[_Section]], numbers: dict[str, str], appendix: tuple[str, str] | None) -> str:
    def link(anchor: str, title: str, number: str = "") -> str:
        return f'<a href="#{anchor}">{html.escape(f"{number} {title}".strip())}</a>'

    items = [f"<li>{link('claims', 'Which slide claims hold')}</li>"]
    for lecture, sections in grouped.items():
        inner = "".join(f"<li>{link(s.name, s.title, numbers[s.name])}</li>" for s in sections)
        anchor = _lecture_anchor(lecture)
        items.append(f"<li>{link(anchor, lectures.LECTURES[lecture], numbers[anchor])}<ol>{inner}</ol></li>")
    if appendix is not None:
        items.append(f"<li>{link(*appendix)}</li>")
    return "<nav class='contents' id='contents'><h2>Contents</h2><ol>" + "".join(items) + "</ol></nav>"


def _appendix_heading(appendix_html: str) -> tuple[str, str]:
    """The anchor and title of the appendix's first heading, for the table of contents."""
    match = re.search(r"<h2 id=['\"]([^'\"]+)['\"]>(.*?)</h2>", appendix_html, re.S)
    return (match.group(1), html.unescape(re.sub("<[^>]+>", "", match.group(2)))) if match else ("appendix", "Appendix")


_MEDIA_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def _inline_images(page: str, images: Path) -> str:
    """Every ``images/NAME`` the page refers to, replaced by the file's bytes as a ``data:`` URI."""
    def data_uri(match: re.Match) -> str:
        path = images / match.group(3)
        media = _MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'{match.group(1)}="data:{media};base64,{encoded}"'

    return re.sub(r"""\b(src|href)=(["'])images/([^"'/]+)\2""", data_uri, page)


def write_report(out_dir: str | os.PathLike = "lecture-report", extras=None, appendix=None,
                 checked: list[FileReport] | None = None) -> Path:
    """Derive, verify (and, through ``extras``, draw and check) every example; write one self-contained ``index.html``.

    ``extras(example, images_dir)`` may return HTML and image paths to add
    to an example's section (the graph drawings use it); ``appendix(images_dir)``
    HTML and images for a closing section (training). The HTML refers to an
    image as ``images/NAME``; each is inlined into the page, and no image
    folder is left beside it. Returns the page's path.
    """
    out = Path(out_dir)
    # a folder that cannot be made or written is reported before the work, not after it
    page_path = check_writable(ensure_folder(out) / "index.html")
    with tempfile.TemporaryDirectory(prefix="symgrad-report-") as scratch:
        images = Path(scratch) / "images"
        ensure_folder(images)
        sections = []
        for example in lectures.EXAMPLES.values():
            section = _derivation(example)
            if extras is not None:
                section.parts.append(extras(example, images)[0])
            sections.append(section)
        closing = appendix(images)[0] if appendix is not None else None
        page = _page(sections, checked if checked is not None else check_lectures(), closing)
        page = _inline_images(page, images)
    return write_file(page_path, page)


def _page(sections: list[_Section], reports: list[FileReport], closing: str | None) -> str:
    grouped = _by_lecture(sections)
    numbers = _numbers(grouped)
    totals = {verdict: sum(r.summary[verdict] for r in reports) for verdict in ("holds", "wrong", "unchecked")}
    body = ["<h1>symgrad: the lectures' worked examples</h1>",
            f'<p class="summary">The lectures\' slide claims, checked from their text: '
            f'<span class="ok">{totals["holds"]} hold</span>, '
            f'<span class="wrong">{totals["wrong"]} are wrong</span> '
            f'({totals["unchecked"]} formulas could not be read as claims). '
            f"{len(sections)} worked examples from {len(lectures.LECTURES)} lectures derived below.</p>",
            _contents(grouped, numbers, _appendix_heading(closing) if closing is not None else None),
            "<h2 id='claims'>Which slide claims hold</h2>",
            "<p class='source'>Every claim of the lecture documents (<code>examples/lectures/</code>) that "
            "<code>symgrad check</code> decided, in the order of the lectures and of their slides; "
            "§ links to the lecture's worked examples. <code>symgrad check -v examples/lectures/*.md</code> "
            "lists every formula, the unchecked ones with the reason.</p>",
            _claims_html(reports, numbers)]
    for lecture, lecture_sections in grouped.items():
        anchor = _lecture_anchor(lecture)
        body.append(f'<h2 id="{anchor}">{numbers[anchor]} {html.escape(lectures.LECTURES[lecture])}</h2>')
        for section in lecture_sections:
            body.append(f'<h3 id="{section.name}">{numbers[section.name]} {html.escape(section.title)}</h3>')
            body.append(f'<p class="source">worked example <code>{html.escape(section.name)}</code> '
                        f'(<code>symgrad derive {html.escape(section.name)}</code> in a terminal)</p>')
            body += section.parts
    if closing is not None:
        body.append(closing)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>symgrad: the lectures' worked examples</title>"
            f"<style>{_STYLE}</style></head><body>" + "\n".join(body) + "</body></html>")
