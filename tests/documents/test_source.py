"""Reading a document: the format from the suffix or the text, and a clear refusal of every unusable file."""
import json
import os

import pytest

import symgrad.documents.source as source_module
from symgrad.documents.source import MAX_BYTES, Source, read_source, source_from_text
from symgrad.errors import DocumentError, SymgradError


@pytest.mark.parametrize("suffix, expected", [
    (".md", "markdown"), (".markdown", "markdown"), (".mdown", "markdown"), (".MD", "markdown"),
    (".tex", "latex"), (".ltx", "latex"), (".sty", "latex"), (".txt", "text"), ("", "text"),
])
def test_format_follows_the_suffix(tmp_path, suffix, expected):
    path = tmp_path / f"notes{suffix}"
    path.write_text("$x$\n", encoding="utf-8")
    source = read_source(path)
    assert source == Source(name=str(path), text="$x$\n", format=expected)


def test_name_is_kept_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.md").write_text("x", encoding="utf-8")
    assert read_source("a.md").name == "a.md"


def test_a_bom_is_dropped_and_line_ends_normalised(tmp_path):
    path = tmp_path / "win.md"
    path.write_bytes(b"\xef\xbb\xbfline 1\r\nline 2\rline 3\n")
    assert read_source(path).text == "line 1\nline 2\nline 3\n"


def test_missing_file(tmp_path):
    with pytest.raises(DocumentError, match=r"nope\.md: no such file"):
        read_source(tmp_path / "nope.md")


def test_directory(tmp_path):
    with pytest.raises(DocumentError, match="is a directory"):
        read_source(tmp_path)


def test_too_large_names_size_and_limit(tmp_path):
    path = tmp_path / "big.md"
    path.write_bytes(b"a" * (MAX_BYTES + 1))
    with pytest.raises(DocumentError) as caught:
        read_source(path)
    message = str(caught.value)
    assert "big.md" in message and "2,000,001 bytes" in message and "2,000,000" in message


def test_exactly_the_limit_is_read(tmp_path):
    path = tmp_path / "edge.txt"
    path.write_bytes(b"a" * MAX_BYTES)
    assert len(read_source(path).text) == MAX_BYTES


def test_nul_bytes_are_binary(tmp_path):
    path = tmp_path / "image.md"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(DocumentError, match=r"image\.md: binary, not text \(a NUL byte at offset 8\)"):
        read_source(path)


def test_not_utf8_names_the_byte(tmp_path):
    path = tmp_path / "latin1.tex"
    path.write_bytes("caf\u00e9".encode("latin-1"))  # é is 0xe9 in Latin-1, invalid alone in UTF-8
    with pytest.raises(DocumentError, match=r"not UTF-8 \(byte 0xe9 at offset 3"):
        read_source(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "pipe.md"
    os.mkfifo(path)
    with pytest.raises(DocumentError, match="not a regular file"):
        read_source(path)


def test_unreadable(tmp_path, monkeypatch):
    path = tmp_path / "secret.md"
    path.write_text("x", encoding="utf-8")

    def denied(*args, **kwargs):  # as open() fails on a file without read permission (root ignores chmod)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(source_module, "open", denied, raising=False)
    with pytest.raises(DocumentError, match=r"secret\.md: cannot be read \(Permission denied\)"):
        read_source(path)


def test_document_error_is_a_symgrad_error():
    assert issubclass(DocumentError, SymgradError) and issubclass(DocumentError, ValueError)


def test_notebook_markdown_cells_joined(tmp_path):
    notebook = {"cells": [
        {"cell_type": "markdown", "source": ["# Loss\n", "$L = y^2$\n"]},
        {"cell_type": "code", "source": ["x = '$a$'\n"]},
        {"cell_type": "markdown", "source": "where $y = 2$"},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "lecture.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    source = read_source(path)
    assert source.format == "markdown"
    # line 4 of the joined Markdown: cell 1 has two lines, then one blank line between cells
    assert source.text == "# Loss\n$L = y^2$\n\nwhere $y = 2$"


def test_broken_notebook(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DocumentError, match=r"broken\.ipynb: not a readable Jupyter notebook"):
        read_source(path)


@pytest.mark.parametrize("text, expected", [
    ("\\documentclass{article}\n", "latex"),
    ("intro\n\\begin{document}\n$x$\n\\end{document}", "latex"),
    ("\\section{Loss}\n$L$", "latex"),
    ("# Title\n", "markdown"),
    ("text\n$$x$$\n", "markdown"),
    ("<!-- symgrad: reset -->", "markdown"),
    ("```python\nx\n```", "markdown"),
    ("the price is $5\n#hashtag", "text"),
    ("L = y^2", "text"),
])
def test_sniffed_format(text, expected):
    assert source_from_text(text).format == expected


def test_source_from_text_defaults_and_checks():
    source = source_from_text("$x$", format="markdown")
    assert source == Source(name="<text>", text="$x$", format="markdown")
    with pytest.raises(DocumentError, match="unknown format 'md'"):
        source_from_text("x", format="md")
    with pytest.raises(DocumentError, match="expected text"):
        source_from_text(b"x")
