"""Time the graph engine's forward + backward against hand-written NumPy on the lectures' 3-layer chain.

    python3 benchmarks/bench_graph.py [--samples 1000000] [--repeats 7]

The model is chain(3, sigmoid) with half squared error, mean over a batch.
Each side is timed best-of-N; the table shows seconds and the ratio to the
hand-written version, measured in the same run. Figures move with the
machine's load and with glibc's handling of large allocations
(``MALLOC_MMAP_THRESHOLD_`` makes them steadier).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from symgrad import losses, networks  # noqa: E402
from symgrad.graph.engine import Graph  # noqa: E402

PARAMS = {"w1": 0.5, "w2": -1.0, "w3": 2.0, "b": 0.1}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def by_hand(x, y, w1, w2, w3, b):
    """Forward and backward of L = mean((y - f3)**2 / 2) written out as backprop by hand."""
    a1 = w1 * x + b
    f1 = sigmoid(a1)
    a2 = w2 * f1
    f2 = sigmoid(a2)
    a3 = w3 * f2
    f3 = sigmoid(a3)
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
        ("NumPy by hand (cached forward, backprop)", best_of(options.repeats, lambda: by_hand(x, y, **PARAMS))),
        ("symgrad Graph forward + backward", best_of(options.repeats, engine)),
    ]
    reference = rows[0][1]
    print(f"chain(3, sigmoid) + half squared error, batch of {options.samples:,}, "
          f"best of {options.repeats}")
    print(f"{'implementation':<42} {'seconds':>9} {'ratio':>7}")
    for name, seconds in rows:
        print(f"{name:<42} {seconds:>9.4f} {seconds / reference:>6.2f}x")


if __name__ == "__main__":
    main()
