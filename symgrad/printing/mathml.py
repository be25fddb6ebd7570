r"""LaTeX typeset as MathML for HTML pages (by ``latex2mathml``): one converter for every page symgrad writes."""
from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

__all__ = ["aligned_rows", "math_html"]

#: what splits an ``aligned`` block into rows: its row breaks and column marks at its own level only,
#: not those inside a nested environment (a ``pmatrix``) or a group; escaped braces are plain text
_ALIGNED_TOKEN = re.compile(r"\\begin\{aligned\}|\\end\{aligned\}|\\begin\{[A-Za-z*]+\}|\\end\{[A-Za-z*]+\}"
                            r"|\\\\|\\[{}&]|[{}&]")


def aligned_rows(latex: str) -> list[str]:
    r"""The rows of the ``aligned`` block(s) in ``latex``, without their ``&`` marks; ``[latex]`` if there are none.

    latex2mathml has no ``aligned``, so the report typesets such a block one row at a time.
    Consecutive blocks, or blocks joined by ``\\``, give all their rows in order.

    >>> aligned_rows(r"\begin{aligned}a &= b \\ &= c\end{aligned} \\ \begin{aligned}d &= e\end{aligned}")
    ['a = b', '= c', 'd = e']
    >>> aligned_rows(r"\begin{aligned}M &= \begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}\end{aligned}")
    ['M = \\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}']
    """
    if r"\begin{aligned}" not in latex:
        return [latex]
    rows, row, depth, start = [], [], 0, 0
    for token in _ALIGNED_TOKEN.finditer(latex):
        row.append(latex[start:token.start()])
        start, text = token.end(), token.group()
        at_top = depth == 0
        if at_top and text in (r"\begin{aligned}", r"\end{aligned}", "\\\\"):
            rows.append("".join(row))
            row = []
        elif at_top and text == "&":
            continue
        else:
            row.append(text)
            if text == "{" or text.startswith(r"\begin"):
                depth += 1
            elif text == "}" or text.startswith(r"\end"):
                depth -= 1
    rows.append(latex[start:] if not row else "".join(row) + latex[start:])
    cleaned = [" ".join(r.split()) for r in rows]
    return [r for r in cleaned if r]


def math_html(latex: str, display: bool = True) -> str:
    """LaTeX as MathML, falling back to the LaTeX source in ``<code>`` if it cannot be converted.

    >>> math_html("x^2", display=False).startswith('<math')
    True
    """
    out = []
    for row in aligned_rows(latex):
        try:
            mathml = convert(row, display="block" if display else "inline")
        except Exception:  # an exotic command: show the source rather than nothing
            mathml = f"<code>{html.escape(row)}</code>"
        out.append(f'<div class="eq">{mathml}</div>' if display else mathml)
    return "\n".join(out)
