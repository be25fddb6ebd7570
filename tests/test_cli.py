"""The `symgrad` command: output, exit statuses and errors."""
from __future__ import annotations

import json
import math

import numpy as np

from symgrad import lectures
from symgrad.check import check_gradients
from symgrad.cli import main


def test_lecture_writes_the_report_and_lists_wrong_claims(capsys, tmp_path):
    assert main(["lecture", "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "checked from their text" in out and "ascent instead of descent" in out
    assert "✗ examples/lectures/002-perceptrons-backprop.md:" in out
    page = (tmp_path / "report" / "index.html").read_text()
    for example in ("mse-linear", "sigmoid-perceptron", "chain3", "max-gate", "least-squares"):
        assert f'id="{example}"' in page
    assert "<math" in page and "Which slide claims hold" in page
    # every image the page shows is inside it (the page is one file), and no image folder is written
    import re
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= 9 and all(src.startswith("data:image/svg+xml;base64,") for src in images)
    assert not (tmp_path / "report" / "images").exists()
    assert page.count("<svg") >= 1 and "training-chart" in page  # the training chart is inline
    assert "id='training'" in page and "lower the learning rate" in page


def test_lecture_text_prints_every_example(capsys):
    assert main(["lecture", "--text"]) == 0
    out = capsys.readouterr().out
    assert "dL/dw = 2x(b + w·x - y)" in out  # lecture 000, closed form
    assert "δᵢ = yᵢ - σᵢ" in out  # lecture 001's perceptron rule
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
    for command in ("lecture", "models", "derive", "verify", "graph", "check", "gradcheck", "codegen", "train"):
        try:
            main([command, "--help"])
        except SystemExit as done:
            assert done.code == 0
        assert "example: symgrad " + command in capsys.readouterr().out


def test_check_codegen_and_train_commands(tmp_path, capsys):
    assert main(["gradcheck", "chain3", "--json"]) == 0
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


# -- the lectures' matrix examples ---------------------------------------------------------------

MATRIX_EXAMPLES = ("dense-3x3", "softmax-classifier", "mlp")


def test_models_lists_the_matrix_examples(capsys):
    assert main(["models"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    for name in MATRIX_EXAMPLES:
        assert lines[name].endswith("[matrices]")
    assert not lines["chain3"].endswith("[matrices]")
    assert main(["models", "--json"]) == 0
    kinds = {m["name"]: m["kind"] for m in json.loads(capsys.readouterr().out)}
    assert {name: kinds[name] for name in MATRIX_EXAMPLES} == dict.fromkeys(MATRIX_EXAMPLES, "matrix")
    assert kinds["chain3"] == "scalar"


def test_derive_a_matrix_model_prints_its_backprop_rules(capsys):
    assert main(["derive", "mlp"]) == 0
    out = capsys.readouterr().out
    # the lectures' recurrence: δ2 = p - y after softmax and cross-entropy, δ1 = (W2ᵀ δ2) ⊙ σ'(z1)
    assert "δ2 = p - y" in out and "δ1 = (W2ᵀ·δ2) ⊙ σ'(z1)" in out
    assert "dL/dW1 = δ1·xᵀ" in out and "dL/dW2 = δ2·h1ᵀ" in out and "(4×3)" in out
    assert main(["derive", "softmax-classifier", "--form", "closed", "--wrt", "W1"]) == 0
    assert capsys.readouterr().out.strip() == "dL/dW1 = (softmax(W1·x + b1) - y)·xᵀ"
    assert main(["derive", "dense-3x3", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["deltas"] == {"δ1": "(ŷ - y) ⊙ σ'(z1)"}
    assert payload["gradients"] == {"W1": "δ1·xᵀ", "b1": "δ1"}
    assert main(["derive", "dense-3x3", "--latex"]) == 0
    assert r"\odot" in capsys.readouterr().out


def test_derive_update_rule_and_chain_rule_of_a_matrix_model(capsys):
    assert main(["derive", "softmax-classifier", "--update-rule", "--lr", "alpha"]) == 0
    out = capsys.readouterr().out
    assert "W1 ← W1 - α·δ1·xᵀ" in out and "b1 ← b1 - α·δ1" in out
    assert main(["derive", "mlp", "--update-rule", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["W2"] == "W2 - η·δ2·h1ᵀ"
    assert main(["derive", "mlp", "--chain-rule"]) == 2
    err = capsys.readouterr().err
    assert "mlp is a network of matrices" in err and "symgrad derive mlp" in err


def test_graph_of_a_matrix_example_with_the_slides_values(tmp_path, capsys):
    image = tmp_path / "dense.svg"
    assert main(["graph", "dense-3x3", "--example-values", "-o", str(image), "--highlight", "W1",
                 "--renderer", "embedded"]) == 0
    svg = image.read_text()
    assert "W1" in svg and "3×3" in svg and "15, 24, 29" in svg  # W x + b of lecture 004
    # the same values on the command line: a vector 1,3,2 and a matrix row by row
    again = tmp_path / "again.svg"
    assert main(["graph", "dense-3x3", "--at", "x=1,3,2", "W1=2,4,2;1,3,7;0,7,3", "b1=-3,0,2", "y=0,1,0",
                 "-o", str(again), "--renderer", "embedded"]) == 0
    assert "15, 24, 29" in again.read_text()
    capsys.readouterr()
    assert main(["graph", "dense-3x3", "--at", "x=1,3", "W1=2,4;1", "-o", str(tmp_path / "bad.svg")]) == 2
    assert "rows of a matrix must all have the same length" in capsys.readouterr().err
    assert main(["graph", "mlp", "--example-values", "--edge-labels", "numeric", "-o", str(tmp_path / "n.svg")]) == 2
    assert "Jacobian" in capsys.readouterr().err


def test_check_a_matrix_example(capsys):
    assert main(["gradcheck", "softmax-classifier", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["ok"] and table["max_relative_error"] < 1e-6
    # network #1 of lecture 004: dL/db = p - y with p = softmax(3, -1) and y = (1, 0)
    p0 = 1 / (1 + math.exp(-4))
    np.testing.assert_allclose(table["gradients"]["b1"]["graph"], [[p0 - 1], [1 - p0]], rtol=1e-9)
    for name in MATRIX_EXAMPLES:
        assert main(["gradcheck", name]) == 0
        out = capsys.readouterr().out
        assert "max|Δ|" in out and "all agree" in out
    # a target that is no distribution breaks p - y: reported, with exit status 1
    assert main(["gradcheck", "softmax-classifier", "--at", "y=1,1"]) == 1
    assert "DISAGREE" in capsys.readouterr().out


def test_codegen_and_train_of_a_matrix_model(tmp_path, capsys):
    module = tmp_path / "mlp_grad.py"
    assert main(["codegen", "mlp", "-o", str(module)]) == 0
    namespace: dict = {}
    exec(module.read_text(), namespace)
    values = {k: np.asarray(v, dtype=float) for k, v in lectures.example("mlp").values.items()}
    loss, grads = namespace["loss_and_grad"](values["x"].reshape(1, -1), values["y"].reshape(1, -1),
                                             values["W1"], values["b1"], values["W2"], values["b2"])
    table = check_gradients(lectures.model("mlp"), lectures.example("mlp").values)
    np.testing.assert_allclose(grads["W1"], table.values["W1"]["finite differences"], atol=1e-8)
    assert main(["codegen", "mlp", "-o", str(module), "--reduction", "sum"]) == 2
    assert main(["train", "mlp", "--columns", "x=1"]) == 2
    assert "network of matrices" in capsys.readouterr().err


def test_lecture_text_and_report_sections_of_the_matrix_examples(capsys, tmp_path):
    assert main(["lecture", "--text"]) == 0
    out = capsys.readouterr().out
    assert "mlp: The [3, 4, 2] network" in out and "W1 ← W1 - η·δ1·xᵀ" in out
    from symgrad.lectures.report import _derivation
    from symgrad.lectures.report_graphs import graph_section

    for name in MATRIX_EXAMPLES:
        example = lectures.example(name)
        page = "\n".join(_derivation(example).parts)
        assert "Backpropagation by the layer rules" in page and "<math" in page and "Chain rule" not in page
        assert "<code>\\" not in page  # every formula became MathML
        html_part, images = graph_section(example, tmp_path / "images")
        assert images == [tmp_path / "images" / f"{name}.svg"] and images[0].stat().st_size > 500
        assert "max|Δ|" in html_part and "all agree" in html_part and "disagree" not in html_part


def test_train_init_takes_numbers_only(capsys):
    data = ["--columns", "x=1,2", "y=1,2"]
    assert main(["train", "(y - w*x)^2", "--inputs", "x", "y", *data, "--init", "w=1,2"]) == 2
    assert "--init w=1,2: '1,2' is not a number" in capsys.readouterr().err


def test_json_output_is_strict_even_when_training_overflows(capsys):
    def refuse(name):
        raise AssertionError(f"non-standard JSON literal {name}")
    # a learning rate this large overflows within a few epochs
    assert main(["train", "(y - w*x)^2", "--inputs", "x", "y", "--columns", "x=10,2,3.5,1",
                 "y=10.1,1.9,3.4,1.1", "--lr", "10", "--epochs", "400", "--json"]) == 1
    history = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert history["diverged"] is True
