"""Time the graph engine's forward + backward against hand-written NumPy on the lectures' 3-layer chain.

    python3 benchmarks/bench_graph.py [--samples 1000000] [--repeats 7]

The model is chain(3, sigmoid) with half squared error, mean over a batch.
Each side is timed best-of-N; the table shows seconds and the ratio to the
plain hand-written version. Two extra rows separate the engine's own cost
from the op table's sigmoid (an overflow-free ``exp(-logaddexp(0, -a))``):
hand-written code with that same sigmoid, and the engine with the table's
sigmoid forward swapped for ``1/(1 + exp(-a))`` with overflow warnings off.
Figures move with the machine's load and with glibc's handling of large
allocations (``MALLOC_MMAP_THRESHOLD_`` makes them steadier).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from symgrad import losses, networks  # noqa: E402
from symgrad.graph import Graph  # noqa: E402
from symgrad.ops import OPS  # noqa: E402

PARAMS = {"w1": 0.5, "w2": -1.0, "w3": 2.0, "b": 0.1}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def stable_sigmoid(a):
    # the same overflow-free form the op table uses
    return np.exp(-np.logaddexp(0.0, -a))


def quiet_sigmoid(a):
    # 1/(1 + e^-a) is accurate everywhere; e^-a overflows to inf only where the answer is 0
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(a, dtype=float)))


def by_hand(x, y, w1, w2, w3, b, sigma=sigmoid):
    """Forward and backward of L = mean((y - f3)**2 / 2) written out as backprop by hand."""
    a1 = w1 * x + b
    f1 = sigma(a1)
    a2 = w2 * f1
    f2 = sigma(a2)
    a3 = w3 * f2
    f3 = sigma(a3)
    loss = np.mean((y - f3) ** 2) / 2
    d_a3 = (f3 - y) / x.size * f3 * (1 - f3)
    d_a2 = d_a3 * w3 * f2 * (1 - f2)
    d_a1 = d_a2 * w2 * f1 * (1 - f1)
    return loss, {"w3": np.sum(d_a3 * f2), "w2": np.sum(d_a2 * f1),
                  "w1": np.sum(d_a1 * x), "b": np.sum(d_a1)}


def best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    options = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.normal(size=options.samples)
    y = rng.uniform(size=options.samples)
    model = networks.chain(3, loss=losses.half_squared_error)
    graph = Graph.from_model(model)
    # the same engine with the table's sigmoid forward swapped for quiet_sigmoid (a node keeps
    # the Op it was built with, so only this graph sees the change)
    table_sigmoid = OPS["sigmoid"]
    OPS["sigmoid"] = dataclasses.replace(table_sigmoid, forward=quiet_sigmoid)
    try:
        variant = Graph.from_model(model)
    finally:
        OPS["sigmoid"] = table_sigmoid

    def engine(g=graph):
        g.forward({"x": x, "y": y, **PARAMS})
        return g.backward()

    # the two must agree before their times mean anything
    loss, expected = by_hand(x, y, **PARAMS)
    engine()
    assert abs(graph.loss - loss) <= 1e-12 * abs(loss)
    for name, value in graph.backward().items():
        assert abs(value - expected[str(name)]) <= 1e-9 * abs(expected[str(name)]), name

    rows = [
        ("NumPy by hand, sigmoid 1/(1+exp(-a))", best_of(options.repeats, lambda: by_hand(x, y, **PARAMS))),
        ("NumPy by hand, overflow-free sigmoid",
         best_of(options.repeats, lambda: by_hand(x, y, **PARAMS, sigma=stable_sigmoid))),
        ("symgrad Graph forward + backward", best_of(options.repeats, engine)),
        ("  same, sigmoid forward 1/(1+exp(-a))", best_of(options.repeats, lambda: engine(variant))),
    ]
    reference = rows[0][1]
    print(f"chain(3, sigmoid) + half squared error, batch of {options.samples:,}, "
          f"best of {options.repeats}")
    print(f"{'implementation':<42} {'seconds':>9} {'ratio':>7}")
    for name, seconds in rows:
        print(f"{name:<42} {seconds:>9.4f} {seconds / reference:>6.2f}x")


if __name__ == "__main__":
    main()
