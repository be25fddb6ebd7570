r"""Walk a document's math in order and collect a finding for every statement, block by block.

Each block runs under its own time limit, so one pathological formula is
reported unchecked alone and the rest of the document is still read.
"""
from __future__ import annotations

import os
import re
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from .blocks import Annotation, MathBlock, Unclosed, extract
from .findings import FileReport, Finding
from .judge import Reader
from .source import Source, read_source, source_from_text
from .statements import statements

__all__ = ["check_document", "check_files", "check_source", "BLOCK_SECONDS"]

#: seconds one math block may take (all its statements together)
BLOCK_SECONDS = 30.0

_HEADING = {
    "markdown": re.compile(r"^\s{0,3}#{1,6}\s"),
    "text": re.compile(r"^\s{0,3}#{1,6}\s"),
    "latex": re.compile(r"^\s*\\(?:part|chapter|section|subsection|subsubsection|frametitle)\*?\{|"
                        r"^\s*\\begin\{frame\}"),
}


class _OutOfTime(Exception):
    pass


@contextmanager
def _time_limit(seconds: float):
    """Raise :class:`_OutOfTime` after ``seconds`` (main thread on a POSIX system; else no limit)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def heading_lines(source: Source) -> list[int]:
    """The 1-based lines of the document's headings (Markdown ``#``, LaTeX sections and frames)."""
    pattern = _HEADING[source.format]
    return [n for n, line in enumerate(source.text.splitlines(), 1) if pattern.match(line)]


def _read_in_time(reader: Reader, parts, item, what: str) -> list[Finding]:
    """The findings of a block's or an annotation's statements, within :data:`BLOCK_SECONDS` together."""
    found: list[Finding] = []
    try:
        with _time_limit(BLOCK_SECONDS):
            for part in parts:
                found += reader.statement(part)
    except _OutOfTime:
        found.append(Finding(item.line, item.end_line, item.source, "other", "unchecked",
                             f"ran out of time: the {what} took more than {BLOCK_SECONDS:g} s"))
    return found


def _block_findings(reader: Reader, block: MathBlock) -> list[Finding]:
    if block.ignored:
        return [Finding(block.line, block.end_line, block.source, "other", "unchecked",
                        "ignored by an annotation (symgrad: ignore)")]
    parts = statements(block.rows)
    if not parts:
        return [Finding(block.line, block.end_line, block.source, "other", "unchecked", "empty math")]
    return _read_in_time(reader, parts, block, "block")


def _annotation_findings(reader: Reader, note: Annotation) -> list[Finding]:
    if note.directive == "reset":
        reader.scope.reset()
        return []
    if note.directive == "ignore":
        return []  # the next block carries it
    reader.annotating = True
    try:
        return _read_in_time(reader, statements(note.statements), note, "annotation")
    finally:
        reader.annotating = False


def check_source(source: Source) -> FileReport:
    """Check every math block of a read document, in order."""
    reader = Reader(heading_lines(source))
    report = FileReport(source.name, text_of_source=source.text, format=source.format)
    for item in extract(source):
        if isinstance(item, Unclosed):
            report.findings.append(Finding(item.line, item.line, item.source, "other", "unchecked", item.reason))
        elif isinstance(item, Annotation):
            report.findings += _annotation_findings(reader, item)
        else:
            report.findings += _block_findings(reader, item)
    return report


def _is_path(value) -> bool:
    """Whether ``check_document`` was given a file: a path object, or one line naming a document or a file."""
    if isinstance(value, os.PathLike):
        return True
    if not isinstance(value, str) or "\n" in value or "$" in value or len(value) >= 4096:
        return False
    try:
        return Path(value).suffix.lower() in {".md", ".markdown", ".tex", ".txt", ".ipynb"} or Path(value).is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL: text, not a path
        return False


def check_document(text_or_path, *, format: str | None = None) -> FileReport:
    r"""Check every derivation in a document: a path to a Markdown/LaTeX/text file, or the text itself.

    >>> report = check_document(r'''
    ... $$L = \frac12 (y - w x)^2$$
    ... $$\frac{\partial L}{\partial w} = -(y - wx) x$$
    ... $$\frac{\partial L}{\partial w} = (y - wx) x$$
    ... ''', format="markdown")
    >>> [(f.line, f.verdict) for f in report.findings]
    [(2, 'defined'), (3, 'holds'), (4, 'wrong')]
    >>> report.findings[2].reason
    'sign error: the claim is the negative of the derivative'
    """
    if _is_path(text_or_path):
        source = read_source(text_or_path)
    else:
        source = source_from_text(text_or_path, format)
    return check_source(source)


#: the documents a folder given to ``symgrad check`` holds
DOCUMENT_SUFFIXES = (".md", ".markdown", ".tex", ".ipynb")


def _documents_in(path) -> list:
    """A file as it is; a folder's Markdown, LaTeX and notebook files, in name order, at any depth."""
    folder = Path(path)
    if not folder.is_dir():
        return [path]
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in DOCUMENT_SUFFIXES and p.is_file())


def check_files(paths, stdin=None) -> list[FileReport]:
    """Check several files (a folder: the documents in it; ``-``: the text of ``stdin``).

    Every file is read before any is checked, so an unusable one (a
    :class:`~symgrad.errors.DocumentError` names it) stops the run before it costs time.
    """
    sources = []
    for path in paths:
        if str(path) == "-" and stdin is not None:
            sources.append(source_from_text(stdin.read(), name="<stdin>"))
        else:
            sources += [read_source(p) for p in _documents_in(path)]
    return [check_source(s) for s in sources]
