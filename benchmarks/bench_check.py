"""How fast ``symgrad check`` reads documents: claims per second on the lectures and on a 1,000-claim file.

    python3 benchmarks/bench_check.py            # the five lectures, then a generated 1,000-claim document
    python3 benchmarks/bench_check.py --claims 200

Prints, for each document, the time, the claims decided per second, and the
time per wrong claim (each one is timed on its own in a small document with
its definitions, so the number is what a wrong claim costs, not an average).
Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (they slow NumPy here).
"""
from __future__ import annotations

import argparse
import random
import time

from symgrad.documents import check_document
from symgrad.lectures.checked import lecture_documents

#: losses of one sample, their derivative by w (both LaTeX), written by hand
_FAMILIES = [
    (r"\frac12 (y - {w} x)^2", r"-(y - {w} x) x"),
    (r"(y - {w} x - b)^2", r"-2(y - {w} x - b) x"),
    (r"\log(1 + e^{-y {w} x})", r"-\frac{y x e^{-y {w} x}}{1 + e^{-y {w} x}}"),
    (r"\frac12 (y - \sigma({w} x))^2", r"-(y - \sigma({w} x)) \sigma({w} x)(1 - \sigma({w} x)) x"),
    (r"\frac{\lambda}{2} {w}^2 + (y - {w} x)^2", r"\lambda {w} - 2(y - {w} x) x"),
]
#: how a wrong claim is made from a right one: a flipped sign, a lost factor 2, η written in
_MISTAKES = [lambda d: f"-({d})", lambda d: f"\\frac12 ({d})", lambda d: f"\\eta ({d})"]


def generated_document(claims: int, seed: int = 0) -> tuple[str, list[str]]:
    """A Markdown note of ``claims`` derivative claims (a fifth of them wrong), and the wrong ones alone."""
    rng = random.Random(seed)
    lines, wrong = ["# Generated derivations", ""], []
    for k in range(claims):
        loss, derivative = rng.choice(_FAMILIES)
        w = f"w_{{{k}}}"
        written_loss = loss.replace("{w}", w)
        claim = derivative.replace("{w}", w)
        lines.append(f"$$L_{{{k}}} = {written_loss}$$")
        if k % 5 == 4:
            claim = rng.choice(_MISTAKES)(claim)
            alone = rng.choice(_MISTAKES)(derivative.replace("{w}", "w"))
            wrong.append(f"$$L = {loss.replace('{w}', 'w')}$$\n$$\\frac{{\\partial L}}{{\\partial w}} = {alone}$$")
        lines.append(f"$$\\frac{{\\partial L_{{{k}}}}}{{\\partial {w}}} = {claim}$$")
        lines.append("")
    return "\n".join(lines), wrong


def _timed(text: str):
    start = time.perf_counter()
    report = check_document(text, format="markdown")
    return report, time.perf_counter() - start


def _row(name: str, report, seconds: float) -> str:
    decided = report.summary["holds"] + report.summary["wrong"]
    return (f"{name:<28} {seconds:8.2f} s  {decided:6d} claims decided  {decided / seconds:8.1f} claims/s  "
            f"({report.summary['wrong']} wrong, {report.summary['unchecked']} unchecked)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1000, help="claims in the generated document")
    args = parser.parse_args()

    lectures = "\n\n<!-- symgrad: reset -->\n\n".join(p.read_text(encoding="utf-8") for p in lecture_documents())
    for path in lecture_documents():
        report, seconds = _timed(path.read_text(encoding="utf-8"))
        print(_row(path.name[:32], report, seconds))
    report, seconds = _timed(lectures)
    print(_row("the five lectures together", report, seconds))

    text, wrong = generated_document(args.claims)
    report, seconds = _timed(text)
    print(_row(f"generated, {args.claims} claims", report, seconds))

    times = []
    for claim in wrong[:50]:
        one, spent = _timed(claim)
        assert one.summary["wrong"] == 1, one.findings
        times.append(spent)
    times.sort()
    print(f"a wrong claim alone (with its definition): median {1000 * times[len(times) // 2]:.0f} ms, "
          f"slowest {1000 * times[-1]:.0f} ms over {len(times)}")


if __name__ == "__main__":
    main()
