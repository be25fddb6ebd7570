"""Reads a document safely into a :class:`Source`: its text, its format, and the name to show in messages.

A file that cannot be used (missing, a directory, larger than :data:`MAX_BYTES`,
binary, unreadable) raises :class:`~symgrad.errors.DocumentError` naming the
file and the problem. Line endings are normalised to ``\\n`` (a CRLF file
keeps its line numbers; a lone CR counts as a line end, as editors count it).

>>> source_from_text("The loss is $L = (y - f)^2$.").format
'text'
"""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import DocumentError

__all__ = ["MAX_BYTES", "DocumentError", "Source", "read_source", "source_from_text", "FORMATS"]

#: the largest file read; lecture notes are far smaller, and a bigger file is more likely a mistake
MAX_BYTES = 2_000_000

FORMATS = ("markdown", "latex", "text")

_SUFFIX_FORMAT = {
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown",
    ".tex": "latex", ".ltx": "latex", ".sty": "latex",
}

_LATEX_SIGNS = re.compile(r"\\begin\{document\}|\\documentclass|\\section\*?\{")
_MARKDOWN_SIGNS = re.compile(r"\$\$|^#{1,6}[ \t]|<!--|^[ \t]*(?:```|~~~)", re.M)


@dataclass(frozen=True)
class Source:
    """A document's text, its format (``"markdown"``, ``"latex"`` or ``"text"``) and its name for messages."""

    name: str
    text: str
    format: str


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sniff_format(text: str) -> str:
    r"""The format a text looks written in: LaTeX markers first, then Markdown's, else plain text.

    >>> sniff_format("\\section{Loss}"), sniff_format("# Loss\n$$L$$"), sniff_format("L = y^2")
    ('latex', 'markdown', 'text')
    """
    if _LATEX_SIGNS.search(text):
        return "latex"
    if _MARKDOWN_SIGNS.search(text):
        return "markdown"
    return "text"


def source_from_text(text: str, format: str | None = None, name: str = "<text>") -> Source:
    r"""A :class:`Source` from text in memory; ``format`` is sniffed when ``None``.

    >>> source_from_text("\\documentclass{article}").format
    'latex'
    >>> source_from_text("a\r\nb", format="text").text
    'a\nb'
    """
    if not isinstance(text, str):
        raise DocumentError(f"{name}: expected text (str), got {type(text).__name__}")
    text = _normalise_newlines(text)
    if format is None:
        format = sniff_format(text)
    if format not in FORMATS:
        raise DocumentError(f"{name}: unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    return Source(name=name, text=text, format=format)


def _format_of(path: Path) -> str:
    return _SUFFIX_FORMAT.get(path.suffix.lower(), "text")


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DocumentError(f"{name}: no such file") from None
    except OSError as error:
        raise DocumentError(f"{name}: cannot be read ({error.strerror or error})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DocumentError(f"{name}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        # a FIFO or a device could block or never end
        raise DocumentError(f"{name}: is not a regular file")
    if info.st_size > MAX_BYTES:
        raise DocumentError(f"{name}: {info.st_size:,} bytes is larger than the limit of {MAX_BYTES:,} bytes")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise DocumentError(f"{name}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_BYTES:  # grew since stat
        raise DocumentError(f"{name}: larger than the limit of {MAX_BYTES:,} bytes")
    return data


def _decode(data: bytes, name: str) -> str:
    nul = data.find(b"\0")
    if nul >= 0:
        raise DocumentError(f"{name}: binary, not text (a NUL byte at offset {nul})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(f"{name}: binary or not UTF-8 (byte 0x{data[error.start]:02x} at offset "
                            f"{error.start} is not valid UTF-8)") from None


def _notebook_markdown(text: str, name: str) -> str:
    """A notebook's Markdown cells joined by blank lines: line numbers then count lines of that joined text."""
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
        sources = ["".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                   for cell in cells if cell.get("cell_type") == "markdown"]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise DocumentError(f"{name}: not a readable Jupyter notebook ({error})") from None
    if not all(isinstance(s, str) for s in sources):
        raise DocumentError(f"{name}: not a readable Jupyter notebook (a cell's source is not text)")
    return "\n\n".join(s.rstrip("\n") for s in sources)


def read_source(path: str | os.PathLike) -> Source:
    """The document at ``path``, checked to be a regular UTF-8 text file of at most :data:`MAX_BYTES`.

    The format follows the suffix: ``.md``/``.markdown``/``.mdown`` Markdown,
    ``.tex``/``.ltx``/``.sty`` LaTeX, anything else plain text. A Jupyter
    notebook (``.ipynb``) is read as its Markdown cells joined by one blank
    line each; line numbers then count lines of that joined text, not of
    the JSON file.

    >>> read_source("no/such/notes.md")
    Traceback (most recent call last):
    ...
    symgrad.errors.DocumentError: no/such/notes.md: no such file
    """
    name = os.fspath(path)
    if not isinstance(name, str):
        name = os.fsdecode(name)
    path = Path(name)
    text = _decode(_read_bytes(path, name), name)
    if path.suffix.lower() == ".ipynb":
        return Source(name=name, text=_normalise_newlines(_notebook_markdown(text, name)), format="markdown")
    return Source(name=name, text=_normalise_newlines(text), format=_format_of(path))
