"""Hostile text at every entry point that takes text: the Python API and the command line.

None of it may execute anything: each string is refused with an error
(exit status 2 on the command line), no file appears, and Python's
``eval``/``exec`` are never reached while the text is handled.
"""
from __future__ import annotations

import builtins

import pytest
from sympy import symbols

from symgrad import parse, parse_latex, verify
from symgrad.errors import ParseError
from symgrad.cli import main
from test_parsing import hostile_strings

w, x, y = symbols("w x y")

# a sample: the full list runs through parse() in test_parsing.py
CASES = [text for text in hostile_strings(__import__("pathlib").Path("/nonexistent/pwned"))
         if len(text) < 3000][:40]


@pytest.fixture
def no_eval(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("user text reached eval/exec")
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)


@pytest.mark.parametrize("text", CASES, ids=lambda t: t[:30])
def test_python_entry_points_refuse(text, tmp_path, no_eval):
    for function in (parse, parse_latex):
        with pytest.raises(ParseError):
            function(text)
    with pytest.raises(ParseError):
        verify(text, (y - w * x) ** 2, w)


def status(argv) -> int:
    """The command's exit status, whether it returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as done:
        return done.code


@pytest.mark.parametrize("text", CASES, ids=lambda t: t[:30])
def test_command_line_refuses_with_status_2(text, tmp_path, capsys, no_eval):
    image = tmp_path / "graph.svg"
    assert status(["derive", text]) == 2
    assert status(["verify", "--loss", "(y - w*x)^2", "--wrt", "w", "--claim", text]) == 2
    assert status(["verify", "--loss", text, "--wrt", "w", "--claim", "x"]) == 2
    assert status(["graph", text, "-o", str(image)]) == 2
    assert status(["derive", "(y - w*x)^2", "--wrt", text]) == 2
    assert not image.exists()
    assert not list(tmp_path.iterdir())
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err
