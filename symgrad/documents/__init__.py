r"""Check every derivation in a document: Markdown or LaTeX notes, read as a reader reads them.

:func:`check_document` finds the math of a file or a text
(:mod:`~symgrad.documents.blocks`), splits it into statements
(:mod:`~symgrad.documents.statements`), records definitions in a scope
(:mod:`~symgrad.documents.scope`) and gives every claim a verdict
(:mod:`~symgrad.documents.judge`): holds, wrong (with the correction and a
diagnosis) or unchecked (with the reason).
"""
from __future__ import annotations

from .checker import check_document, check_files
from .findings import FileReport, Finding

__all__ = ["check_document", "check_files", "FileReport", "Finding"]
