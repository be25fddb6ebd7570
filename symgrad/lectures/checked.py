"""The five lectures as documents, checked by ``symgrad check``: the slide claims' verdicts come from their text.

The lectures ship as Markdown (``symgrad/lectures/documents``, linked from
``examples/lectures``), the math-bearing slides kept as written, mistakes
included, with ``<!-- symgrad: … -->`` annotations for what a slide shows only
in a picture. Nothing about a claim is written in Python.
"""
from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from ..documents import FileReport, check_files
from . import catalog

__all__ = ["lecture_documents", "check_lectures"]


def lecture_documents() -> list[Path]:
    """The lecture documents in order, ``000-…md`` to ``004-…md``."""
    folder = files(__package__).joinpath("documents")
    with as_file(folder) as path:  # a real folder in an installed package (not a zip)
        found = sorted(Path(path).glob("[0-9][0-9][0-9]-*.md"))
    if len(found) != len(catalog.LECTURES):
        raise FileNotFoundError(f"expected {len(catalog.LECTURES)} lecture documents in {folder}, "
                                f"found {len(found)}: is the package installed with its data files?")
    return found


#: where a reader finds the lecture documents in the project (``examples/lectures`` links to them)
SHOWN_AS = "examples/lectures"


def check_lectures() -> list[FileReport]:
    """Every claim of the five lectures checked from their text, each file named as the project shows it.

    >>> reports = check_lectures()
    >>> reports[0].file
    'examples/lectures/000-optimizers-chain-rule.md'
    >>> sum(len(r.wrong) for r in reports) >= 9   # the lectures do contain mistakes
    True
    """
    reports = check_files(lecture_documents())
    for report in reports:
        report.file = f"{SHOWN_AS}/{Path(report.file).name}"
    return reports
