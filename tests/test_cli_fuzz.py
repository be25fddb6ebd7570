"""Fuzz every command of the `symgrad` command line with hostile input: no traceback, no hang, no code run.

Hypothesis builds command lines from random text and unicode, token soups
of formula syntax, huge and non-finite numbers, deep nesting, odd flags and
odd paths. For each one, the documented contract of ``symgrad --help`` and
:func:`symgrad.cli.main` must hold: the exit status is 0, 1, 2 or 3 (3 is
``verify``'s "observed, not proved"), never an uncaught exception or a
traceback; a status of 2 comes with an ``error:`` line naming the problem;
each call takes under ``SECONDS`` and raises the peak memory by under
``MEGABYTES``. Examples are derandomised, so a failure reproduces.
"""
from __future__ import annotations

import io
import os
import resource
import signal
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symgrad import lectures
from symgrad.cli import main

#: bounds per call: generous for a small CI machine, far below a hang or a runaway allocation
SECONDS, MEGABYTES = 5.0, 1024
DOCUMENTED = {0, 1, 2, 3}
#: examples per command (scaled by SCALE): the whole file runs in about 20 s
SCALE = int(os.environ.get("SYMGRAD_FUZZ_SCALE", "2"))  # SYMGRAD_FUZZ_EXPLORE=1 SYMGRAD_FUZZ_SCALE=20: a longer hunt
FUZZ = settings(max_examples=60 * SCALE, deadline=None, derandomize=not os.environ.get("SYMGRAD_FUZZ_EXPLORE"),
                database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# -- what hostile input is made of -------------------------------------------------------------------

TOKENS = ["w", "x", "y", "b", "w1", "a3", "L", "sigma", "sigmoid(", "relu(", "exp(", "log(", "tanh(",
          "softmax(", "max(", "min(", "sqrt(", "(", ")", "+", "-", "*", "/", "^", "**", "2", "0.5", "-3",
          "1e308", "9" * 60, "1e-320", "nan", "inf", "oo", "zoo", "I", "E", "pi", "=", "<-", ":=", "dL/dw",
          "∂L/∂w", "\\frac{", "}", "{", "\\sigma", "\\cdot", "σ", "ŷ", "η", "·", "−", "²", " ", ",", ";", "|",
          "!", "@", "[", "]", "__", "_", "lambda", "import", ".", "'", '"', "\\", "\n", "\t", "\x00", "x_i",
          "Sum(", "#", "$", "%", "&", "~", "`", "\u202e", "\ufeff", "😀"]
HOSTILE = ["(" * 400 + "w" + ")" * 400, "-" * 3000 + "w", "^".join(["w"] * 500), "w" * 10_000,
           "\\frac{" * 200 + "w" + "}{2}" * 200, "9^9^9^9", "10**10**10", "2^(10^9)", "1e308*10", "1e999999",
           "(w*x)^(10^6)", "exp(exp(exp(1000*w)))", "w/0", "log(0*w)", "", " ", "\x00", "--", "-h",
           "dL/dw = ", "w <- ", "= =",
           # 40 nested sums; 200 (which the parser accepts) took 2.5 s in derive and 11 s in verify: reported
           "sum_i " * 40 + "w"]
NAMES = sorted(lectures.EXAMPLES)
FLAGS = ["--json", "--latex", "--update-rule", "--chain-rule", "--form", "closed", "--form=stages", "--lr",
         "--wrt", "--inputs", "--at", "--seed", "--format", "svg", "--renderer", "embedded", "--highlight",
         "--edge-labels", "numeric", "--example-values", "--reduction", "sum", "--method", "sgd",
         "--batch-size", "0", "--epochs", "3", "--init", "--columns", "--unknown", "-o", "-", "--", "="]

#: well-formed models, some undefined at ordinary points: hostile values must get past the parser
PLAUSIBLE = ["(y - w*x)^2", "(y - (w*x + b))^2", "sigmoid(w*x + b)", "log(1 + exp(w*x)) - y*w*x",
             "relu(w*x) - y", "w^x", "sqrt(w*x)", "log(w) + y", "exp(w*x) - y", "max(w*x, y)", "(y - w*x)^2/0",
             "tanh(w1*tanh(w*x)) - y", "w^(10^6) + y"]
garbage = st.one_of(st.lists(st.sampled_from(TOKENS), max_size=24).map("".join), st.text(max_size=40),
                    st.sampled_from(HOSTILE))
models = st.one_of(st.sampled_from(NAMES), st.sampled_from(PLAUSIBLE), st.sampled_from(PLAUSIBLE), garbage)
expressions = st.one_of(st.sampled_from(PLAUSIBLE), garbage, st.sampled_from(NAMES))
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.sampled_from(["1e308", "-1e308", "1e-320", "nan", "inf", "-inf", "9" * 400, "1e999", "0x10",
                     "1_000", "½", "١", "1,2;3", "1;2", ",", ";", ""]),
    st.text(max_size=8),
)
names = st.one_of(st.sampled_from(["w", "x", "y", "b", "w1", "W1", "X", "Y", "eta", "alpha"]),
                  st.sampled_from(["w", "x", "y", "b"]), st.text(max_size=6))
ordinary = st.floats(-10, 10).map(repr)
values = st.one_of(ordinary, numbers)
pairs = st.one_of(
    st.lists(st.tuples(names, values).map("=".join), min_size=1, max_size=4),
    # values for symbols the plausible models have, hostile or ordinary
    st.lists(st.tuples(st.sampled_from("wxy"), values), min_size=1, max_size=3, unique_by=lambda t: t[0])
    .map(lambda t: ["=".join(pair) for pair in t]),
    st.lists(st.tuples(st.sampled_from("wxy"), ordinary), min_size=1, max_size=3, unique_by=lambda t: t[0])
    .map(lambda t: ["=".join(pair) for pair in t]),
)
series = st.lists(values, min_size=1, max_size=4).map(",".join)


def two_columns(first, second) -> st.SearchStrategy[list[str]]:
    """``x=...`` and ``y=...`` of one length, drawn from two strategies of numbers."""
    return st.integers(1, 5).flatmap(lambda n: st.tuples(st.lists(first, min_size=n, max_size=n),
                                                         st.lists(second, min_size=n, max_size=n))).map(
        lambda t: ["x=" + ",".join(t[0]), "y=" + ",".join(t[1])])


columns = st.one_of(
    st.lists(st.tuples(names, series).map("=".join), min_size=1, max_size=3),
    st.tuples(series, series).map(lambda t: [f"x={t[0]}", f"y={t[1]}"]),
    two_columns(ordinary, values), two_columns(ordinary, ordinary), two_columns(ordinary, ordinary),
)
odd_flags = st.one_of(st.just([]), st.just([]), st.just([]), st.lists(st.sampled_from(FLAGS), max_size=3))
segments = st.text(min_size=1, max_size=10).filter(lambda s: s not in (".", "..") and "pwned" not in s)
paths = st.tuples(st.lists(segments, max_size=2), st.sampled_from([".py", ".svg", ".png", ".pdf", "", ".SVG"]))


def paths_mostly(suffix: str) -> st.SearchStrategy:
    """Mostly a plain file name with the right suffix (so the command gets to write), else any path."""
    return st.one_of(st.just(([], suffix)), st.just(([], suffix)), paths)


def optional(flag: str, values) -> st.SearchStrategy[list[str]]:
    """``[]`` or ``[flag, *values]``."""
    return st.one_of(st.just([]), values.map(lambda v: [flag, *v] if isinstance(v, list) else [flag, v]))


# -- calling the command line under the contract -------------------------------------------------------

def peak_megabytes() -> float:
    # ru_maxrss is in kB on Linux (bytes on macOS, where this bound is then only stricter)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Hung(BaseException):
    """A call still running long after the time bound (a BaseException: the command must not catch it)."""


def stop_hung_call(signum, frame):
    raise Hung


def call(argv: list[str]) -> tuple[int, str, str]:
    """Run ``symgrad argv`` in this process and check the contract; return status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    memory, start = peak_megabytes(), time.perf_counter()
    previous = signal.signal(signal.SIGALRM, stop_hung_call)
    signal.setitimer(signal.ITIMER_REAL, 4 * SECONDS)  # a hang fails the test instead of stalling it
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as done:  # argparse: --help (0) or a usage error (2)
                status = done.code
    except Hung:
        pytest.fail(f"symgrad {argv!r} still ran after {4 * SECONDS:g} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    elapsed, grown = time.perf_counter() - start, peak_megabytes() - memory
    stderr = err.getvalue()
    assert status in DOCUMENTED, (argv, status, stderr)
    assert "Traceback" not in stderr, (argv, stderr)
    assert elapsed < SECONDS, (argv, f"{elapsed:.1f} s")
    assert grown < MEGABYTES, (argv, f"{grown:.0f} MB more")
    if status == 2:
        lines = stderr.rstrip("\n").split("\n")  # (a form feed in user text is not a line break)
        first = lines[-1] if stderr.startswith("usage:") else lines[0]
        assert first.startswith("symgrad") and ": error: " in first, (argv, stderr)
        assert len(first.split(": error: ", 1)[1].strip()) > 5, (argv, stderr)  # names the problem
    return status, out.getvalue(), stderr


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder to write into, as the current folder (relative paths land here)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def inside(work: Path, path) -> str:
    """A generated path, made relative to the work folder."""
    parts, suffix = path
    return str(work.joinpath(*parts, "out")) + suffix if parts else "out" + suffix


# -- every command ---------------------------------------------------------------------------------------

@FUZZ
@given(model=models, wrt=optional("--wrt", st.lists(names, min_size=1, max_size=3)),
       inputs=optional("--inputs", st.lists(names, min_size=1, max_size=3)),
       lr=optional("--lr", names), flags=odd_flags)
def test_derive(model, wrt, inputs, lr, flags):
    call(["derive", model, *wrt, *inputs, *lr, *flags])


@FUZZ
@given(loss=models, claim=expressions, wrt=optional("--wrt", st.lists(names, min_size=1, max_size=2)),
       inputs=optional("--inputs", st.lists(names, min_size=1, max_size=2)), flags=odd_flags)
def test_verify(loss, claim, wrt, inputs, flags):
    call(["verify", "--loss", loss, "--claim", claim, *wrt, *inputs, *flags])


@settings(FUZZ, max_examples=40 * SCALE)
@given(model=models, at=optional("--at", pairs), flags=odd_flags,
       seed=optional("--seed", st.one_of(st.integers(-5, 2**70).map(str), numbers)))
def test_check(model, at, seed, flags):
    call(["gradcheck", model, *at, *seed, *flags])


@settings(FUZZ, max_examples=25 * SCALE)
@given(model=models, at=optional("--at", pairs), path=paths_mostly(".svg"), flags=odd_flags,
       fmt=optional("--format", st.sampled_from(["svg", "png", "pdf", "SVG", "gif", ""])),
       highlight=optional("--highlight", names))
def test_graph(model, at, path, flags, fmt, highlight, workdir):
    call(["graph", model, *at, "-o", inside(workdir, path), *fmt, *highlight, "--renderer", "embedded", *flags])


@settings(FUZZ, max_examples=30 * SCALE)
@given(model=models, path=paths_mostly(".py"), inputs=optional("--inputs", st.lists(names, min_size=1, max_size=3)),
       flags=odd_flags)
def test_codegen(model, path, inputs, flags, workdir):
    call(["codegen", model, "-o", inside(workdir, path), *inputs, *flags])


@settings(FUZZ, max_examples=50 * SCALE)
@given(model=models, data=columns,
       inputs=st.one_of(st.just(["--inputs", "x", "y"]), optional("--inputs", st.lists(names, min_size=1, max_size=3))),
       init=optional("--init", st.one_of(pairs, values.map(lambda v: [f"w={v}"]))), lr=optional("--lr", values),
       epochs=optional("--epochs", st.integers(-3, 30).map(str) | st.text(max_size=4)),
       plot=optional("--plot", paths_mostly(".svg")), flags=odd_flags)
def test_train(model, data, inputs, init, lr, epochs, plot, flags, workdir):
    if plot:
        plot = ["--plot", inside(workdir, plot[1])]
    call(["train", model, "--columns", *data, *inputs, *init, *lr, *epochs, *plot, *flags])


@settings(FUZZ, max_examples=40 * SCALE)
@given(argv=st.lists(st.one_of(st.sampled_from(["models", "lecture", "derive", "verify", "graph", "check",
                                                "codegen", "train", "--text", "--json", "--out", "--help"]),
                               st.sampled_from(FLAGS), expressions), max_size=6))
def test_any_command_line(argv, workdir):
    if "lecture" in argv and "--text" not in argv:
        return  # writing the whole report takes longer than the bound; its errors are tested in test_files.py
    call(argv)


def test_models_and_lecture_text_with_odd_flags(workdir):
    assert call(["models", "--json"])[0] == 0
    assert call(["lecture", "--text"])[0] == 0
    for argv in (["models", "--jsn"], ["lecture", "--out"], ["lecture", "--out", "\x00"], ["--version"], []):
        assert call(argv)[0] == 2


def test_a_wrong_claim_with_huge_numbers_is_an_input_error_not_a_traceback():
    # the red-team case: 1e308*10 overflowed to a traceback with exit status 1
    status, out, err = call(["verify", "--loss", "(y - (w*x + b))^2", "--wrt", "w", "--claim", "1e308*10"])
    assert status in {1, 2} and "Traceback" not in err


# -- no input runs code ---------------------------------------------------------------------------------

PAYLOADS = ["__import__('os').system('touch {marker}')", '__import__("os").system("touch {marker}")',
            "exec(\"open('{marker}', 'w')\")", "eval(\"open('{marker}', 'w')\")", "open('{marker}', 'w')",
            "lambda: __import__('os').system('touch {marker}')", "$(touch {marker})", "`touch {marker}`",
            "w; __import__('os').system('touch {marker}')", "{{__import__('os').system('touch {marker}')}}",
            "w*x + __import__('os').system('touch {marker}')", "\\input{{{marker}}}"]


@settings(FUZZ, max_examples=60 * SCALE)
@given(payload=st.sampled_from(PAYLOADS), where=st.sampled_from(
    ["derive", "derive-wrt", "verify-loss", "verify-claim", "check-at", "graph", "codegen", "train-columns",
     "train-init", "train-lr", "inputs"]), wrap=st.sampled_from(["{}", "({})", "w*{}", "{} + 1", "\\frac{{{}}}{{2}}"]))
def test_no_generated_input_runs_code(payload, where, wrap, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sentinel")
    marker = folder / "pwned"
    text = wrap.format(payload.format(marker=marker))
    work = tmp_path_factory.mktemp("work")
    argv = {
        "derive": ["derive", text],
        "derive-wrt": ["derive", "(y - w*x)^2", "--wrt", text],
        "verify-loss": ["verify", "--loss", text, "--claim", "x"],
        "verify-claim": ["verify", "--loss", "(y - w*x)^2", "--wrt", "w", "--claim", text],
        "check-at": ["gradcheck", "(y - w*x)^2", "--at", f"w={text}"],
        "graph": ["graph", text, "-o", str(work / "g.svg"), "--renderer", "embedded"],
        "codegen": ["codegen", text, "-o", str(work / "m.py")],
        "train-columns": ["train", "(y - w*x)^2", "--inputs", "x", "y", "--columns", f"x={text}", "y=1"],
        "train-init": ["train", "(y - w*x)^2", "--inputs", "x", "y", "--columns", "x=1", "y=1", "--init",
                       f"w={text}"],
        "train-lr": ["train", "(y - w*x)^2", "--inputs", "x", "y", "--columns", "x=1", "y=1", "--lr", text],
        "inputs": ["derive", "(y - w*x)^2", "--inputs", text],
    }[where]
    status, out, err = call(argv)
    assert status == 2, (argv, out, err)
    assert not marker.exists() and list(folder.iterdir()) == []
    assert list(work.iterdir()) == []  # nothing written either
