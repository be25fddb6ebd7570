"""The `symgrad` command: output, exit statuses and errors."""
from __future__ import annotations

import json

from symgrad.cli import main


def test_lecture_writes_the_report_and_lists_wrong_claims(capsys, tmp_path):
    assert main(["lecture", "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "are wrong:" in out and "ascent instead of descent" in out
    page = (tmp_path / "report" / "index.html").read_text()
    for example in ("mse-linear", "sigmoid-perceptron", "chain3", "max-gate", "least-squares"):
        assert f'id="{example}"' in page
    assert "<math" in page and "Which slide claims hold" in page
    # every image the page shows was written beside it
    import re
    images = re.findall(r'<img src="(images/[^"]+)"', page)
    assert {"images/chain3.svg", "images/max-gate.svg", "images/training-lr-0.1.svg"} <= set(images)
    assert all((tmp_path / "report" / image).stat().st_size > 500 for image in images)
    assert "id='training'" in page and "lower the learning rate" in page


def test_lecture_text_prints_every_example(capsys):
    assert main(["lecture", "--text"]) == 0
    out = capsys.readouterr().out
    assert "dL/dw = 2x(b + w·x - y)" in out  # lecture 000, closed form
    assert "δ_i = y_i - σ_i" in out  # lecture 001's perceptron rule
    assert "dL/dw1 = dL/df3 · df3/da3 · da3/df2 · df2/da2 · da2/df1 · df1/da1 · da1/dw1" in out


def test_derive_update_rule_and_json(capsys):
    assert main(["derive", "perceptron", "--update-rule"]) == 0
    assert capsys.readouterr().out.strip() == "w ← w - η·x(w·x - y)"
    assert main(["derive", "chain3", "--wrt", "w3", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"w3"}


def test_models_lists_names(capsys):
    assert main(["models", "--json"]) == 0
    names = {m["name"] for m in json.loads(capsys.readouterr().out)}
    assert {"mse-linear", "sigmoid-perceptron", "chain3", "max-gate"} <= names


def test_bad_input_exits_2_with_message_on_stderr(capsys):
    assert main(["derive", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "no model named 'no-such-model' (known: mse-linear" in err
    assert main(["derive", "chain3", "--wrt", "w9"]) == 2
    assert "'w9' is not a symbol of this model" in capsys.readouterr().err


def test_verify_exit_status_says_whether_the_claim_holds(capsys):
    loss = "(y - (w*x + b))^2"
    assert main(["verify", "--loss", loss, "--wrt", "w", "--claim", "2x(wx + b - y)"]) == 0
    assert "holds" in capsys.readouterr().out
    assert main(["verify", "--loss", loss, "--wrt", "w", "--claim", "x(wx + b - y)"]) == 1
    assert "missing factor 2" in capsys.readouterr().out
    assert main(["verify", "--loss", loss, "--claim", r"\frac{\partial L}{\partial w} = 2x(wx + b - y)",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["verify", "--loss", "chain3", "--claim", "w3 <- w3 + eta*(f3 - y)*f3*(1 - f3)*f2"]) == 1
    assert "ascent instead of descent" in capsys.readouterr().out


def test_graph_command_draws_an_svg(tmp_path, capsys):
    image = tmp_path / "chain3.svg"
    assert main(["graph", "chain3", "--example-values", "-o", str(image), "--highlight", "w1",
                 "--edge-labels", "symbolic", "--renderer", "embedded"]) == 0
    svg = image.read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE"))
    assert "w1" in svg and "f3" in svg
    assert main(["graph", "(y - w*x)^2", "--at", "x=2", "y=1", "-o", str(tmp_path / "g.svg")]) == 2
    assert "missing value for parameter w" in capsys.readouterr().err


def test_every_command_has_help_with_an_example(capsys):
    for command in ("lecture", "models", "derive", "verify", "graph", "check", "codegen", "train"):
        try:
            main([command, "--help"])
        except SystemExit as done:
            assert done.code == 0
        assert "example: symgrad " + command in capsys.readouterr().out


def test_check_codegen_and_train_commands(tmp_path, capsys):
    assert main(["check", "chain3", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["ok"] and table["max_relative_error"] < 1e-6
    module = tmp_path / "chain3_grad.py"
    assert main(["codegen", "chain3", "-o", str(module)]) == 0
    assert "def loss_and_grad" in module.read_text()
    assert capsys.readouterr().out.strip() == str(module)
    data = ["--columns", "x=10,2,3.5,1", "y=10.1,1.9,3.4,1.1"]
    # lecture 002's smallest perceptron: converges to sum(x*y)/sum(x*x) with a small step
    assert main(["train", "(y - w*x)^2", "--inputs", "x", "y", *data, "--lr", "0.01",
                 "--epochs", "60", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    xs, ys = [10, 2, 3.5, 1], [10.1, 1.9, 3.4, 1.1]
    least_squares_w = sum(a * b for a, b in zip(xs, ys)) / sum(a * a for a in xs)
    assert abs(history["final"]["w"] - least_squares_w) < 1e-6
    # and diverges, reported with exit status 1, with a step ten times larger
    assert main(["train", "(y - w*x)^2", "--inputs", "x", "y", *data, "--lr", "0.1"]) == 1
    assert "lower the learning rate" in capsys.readouterr().out
