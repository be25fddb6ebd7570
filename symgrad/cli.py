"""The ``symgrad`` command: derive, list and report the lectures' gradients from a terminal."""
from __future__ import annotations

import argparse
import json
import sys

import sympy as sp

from . import lectures, printing
from .chainrule import chain_rule
from .derive import grad
from .model import Model, ModelError
from .solve import least_squares
from .update import update_rules

EXIT_OK, EXIT_FALSE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and a one-line error (its default, kept explicit)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _resolve_model(name: str) -> Model:
    try:
        return lectures.model(name)
    except KeyError as error:
        raise ModelError(error.args[0]) from None


def _derive_text(model: Model, wrt, form: str) -> list[str]:
    grads = grad(model, list(wrt) if wrt else None, form=form)
    return [f"d{model.output}/d{printing.text(p)} = {printing.text(g)}" for p, g in grads.items()]


def _section(title: str) -> str:
    return f"\n{title}\n{'=' * len(title)}"


def lecture_text() -> str:
    """Every worked example of the lectures: model, partials, update rules, chain rule."""
    out = ["symgrad: the lectures' worked examples, derived"]
    for ex in lectures.EXAMPLES.values():
        model = ex.model
        out.append(_section(f"{ex.name}: {ex.title}"))
        out.append(f"source: lecture {ex.source}")
        out.append(str(model))
        out.append("")
        out += _derive_text(model, ex.wrt, "stages")
        if len(model.stages) > 1:
            out.append("closed form:")
            out += ["  " + line for line in _derive_text(model, ex.wrt, "closed")]
        if ex.name == "least-squares":
            solution = least_squares().solution
            out += [f"{printing.text(p)} = {printing.text(v)}" for p, v in solution.items()]
            continue
        out.append("gradient descent:")
        rules = update_rules(model, list(ex.wrt) or None)
        out += ["  " + line for line in rules.text().splitlines()]
        if len(model.stages) > 2:
            out.append("chain rule:")
            rules = chain_rule(model, list(ex.wrt) or None)
            out += ["  " + line for line in rules.text().splitlines()]
    return "\n".join(out)


def _cmd_lecture(args) -> int:
    if args.text:
        print("\n".join(line.rstrip() for line in lecture_text().splitlines()))
        return EXIT_OK
    from .claims import check_all
    from .report import write_report

    results = check_all()
    if args.json:
        print(json.dumps([{"lecture": r.claim.lecture, "claim": r.claim.slide, "ok": r.ok,
                           "reason": r.reason} for r in results], indent=2))
    else:
        wrong = [r for r in results if not r.ok]
        print(f"{len(results)} slide claims checked: {len(results) - len(wrong)} hold, "
              f"{len(wrong)} are wrong:")
        for result in wrong:
            print(result)
    index = write_report(args.out, extras=_graph_extras())
    if not args.json:
        print(f"\nreport with every derivation and drawing: {index}")
    return EXIT_OK


def _graph_extras():
    """The report's drawings, when the graph engine is available."""
    try:
        from .report_graphs import graph_section
    except ImportError:
        return None
    return graph_section


def _cmd_models(args) -> int:
    if args.json:
        print(json.dumps([{"name": e.name, "lecture": e.lecture, "title": e.title}
                          for e in lectures.EXAMPLES.values()], indent=2))
        return EXIT_OK
    width = max(map(len, lectures.EXAMPLES))
    for ex in lectures.EXAMPLES.values():
        print(f"{ex.name:<{width}}  {ex.title} (lecture {ex.lecture})")
    return EXIT_OK


def _cmd_derive(args) -> int:
    model = _resolve_model(args.model)
    wrt = args.wrt or None
    if args.update_rule:
        rules = update_rules(model, wrt, lr=sp.Symbol(args.lr))
        print(rules.latex() if args.latex else rules.text())
        return EXIT_OK
    if args.chain_rule:
        rules = chain_rule(model, wrt)
        print(rules.latex() if args.latex else rules.text())
        return EXIT_OK
    grads = grad(model, wrt, form=args.form)
    if args.json:
        print(json.dumps({str(p): str(g) for p, g in grads.items()}, indent=2))
    elif args.latex:
        for p, g in grads.items():
            print(rf"\frac{{\partial {sp.latex(model.output)}}}{{\partial {printing.latex(p)}}} = {printing.latex(g)}")
    else:
        for p, g in grads.items():
            print(f"d{model.output}/d{printing.text(p)} = {printing.text(g)}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symgrad", description="Derive, draw and check the gradients of losses and networks.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    lecture = commands.add_parser(
        "lecture", help="derive every worked example of the lectures",
        description="Derive, draw, verify and compile every worked example of the lectures, "
                    "and write an HTML report.",
        epilog="example: symgrad lecture --out lecture-report")
    lecture.add_argument("--out", default="lecture-report", help="report directory (default: lecture-report)")
    lecture.add_argument("--text", action="store_true", help="print the derivations as text instead")
    lecture.add_argument("--json", action="store_true", help="machine-readable claim verdicts")
    lecture.set_defaults(run=_cmd_lecture)

    models = commands.add_parser(
        "models", help="list the models known by name",
        description="List the models known by name.", epilog="example: symgrad models --json")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.set_defaults(run=_cmd_models)

    derive = commands.add_parser(
        "derive", help="partial derivatives of a model",
        description="Partial derivatives, update rules or the chain rule of a model.",
        epilog="example: symgrad derive chain3 --wrt w1 --chain-rule")
    derive.add_argument("model", help="a model name (see `symgrad models`)")
    derive.add_argument("--wrt", nargs="+", help="parameters (default: all)")
    derive.add_argument("--form", choices=["stages", "closed"], default="stages",
                        help="in stage symbols (default) or fully substituted")
    derive.add_argument("--latex", action="store_true", help="print LaTeX")
    derive.add_argument("--json", action="store_true", help="machine-readable output")
    derive.add_argument("--update-rule", action="store_true", help="print gradient-descent rules")
    derive.add_argument("--lr", default="eta", help="learning-rate symbol (default: eta)")
    derive.add_argument("--chain-rule", action="store_true", help="print the chain rule factor by factor")
    derive.set_defaults(run=_cmd_derive)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ModelError, ValueError) as error:
        print(f"symgrad {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
