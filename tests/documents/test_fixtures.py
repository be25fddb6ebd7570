"""Documents written for the tests, with a planted mistake of every kind, checked against their expectations.

Each math block of ``fixtures/notes.md`` and ``fixtures/problem_set.tex`` is
preceded by an invisible ``expect:`` comment listing its findings in order
(see ``fixtures/README.md``); every expectation comes from a hand derivation.
The test asserts that every planted mistake is found with its diagnosis, that
nothing correct is called wrong, and that every math block is accounted for.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from symgrad.documents import check_document
from symgrad.documents.blocks import MathBlock, extract
from symgrad.documents.source import read_source

FIXTURES = Path(__file__).parent / "fixtures"
_EXPECT = re.compile(r"(?:<!--|%)\s*expect:\s*(.*?)\s*(?:-->|$)")


def _expectations(source):
    """(block, [entries]) for each math block that an ``expect:`` line announces."""
    blocks = [item for item in extract(source) if isinstance(item, MathBlock)]
    out = []
    for number, line in enumerate(source.text.split("\n"), 1):
        match = _EXPECT.search(line)
        if not match:
            continue
        block = next(b for b in blocks if b.line > number)
        entries = [e.strip() for e in re.split(r",\s*(?=holds|defined|unchecked|wrong)", match.group(1))]
        out.append((block, entries))
    return out


def _matches(entry: str, finding) -> bool:
    verdict, _, keyword = entry.partition(":")
    if finding.verdict != verdict.strip():
        return False
    return not keyword.strip() or keyword.strip().lower() in (finding.reason + " " + (finding.correction or "")).lower()


@pytest.fixture(scope="module", params=["notes.md", "problem_set.tex"])
def checked(request):
    source = read_source(FIXTURES / request.param)
    return source, check_document(FIXTURES / request.param)


def test_every_expectation_is_met(checked):
    source, report = checked
    problems = []
    for block, entries in _expectations(source):
        found = [f for f in report.findings if block.line <= f.line <= block.end_line]
        shown = [f"{f.verdict}: {f.reason}" for f in found]
        if len(found) != len(entries) or not all(_matches(e, f) for e, f in zip(entries, found)):
            problems.append(f"line {block.line} {block.source[:60]!r}: expected {entries}, found {shown}")
    assert not problems, "\n".join(problems)


def test_nothing_right_is_called_wrong_and_every_mistake_is_found(checked):
    source, report = checked
    expected_wrong = sum(e.startswith("wrong") for _, entries in _expectations(source) for e in entries)
    assert len(report.wrong) == expected_wrong
    assert expected_wrong >= 10  # a mistake of every kind is planted


def test_every_math_block_is_accounted_for(checked):
    source, report = checked
    for block in (b for b in extract(source) if isinstance(b, MathBlock)):
        assert any(block.line <= f.line <= block.end_line for f in report.findings), block
