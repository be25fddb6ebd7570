"""The five lectures checked from their text: all nine known slide mistakes found, nothing correct called wrong.

The nine mistakes and their diagnoses were found by reading the slides (and
worked out by hand); the documents carry only ``symgrad:`` annotations for
what a slide shows in a picture. No claim is written in Python here.
"""
from __future__ import annotations

import pytest

from symgrad.lectures.checked import check_lectures, lecture_documents

#: (lecture, what the slide writes, a word the diagnosis must contain)
NINE_MISTAKES = [
    ("000", r"\frac{\partial}{\partial x} (wx) + \frac{\partial}{\partial x} (b)", "differentiates by x"),
    ("000", r"y^2 + f(x)^2 - 2y", "cross term"),
    ("001", r"\sum_{k=1}^N \delta_i \sigma_i", "does not use k"),
    ("002", r"\mathcal{L}_i = \frac{1}{2}(y_i - \hat{y})", "square is missing"),
    ("002", r"-\eta(y - \hat{y})", "η is written into the gradient"),
    ("002", r"\theta \leftarrow \theta + \eta", "ascent"),
    ("004", r"\mathbf{1}\{y \geq x\}", "tie"),
    ("004", r"-\log(0.7) = 0.35", "truncates"),
    ("004", r"dB = dC \times A^T", "do not match"),
]


@pytest.fixture(scope="module")
def wrong():
    return {report.file.rsplit("/", 1)[-1][:3]: report.wrong for report in check_lectures()}


@pytest.mark.parametrize("lecture, written, diagnosis", NINE_MISTAKES)
def test_every_known_slide_mistake_is_found_with_its_diagnosis(wrong, lecture, written, diagnosis):
    found = [f for f in wrong[lecture] if written in f.source]
    assert found, f"not found: {written}"
    assert diagnosis in found[0].reason, found[0].reason


def test_nothing_else_is_called_wrong(wrong):
    # a wrong finding is one of the nine, or the same mistake carried down its chain or repeated on a later slide
    for lecture, findings in wrong.items():
        for finding in findings:
            known = any(lecture == mistake[0] and mistake[1] in finding.source for mistake in NINE_MISTAKES)
            carried = finding.reason.startswith("the mistake of line")
            assert known or carried, f"{lecture}:{finding.line} {finding.source}: {finding.reason}"


def test_the_lectures_ship_as_documents_with_their_attribution():
    documents = lecture_documents()
    assert [d.name[:3] for d in documents] == ["000", "001", "002", "003", "004"]
    for document in documents:
        head = document.read_text(encoding="utf-8")[:1500].lower()
        assert "excerpt" in head and ("instructor" in head or "author" in head or "course" in head)
