"""What checking a document found: one finding per statement, and each file's summary."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

__all__ = ["Finding", "FileReport", "KINDS", "VERDICTS"]

#: what a statement is
KINDS = ("definition", "derivative", "update_rule", "step", "number", "matrix", "identity", "other")
#: what the checker says of it
VERDICTS = ("holds", "wrong", "unchecked", "defined")
_RELATION = re.compile(r"=|\\leftarrow|\\gets|←|:=")
#: the longest correction the terminal line shows
SHORT = 80
MARKS = {"holds": "✓", "wrong": "✗", "unchecked": "?", "defined": "·"}


@dataclass
class Finding:
    """One statement of a document and its verdict, with the reason, the correction and a counterexample."""

    line: int
    end_line: int
    source: str
    kind: str
    verdict: str
    reason: str
    correction: str | None = None
    counterexample: dict | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r} (one of {', '.join(VERDICTS)})")

    @property
    def mark(self) -> str:
        return MARKS[self.verdict]

    def to_dict(self) -> dict:
        return {"line": self.line, "end_line": self.end_line, "source": self.source, "kind": self.kind,
                "verdict": self.verdict, "reason": self.reason, "correction": self.correction,
                "counterexample": self.counterexample}

    def line_text(self, file: str) -> str:
        """``✗ notes.md:42  <source>  <reason>``, the terminal's line for this finding."""
        source = " ".join(self.source.split())
        if len(source) > 70:
            source = source[:67] + "…"
        text = f"{self.mark} {file}:{self.line}  {source}  {self.reason}"
        if self.correction and self.verdict == "wrong" and len(self.correction) <= SHORT:
            text += f" (correct: {self.correction})"  # a long one is in --json and --html
        return text


@dataclass
class FileReport:
    """The findings of one file, in document order."""

    file: str
    findings: list[Finding] = field(default_factory=list)
    #: the document's text and format ("markdown", "latex", "text"), for rendering it
    text_of_source: str = field(default="", repr=False)
    format: str = "text"

    @property
    def summary(self) -> dict:
        counts = dict.fromkeys(VERDICTS[:3] + ("defined",), 0)
        for finding in self.findings:
            counts[finding.verdict] += 1
        return counts

    @property
    def wrong(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict == "wrong"]

    def to_dict(self) -> dict:
        return {"file": self.file, "findings": [f.to_dict() for f in self.findings], "summary": self.summary}

    def summary_line(self) -> str:
        s = self.summary
        prose = sum(1 for f in self.findings if _not_a_claim(f))
        return (f"{self.file}: {s['holds']} hold, {s['wrong']} wrong, {s['unchecked']} unchecked "
                f"({prose} of them not claims), {s['defined']} definitions")

    def __repr__(self) -> str:
        s = self.summary
        return (f"<FileReport {self.file}: {s['holds']} hold, {s['wrong']} wrong, {s['unchecked']} unchecked, "
                f"{s['defined']} definitions>")

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        """In Jupyter: the summary, then every claim that was decided or left unchecked, with its line."""
        colour = {"holds": "#1a7f37", "wrong": "#b42318", "unchecked": "#9a6700", "defined": "#666"}
        rows = "".join(
            f"<tr><td style='color:{colour[f.verdict]}'>{f.mark} {f.verdict}</td><td>{f.line}</td>"
            f"<td><code>{html.escape(f.source[:120])}</code></td><td>{html.escape(f.reason)}</td></tr>"
            for f in self.findings if f.verdict != "defined" and not _not_a_claim(f))
        return (f"<p><b>{html.escape(self.file)}</b>: {html.escape(self.summary_line().split(': ', 1)[1])}</p>"
                f"<table><tr><th>verdict</th><th>line</th><th>statement</th><th>why</th></tr>{rows}</table>")

    def text(self, verbose: bool = False, unchecked: bool = True) -> str:
        """The terminal's report: every wrong claim, every claim left unchecked, then the summary.

        With ``verbose``, every finding (claims that hold, definitions, math that is no claim);
        without ``unchecked``, only the wrong claims and the summary.
        """
        shown = [f for f in self.findings
                 if verbose or f.verdict == "wrong" or (unchecked and f.verdict == "unchecked" and not _not_a_claim(f))]
        return "\n".join([f.line_text(self.file) for f in shown] + [self.summary_line()])


def _not_a_claim(finding: Finding) -> bool:
    """Math that states nothing to check (a lone symbol, a set, notation the parser does not read)."""
    return finding.verdict == "unchecked" and finding.kind == "other" and (
        finding.reason.startswith("not a claim") or not _RELATION.search(finding.source))
