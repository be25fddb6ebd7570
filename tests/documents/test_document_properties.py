"""Random models written as documents: a right derivative holds, a mistaken one is never passed.

Hypothesis draws a loss from sums, products, powers, exp, log, σ and tanh over
w, b, x, y; the document defines it and claims ∂L/∂w, written in LaTeX by
symgrad's printer from ``sympy.diff`` (an independent derivation: the
checker never sees SymPy objects, only the text). A planted mistake (a sign,
a factor, η, a dropped term) must come back wrong or, at worst, unchecked.
"""
from __future__ import annotations

import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from symgrad import printing
from symgrad.core.functions import sigmoid
from symgrad.documents import check_document

w, b, x, y, eta = sp.symbols("w b x y eta")

leaves = st.sampled_from([w, x, w * x, w * x + b, b, y])
unary = st.sampled_from([sp.exp, lambda a: sp.log(a**2 + 1), sigmoid, sp.tanh, lambda a: a**2])


@st.composite
def expressions(draw, depth=2):
    if depth == 0 or draw(st.booleans()):
        return draw(leaves)
    kind = draw(st.sampled_from(["unary", "add", "mul"]))
    if kind == "unary":
        return draw(unary)(draw(expressions(depth - 1)))
    left, right = draw(expressions(depth - 1)), draw(expressions(depth - 1))
    return left + right if kind == "add" else left * right


@st.composite
def losses(draw):
    f = draw(expressions())
    assume(w in f.free_symbols)
    return draw(st.sampled_from([(y - f) ** 2 / 2, f, sp.log(1 + sp.exp(-y * f))]))


MISTAKES = {
    "sign": lambda d: -d,
    "factor": lambda d: 2 * d,
    "eta": lambda d: eta * d,
    "dropped": lambda d: d - d.as_ordered_terms()[0] if isinstance(d, sp.Add) else d + w,
}


def _document(loss, claim) -> str:
    return (f"$$L = {printing.latex(loss)}$$\n\n"
            f"$$\\frac{{\\partial L}}{{\\partial w}} = {printing.latex(claim)}$$\n")


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(loss=losses())
def test_the_right_derivative_holds(loss):
    report = check_document(_document(loss, sp.diff(loss, w)), format="markdown")
    verdicts = [f.verdict for f in report.findings]
    assert verdicts == ["defined", "holds"], [(f.source, f.reason) for f in report.findings]


@SETTINGS
@given(loss=losses(), mistake=st.sampled_from(sorted(MISTAKES)))
def test_a_planted_mistake_is_never_passed(loss, mistake):
    right = sp.diff(loss, w)
    wrong = MISTAKES[mistake](right)
    assume(sp.simplify(wrong - right) != 0)
    report = check_document(_document(loss, wrong), format="markdown")
    claim = report.findings[-1]
    assert claim.verdict in ("wrong", "unchecked"), (claim.source, claim.reason)
    assert claim.verdict == "wrong", (claim.source, claim.reason)  # and it is decided, not left open


@SETTINGS
@given(loss=losses(), ascent=st.booleans())
def test_an_update_rule_in_a_latex_align_is_read_as_a_reader_would(loss, ascent):
    step = sp.diff(loss, w)
    sign = "+" if ascent else "-"
    document = "\n".join([
        r"\begin{document}",
        rf"\[ L = {printing.latex(loss)} \]",
        r"\begin{align}",
        rf"w &\leftarrow w {sign} \eta \left({printing.latex(step)}\right)",
        r"\end{align}",
        r"\end{document}",
    ])
    rule = check_document(document, format="latex").findings[-1]
    assert (rule.kind, rule.verdict) == ("update_rule", "wrong" if ascent else "holds"), (rule.source, rule.reason)
    if ascent:
        assert "ascent" in rule.reason


TOKENS = [r"\frac{\partial L}{\partial w}", "=", "L", "w", "x", "y", "+", "-", "(", ")", "{", "}", "^2", "_i",
          r"\sum_{i=1}^{n}", r"\sigma(", r"\leftarrow", r"\eta", "&=", r"\\", ",", ";", r"\quad", r"\text{where}",
          r"\nabla", "'", r"\Delta", r"\begin{pmatrix}", r"\end{pmatrix}", "0.5", "2", "f(", r"\in", "AB", "dB"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12), min_size=1, max_size=5))
def test_any_math_gets_a_finding_and_never_a_crash(blocks):
    text = "\n\n".join("$$" + " ".join(tokens) + "$$" for tokens in blocks)
    report = check_document(text, format="markdown")
    for k in range(len(blocks)):  # block k starts on line 2k + 1: every one is accounted for
        assert any(f.line == 2 * k + 1 for f in report.findings), (k, text, report.findings)
    for finding in report.findings:
        assert finding.reason and finding.verdict in ("holds", "wrong", "unchecked", "defined")
