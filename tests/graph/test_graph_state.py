"""A Graph never answers with another pass's numbers: not after a failed forward, not from another thread.

References: the hand derivation of L = (w x + b - y)², dL/dw = 2 x r and
dL/db = 2 r with r = w x + b - y.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import sympy as sp

from symgrad.graph.engine import Graph, GraphError

w, b, x, y = sp.symbols("w b x y")
LOSS = (w * x + b - y) ** 2


def by_hand(point: dict) -> tuple[float, dict]:
    residual = point[w] * point[x] + point[b] - point[y]
    return residual**2, {w: 2 * point[x] * residual, b: 2 * residual}


def test_backward_after_a_failed_forward_raises():
    graph = Graph.from_expr(sp.log(w * x), inputs=[x])
    assert graph.forward({w: 2.0, x: 3.0}) == pytest.approx(np.log(6.0))
    assert graph.backward()[w] == pytest.approx(0.5)  # d/dw log(w x) = 1/w
    with pytest.raises(GraphError, match="nan"):
        graph.forward({w: 2.0, x: -3.0})  # log of -6
    with pytest.raises(GraphError, match="last forward\\(\\) failed"):
        graph.backward()
    for read in (lambda: graph.value("L"), lambda: graph.grad(w)):
        with pytest.raises(GraphError, match="last forward\\(\\) failed"):
            read()
    # a good forward makes the graph usable again, with the new numbers
    graph.forward({w: 4.0, x: 1.0})
    assert graph.backward()[w] == pytest.approx(0.25)


@pytest.mark.parametrize("bad", [{w: 1.0}, {w: "two", x: 1.0}, {w: 1.0, x: 1.0, y: 2.0}])
def test_any_failed_forward_drops_the_previous_pass(bad):
    graph = Graph.from_expr(w * x, inputs=[x])
    graph.forward({w: 1.0, x: 2.0})
    graph.backward()
    with pytest.raises(GraphError):
        graph.forward(bad)
    with pytest.raises(GraphError, match="last forward\\(\\) failed"):
        graph.backward()
    assert not graph.has_values and not graph.has_gradients


def test_an_unknown_reduction_is_a_failed_forward_too():
    graph = Graph.from_expr(w * x, inputs=[x])
    graph.forward({w: 1.0, x: [1.0, 2.0]})
    with pytest.raises(GraphError, match="unknown reduction"):
        graph.forward({w: 1.0, x: [1.0, 2.0]}, reduction="max")
    with pytest.raises(GraphError, match="last forward\\(\\) failed: unknown reduction"):
        graph.backward()


def test_threads_sharing_one_graph_each_get_their_own_gradients():
    graph = Graph.from_expr(LOSS, inputs=[x, y])
    threads, calls = 8, 50
    start = threading.Barrier(threads)
    wrong: list = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        start.wait()  # all threads run their passes at once
        for _ in range(calls):
            point = {s: float(rng.uniform(-2, 2)) for s in (w, b, x, y)}
            loss = graph.forward(point)
            time.sleep(0)  # let another thread run its forward between this one's forward and backward
            grads = graph.backward()
            time.sleep(0)
            expected_loss, expected = by_hand(point)
            fresh = Graph.from_expr(LOSS, inputs=[x, y])
            fresh.forward(point)
            if loss != pytest.approx(expected_loss, rel=1e-12) or any(
                    grads[s] != pytest.approx(expected[s], rel=1e-12, abs=1e-15) for s in (w, b)) or \
                    grads != fresh.backward() or graph.value("L") != pytest.approx(expected_loss, rel=1e-12):
                wrong.append((seed, point, loss, grads))

    workers = [threading.Thread(target=work, args=(seed,)) for seed in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert wrong == []


def test_another_threads_pass_is_not_this_threads():
    graph = Graph.from_expr(w * x, inputs=[x])
    graph.forward({w: 3.0, x: 2.0})
    seen = {}

    def other() -> None:
        seen["values"] = graph.has_values
        graph.forward({w: 5.0, x: 7.0})
        seen["grad"] = graph.backward()[w]

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == {"values": False, "grad": 7.0}
    assert graph.backward()[w] == 2.0 and graph.loss == 6.0  # this thread's pass: x = 2
