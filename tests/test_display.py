"""Every public result reads well: a few plain lines in a REPL (no memory addresses), rich display in Jupyter."""
from __future__ import annotations

import copy
import html
import os
import pickle
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from matplotlib.figure import Figure

from symgrad import (Graph, Model, chain_rule, check_gradients, grad, losses, matrix, networks, train,
                     update_rules, verify)
from symgrad.graph import backend
from symgrad.symbolic.gradients import Gradients
from symgrad.symbolic.matrix_updates import matrix_update_rules
from symgrad.training import History, plot_histories

w, x, b, y = sp.symbols("w x b y")
#: lecture 000's squared error of a line; by hand dL/dw = 2x(wx + b - y), dL/db = 2(wx + b - y)
LINE = (y - (w * x + b)) ** 2
ADDRESS = re.compile(r"0x[0-9a-f]{6,}|object at")


def readable(text: str, max_lines: int = 8) -> bool:
    """A repr a person reads: a few lines, no memory address, not a dataclass's field dump."""
    return 0 < len(text.splitlines()) <= max_lines and not ADDRESS.search(text) and "=[" not in text


def well_formed(markup: str) -> ET.Element:
    """Rich HTML that a browser and an XML parser both accept (every tag closed)."""
    return ET.fromstring(f"<div>{markup}</div>")


# -- grad on several parameters: a Gradients dict ---------------------------------------------------

def test_grad_of_several_parameters_is_a_dict_that_prints_each_gradient():
    gradients = grad(LINE, [w, b])
    assert isinstance(gradients, dict) and isinstance(gradients, Gradients)
    by_hand = {w: 2 * x * (w * x + b - y), b: 2 * (w * x + b - y)}
    assert set(gradients) == {w, b}
    assert all(sp.expand(gradients[p] - by_hand[p]) == 0 for p in by_hand)
    lines = repr(gradients).splitlines()
    assert [line.split(" = ")[0] for line in lines] == ["dL/dw", "dL/db"] and readable(repr(gradients))
    assert str(gradients) == repr(gradients)
    latex = gradients._repr_latex_()
    assert latex.startswith("$") and latex.endswith("$")
    assert r"\frac{\partial L}{\partial w}" in latex and r"\frac{\partial L}{\partial b}" in latex
    assert latex.count(r"\begin{aligned}") == latex.count(r"\end{aligned}") == 1


def test_gradients_survive_copy_and_pickle_with_their_output():
    gradients = grad(LINE, [w, b])
    for again in (copy.copy(gradients), copy.deepcopy(gradients), pickle.loads(pickle.dumps(gradients))):
        assert type(again) is Gradients and again == gradients and repr(again) == repr(gradients)


def test_matrix_gradients_are_the_same_class_with_their_shapes():
    # softmax regression, 3 inputs, 2 classes: dL/dW1 = (p - y) xᵀ is 2×3, dL/db1 = p - y is 2×1
    gradients = grad(matrix.softmax_classifier(3, 2))
    assert type(gradients) is Gradients and {str(p) for p in gradients} == {"W1", "b1"}
    lines = dict(line.split(" = ", 1) for line in repr(gradients).splitlines())
    assert lines["dL/dW1"].endswith("(2×3)") and lines["dL/db1"].endswith("(2×1)")
    assert "xᵀ" in lines["dL/dW1"]
    assert gradients._repr_latex_().startswith("$") and r"\partial W_{1}" in gradients._repr_latex_()


# -- chain rules and update rules --------------------------------------------------------------------

def test_chain_rules_repr_names_each_parameter_and_the_shared_factors():
    rules = chain_rule(networks.chain(3, loss=losses.half_squared_error))
    text = repr(rules)
    assert readable(text, 1) and text.startswith("ChainRules(")
    # one path per parameter in a chain; shared by 2+ chains: dL/df3, df3/da3 (all four),
    # da3/df2, df2/da2 (b, w1, w2), da2/df1, df1/da1 (b, w1): six
    for param in ("b", "w1", "w2", "w3"):
        assert f"dL/d{param}: 1 path" in text
    assert "6 shared factors" in text
    by_name = {str(p): rule for p, rule in rules.items()}
    assert repr(by_name["w3"]) == "ChainRule(L -> w3, 1 path(s))"
    assert rules._repr_latex_().startswith("$")


def test_update_rules_repr_is_one_descent_step_per_parameter():
    rules = update_rules(LINE, [w, b])
    lines = repr(rules).splitlines()
    assert readable(repr(rules)) and len(lines) == 2
    assert lines[0].startswith("w ← w - η·") and lines[1].startswith("b ← b - η·")
    assert rules._repr_latex_().startswith("$") and r"\leftarrow" in rules._repr_latex_()


def test_matrix_update_rules_show_in_a_repl_and_in_jupyter():
    rules = matrix_update_rules(matrix.softmax_classifier(3, 2))
    text = repr(rules)
    # W ← W - η δ xᵀ (lecture 004), after the delta it uses
    assert readable(text) and "W1 ← W1 - η·δ1·xᵀ" in text and text.splitlines()[0].startswith("δ1 = ")
    latex = rules._repr_latex_()
    assert latex.startswith("$") and latex.endswith("$") and r"\leftarrow" in latex


# -- verdicts and gradient checks -----------------------------------------------------------------

def test_a_wrong_verdict_is_one_line_in_a_repl_and_says_wrong_in_jupyter():
    verdict = verify("dL/dw = -2x(w x + b - y)", LINE)  # the sign of the true derivative flipped
    assert verdict.status == "wrong"
    assert readable(repr(verdict), 1) and repr(verdict).startswith("<Verdict wrong")
    assert "claim=" not in repr(verdict) and "sign" in repr(verdict)
    page = verdict._repr_html_()
    root = well_formed(page)
    assert "wrong" in "".join(root.itertext()) and "correct" in page
    assert html.escape(str(verdict).splitlines()[1].strip()) in page  # the claimed line, as str() has it


def test_a_proved_verdict_shows_its_status():
    verdict = verify("dL/db = 2(w x + b - y)", LINE)
    assert verdict.status == "proved" and "<Verdict proved" in repr(verdict)
    assert "proved" in "".join(well_formed(verdict._repr_html_()).itertext())


def test_gradient_check_repr_is_one_line_with_the_result():
    result = check_gradients(LINE, {"w": 0.5, "b": -1.0, "x": 2.0, "y": 3.0})
    text = repr(result)
    assert readable(text, 1) and "all agree" in text and "w" in text
    assert "all agree" in "".join(well_formed(result._repr_html_()).itertext())


# -- the training history -----------------------------------------------------------------------------

SMALLEST = Model.from_expr((y - w * x) ** 2, inputs=[x, y])
DATA = {"x": [10.0, 2.0, 3.5, 1.0], "y": [10.1, 1.9, 3.4, 1.1]}


def test_a_diverged_history_shows_its_message_with_the_plot():
    history = train(SMALLEST, DATA, {"w": 0.0}, lr=0.05, epochs=50)
    assert history.diverged
    page = history._repr_html_()
    assert "<svg" in page and html.escape(history.message) in page and "diverged" in page
    assert readable(repr(history), 2)


def test_a_converged_history_shows_its_plot_and_losses():
    history = train(SMALLEST, DATA, {"w": 0.0}, lr=0.01, epochs=10)
    page = history._repr_html_()
    assert "<svg" in page and f"{history.loss[0]:.4g}" in page and "diverged" not in page


def test_comparison_plot_has_one_line_per_learning_rate():
    histories = [train(SMALLEST, DATA, {"w": 0.0}, lr=lr, epochs=20) for lr in (1e-4, 1e-2, 1e-1)]
    axes = plot_histories(histories, ax=Figure().subplots())
    lines = axes.get_lines()
    assert len(lines) == 3
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [h.label() for h in histories]
    # every line is its history's finite losses, epoch by epoch; the diverged one stops early
    for line, history in zip(lines, histories):
        finite = [v for v in history.loss if np.isfinite(v)]
        assert line.get_ydata().tolist() == finite
    assert histories[2].diverged and len(lines[2].get_xdata()) < 21


def test_plot_without_a_path_returns_the_axes_of_a_pyplot_figure():
    history = History("gd", 0.1, 4, loss=[4.0, 1.0, 0.25], params=[{}, {}, {}])
    axes = history.plot()
    try:
        assert len(axes.get_lines()) == 1 and axes.get_yscale() == "linear"  # spans 16x, under 100x
    finally:
        plt.close(axes.figure)


def test_the_plot_file_honours_the_umask(tmp_path):
    history = History("gd", 0.1, 4, loss=[4.0, 1.0, 0.25], params=[{}, {}, {}])
    previous = os.umask(0o022)
    try:
        history.plot(tmp_path / "loss.svg")
    finally:
        os.umask(previous)
    assert (tmp_path / "loss.svg").stat().st_mode & 0o777 == 0o644
    assert ET.parse(tmp_path / "loss.svg").getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_progress_true_draws_tqdm_bar_and_false_draws_nothing(capsys):
    train(SMALLEST, DATA, {"w": 0.0}, lr=0.01, epochs=7, progress=True)
    err = capsys.readouterr().err
    assert "7/7" in err and "epoch/s" in err and "100%" in err
    train(SMALLEST, DATA, {"w": 0.0}, lr=0.01, epochs=7, progress=False)
    assert capsys.readouterr().err == ""


# -- the graph ----------------------------------------------------------------------------------------

def test_graph_svg_without_dot_uses_the_embedded_renderer(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name, *args, **kwargs: None)
    monkeypatch.delenv(backend.RENDERER_VARIABLE, raising=False)
    assert not backend.dot_available()
    graph = Graph.from_expr(LINE, inputs=[x, y])
    svg = graph._repr_svg_()
    assert svg is not None and "<svg" in svg and "Traceback" not in svg
    assert readable(repr(graph), 1)


# -- the cost of importing symgrad --------------------------------------------------------------------

def test_importing_symgrad_does_not_import_matplotlib_or_tqdm():
    code = "import sys, symgrad; print(sorted(m for m in ('matplotlib', 'tqdm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
