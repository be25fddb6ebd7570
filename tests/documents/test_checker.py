r"""The document checker, claim kind by claim kind, on small documents written for these tests.

Each expected verdict is worked out by hand: d/dw of ½(y − wx)² is −(y − wx)x,
−log 0.7 = 0.3567 rounds to 0.36, (y − f)² expands to y² − 2yf + f², and so on.
"""
from __future__ import annotations

import pytest

from symgrad.documents import check_document


def findings(text: str, format: str = "markdown"):
    return [(f.line, f.kind, f.verdict) for f in check_document(text, format=format).findings]


def only(text: str, format: str = "markdown"):
    report = check_document(text, format=format)
    claims = [f for f in report.findings if f.verdict != "defined"]
    assert len(claims) == 1, claims
    return claims[0]


LOSS = r"$$L = \frac12 (y - w x)^2$$" + "\n"


def test_a_right_and_a_wrong_derivative():
    result = findings(LOSS + r"$$\frac{\partial L}{\partial w} = -(y - wx) x$$" "\n"
                      r"$$\frac{\partial L}{\partial w} = (y - wx) x$$")
    assert result == [(1, "definition", "defined"), (2, "derivative", "holds"), (3, "derivative", "wrong")]


@pytest.mark.parametrize("claim, words", [
    (r"\frac{\partial L}{\partial w} = (y - wx) x", "sign"),
    (r"\frac{\partial L}{\partial w} = -\eta (y - wx) x", "η"),
    (r"\frac{dL}{dw} = -2(y - wx) x", "factor 2"),
])
def test_a_wrong_derivative_is_diagnosed(claim, words):
    finding = only(LOSS + f"$${claim}$$")
    assert finding.verdict == "wrong" and words in finding.reason, finding
    assert finding.correction and finding.counterexample["point"]


def test_update_rules_descent_ascent_and_shorthands():
    text = LOSS + "\n".join([
        r"$$w \leftarrow w + \eta (y - wx) x$$",          # descent: right
        r"$$w \leftarrow w - \eta (y - wx) x$$",          # climbs the loss
        r"$$w := w + \eta (y - wx) x$$",
        r"$$w' = w + \alpha (y - wx) x$$",
        r"$$\Delta w = -\alpha \frac{\partial L}{\partial w}$$",
        r"$$w_{t+1} = w_t + \eta (y - w_t x) x$$",
    ])
    result = [(f.line, f.verdict) for f in check_document(text, format="markdown").findings[1:]]
    assert result == [(2, "holds"), (3, "wrong"), (4, "holds"), (5, "holds"), (6, "holds"), (7, "holds")]
    ascent = check_document(text, format="markdown").findings[2]
    assert ascent.kind == "update_rule" and "ascent" in ascent.reason


def test_a_chain_names_the_step_that_breaks_and_align_rows_keep_their_lines():
    text = LOSS + "\n".join([
        r"\begin{align}",
        r"\frac{\partial L}{\partial w} &= (y - wx)\frac{\partial}{\partial w}(y - wx) \\",
        r"&= (y - wx)(x) \\",
        r"&= -(y - wx) x",
        r"\end{align}",
    ])
    steps = [(f.line, f.kind, f.verdict) for f in check_document(text, format="latex").findings[1:]]
    # each side against ∂L/∂w = -(y - wx)x: the first and last hold, the middle one has lost the sign
    assert steps == [(3, "derivative", "holds"), (4, "step", "wrong"), (5, "step", "holds")]


def test_a_derivation_over_several_blocks_is_one_chain():
    text = "\n".join([
        r"$$f = w x + b$$",
        r"$$L = (y - f)^2$$",
        r"$$= y^2 + f^2 - 2y$$",            # drops f from the cross term
        r"$$= y^2 - 2 y f + f^2$$",
    ])
    result = check_document(text, format="markdown").findings
    # the last line is right again: read against the last good side, (y - f)^2, it holds
    assert [(f.line, f.verdict) for f in result] == [(1, "defined"), (2, "defined"), (3, "wrong"), (4, "holds")]
    assert "cross term" in result[2].reason


def test_numbers_to_the_digits_written():
    result = check_document("\n".join([
        r"$$-\log(0.7) = 0.35$$",            # 0.3567: truncated, not rounded
        r"$$-\log(0.1) = 2.3$$",             # 2.3026
        r"$$(3 \times 4) + (4 \times 2) = 20$$",
        r"$$20 + 4 + 2 = 27$$",
    ]), format="markdown").findings
    assert [(f.kind, f.verdict) for f in result] == [("number", "wrong"), ("number", "holds"),
                                                     ("number", "holds"), ("number", "wrong")]
    assert "truncat" in result[0].reason and result[0].correction == "0.36"
    assert result[3].correction == "26"


def test_a_worked_example_with_numbers():
    text = "\n".join([
        r"$$q = x + y \quad f = q z$$",
        r"$$x = -2, y = 5, z = -4$$",
        r"$$f = -12$$",
        r"$$f = -11$$",
    ])
    result = [(f.line, f.kind, f.verdict) for f in check_document(text, format="markdown").findings]
    assert result[-2:] == [(3, "number", "holds"), (4, "number", "wrong")]


def test_a_matrix_rule_shapes_first():
    text = "$$AB = C$$\n$$dA = dC \\times B^T$$\n$$dB = dC \\times A^T$$\n$$dB = A^T dC$$"
    result = check_document(text, format="markdown").findings
    assert [(f.kind, f.verdict) for f in result] == [("definition", "defined"), ("matrix", "holds"),
                                                     ("matrix", "wrong"), ("matrix", "holds")]
    assert "columns" in result[2].reason


def test_function_definitions_and_where_clauses():
    text = "\n".join([
        r"$$f(x) = w x + b$$",
        r"$$L = (y - f(x))^2$$",
        r"$$\frac{\partial L}{\partial b} = -2(y - f(x))$$",
        r"$$\frac{\partial L}{\partial b} = -2(y - f(x)) x$$",
        r"$$L_2 = \delta^2 \quad \text{where } \delta = y - f(x)$$",
        r"$$\frac{\partial L_2}{\partial w} = -2 \delta x$$",
    ])
    result = [(f.line, f.verdict) for f in check_document(text, format="markdown").findings]
    assert result == [(1, "defined"), (2, "defined"), (3, "holds"), (4, "wrong"), (5, "defined"), (5, "defined"),
                      (6, "holds")]


def test_the_sigmoid_definition_agrees_and_its_derivative_is_a_claim():
    result = findings(r"$$\sigma(z) = \frac{1}{1+e^{-z}}$$" "\n" r"$$\sigma'(x) = \sigma(x)(1 - \sigma(x))$$"
                      "\n" r"$$\sigma'(x) = \sigma(x)(1 + \sigma(x))$$")
    assert [v for _, _, v in result] == ["defined", "holds", "wrong"]


def test_unknown_names_and_ambiguous_calls_are_unchecked_never_wrong():
    unknown = only(LOSS + r"$$\frac{\partial L}{\partial w} = -2(y - l) x$$")
    assert unknown.verdict == "unchecked" and "l" in unknown.reason
    ambiguous = only(r"$$\frac{ds(x)}{dx} = s(x)(1 - s(x))$$")
    assert ambiguous.verdict == "unchecked"
    chain_factor = only(LOSS + r"$$\frac{\partial L}{\partial w} = \frac{\partial L}{\partial f}"
                               r"\frac{\partial f}{\partial w}$$")
    assert chain_factor.verdict == "unchecked" and "f" in chain_factor.reason


def test_annotations_give_context_reset_and_ignore():
    text = "\n".join([
        r"<!-- symgrad: f_3 = \sigma(a_3); a_3 = w_3 f_2; L = \frac12 (y - f_3)^2 -->",
        r"$$\frac{\partial L}{\partial w_3} = -(y - f_3) f_3 (1 - f_3) f_2$$",
        r"<!-- symgrad: ignore -->",
        r"$$\frac{\partial L}{\partial w_3} = 42$$",
        r"<!-- symgrad: reset -->",
        r"$$\frac{\partial L}{\partial w_3} = 0$$",
    ])
    result = [(f.line, f.verdict) for f in check_document(text, format="markdown").findings]
    assert result == [(1, "defined"), (1, "defined"), (1, "defined"), (2, "holds"), (4, "unchecked"),
                      (6, "unchecked")]


def test_a_theta_alias_and_nabla_shorthand():
    text = "\n".join([
        LOSS.strip(),
        r"<!-- symgrad: \theta = w -->",
        r"$$\theta \leftarrow \theta + \eta \frac{\partial L}{\partial \theta}$$",
        r"$$\frac{dL}{dw} = -(y - wx) x = \nabla w$$",
        r"$$w = w - \eta \nabla w$$",
    ])
    result = [(f.line, f.verdict) for f in check_document(text, format="markdown").findings]
    assert result == [(1, "defined"), (2, "defined"), (3, "wrong"), (4, "holds"), (5, "holds")]


def test_a_definition_that_changes_is_named_when_a_derivative_only_fits_the_old_one():
    text = "\n".join([
        r"$$\hat y = w x_i$$",
        r"$$\mathcal{L}_i = \frac12 (y_i - \hat y)^2$$",
        "# A new slide",
        r"$$\mathcal{L}_i = \frac12 (y_i - \hat y)$$",
        r"$$\frac{d \mathcal{L}_i}{dw} = -(y_i - \hat y) x_i$$",
    ])
    last = check_document(text, format="markdown").findings[-1]
    assert last.verdict == "wrong" and "line 2" in last.reason and "line 4" in last.reason


def test_max_partials_at_a_tie():
    text = r"<!-- symgrad: f = \max(x, y) -->" "\n"
    wrong = text + r"$$\frac{\partial f}{\partial x} = \mathbf{1}\{x \geq y\} \quad " \
                   r"\frac{\partial f}{\partial y} = \mathbf{1}\{y \geq x\}$$"
    right = text + r"$$\frac{\partial f}{\partial x} = \mathbf{1}\{x \geq y\} \quad " \
                   r"\frac{\partial f}{\partial y} = \mathbf{1}\{y > x\}$$"
    assert [f.verdict for f in check_document(wrong, format="markdown").findings] == ["defined", "holds", "wrong"]
    assert "tie" in check_document(wrong, format="markdown").findings[-1].reason
    assert [f.verdict for f in check_document(right, format="markdown").findings] == ["defined", "holds", "holds"]


def test_every_math_block_is_accounted_for():
    text = "Prose with $w$ and a set $\\{x_i, y_i\\}$ and $$a = $$ unclosed $$ here"
    result = check_document(text, format="markdown").findings
    assert all(f.verdict == "unchecked" and f.reason for f in result)
    assert len(result) == 4  # $w$, the set, the empty right side, the unclosed $$


def test_a_juxtaposition_after_a_slash_is_read_as_wolfram_does_and_a_doubt_is_said():
    text = "\n".join([
        r"$$L = 1/2 (y - wx)^2$$",                              # spaced: (y - wx)^2 / 2, no doubt
        r"$$\frac{\partial L}{\partial w} = -(y - wx) x$$",
        r"$$M = 1/2w^2$$",                                      # touching: read as w^2/2, but some read 1/(2w^2)
        r"$$\frac{\partial M}{\partial w} = w$$",
        r"$$\frac{\partial M}{\partial w} = -w^{-3}$$",         # right for 1/(2w^2): never called wrong
    ])
    found = check_document(text, format="markdown").findings
    assert [(f.line, f.verdict) for f in found] == [(1, "defined"), (2, "holds"), (3, "defined"), (4, "holds"),
                                                    (5, "unchecked")]
    assert "1/2w^2" in found[2].reason and "1/2w^2" in found[4].reason
    assert "1/2" not in found[1].reason


def test_the_softmax_of_a_given_vector_to_the_digits_written():
    # softmax(2, 1) = (e²/(e² + e), e/(e² + e)) = (0.7311, 0.2689) by hand
    text = "\n".join([
        r"$$\text{softmax}\left(\begin{pmatrix} 2 \\ 1 \end{pmatrix}\right) = \begin{pmatrix} 0.73 \\ 0.27 \end{pmatrix}$$",
        r"$$\text{softmax}\left(\begin{pmatrix} 2 \\ 1 \end{pmatrix}\right) = \begin{pmatrix} 0.72 \\ 0.28 \end{pmatrix}$$",
    ])
    right, wrong = check_document(text, format="markdown").findings
    assert (right.kind, right.verdict) == ("number", "holds")
    assert wrong.verdict == "wrong" and wrong.reason.startswith("entry 1") and "0.73" in wrong.reason


def test_a_script_l_loss_and_prose_math():
    text = "\n".join([
        r"$$\ell(\hat{y}, y) = (\hat{y} - y)^2$$",              # a loss function of two arguments
        r"$$L = \ell(w x, y)$$",
        r"$$\frac{\partial L}{\partial w} = 2(wx - y)x$$",
        r"$$F(x + \Delta x) \approx F(x) + F'(x) \Delta x$$",  # no equation: not a claim
        r"$$\min_{w} L$$",
        r"$$y \in \mathbb{R}$$",
    ])
    found = check_document(text, format="markdown").findings
    assert [f.verdict for f in found[:3]] == ["defined", "defined", "holds"]
    assert [f.reason.split(":")[0] for f in found[3:]] == ["not a claim"] * 3


def test_worked_backprop_numbers_at_the_values_in_scope():
    # f = (x + y) z at x = -2, y = 5, z = -4: ∂f/∂x = z = -4, ∂f/∂z = x + y = 3 (by hand)
    text = "\n".join([r"$$q = x + y \quad f = q z$$", r"$$x = -2, y = 5, z = -4$$",
                      r"$$\frac{\partial f}{\partial x} = -4$$", r"$$\frac{\partial f}{\partial z} = 2$$",
                      r"$$\frac{\partial f}{\partial y} = z$$"])
    found = [(f.line, f.verdict) for f in check_document(text, format="markdown").findings if f.line >= 3]
    assert found == [(3, "holds"), (4, "wrong"), (5, "holds")]


SOFTMAX = "\n".join([
    r"$$p_i = \frac{e^{z_i}}{\sum_{j=1}^{n} e^{z_j}}$$",
    r"$$L = -\sum_{i=1}^{n} y_i \log p_i$$",
])


def test_softmax_cross_entropy_is_right_when_the_labels_sum_to_one():
    # by hand: ∂L/∂z_k = p_k Σ_i y_i - y_k, which is p_k - y_k exactly when Σ_i y_i = 1
    unstated = check_document(SOFTMAX + "\n" + r"$$\frac{\partial L}{\partial z_k} = p_k - y_k$$",
                              format="markdown").findings[-1]
    assert unstated.verdict == "unchecked" and "sum to 1" in unstated.reason
    stated = SOFTMAX + "\n" + r"$$\sum_{i=1}^{n} y_i = 1$$" + "\n"
    found = check_document(stated + r"$$\frac{\partial L}{\partial z_k} = p_k - y_k$$", format="markdown").findings
    assert [f.verdict for f in found] == ["defined", "defined", "defined", "holds"]
    wrong = check_document(stated + r"$$\frac{\partial L}{\partial z_k} = y_k - p_k$$", format="markdown").findings
    assert wrong[-1].verdict == "wrong"


def test_softmax_jacobian_with_kronecker_delta_at_equal_and_distinct_indices():
    # ∂p_i/∂z_j = p_i(δ_ij - p_j) by hand; with p_i in the bracket it is right only when i = j
    text = SOFTMAX.split("\n")[0] + "\n" + "\n".join([
        r"$$\frac{\partial p_i}{\partial z_j} = p_i(\delta_{ij} - p_j)$$",
        r"$$\frac{\partial p_i}{\partial z_j} = p_i(\delta_{ij} - p_i)$$",
        r"$$\frac{\partial p_i}{\partial z_j} = p_i(1 - p_j)$$",
    ])
    assert [f.verdict for f in check_document(text, format="markdown").findings] == [
        "defined", "holds", "wrong", "wrong"]


def test_matrix_calculus_in_scalar_notation_is_never_passed_on_numbers_alone():
    # for numbers -2X(y - Xw) is dL/dw of (y - Xw)^2, for a matrix X it must be -2Xᵀ(y - Xw): unchecked;
    # -2(y - Xw) is wrong already for numbers (1×1 matrices): wrong; a capital only inside tanh is a value
    text = "\n".join([
        r"$$L = (y - Xw)^2$$",
        r"$$\frac{\partial L}{\partial w} = -2X(y - Xw)$$",
        r"$$\frac{\partial L}{\partial w} = -2(y - Xw)$$",
        r"$$(AB)^T = A^T B^T$$",
        "# A scalar network with a capital inside a function",
        r"$$h = \tanh(W x + b)$$",
        r"$$\frac{\partial h}{\partial b} = 1 - h^2$$",
    ])
    found = [(f.line, f.verdict) for f in check_document(text, format="markdown").findings]
    assert found == [(1, "defined"), (2, "unchecked"), (3, "wrong"), (4, "unchecked"), (6, "defined"),
                     (7, "holds")]


def test_a_derivative_of_a_named_sample_keeps_its_index():
    text = "\n".join([r"$$\hat y = w x_i$$", r"$$L_i = \frac12 (y_i - \hat y)^2$$",
                      r"$$\frac{\partial L_i}{\partial w} = -(y_i - \hat y) x_i$$",
                      r"$$\frac{\partial L_i}{\partial w} = -(y_j - \hat y) x_j$$"])  # sample j is not sample i
    assert [f.verdict for f in check_document(text, format="markdown").findings][2:] == ["holds", "wrong"]


def test_a_capital_bound_of_a_sum_is_a_size_not_a_matrix():
    text = "\n".join([r"$$L = \sum_{k=1}^{N} (y_k - w x_k)^2$$",
                      r"$$\frac{\partial L}{\partial w} = -2 \sum_{k=1}^{N} (y_k - w x_k) x_k$$"])
    assert [f.verdict for f in check_document(text, format="markdown").findings] == ["defined", "holds"]


def test_a_loss_defined_as_a_function_and_a_word_that_would_read_with_eulers_e():
    text = "\n".join([
        r"$$J(\theta) = \frac{1}{2m}\sum_{i=1}^{m} (\theta_0 + \theta_1 x_i - y_i)^2$$",
        r"$$\frac{\partial J}{\partial \theta_0} = \frac{1}{m}\sum_{i=1}^{m} (\theta_0 + \theta_1 x_i - y_i)$$",
        r"$$\theta_1 := \theta_1 - \alpha \frac{1}{m}\sum_{i=1}^{m} (\theta_0 + \theta_1 x_i - y_i) x_i$$",
        r"$$o_k = \sigma(net_k)$$",      # n·e·t_k with Euler's e: not what the author means
    ])
    found = check_document(text, format="markdown").findings
    assert [f.verdict for f in found] == ["defined", "holds", "holds", "unchecked"]
    assert "Euler" in found[-1].reason


def test_a_step_that_differentiates_by_the_wrong_variable_is_named():
    # ∂/∂x(wx) + ∂/∂x(b) is w (by hand); x is what differentiating by w gives
    text = r"$$f = w x + b$$" + "\n" + r"$$\frac{\partial}{\partial x}(wx) + \frac{\partial}{\partial x}(b) = x$$"
    step = check_document(text, format="markdown").findings[-1]
    assert step.verdict == "wrong" and "differentiates by w where it says x" in step.reason
