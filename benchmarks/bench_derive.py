"""Derivation + compile time and generated-code size for chain(D), against naive diff + lambdify.

Run from the repository root:

    python3 benchmarks/bench_derive.py                 # D = 1, 2, 4, 8, 16, 32
    python3 benchmarks/bench_derive.py --timeout 30    # give up on a naive build after 30 s
    python3 benchmarks/bench_derive.py --scaling       # growth: chain(D) to D = 1000, sums to 10,000 terms

symgrad derives stage by stage (reverse mode with named adjoints) and
generates one NumPy call per operation; the naive route substitutes the
stages into one closed form, takes ``sympy.diff`` for every parameter and
lambdifies the results without common-subexpression elimination. Code size
is the number of operations (arithmetic, calls, in-place updates) in the
generated function. Each naive build runs in a subprocess with a time
limit, so a blow-up is reported instead of hanging the benchmark.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import json
import resource
import subprocess
import sys
import time
import timeit
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from symgrad import losses, networks  # noqa: E402
from symgrad.compiler.compiled import compile as compile_gradient  # noqa: E402

DEPTHS = (1, 2, 4, 8, 16, 32)
EVALUATION_N = 10_000


def operations(source: str, function_name: str | None = None) -> int:
    """Arithmetic operations, calls and in-place updates in a function's source."""
    tree = ast.parse(source)
    if function_name:
        tree = next(node for node in ast.walk(tree)
                    if isinstance(node, ast.FunctionDef) and node.name == function_name)
    kinds = (ast.BinOp, ast.UnaryOp, ast.Call, ast.AugAssign)
    return sum(isinstance(node, kinds) for node in ast.walk(tree))


def _model(depth):
    return networks.chain(depth, loss=losses.half_squared_error)


def _values(model, n=EVALUATION_N):
    rng = np.random.default_rng(0)
    values = {str(s): rng.normal(size=n) for s in model.inputs}
    values.update({str(p): float(rng.uniform(0.5, 1.5)) for p in model.params})
    return values


def symgrad_row(depth: int) -> dict:
    start = time.perf_counter()
    function = compile_gradient(_model(depth))
    seconds = time.perf_counter() - start
    values = _values(function.model)
    evaluation = min(timeit.repeat(lambda: function(**values), number=10, repeat=5)) / 10
    return {"build": seconds, "ops": operations(function.source, "loss_and_grad"),
            "eval": evaluation}


def naive_row(depth: int) -> dict:
    """Runs in a subprocess: closed form, sympy.diff per parameter, lambdify with cse=False."""
    model = _model(depth)
    start = time.perf_counter()
    closed = model.closed_form()
    params = list(model.params)
    exprs = [closed] + [sp.diff(closed, p) for p in params]
    args = list(model.inputs) + params
    sigmoid = {"sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a))}
    function = sp.lambdify(args, exprs, modules=[sigmoid, "numpy"], cse=False)
    seconds = time.perf_counter() - start
    values = _values(model)
    numbers = [values[str(a)] for a in args]

    def evaluate():
        out = function(*numbers)
        return [np.mean(o) for o in out]

    evaluation = min(timeit.repeat(evaluate, number=1, repeat=3))
    return {"build": seconds, "ops": operations(inspect.getsource(function)), "eval": evaluation}


def _in_a_process(arguments: list[str], timeout: float) -> dict | None:
    """This script run as a worker with ``arguments`` in a process of its own (its own peak memory and time
    limit): its JSON result, ``{"error": ...}`` if it failed, ``None`` if it ran out of time."""
    try:
        result = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(result.stdout)


def run_naive(depth: int, timeout: float) -> dict | None:
    return _in_a_process(["--naive-worker", str(depth)], timeout)


# -- growth with size: each size measured in a fresh subprocess (time and peak memory of its own) ------

CHAIN_DEPTHS = (125, 250, 500, 1000)
SUM_TERMS = (1250, 2500, 5000, 10_000)


def _wide_sum(terms: int):
    """L = (w1 x1 + ... + wn xn - y)^2: one stage, n parameters, n data."""
    ws, xs = sp.symbols(f"w1:{terms + 1}"), sp.symbols(f"x1:{terms + 1}")
    y = sp.Symbol("y")
    return (sp.Add(*[w * x for w, x in zip(ws, xs)]) - y) ** 2, list(xs) + [y]


def scaling_row(kind: str, size: int, task: str) -> dict:
    """Runs in a subprocess: build the model, then time grad (all parameters) or compile."""
    import symgrad

    if kind == "chain":
        model, inputs = networks.chain(size), ()
    else:
        model, inputs = _wide_sum(size)
    start = time.perf_counter()
    if task == "grad":
        symgrad.grad(model, inputs=inputs) if inputs else symgrad.grad(model)
    else:
        compile_gradient(model, inputs=inputs)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return {"seconds": seconds, "peak_mb": peak}


def run_scaling(kind: str, size: int, task: str, timeout: float) -> dict | None:
    return _in_a_process(["--scaling-worker", kind, str(size), task], timeout)


def _ratio(seconds: float | None, previous: float | None) -> str:
    return f"{seconds / previous:5.2f}x" if seconds and previous else "    -"


def _measure(kind: str, size: int, task: str, timeout: float) -> tuple[str, float | None]:
    """The cells of one task at one size (seconds, peak MB), and its seconds (None if it failed)."""
    row = run_scaling(kind, size, task, timeout)
    if row is None:
        return f"{'> ' + format(timeout, 'g') + ' s':>18}", None
    if "error" in row:
        return f"{'failed':>18}", None
    return f"{row['seconds']:8.2f} s {row['peak_mb']:6.0f} MB", row["seconds"]


def scaling(timeout: float) -> None:
    print("growth with size: seconds and peak memory (RSS of its own process) per task and size;\n"
          "ratio = time / time at the previous size (each size doubles: ~2x is linear, ~4x quadratic)")
    for kind, sizes in (("chain", CHAIN_DEPTHS), ("sum", SUM_TERMS)):
        print(f"{'':>14} {'grad (all parameters)':>18} {'ratio':>7}   {'compile':>18} {'ratio':>7}")
        previous = {"grad": None, "compile": None}
        for size in sizes:
            cells = []
            for task in ("grad", "compile"):
                text, seconds = _measure(kind, size, task, timeout)
                cells.append(f"{text} {_ratio(seconds, previous[task]):>7}")
                previous[task] = seconds
            print(f"{kind + f'({size:,})':>14} {cells[0]}   {cells[1]}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="*", default=list(DEPTHS))
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds allowed for one naive build (default 60)")
    parser.add_argument("--naive-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scaling", action="store_true",
                        help="measure growth: chain(D) up to D = 1000 and sums up to 10,000 terms")
    parser.add_argument("--scaling-timeout", type=float, default=300.0,
                        help="seconds allowed for one size in --scaling (default 300)")
    parser.add_argument("--scaling-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.naive_worker is not None:
        print(json.dumps(naive_row(args.naive_worker)))
        return
    if args.scaling_worker:
        kind, size, task = args.scaling_worker
        print(json.dumps(scaling_row(kind, int(size), task)))
        return
    if args.scaling:
        scaling(args.scaling_timeout)
        return
    print(f"chain(D, sigmoid) with half squared error; build = derive + generate + compile; "
          f"ops = operations in the generated code; eval = one loss+gradient at N = {EVALUATION_N:,}")
    header = (f"{'D':>3}  {'symgrad build':>13} {'ops':>6} {'eval':>9}   "
              f"{'naive build':>11} {'ops':>7} {'eval':>9}   {'ops ratio':>9}")
    print(header)
    for depth in args.depths:
        mine = symgrad_row(depth)
        naive = run_naive(depth, args.timeout)
        left = f"{depth:>3}  {mine['build']:12.3f}s {mine['ops']:>6} {mine['eval'] * 1e3:7.2f}ms"
        if naive is None:
            right = f"{'> ' + format(args.timeout, 'g') + 's':>12}  (timed out)"
        elif "error" in naive:
            right = f"  failed: {naive['error'][:60]}"
        else:
            right = (f"{naive['build']:10.3f}s {naive['ops']:>7} {naive['eval'] * 1e3:7.2f}ms   "
                     f"{naive['ops'] / mine['ops']:8.1f}x")
        print(f"{left}   {right}", flush=True)


if __name__ == "__main__":
    main()
