"""``symgrad check FILE``: the terminal summary, the JSON tools consume, the annotated HTML, exit statuses."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from symgrad.cli import main
from symgrad.documents import checker, check_document
from symgrad.documents.source import MAX_BYTES

NOTE = "\n".join([
    "# Notes",
    r"$$L = \frac12 (y - w x)^2$$",
    r"$$\frac{\partial L}{\partial w} = -(y - wx) x$$",
    r"$$\frac{\partial L}{\partial w} = -\eta (y - wx) x$$",
    "and a set $\\{x_i, y_i\\}$.",
])


@pytest.fixture
def note(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(NOTE, encoding="utf-8")
    return path


def test_the_terminal_names_the_wrong_claim_with_file_line_and_diagnosis(capsys, note):
    assert main(["check", str(note)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"✗ {note}:4  ") and "η" in out[0]
    assert out[-1] == f"{note}: 1 hold, 1 wrong, 1 unchecked (1 of them not claims), 1 definitions"


def test_json_has_exactly_the_documented_shape(capsys, note):
    assert main(["check", str(note), "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    (entry,) = payload["files"]
    assert set(entry) == {"file", "findings", "summary"}
    assert entry["summary"] == {"holds": 1, "wrong": 1, "unchecked": 1, "defined": 1}
    keys = {"line", "end_line", "source", "kind", "verdict", "reason", "correction", "counterexample"}
    assert all(set(f) == keys for f in entry["findings"])
    assert [(f["line"], f["kind"], f["verdict"]) for f in entry["findings"]] == [
        (2, "definition", "defined"), (3, "derivative", "holds"), (4, "derivative", "wrong"), (5, "other", "unchecked")]
    wrong = entry["findings"][2]
    assert wrong["correction"] and set(wrong["counterexample"]) == {"point", "claimed", "correct"}


def test_a_document_without_mistakes_exits_0_and_html_marks_claims_in_place(capsys, tmp_path):
    path = tmp_path / "fine.md"
    path.write_text(NOTE.split("\n$$\\frac{\\partial L}{\\partial w} = -\\eta")[0], encoding="utf-8")
    assert main(["check", str(path), "--html", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "fine.md.html").read_text(encoding="utf-8")
    assert "✓" in page and "<math" in page and page.count('class="note holds"') == 1


@pytest.mark.parametrize("content, words", [
    (b"\x00\x01binary", "binary"),
    (b"\xff\xfe not utf-8 \xe9", "UTF-8"),
    (b"x" * (MAX_BYTES + 1), "larger than the limit"),
])
def test_unusable_files_exit_2_with_a_one_line_reason(capsys, tmp_path, content, words):
    path = tmp_path / "bad.md"
    path.write_bytes(content)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_missing_file_or_a_model_name_says_what_to_do(capsys, tmp_path):
    assert main(["check", str(tmp_path / "nope.md")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["check", "chain3"]) == 2
    assert "symgrad gradcheck" in capsys.readouterr().err


def test_hostile_text_is_never_evaluated_and_a_slow_block_times_out_alone(monkeypatch):
    text = "$$__import__('os').system('echo hi') = 1$$\n$$L = w^2$$\n$$\\frac{dL}{dw} = 2w$$"
    report = check_document(text, format="markdown")
    assert [f.verdict for f in report.findings] == ["unchecked", "defined", "holds"]

    original = checker.Reader.statement

    def slow(self, statement, source=None):  # a block that never finishes on its own
        if "999" in statement.text:
            while True:
                pass
        return original(self, statement, source)

    monkeypatch.setattr(checker.Reader, "statement", slow)
    monkeypatch.setattr(checker, "BLOCK_SECONDS", 0.5)
    report = check_document("$$x = 999$$\n$$L = w^2$$\n$$\\frac{dL}{dw} = 2w$$", format="markdown")
    assert [f.verdict for f in report.findings] == ["unchecked", "defined", "holds"]
    assert "ran out of time" in report.findings[0].reason


def test_an_unclosed_block_is_reported_and_the_rest_is_read():
    report = check_document("$$L = w^2\n\n$$\\frac{dL}{dw} = 2w$$", format="markdown")
    assert report.findings[0].verdict == "unchecked" and "never closes" in report.findings[0].reason
    assert report.findings[-1].verdict in ("holds", "unchecked")


def test_a_latex_problem_set_renders_without_its_markup(tmp_path):
    problem_set = Path(__file__).parent / "fixtures" / "problem_set.tex"
    assert main(["check", str(problem_set), "--html", str(tmp_path)]) == 1  # it has planted mistakes
    page = (tmp_path / "problem_set.tex.html").read_text(encoding="utf-8")
    assert "\\label" not in page and "\\nonumber" not in page and "\\begin{align" not in page
    assert page.count('class="note wrong"') >= 5 and "<math" in page


def test_a_folder_holds_documents_and_dash_is_standard_input(capsys, monkeypatch, tmp_path, note):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.tex").write_text(r"\[ M = w^3 \] \[ \frac{dM}{dw} = 3w^2 \]", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")  # not a document: left alone
    assert main(["check", str(tmp_path)]) == 1  # notes.md has the η mistake
    out = capsys.readouterr().out
    assert "notes.md: 1 hold, 1 wrong" in out and "more.tex: 1 hold, 0 wrong" in out and "image" not in out
    monkeypatch.setattr("sys.stdin", io.StringIO("$$L = w^2$$\n$$\\frac{dL}{dw} = 3w$$\n"))
    assert main(["check", "-"]) == 1
    assert "<stdin>:2" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["check", str(empty)]) == 2
    assert "no Markdown, LaTeX or notebook file" in capsys.readouterr().err
