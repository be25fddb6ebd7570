"""Multi-stage models on the command line: stage text (``z = w*x + b; p = sigmoid(z); L = ...``) and model files."""
from __future__ import annotations

import re

import json

import pytest

from symgrad.cli import main

LOGISTIC = "z = w*x + b; p = sigmoid(z); L = -(y*log(p) + (1-y)*log(1-p))"


def status(argv) -> int:
    try:
        return main(argv)
    except SystemExit as done:
        return done.code


def test_derive_a_staged_logistic_regression(capsys):
    assert status(["derive", LOGISTIC, "--inputs", "x", "y", "--json"]) == 0
    grads = json.loads(capsys.readouterr().out)
    # by hand: dL/dp = -(y/p - (1-y)/(1-p)), dp/dz = p(1-p) -> dL/dz = p - y; dz/dw = x, dz/db = 1
    assert set(grads) == {"w", "b"}
    assert grads["b"].replace(" ", "") == "p-y"
    assert grads["w"].replace(" ", "") in ("x*(p-y)", "(p-y)*x")


def test_the_chain_rule_names_the_stages(capsys):
    assert status(["derive", LOGISTIC, "--inputs", "x", "y", "--chain-rule"]) == 0
    out = capsys.readouterr().out
    assert "dL/dw = dL/dp · dp/dz · dz/dw" in out
    assert "dL/db = dL/dp · dp/dz · dz/db" in out


def test_the_graph_of_a_staged_model_draws_its_stages(tmp_path):
    image = tmp_path / "graph.svg"
    assert status(["graph", LOGISTIC, "--inputs", "x", "y", "-o", str(image),
                   "--renderer", "embedded"]) == 0
    svg = image.read_text()
    for stage in "zpL":  # a stage's name is on its node or, for a stage feeding several, on its edges
        assert re.search(rf">\s*{stage}<", svg), stage


def test_a_model_file_one_stage_per_line(tmp_path, capsys):
    path = tmp_path / "model.txt"
    path.write_text("# a linear unit with a squared error\nyhat = w*x + b\n\nL = (y - yhat)^2\n",
                    encoding="utf-8")
    assert status(["derive", str(path), "--inputs", "x", "y", "--json"]) == 0
    grads = json.loads(capsys.readouterr().out)
    # by hand: dL/dyhat = -2(y - yhat); dyhat/db = 1
    assert grads["b"].replace(" ", "") in ("2*yhat-2*y", "-2*y+2*yhat", "2*(yhat-y)", "-2*(y-yhat)")


def test_a_one_stage_equation_is_a_model(capsys):
    assert status(["derive", "L = (y - w*x)^2", "--inputs", "x", "y", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"w"}


@pytest.mark.parametrize("text, message", [
    ("z = w*x; z = 2*z", "z is defined twice"),
    ("p = sigmoid(z); z = w*x", "p uses z before it is defined"),
    ("z = w*x;; L = z^2", "empty stage"),
    ("z = w*x; z^2", "not an equation"),
    ("z = w*x; 2 = z", "one name"),
])
def test_bad_stages_are_usage_errors(text, message, capsys):
    assert status(["derive", text, "--inputs", "x"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_binary_model_file_is_refused(tmp_path, capsys):
    path = tmp_path / "model.bin"
    path.write_bytes(b"\xff\xfe\x00z")
    assert status(["derive", str(path)]) == 2
    assert "cannot read model file" in capsys.readouterr().err
