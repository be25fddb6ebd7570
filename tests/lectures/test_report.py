"""The lecture report as a teacher projects it: typeset math only, contents, lectures by name, claims in order, one file."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from symgrad import losses, networks
from symgrad.lectures import catalog
from symgrad.lectures.checked import check_lectures
from symgrad.lectures.report import write_report
from symgrad.lectures.report_graphs import graph_section
from symgrad.lectures.report_training import training_section
from symgrad.symbolic.chainrule import chain_rule

#: the courses and titles of the five lectures, as their slides' title pages give them
COURSES = {"000": "CSCI 1470: optimizers, gradient descent, chain rule",
           "001": "CS 4644: gradient descent, neural networks",
           "002": "MATH80629: perceptrons, backpropagation",
           "003": "CS60010: linear regression, least squares",
           "004": "ICME: loss functions, computational graphs"}


class _Page(HTMLParser):
    """The parts of the page the tests read: visible text outside math, anchors, links, headings, claim rows."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.ids, self.links, self.sources = [], [], [], []
        self.headings: list[tuple[str, str | None, str]] = []
        self.claim_rows: list[list[str]] = []  # per row of the claims table: its hrefs
        self._stack: list[str] = []
        self._math = 0
        self._heading = None
        self._in_claims = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "math":
            self._math += 1
        if tag in ("h2", "h3"):
            self._heading = [tag, attrs.get("id"), ""]
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
            if self._in_claims and self.claim_rows:
                self.claim_rows[-1].append(attrs["href"])
        if tag in ("img", "object", "script", "link", "iframe", "embed", "source"):
            self.sources += [attrs[k] for k in ("src", "data", "href") if k in attrs]
        if tag == "table" and "claims" in (attrs.get("class") or ""):
            self._in_claims = True
        if tag == "tr" and self._in_claims:
            self.claim_rows.append([])

    def handle_endtag(self, tag):
        if tag == "math":
            self._math -= 1
        if tag in ("h2", "h3") and self._heading:
            self.headings.append(tuple(self._heading))
            self._heading = None
        if tag == "table":
            self._in_claims = False

    def handle_data(self, data):
        if self._heading:
            self._heading[2] += data
        if not self._math:
            self.text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    page = write_report(out, extras=graph_section, appendix=training_section)
    parsed = _Page()
    parsed.feed(page.read_text(encoding="utf-8"))
    return out, parsed


def test_chain_rules_of_several_parameters_are_one_aligned_environment():
    rules = chain_rule(networks.chain(3, loss=losses.half_squared_error), ["w1", "w2", "w3", "b"])
    latex = rules.latex()
    assert latex.count(r"\begin{aligned}") == latex.count(r"\end{aligned}") == 1
    assert latex.startswith(r"\begin{aligned}") and latex.endswith(r"\end{aligned}")
    # two rows per parameter (the factors, then their values): 4 parameters, 8 rows, 7 breaks
    assert latex.count(r" \\ ") == 7
    # the rule for w3 by hand: dL/dw3 = dL/df3 · df3/da3 · da3/dw3
    assert (r"\frac{\partial L}{\partial w_{3}} &= \frac{\partial L}{\partial f_{3}} "
            r"\frac{\partial f_{3}}{\partial a_{3}} \frac{\partial a_{3}}{\partial w_{3}}") in latex


def test_no_raw_latex_outside_math(report):
    _, page = report
    visible = "".join(page.text)
    for command in (r"\frac", r"\begin", r"\end", r"\partial", "aligned"):
        assert command not in visible, command


def test_contents_link_to_every_section(report):
    _, page = report
    section_ids = {i for tag, i, _ in page.headings if i and i != "contents"}
    assert len(page.ids) == len(set(page.ids)), "anchors must be unique"
    contents_links = {href[1:] for href in page.links if href.startswith("#")}
    assert section_ids <= contents_links
    # every example and every lecture is a section
    assert set(catalog.EXAMPLES) <= section_ids
    assert {f"lecture-{code}" for code in COURSES} <= section_ids


def test_one_section_per_lecture_named_by_course_and_title(report):
    _, page = report
    lecture_headings = [(i, title) for tag, i, title in page.headings if tag == "h2" and i and i.startswith("lecture-")]
    assert [i for i, _ in lecture_headings] == [f"lecture-{code}" for code in COURSES]
    for (i, title), course in zip(lecture_headings, COURSES.values()):
        assert title.endswith(course)
    visible = "".join(page.text)
    assert ".txt" not in visible and "f991bdc97940edcf" not in visible
    # each example sits inside its own lecture's section
    order = [i for _, i, _ in page.headings]
    for example in catalog.EXAMPLES.values():
        lecture_at = order.index(f"lecture-{example.lecture}")
        following = [i for i in order[lecture_at + 1:] if i and i.startswith("lecture-")]
        end = order.index(following[0]) if following else len(order)
        assert lecture_at < order.index(example.name) < end, example.name


def test_claims_table_is_in_document_order_and_links_to_existing_sections(report):
    _, page = report
    rows = [hrefs for hrefs in page.claim_rows if hrefs]  # the heading row has no links
    # one row per claim of the lecture documents that was decided (holds or wrong), in document order
    decided = [(r.file, f) for r in check_lectures() for f in r.findings
               if f.verdict in ("holds", "wrong") and f.kind != "definition"]
    assert len(rows) == len(decided) >= 9 + 20
    lecture_of_row = [hrefs[0][len("#lecture-"):] for hrefs in rows]
    assert lecture_of_row == sorted(lecture_of_row)  # lectures in page order
    ids = set(page.ids)
    for hrefs, lecture in zip(rows, lecture_of_row):
        assert hrefs[-1][1:] in ids and hrefs[-1] == f"#lecture-{lecture}"


def test_the_page_is_one_self_contained_file(report):
    out, page = report
    assert [p.name for p in out.iterdir()] == ["index.html"]
    assert len(page.sources) >= 9  # the 9 graph drawings; the loss curves are one inline <svg> chart
    assert all(src.startswith("data:") for src in page.sources)
    assert not any(link.startswith(("images/", "http:", "https:", "file:")) for link in page.links)
