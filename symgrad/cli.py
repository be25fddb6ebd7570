"""The ``symgrad`` command: derive, draw, verify and report gradients from a terminal.

Exit status: 0 on success (and when a verified claim is proved), 1 when a
claim does not hold, 2 on bad input (and when a claim could not be checked),
3 when a claim holds at every sampled point but was not proved. Errors go to
stderr; ``--json`` gives output for scripts.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import warnings
from contextlib import suppress

import sympy as sp

from . import lectures, printing
from ._tools import check_writable, ensure_folder
from .check import check_gradients
from .compiler.api import codegen
from .compiler.compiled import BACKENDS, FusedUnavailableWarning
from .core.matrix_model import MatrixModel
from .core.model import Model
from .documents import check_files
from .documents.html import write_html_reports
from .errors import ModelError, ParseError
from .graph import Graph
from .lectures.checked import check_lectures
from .lectures.derivations import differentiated, lecture_text, matrix_closed_lines
from .lectures.report import write_report
from .lectures.report_graphs import graph_section
from .lectures.report_training import training_section
from .parsing import parse, parse_model
from .parsing.models import looks_like_stages
from .symbolic.chainrule import chain_rule
from .symbolic.derive import grad
from .symbolic.matrix_rules import backprop
from .symbolic.matrix_updates import matrix_update_rules
from .symbolic.update import update_rules
from .training import train
from .verification.verdict import verify

EXIT_OK, EXIT_FALSE, EXIT_USAGE, EXIT_OBSERVED = 0, 1, 2, 3
#: the exit status of `symgrad verify` for each verdict status
VERIFY_EXIT = {"proved": EXIT_OK, "observed": EXIT_OBSERVED, "wrong": EXIT_FALSE, "unchecked": EXIT_USAGE}


class UsageError(ValueError):
    """Bad input on the command line."""


class _Parser(argparse.ArgumentParser):
    """argparse exiting with status 2 and a one-line error on stderr."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_printable(message)}\n")


def _printable(text: str) -> str:
    """Text for one line of a terminal: line breaks and control characters (escape sequences) escaped.

    >>> _printable("unrecognized arguments: \\n0 \\x1b[2J")
    'unrecognized arguments: \\\\n0 \\\\x1b[2J'
    """
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))


def _names(values) -> list[str]:
    names = []
    for value in values or []:
        for name in value.replace(",", " ").split():
            if not name.isidentifier() or name.startswith("_"):
                raise UsageError(f"{name!r} is not a symbol name")
            names.append(name)
    return names


#: largest model file read, in bytes
MAX_MODEL_FILE = 100_000


def _model_file(text: str) -> str | None:
    """The text of the model file ``text`` names, or None when ``text`` names no file."""
    if "\n" in text or ";" in text or "=" in text or not os.path.isfile(text):
        return None
    if os.path.getsize(text) > MAX_MODEL_FILE:
        raise UsageError(f"model file {text} is too large (more than {MAX_MODEL_FILE} bytes)")
    try:
        with open(text, encoding="utf-8") as file:
            return file.read()
    except (UnicodeDecodeError, OSError) as error:
        raise UsageError(f"cannot read model file {text}: {error}") from None


def resolve_model(text: str, inputs=(), lr: str | None = None) -> Model | MatrixModel:
    """A model by lecture name (``chain3``, ``mlp``), a model file, stages (``z = w*x; L = z^2``), or an expression."""
    if text in lectures.EXAMPLES:
        return lectures.model(text)
    inputs = _names(inputs)
    stages = _model_file(text)
    if stages is not None or looks_like_stages(text):
        return parse_model(text if stages is None else stages, inputs)
    try:
        parsed = parse(text, symbols=inputs + ([lr] if lr else []))
    except ParseError as error:
        if re.fullmatch(r"[A-Za-z][\w-]*", text):  # meant as a model name
            raise UsageError(f"no model named {text!r} (known: {', '.join(lectures.EXAMPLES)}); "
                             f"as an expression: {error.message}") from None
        raise
    if not isinstance(parsed, sp.Expr):
        raise UsageError(f"expected a model name or an expression, got a {type(parsed).__name__}: {text!r}")
    return Model.from_expr(parsed, inputs=[sp.Symbol(n) for n in inputs])


def _strict(value):
    """Data for strict JSON: NaN and infinities (a failed check's errors) become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def _print_json(payload) -> None:
    print(json.dumps(_strict(payload), indent=2, ensure_ascii=False, allow_nan=False))


# -- commands ------------------------------------------------------------------------

def _cmd_lecture(args) -> int:
    if args.text:
        print(lecture_text())
        return EXIT_OK
    check_writable(ensure_folder(args.out) / "index.html")  # a folder that cannot be written: said before the work
    reports = check_lectures()
    index = write_report(args.out, extras=graph_section, appendix=training_section, checked=reports)
    if args.json:
        _print_json({"report": str(index), "files": [r.to_dict() for r in reports]})
        return EXIT_OK
    print("The lectures' slide claims, checked from their text (symgrad check examples/lectures/*.md):")
    for report in reports:
        print(report.text(unchecked=False))
    print(f"\nreport with every derivation and drawing: {index}")
    return EXIT_OK


def _cmd_models(args) -> int:
    kinds = {e.name: "matrix" if e.matrix else "scalar" for e in lectures.EXAMPLES.values()}
    if args.json:
        _print_json([{"name": e.name, "lecture": e.lecture, "title": e.title, "kind": kinds[e.name]}
                     for e in lectures.EXAMPLES.values()])
        return EXIT_OK
    width = max(map(len, lectures.EXAMPLES))
    for ex in lectures.EXAMPLES.values():
        tag = " [matrices]" if kinds[ex.name] == "matrix" else ""
        print(f"{ex.name:<{width}}  {ex.title} (lecture {ex.lecture}){tag}")
    return EXIT_OK


def _derive_matrix(args, model: MatrixModel, wrt) -> int:
    """A matrix model's backward pass by the layer rules: the deltas, then each gradient."""
    if args.chain_rule:
        raise UsageError(f"--chain-rule writes a scalar model's derivatives factor by factor; {args.model} is a "
                         "network of matrices, whose chain rule is its backward pass by the layer rules: "
                         f"run `symgrad derive {args.model}` to see the deltas and the gradients")
    if args.update_rule:
        rules = matrix_update_rules(model, wrt, lr=args.lr, form=args.form)
        if args.json:
            _print_json(rules.to_dict())
        else:
            print(rules.latex() if args.latex else rules.text())
        return EXIT_OK
    derivation = backprop(model, wrt)
    if args.json:
        payload = {str(p): printing.text(derivation.gradient(p, args.form)) for p in derivation.gradients}
        if args.form == "stages":
            payload = {"deltas": {printing.text(d): printing.text(e) for d, e, _ in derivation.deltas},
                       "gradients": payload}
        _print_json(payload)
    elif args.latex:
        print(derivation.latex())
    elif args.form == "closed":
        print("\n".join(matrix_closed_lines(model, wrt)))
    else:
        print(derivation)
    return EXIT_OK


def _cmd_derive(args) -> int:
    model = resolve_model(args.model, args.inputs, args.lr)
    wrt = _names(args.wrt) or None
    if isinstance(model, MatrixModel):
        return _derive_matrix(args, model, wrt)
    if args.update_rule:
        rules = update_rules(model, wrt, lr=sp.Symbol(args.lr), form=args.form)
        if args.json:
            _print_json({str(p): str(v) for p, v in rules.items()})
        else:
            print(rules.latex() if args.latex else rules.text())
        return EXIT_OK
    if args.chain_rule:
        rules = chain_rule(model, wrt)
        print(rules.latex() if args.latex else rules.text())
        return EXIT_OK
    grads = grad(model, wrt if wrt is None else list(wrt), form=args.form)
    if args.json:
        _print_json({str(p): str(g) for p, g in grads.items()})
        return EXIT_OK
    for p, g in grads.items():
        p = differentiated(model, p)
        if args.latex:
            print(rf"\frac{{\partial {sp.latex(model.output)}}}{{\partial {printing.latex(p)}}} = {printing.latex(g)}")
        else:
            print(f"d{model.output}/d{printing.text(p)} = {printing.text(g)}")
    return EXIT_OK


def _cmd_verify(args) -> int:
    model = resolve_model(args.loss, args.inputs, args.lr)
    wrt = _names(args.wrt)
    if len(wrt) > 1:
        raise UsageError("verify checks one derivative at a time: give one --wrt")
    verdict = verify(args.claim, model, wrt[0] if wrt else None, lr=sp.Symbol(args.lr))
    if args.json:
        _print_json(verdict.to_dict())
    else:
        print(verdict)
    if verdict.status == "unchecked":  # status 2 always comes with a one-line reason on stderr
        print(f"symgrad verify: error: the claim could not be decided: {_printable(verdict.diagnosis or 'no reason')}",
              file=sys.stderr)
    return VERIFY_EXIT[verdict.status]


def _numbers(text: str, where: str, arrays: bool):
    """A number, or (with ``arrays``) a vector ``1,3,2`` or a matrix written row by row ``2,4,2;1,3,7``."""
    wanted = "a number, a vector 1,3,2 or a matrix 2,4;1,3" if arrays else "a number"
    try:
        rows = [[float(v) for v in row.split(",")] for row in text.split(";")]
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not {wanted}") from None
    if not arrays and (len(rows) > 1 or len(rows[0]) > 1):
        raise UsageError(f"{where}: {text!r} is not {wanted}")
    if len({len(row) for row in rows}) != 1:
        raise UsageError(f"{where}: the rows of a matrix must all have the same length")
    if ";" in text:
        return rows
    return rows[0] if "," in text else rows[0][0]


def _values(pairs, option: str = "--at", arrays: bool = True) -> dict:
    values = {}
    for pair in pairs or []:
        name, sep, number = pair.partition("=")
        if not sep or not name.isidentifier() or name.startswith("_"):
            raise UsageError(f"{option} takes name=value pairs, not {pair!r}")
        values[name] = _numbers(number, f"{option} {pair}", arrays)
    return values


def _cmd_graph(args) -> int:
    model = resolve_model(args.model, args.inputs)
    graph = Graph.from_model(model)
    values = _values(args.at)
    if values or args.example_values:
        given = dict(lectures.example(args.model).values) if args.example_values else {}
        given.update(values)
        graph.forward(given)
        graph.backward()
    graph.render(args.output, format=args.format, highlight=args.highlight,
                 edge_labels=args.edge_labels, renderer=args.renderer,
                 rankdir=args.direction, size=args.size, dpi=args.dpi)
    print(args.output)
    return EXIT_OK


def _cmd_gradcheck(args) -> int:
    model = resolve_model(args.model, args.inputs)
    given = dict(lectures.example(args.model).values) if args.model in lectures.EXAMPLES else {}
    given.update(_values(args.at))
    table = check_gradients(model, given, seed=args.seed)
    if args.json:
        _print_json(table.to_dict())
    else:
        print(table)
    return EXIT_OK if table.ok else EXIT_FALSE


def _cmd_check_documents(args) -> int:
    missing = [p for p in args.files if p != "-" and not os.path.exists(p)]
    if len(args.files) == 1 and missing and (args.files[0] in lectures.EXAMPLES or not os.path.splitext(args.files[0])[1]):
        raise UsageError(f"no file {args.files[0]!r}; `symgrad check` checks the derivations in documents. "
                         f"For the gradient check of a model: symgrad gradcheck {args.files[0]!r}")
    reports = check_files(args.files, stdin=sys.stdin)
    if not reports:
        raise UsageError(f"no Markdown, LaTeX or notebook file in {', '.join(args.files)}")
    if args.html:
        pages = write_html_reports(reports, args.html)
    if args.json:
        _print_json({"files": [r.to_dict() for r in reports]})
    else:
        for report in reports:
            print(report.text(verbose=args.verbose))
        if args.html:
            print(f"annotated: {', '.join(str(p) for p in pages)}")
    return EXIT_FALSE if any(r.wrong for r in reports) else EXIT_OK


def _cmd_codegen(args) -> int:
    model = resolve_model(args.model, args.inputs)
    if isinstance(model, MatrixModel) and args.reduction != "mean":
        raise UsageError(f"{args.model} is a network of matrices, whose compiled loss is the mean over "
                         "the batch; --reduction sum is for scalar models")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FusedUnavailableWarning)
        path = codegen(model, args.output, reduction=args.reduction, backend=args.backend)
    for warning in caught:  # --backend auto without numba: one line saying which module was written
        if issubclass(warning.category, FusedUnavailableWarning):
            print(f"symgrad codegen: warning: {_printable(warning.message)}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    print(path)
    return EXIT_OK


def _data_columns(path: str) -> dict:
    """Columns of a CSV file with a header row, as float arrays by column name."""
    import numpy as np

    try:
        table = np.genfromtxt(path, delimiter=",", names=True, dtype=float, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read data file {path!r}: {error}") from None
    if table.dtype.names is None or np.isnan(table.view((float, len(table.dtype.names)))).any():
        raise UsageError(f"{path}: expected a header row of names and numbers below it")
    return {name: np.atleast_1d(table[name]) for name in table.dtype.names}


def _cmd_train(args) -> int:
    model = resolve_model(args.model, args.inputs)
    if isinstance(model, MatrixModel):
        raise UsageError(f"train fits scalar models to data columns; {args.model} is a network of matrices: "
                         "train it in Python with symgrad.train (see examples/digits_mlp.py)")
    if args.plot:
        check_writable(args.plot)  # before the training, not after it
    data = _data_columns(args.data) if args.data else {
        name: _numbers(values, f"--columns {name}", arrays=True) for name, values in _pairs(args.columns).items()}
    init = _values(args.init, "--init", arrays=False) or None
    history = train(model, data, init, lr=args.lr_value, epochs=args.epochs,
                    method=args.method, batch_size=args.batch_size, seed=args.seed)
    if args.plot:
        history.plot(args.plot)
    if args.json:
        _print_json({"loss": [float(v) for v in history.loss], "final": history.final,
                     "diverged": history.diverged, "message": history.message})
    else:
        final = ", ".join(f"{k} = {v:.6g}" for k, v in history.final.items())
        if history.message:
            print(history.message)
        print(f"final loss {history.loss[-1]:.6g}; {final}")
    return EXIT_FALSE if history.diverged else EXIT_OK


def _pairs(items) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier() or name.startswith("_"):
            raise UsageError(f"expected name=values, not {item!r}")
        out[name] = value
    return out


# -- the parser ---------------------------------------------------------------------------

def _command(commands, name, help_text, example):
    return commands.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                               epilog=f"example: {example}",
                               formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symgrad",
                     description="Derive, draw and check the gradients of losses and small networks.",
                     epilog="A MODEL is a name from `symgrad models` or expression text, "
                            "e.g. '(y - (w*x + b))^2'.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    lecture = _command(commands, "lecture",
                       "check every claim of the five lectures from their text (symgrad check on the shipped documents), "
                       "and derive, draw and check every worked example into one HTML report",
                       "symgrad lecture --out lecture-report")
    lecture.add_argument("--out", default="lecture-report", help="report directory (default: lecture-report)")
    lecture.add_argument("--text", action="store_true", help="print the derivations as text instead")
    lecture.add_argument("--json", action="store_true", help="machine-readable claim verdicts")
    lecture.set_defaults(run=_cmd_lecture)

    documents = _command(commands, "check",
                         "check every derivation in Markdown or LaTeX notes: definitions are read top to "
                         "bottom, each claim gets a verdict (exit status 1 when one is wrong, 2 for an "
                         "unusable file)", "symgrad check notes.md homework.tex --html checked/")
    documents.add_argument("files", nargs="+", metavar="FILE",
                           help="Markdown (.md), LaTeX (.tex), notebook (.ipynb) or text files; a folder for the "
                                "documents in it; - for standard input")
    documents.add_argument("--json", action="store_true", help="machine-readable findings")
    documents.add_argument("--html", metavar="DIR", help="also write each file rendered with its verdicts")
    documents.add_argument("-v", "--verbose", action="store_true",
                           help="list every finding, not only the wrong and unchecked claims")
    documents.set_defaults(run=_cmd_check_documents)

    models = _command(commands, "models", "list the models known by name", "symgrad models --json")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.set_defaults(run=_cmd_models)

    derive = _command(commands, "derive", "partial derivatives, update rules or the chain rule of a model "
                      "(of a network of matrices: its backprop by the layer rules)",
                      "symgrad derive '(y - (w*x + b))^2' --wrt w b --update-rule --lr alpha")
    derive.add_argument("model", help="a model name or expression text")
    derive.add_argument("--wrt", nargs="+", help="parameters (default: all)")
    derive.add_argument("--inputs", nargs="+", help="data symbols of an expression (not parameters)")
    derive.add_argument("--form", choices=["stages", "closed"], default="stages",
                        help="in stage symbols (default) or fully substituted")
    derive.add_argument("--latex", action="store_true", help="print LaTeX")
    derive.add_argument("--json", action="store_true", help="machine-readable output")
    derive.add_argument("--update-rule", action="store_true", help="print gradient-descent rules")
    derive.add_argument("--lr", default="eta", help="learning-rate symbol (default: eta)")
    derive.add_argument("--chain-rule", action="store_true", help="print the chain rule factor by factor")
    derive.set_defaults(run=_cmd_derive)

    verify = _command(commands, "verify",
                      "check a claimed derivative (of any order) or update rule; exit status 0: proved, "
                      "3: holds at every sampled point but not proved, 1: wrong, "
                      "2: unchecked (could not be decided) or bad input",
                      "symgrad verify --loss '(y - (w*x + b))^2' --wrt w --claim '2x(wx + b - y)'")
    verify.add_argument("--loss", required=True, help="a model name or expression text")
    verify.add_argument("--wrt", nargs="+", help="the variable differentiated by (optional for an equation; "
                        "naming another variable than the claim's is an error)")
    verify.add_argument("--claim", required=True,
                        help="the claim: an expression, 'dL/dw = ...', 'd^2L/dw^2 = ...', a chain "
                             "'dL/dw = ... = ...' (every side is checked), 'w <- ...', or slide LaTeX")
    verify.add_argument("--inputs", nargs="+", help="data symbols of an expression")
    verify.add_argument("--lr", default="eta", help="learning-rate symbol (default: eta)")
    verify.add_argument("--json", action="store_true",
                        help='machine-readable verdict; "status" is proved, observed, wrong or unchecked')
    verify.set_defaults(run=_cmd_verify)

    graph = _command(commands, "graph", "draw a model's computational graph, with values and gradients",
                     "symgrad graph chain3 --at x=1 y=0.5 w1=0.5 w2=-1 w3=2 b=0.1 -o chain3.svg --highlight w1")
    graph.add_argument("model", help="a model name or expression text")
    graph.add_argument("--at", nargs="+", metavar="NAME=VALUE",
                       help="values of inputs and parameters (a vector 1,3,2; a matrix row by row 2,4;1,3)")
    graph.add_argument("--example-values", action="store_true", help="use the lecture's own values")
    graph.add_argument("--inputs", nargs="+", help="data symbols of an expression")
    graph.add_argument("-o", "--output", required=True, help="image file (.svg, .png, .pdf)")
    graph.add_argument("--format", help="image format (default: from the file name)")
    graph.add_argument("--highlight", help="mark the path from the loss to this parameter")
    graph.add_argument("--edge-labels", choices=["symbolic", "numeric"], help="label edges with local derivatives")
    graph.add_argument("--renderer", choices=["dot", "embedded"], help="force a renderer (default: dot if installed)")
    graph.add_argument("--direction", choices=["auto", "LR", "TB"], default="auto",
                       help="left to right, top to bottom, or auto: top to bottom for a deep graph (default)")
    graph.add_argument("--size", type=float, nargs=2, metavar=("WIDTH", "HEIGHT"),
                       help="shrink the drawing to fit this many inches (Graphviz's size)")
    graph.add_argument("--dpi", type=float, help="resolution of a PNG (Graphviz's default: 96)")
    graph.set_defaults(run=_cmd_graph)

    gradcheck = _command(commands, "gradcheck",
                     "the gradient check: symbolic, graph, compiled and finite differences side by side",
                     "symgrad gradcheck chain3")
    gradcheck.add_argument("model", help="a model name or expression text")
    gradcheck.add_argument("--at", nargs="+", metavar="NAME=VALUE",
                       help="the point (default: the lecture's, or random); a vector 1,3,2; a matrix 2,4;1,3")
    gradcheck.add_argument("--inputs", nargs="+", help="data symbols of an expression")
    gradcheck.add_argument("--seed", type=int, default=0, help="seed of the random point")
    gradcheck.add_argument("--json", action="store_true", help="machine-readable table")
    gradcheck.set_defaults(run=_cmd_gradcheck)

    codegen = _command(commands, "codegen", "write a standalone module computing the loss and its gradients "
                       "(NumPy code, or numba code too with --backend fused)",
                       "symgrad codegen mlp -o mlp_grad.py --backend fused")
    codegen.add_argument("model", help="a model name or expression text")
    codegen.add_argument("-o", "--output", required=True, help="the .py file to write")
    codegen.add_argument("--inputs", nargs="+", help="data symbols of an expression")
    codegen.add_argument("--reduction", choices=["mean", "sum"], default="mean", help="loss of a batch")
    codegen.add_argument("--backend", choices=list(BACKENDS), default="numpy",
                         help="numpy (the default): NumPy code, needing only NumPy; fused: numba code too "
                              "(one loop over the samples, or kernels around a network's matrix products), "
                              "needing numba; auto: fused when numba is installed")
    codegen.set_defaults(run=_cmd_codegen)

    train = _command(commands, "train", "train a model's parameters by gradient descent",
                     "symgrad train '(y - w*x)^2' --inputs x y --columns x=10,2,3.5,1 y=10.1,1.9,3.4,1.1 "
                     "--init w=0 --lr 0.01 --epochs 50")
    train.add_argument("model", help="a model name or expression text")
    train.add_argument("--inputs", nargs="+", help="data symbols of an expression")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="CSV file with a header row naming the inputs")
    source.add_argument("--columns", nargs="+", metavar="NAME=V1,V2,...", help="data given inline")
    train.add_argument("--init", nargs="+", metavar="NAME=VALUE", help="starting parameters (default 0)")
    train.add_argument("--lr", dest="lr_value", type=float, default=0.01, help="learning rate (default 0.01)")
    train.add_argument("--epochs", type=int, default=100)
    train.add_argument("--method", choices=["gd", "sgd", "minibatch"], default="gd")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--plot", help="write the loss curve to this SVG file")
    train.add_argument("--json", action="store_true", help="machine-readable history")
    train.set_defaults(run=_cmd_train)
    return parser


#: mistakes in what the user gave (text, numbers, files): a one-line error and exit status 2
INPUT_ERRORS = (ModelError, ParseError, UsageError, ValueError, KeyError, RuntimeError, ArithmeticError,
                OSError, MemoryError)
#: Ctrl-C and a closed output pipe (128 + the signal, as a shell reports them); a bug in symgrad (EX_SOFTWARE)
EXIT_INTERRUPTED, EXIT_PIPE, EXIT_BUG = 130, 141, 70
#: set to show the traceback of a bug instead of its one-line report
TRACEBACK_VARIABLE = "SYMGRAD_TRACEBACK"


def _problem(error: BaseException) -> str:
    """What went wrong in one line (a parse error adds its text with a caret under the culprit): the error's
    message, or for Python's generic errors what they mean here."""
    if isinstance(error, RecursionError):
        return "the input is nested too deeply to handle (Python's recursion limit was reached)"
    if isinstance(error, MemoryError):
        return "out of memory: the input asks for more than this machine has"
    if isinstance(error, OverflowError):
        return f"a number is too large to compute with ({error})"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    if isinstance(error, ParseError):  # its one-line message, then the text with a caret under the culprit
        return "\n".join(map(_printable, str(error).split("\n")))
    message = error.args[0] if isinstance(error, KeyError) and error.args else error
    text = _printable(" ".join(str(message).split())) or type(error).__name__
    return text if len(text) <= 2000 else text[:1999] + "…"


def _flush_output() -> None:
    """Write out what the command printed, so that a full disk or a closed pipe is reported here."""
    try:
        sys.stdout.flush()
    except OSError as error:
        # nothing more can reach stdout: point it at /dev/null so Python's own flush at exit stays quiet
        with suppress(OSError, ValueError, AttributeError):
            void = os.open(os.devnull, os.O_WRONLY)
            os.dup2(void, sys.stdout.fileno())
            os.close(void)
        if isinstance(error, BrokenPipeError):
            raise
        raise type(error)(f"cannot write the output: {error.strerror or error}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0: done (a verified claim holds); 1: a claim or a gradient check is
    wrong, or training diverged; 2: bad input (a one-line error on stderr
    says what); 130: interrupted (Ctrl-C); 141: the output pipe closed;
    70: a bug in symgrad (reported in one line; set SYMGRAD_TRACEBACK=1 to
    see its traceback). ``verify`` documents its own statuses.
    """
    args = build_parser().parse_args(argv)
    name = f"symgrad {args.command}"
    try:
        status = args.run(args)
        _flush_output()
        return status
    except KeyboardInterrupt:
        # an interrupt that escaped code run from a string (SymPy's lambdify runs its imports so) is marked
        # unhandled by CPython, which then ends `python -m symgrad` by SIGINT instead of with this status;
        # running any string clears the mark (pythonrun.c resets it before each one)
        exec("pass")  # a constant: no user text
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`symgrad models | head -1`): nothing to tell it
        return EXIT_PIPE
    except INPUT_ERRORS as error:
        print(f"{name}: error: {_problem(error)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:
        if os.environ.get(TRACEBACK_VARIABLE):
            raise
        print(f"{name}: internal error ({type(error).__name__}: {_problem(error)}); this is a bug in "
              f"symgrad, please report it with the command line (set {TRACEBACK_VARIABLE}=1 to see where)",
              file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
