r"""Finding math blocks, annotations and unclosed delimiters: small documents whose expected items (lines,
sources, rows) are written out by hand, hostile inputs timed, and a property test that extract never raises."""
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symgrad.documents.blocks import Annotation, MathBlock, Row, Unclosed, extract
from symgrad.documents.source import source_from_text


def items_of(text, format):
    return extract(source_from_text(text, format))


def blocks_of(text, format):
    return [item for item in items_of(text, format) if isinstance(item, MathBlock)]


def sources(items):
    return [item.source for item in items]


MARKDOWN_NOTE = r"""# Backprop by hand

The model is $f = wx + b$ and the loss
is \(L = (y - f)^2\).

$$
\frac{\partial L}{\partial f} = 2(f - y)
$$

Display \[ \frac{\partial f}{\partial w} = x \] inline.

```math
\frac{\partial L}{\partial w} = 2(f - y) x
```

```python
grad = "$not math$"
```

    $indented code$

$$a = 1$$ and $$b = 2$$
"""


def test_markdown_note_with_every_delimiter():
    found = items_of(MARKDOWN_NOTE, "markdown")
    assert all(isinstance(item, MathBlock) for item in found)
    assert sources(found) == [
        "$f = wx + b$",
        r"\(L = (y - f)^2\)",
        "$$\n\\frac{\\partial L}{\\partial f} = 2(f - y)\n$$",
        r"\[ \frac{\partial f}{\partial w} = x \]",
        "```math\n\\frac{\\partial L}{\\partial w} = 2(f - y) x\n```",
        "$$a = 1$$",
        "$$b = 2$$",
    ]
    assert [(b.line, b.end_line) for b in found] == [(3, 3), (4, 4), (6, 8), (10, 10), (12, 14), (22, 22), (22, 22)]
    assert [b.display for b in found] == [False, False, True, True, True, True, True]
    assert [b.math for b in found] == [
        "f = wx + b", "L = (y - f)^2", r"\frac{\partial L}{\partial f} = 2(f - y)",
        r"\frac{\partial f}{\partial w} = x", r"\frac{\partial L}{\partial w} = 2(f - y) x", "a = 1", "b = 2"]
    assert found[2].rows == (Row(7, r"\frac{\partial L}{\partial f} = 2(f - y)"),)
    assert found[0].context == "The model is"
    assert found[1].context == "is"
    assert found[6].context == "and"
    # the display block on its own lines: the prose before it is in another paragraph
    assert found[2].context == ""
    assert all(b.environment is None and not b.ignored for b in found)


PROBLEM_SET = r"""\documentclass{article}
\usepackage{amsmath}
% $preamble$ math is never read
\begin{document}
\section*{Problem 1}
Let $x = -2$, $y = 5$ and $z = -4$; 50\% of the marks. % $w = 9$ is a comment
% symgrad: q = x + y; f = q z
\begin{align}
  f &= (x + y) z \label{eq:f} \\
    &= xz + yz \nonumber \\ % expanded
  \frac{\partial f}{\partial x} &= z \tag{a}
\end{align}
\begin{verbatim}
$x$ in verbatim
\end{verbatim}
Type \verb|$q$| to see it. Price: \$3.
\begin{equation*}
  \begin{aligned}[t]
    L &= \frac12 (y - f)^2 \\
      &= \frac12 y^2 - y f + \frac12 f^2
  \end{aligned}
\end{equation*}
\[ \sigma(z) = \frac{1}{1 + e^{-z}} \]
\end{document}
$after the end$
"""


def test_latex_problem_set():
    found = items_of(PROBLEM_SET, "latex")
    assert [type(item).__name__ for item in found] == [
        "MathBlock", "MathBlock", "MathBlock", "Annotation", "MathBlock", "MathBlock", "MathBlock"]
    x, y, z, note, align, equation, sigma = found
    assert [(b.line, b.source) for b in (x, y, z)] == [(6, "$x = -2$"), (6, "$y = 5$"), (6, "$z = -4$")]
    assert note == Annotation(7, 7, "% symgrad: q = x + y; f = q z", (Row(7, "q = x + y"), Row(7, "f = q z")), None)
    assert (align.line, align.end_line, align.environment, align.display) == (8, 12, "align", True)
    assert align.source.startswith("\\begin{align}\n") and align.source.endswith("\\end{align}")
    # labels, tags, \nonumber and the comment are gone; the &= continuation starts with =
    assert align.rows == (
        Row(9, "f = (x + y) z"),
        Row(10, "= xz + yz"),
        Row(11, r"\frac{\partial f}{\partial x} = z"),
    )
    # the aligned wrapper is stripped from math; the environment is the outer one
    assert (equation.line, equation.end_line, equation.environment) == (17, 22, "equation*")
    assert equation.math.startswith("L &= \\frac12") and "aligned" not in equation.math
    assert equation.rows == (Row(19, r"L = \frac12 (y - f)^2"), Row(20, r"= \frac12 y^2 - y f + \frac12 f^2"))
    assert (sigma.line, sigma.math) == (23, r"\sigma(z) = \frac{1}{1 + e^{-z}}")
    assert equation.context == "Type to see it. Price: \\$3."


def test_latex_without_document_environment_reads_everything():
    text = "% symgrad: reset\n$a = 1$\n\\begin{math}b\\end{math}\n\\begin{gather*}c \\\\ d\\end{gather*}"
    found = items_of(text, "latex")
    assert found[0] == Annotation(1, 1, "% symgrad: reset", (), "reset")
    assert [(b.line, b.math, b.display, b.environment) for b in found[1:]] == [
        (2, "a = 1", False, None), (3, "b", False, "math"), (4, "c \\\\ d", True, "gather*")]
    assert found[3].rows == (Row(4, "c"), Row(4, "d"))


def test_latex_dollars_follow_tex_not_pandoc():
    # in TeX "$5 and $" is math whatever follows; an escaped \$ is a dollar sign
    assert [b.math for b in blocks_of(r"costs \$5, so $5 and $ here", "latex")] == ["5 and"]


def test_latex_escaped_percent_and_double_backslash_comment():
    text = "50\\% is $a$ \\\\% $b$ is a comment\n"
    assert sources(blocks_of(text, "latex")) == ["$a$"]


JEKYLL_NOTE = r"""---
layout: post
---
The sigmoid \\(\sigma(z) = \frac{1}{1+e^{-z}}\\) has derivative
\\[
\sigma'(z) = \sigma(z)(1 - \sigma(z))
\\]
"""


def test_jekyll_double_backslash_delimiters():
    found = items_of(JEKYLL_NOTE, "markdown")
    assert [(b.line, b.end_line, b.display, b.math) for b in found] == [
        (4, 4, False, r"\sigma(z) = \frac{1}{1+e^{-z}}"),
        (5, 7, True, r"\sigma'(z) = \sigma(z)(1 - \sigma(z))"),
    ]
    assert found[0].context == "The sigmoid"
    assert found[1].context == "has derivative"


def test_currency_dollars_are_prose():
    text = "It costs $5 and $10, or $20 for both.\nA GPU hour is $3.50 today.\n"
    assert items_of(text, "markdown") == []
    assert items_of(text, "text") == []


def test_pandoc_dollar_rules():
    # no space after the opener, none before the closer, no digit after the closer
    assert items_of("$ x$ y", "markdown") == []  # neither dollar opens: a space follows each
    [unclosed] = items_of("$x $ y", "markdown")  # the only candidate closer has a space before it
    assert isinstance(unclosed, Unclosed) and unclosed.source == "$x $ y"
    [unclosed] = items_of("$a$1 more", "markdown")  # a digit after the candidate closer
    assert isinstance(unclosed, Unclosed)
    assert sources(items_of("$a$1 and $b$.", "markdown")) == ["$a$1 and $b$"]  # pandoc's own reading
    assert sources(blocks_of(r"an escaped \$ then $a$ and \$x$", "markdown")) == ["$a$"]


def test_code_spans_hide_dollars():
    text = "Write `$x$` or ``a ` $y$`` but $z = 1$ is math; ```$w$``` too.\n"
    assert sources(blocks_of(text, "markdown")) == ["$z = 1$"]


def test_unmatched_backticks_are_prose():
    assert sources(blocks_of("a ` tick then $x$", "markdown")) == ["$x$"]


def test_unclosed_display_in_the_middle_is_reported_and_later_blocks_found():
    text = "First $a = 1$.\n\n$$\nb = 2\n\nThen $c = 3$ and\n$$d = 4$$\n"
    found = items_of(text, "markdown")
    assert [type(item).__name__ for item in found] == ["MathBlock", "Unclosed", "MathBlock", "MathBlock"]
    assert found[1].line == 3 and found[1].source == "$$" and "$$ never closes" in found[1].reason
    assert [(b.line, b.source) for b in found[::2] + found[3:]] == [
        (1, "$a = 1$"), (6, "$c = 3$"), (7, "$$d = 4$$")]


def test_unclosed_inline_dollar_silences_its_paragraph_only():
    text = "We set $x = 1 and then $ y.\nStill $prose.\n\nNew paragraph $z$.\n"
    found = items_of(text, "markdown")
    assert len(found) == 2
    assert isinstance(found[0], Unclosed) and found[0].line == 1 and found[0].source.startswith("$x = 1")
    assert (found[1].line, found[1].source) == (4, "$z$")


def test_unclosed_environment_and_bracket():
    text = "\\begin{align} a &= b\n\n\\( c\n\n$d$"
    found = items_of(text, "latex")
    assert [(type(i).__name__, i.line) for i in found] == [("Unclosed", 1), ("Unclosed", 3), ("MathBlock", 5)]
    assert "\\end{align}" in found[0].reason


def test_unclosed_fence_and_comment_keep_the_rest():
    text = "```python\ncode\n\n$a$\n\n<!-- never closed\n\n$b$\n"
    found = items_of(text, "markdown")
    assert [(type(i).__name__, i.line) for i in found] == [
        ("Unclosed", 1), ("MathBlock", 4), ("Unclosed", 6), ("MathBlock", 8)]


def test_annotation_spanning_lines():
    text = ("Intro.\n<!-- symgrad: f_3 = \\sigma(w_3 f_2);\n   L = \\frac12 (y - f_3)^2\n"
            "   \\theta = w_3 \\; -->\n$$\\frac{\\partial L}{\\partial \\theta} = 0$$\n")
    note, block = items_of(text, "markdown")
    assert (note.line, note.end_line, note.directive) == (2, 4, None)
    assert note.source == text[text.index("<!--"):text.index("-->") + 3]
    # \; is a space, not a separator
    assert note.statements == (
        Row(2, r"f_3 = \sigma(w_3 f_2)"), Row(3, r"L = \frac12 (y - f_3)^2"), Row(4, r"\theta = w_3 \;"))
    assert block.line == 5 and not block.ignored


def test_ignore_marks_only_the_next_block():
    text = "<!-- symgrad: ignore -->\nSee $a = 1$ and $b = 2$.\n"
    note, first, second = items_of(text, "markdown")
    assert note.directive == "ignore" and note.statements == ()
    assert (first.source, first.ignored) == ("$a = 1$", True)
    assert (second.source, second.ignored) == ("$b = 2$", False)


def test_another_annotation_cancels_an_ignore():
    text = "% symgrad: ignore\n% symgrad: x = 1\n$x$\n"
    found = items_of(text, "latex")
    assert [i.line for i in found] == [1, 2, 3]
    assert found[1].statements == (Row(2, "x = 1"),) and not found[2].ignored


def test_reset_directive():
    text = "$a = 1$\n<!-- symgrad:   Reset  -->\n$a = 2$\n"
    first, note, second = items_of(text, "markdown")
    assert note == Annotation(2, 2, "<!-- symgrad:   Reset  -->", (), "reset")
    assert (first.line, second.line) == (1, 3)


def test_other_html_comments_are_skipped_in_markdown_but_prose_in_text():
    text = "<!-- draft: $a = 1$ -->\n$b$\n"
    assert sources(blocks_of(text, "markdown")) == ["$b$"]
    assert sources(blocks_of(text, "text")) == ["$a = 1$", "$b$"]


def test_plain_text_has_no_code_spans_or_fences():
    text = "`$a$`\n```\n$b$\n```\n<!-- symgrad: reset -->\n\\[c\\]"
    found = items_of(text, "text")
    assert [(type(i).__name__, i.line) for i in found] == [
        ("MathBlock", 1), ("MathBlock", 3), ("Annotation", 5), ("MathBlock", 6)]


def test_indented_code_only_after_a_blank_line_and_not_in_a_list():
    text = "para\n    $a$ continues the paragraph\n\n    $b$ is code\n\n- item\n\n    $c$ continues the item\n"
    assert sources(blocks_of(text, "markdown")) == ["$a$", "$c$"]


def test_rows_split_only_at_top_level():
    text = (r"$$ A = \begin{pmatrix} a & b \\ c & d \end{pmatrix} \\ B = \left\{ x \\ y \right. \\"
            "\n" r" C = {p \\ q} \\[4pt] D &= 1 $$")
    [block] = blocks_of(text, "markdown")
    assert block.rows == (
        Row(1, r"A = \begin{pmatrix} a & b \\ c & d \end{pmatrix}"),
        Row(1, r"B = \left\{ x \\ y \right."),
        Row(2, r"C = {p \\ q}"),
        Row(2, "D = 1"),
    )


def test_context_is_the_last_prose_of_the_paragraph():
    prose = "word " * 30
    [block] = blocks_of(prose + "\n$$x$$", "markdown")
    assert block.context == ("word " * 30).strip()[-80:]
    assert len(block.context) == 80


# -- hostile input -------------------------------------------------------------------------------------------

def _timed(text, format):
    start = time.process_time()
    found = items_of(text, format)
    return found, time.process_time() - start


def test_a_megabyte_line_of_inline_math_is_linear():
    small, small_seconds = _timed("$a$ " * 25_000, "markdown")
    found, seconds = _timed("$a$ " * 250_000, "markdown")  # 1 MB on one line
    assert len(small) == 25_000 and len(found) == 250_000 and found[-1].source == "$a$"
    # ten times the text, about ten times the time (quadratic would be a hundred); CPU time, not wall time,
    # so a busy machine does not fail it, and a ratio, so a slower one does not either
    assert seconds < 30 * max(small_seconds, 0.01), (small_seconds, seconds)


def test_unmatched_dollars_are_fast():
    for format in ("markdown", "latex", "text"):
        found, seconds = _timed("$" * 100_001 + "\n" + "x $" * 100_000 + "\n\n$y$", format)
        assert found[-1].source == "$y$" and found[-1].line == 4  # the next paragraph is still read
        assert seconds < 2.0, (format, seconds)


def test_many_unclosed_delimiters_are_fast():
    text = "\\( \\[ $$ \\begin{align} <!-- ``` `` \\\\( " * 20_000
    for format in ("markdown", "latex", "text"):
        found, seconds = _timed(text, format)
        assert found and seconds < 2.0, (format, seconds)


def test_deep_nesting_does_not_recurse():
    text = "$$" + "{" * 200_000 + "\\\\" + "}" * 200_000 + "$$"
    [block] = blocks_of(text, "markdown")
    assert len(block.rows) == 1


ALPHABET = "$\\[](){}&%<!-\na ="


def _check_items(text, items):
    line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    lines = len(line_starts)
    previous = -1
    for item in items:
        assert 1 <= item.line <= lines
        end_line = getattr(item, "end_line", item.line)
        assert item.line <= end_line <= lines
        assert item.source, item
        # the source occurs after the previous item's start, starting on the item's line (so in order)
        where = text.find(item.source, max(line_starts[item.line - 1], previous + 1))
        assert 0 <= where and text.count("\n", 0, where) + 1 == item.line, (item, items)
        previous = where
        for row in getattr(item, "rows", ()) + getattr(item, "statements", ()):
            assert item.line <= row.line <= end_line


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=ALPHABET, max_size=120), st.sampled_from(["markdown", "latex", "text"]))
def test_extract_never_raises_and_items_are_well_placed(text, format):
    _check_items(text, items_of(text, format))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["$", "$$", "\\(", "\\)", "\\[", "\\]", "\\\\", "\\begin{align}", "\\end{align}",
                                 "&=", "<!-- symgrad: ", "-->", "% symgrad: ignore", "```", "```math", "`", "\n",
                                 "\n\n", "a", " ", "x = 1", "\\label{e}", "\\verb|", "%"]), max_size=40),
       st.sampled_from(["markdown", "latex", "text"]))
def test_extract_on_delimiter_soup(pieces, format):
    text = "".join(pieces)
    _check_items(text, items_of(text, format))


def test_multline_is_one_row_and_spacing_before_a_continuation_is_dropped():
    text = ("\\begin{multline*}\n  L = a + b \\\\\n    + c\n\\end{multline*}\n"
            "\\[ \\begin{aligned} f &= g \\\\ &\\quad= h \\end{aligned} \\]\n")
    multline, aligned = blocks_of(text, "latex")
    assert multline.rows == (Row(2, "L = a + b  \n    + c"),)
    assert (aligned.environment, aligned.rows) == ("aligned", (Row(5, "f = g"), Row(5, "= h")))


def test_math_environments_in_markdown_and_text():
    text = "Then\n\\begin{align*}\na &= b \\\\\n  &= c\n\\end{align*}\nand \\begin{itemize} $x$\n"
    for format in ("markdown", "text"):
        align, x = blocks_of(text, format)
        assert (align.line, align.end_line, align.environment, align.context) == (2, 5, "align*", "Then")
        assert align.rows == (Row(3, "a = b"), Row(4, "= c"))
        assert (x.line, x.source) == (6, "$x$")
