r"""A checked document as one self-contained HTML page: the text rendered, each claim marked in place.

Markdown is rendered by ``markdown-it-py`` (with the ``dollarmath`` and
``amsmath`` plugins, the parser MyST and Jupyter Book use); LaTeX and plain
text are shown paragraph by paragraph. Math is typeset as MathML. Beside
every block that holds a claim, its marks (✓ holds, ✗ wrong, ? unchecked)
and the explanation: the reason, the correction and a counterexample.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin

from .._tools import ensure_folder, write_file
from ..printing.mathml import math_html
from .blocks import NUMBERING
from .findings import FileReport, Finding

__all__ = ["render_html", "write_html_reports"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 78rem; margin: 1.5rem auto; padding: 0 1rem; color: #222; }
header p { color: #555; }
.claimed-block { display: grid; grid-template-columns: minmax(0, 1fr) 24rem; gap: 1.2rem; padding: 0.1rem 0; }
.claimed-block.checked { border-top: 1px solid #eee; }
.text { overflow-x: auto; min-width: 0; }
.notes { font-size: 0.9rem; min-width: 0; }
.note { border-left: 4px solid #ccc; padding: 0.2rem 0.6rem; margin: 0.3rem 0; background: #fafafa;
        overflow-x: auto; overflow-y: hidden; }
.note.wrong { border-color: #b42318; background: #fdf0ef; }
.note.holds { border-color: #1a7f37; }
.note.unchecked { border-color: #9a6700; }
.note.defined { border-color: #ccc; color: #666; }
.mark { font-weight: bold; }
.wrong .mark { color: #b42318; } .holds .mark { color: #1a7f37; } .unchecked .mark { color: #9a6700; }
.line { color: #888; font-size: 0.8rem; }
code { background: #f3f3f3; padding: 0 0.2rem; overflow-wrap: anywhere; }
.eq { overflow-x: auto; overflow-y: hidden; margin: 0.3rem 0; }
.summary span { margin-right: 1rem; }
"""

_INLINE_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_LATEX_HEADING = re.compile(r"\\(?:section|subsection|subsubsection|frametitle)\*?\{([^}]*)\}")
_LATEX_ENV = re.compile(r"\\begin\{(equation|align|gather|multline)\*?\}(.+?)\\end\{\1\*?\}", re.S)
_LATEX_PREAMBLE = re.compile(r"\A.*?\\begin\{document\}", re.S)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.use(dollarmath_plugin, renderer=lambda content, options: math_html(
        content, display=bool(options.get("display_mode"))))
    md.use(amsmath_plugin, renderer=lambda content: math_html(content))
    return md


def _note(finding: Finding) -> str:
    parts = [f'<span class="mark">{finding.mark}</span> <span class="line">line {finding.line}</span> ',
             math_html(finding.source, display=False),
             f"<div>{html.escape(finding.reason)}</div>"]
    if finding.correction:
        parts.append(f"<div>correct: <code>{html.escape(finding.correction)}</code></div>")
    if finding.counterexample and finding.counterexample.get("point"):
        point = ", ".join(f"{k} = {v:.4g}" for k, v in finding.counterexample["point"].items())
        parts.append(f'<div class="line">at {html.escape(point)}: claimed '
                     f'{finding.counterexample["claimed"]:.6g}, correct {finding.counterexample["correct"]:.6g}</div>')
    return f'<div class="note {finding.verdict}">{"".join(parts)}</div>'


_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _markdown_blocks(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, html) of each top-level block of a Markdown text.

    HTML comments (symgrad's annotations among them) are invisible, as in any
    Markdown viewer: they are blanked, line breaks kept, so lines still match.
    """
    text = _COMMENT.sub(lambda m: "\n" * m.group().count("\n"), text)
    md = _markdown()
    tokens = md.parse(text)
    blocks, start = [], 0
    for i, token in enumerate(tokens):
        if token.level != 0 or token.nesting == 1:
            continue
        # a block ends at a closing token or is a single token at level 0
        begin = start
        first = next((t.map for t in tokens[begin:i + 1] if t.map), None)
        blocks.append((first[0] + 1 if first else 0, first[1] if first else 0,
                       md.renderer.render(tokens[begin:i + 1], md.options, {})))
        start = i + 1
    return blocks


def _math_in_text(chunk: str) -> str:
    """Escaped prose with its ``$…$``, ``\\(…\\)`` and ``\\[…\\]`` typeset."""
    out, last = [], 0
    for match in _INLINE_MATH.finditer(chunk):
        out.append(html.escape(chunk[last:match.start()]))
        display = match.group(1) is not None or match.group(4) is not None
        out.append(math_html(next(g for g in match.groups() if g is not None), display=display))
        last = match.end()
    out.append(html.escape(chunk[last:]))
    return "".join(out)


def _display(match: re.Match) -> str:
    """A LaTeX display environment as ``\\[…\\]`` MathML can take: labels and tags dropped, rows kept."""
    body = NUMBERING.sub("", match.group(2))
    if match.group(1) == "equation" or "\\\\" not in body:
        return f"\\[{body}\\]"
    return f"\\[\\begin{{aligned}}{body}\\end{{aligned}}\\]"  # math_html sets an aligned block row by row


def _plain_blocks(text: str, latex: bool) -> list[tuple[int, int, str]]:
    """(first line, last line, html) of each paragraph of a LaTeX or text document."""
    lines = text.split("\n")
    blocks, start = [], None
    skip_to = 0
    if latex:
        preamble = _LATEX_PREAMBLE.match(text)
        skip_to = text[:preamble.end()].count("\n") + 1 if preamble else 0
    for n, line in enumerate(lines + [""], 1):
        if n <= skip_to:
            continue
        if line.strip() and start is None:
            start = n
        if not line.strip() and start is not None:
            chunk = "\n".join(lines[start - 1:n - 1])
            if latex:
                chunk = "\n".join(l for l in chunk.split("\n") if not l.lstrip().startswith("%"))
                heading = _LATEX_HEADING.search(chunk)
                body = _LATEX_ENV.sub(_display, _LATEX_HEADING.sub("", chunk))
                rendered = (f"<h2>{html.escape(heading.group(1))}</h2>" if heading else "") + \
                    f"<p>{_math_in_text(body.replace(chr(92) + 'end{document}', ''))}</p>"
            else:
                rendered = f"<p>{_math_in_text(chunk)}</p>"
            blocks.append((start, n - 1, rendered))
            start = None
    return blocks


def render_html(report: FileReport, text: str, format: str) -> str:
    """One page: the document, each block beside the verdicts of the claims it holds."""
    blocks = _markdown_blocks(text) if format == "markdown" else _plain_blocks(text, format == "latex")
    pending = sorted(report.findings, key=lambda f: f.line)
    body = []
    for first, last, rendered in blocks:
        here = [f for f in pending if f.line <= last and f.verdict != "defined"]
        pending = [f for f in pending if f.line > last]
        notes = "".join(_note(f) for f in here if not (f.kind == "other" and f.reason.startswith("not a claim")))
        checked = " checked" if notes else ""
        body.append(f'<section class="claimed-block{checked}" id="L{first}"><div class="text">{rendered}</div>'
                    f'<div class="notes">{notes}</div></section>')
    s = report.summary
    summary = (f'<p class="summary"><span>✓ {s["holds"]} hold</span><span>✗ {s["wrong"]} wrong</span>'
               f'<span>? {s["unchecked"]} unchecked</span><span>· {s["defined"]} definitions</span></p>')
    wrong = "".join(f'<li><a href="#L{_block_of(blocks, f.line)}">line {f.line}</a>: {html.escape(f.reason)}</li>'
                    for f in report.wrong)
    title = html.escape(Path(report.file).name)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title} — symgrad check</title>"
            f"<style>{_STYLE}</style></head><body><header><h1>{title}</h1>"
            f"<p>Checked by <code>symgrad check</code>: every claim marked where it stands.</p>{summary}"
            + (f"<ol>{wrong}</ol>" if wrong else "") + "</header>" + "\n".join(body) + "</body></html>")


def _block_of(blocks, line: int) -> int:
    for first, last, _ in blocks:
        if first <= line <= last:
            return first
    return line


def write_html_reports(reports: list[FileReport], directory) -> list[Path]:
    """Write ``<name>.html`` for each checked file into ``directory``; the paths written."""
    folder = ensure_folder(directory)
    written = []
    for report in reports:
        path = folder / (Path(report.file).name + ".html")
        write_file(path, render_html(report, report.text_of_source, report.format))
        written.append(path)
    return written
