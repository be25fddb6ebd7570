"""Shared test helpers: exact symbolic equality; a matrix model's compiled loss and gradients at a point."""
from __future__ import annotations

import sympy as sp

import symgrad
from symgrad import Graph, lectures, losses, networks
from symgrad.check import matrix_point


def same(a, b) -> bool:
    """Exact equality: the difference of the two expressions simplifies to zero.

    Activations are rewritten as exponentials first, so ``sigmoid(a)`` and
    ``1/(1 + exp(-a))`` compare equal.
    """
    difference = sp.sympify(a) - sp.sympify(b)
    if difference == 0:
        return True
    return sp.simplify(difference.rewrite(sp.exp)) == 0


def compiled_at(model, values: dict):
    """``symgrad.compile(model)`` at ``values`` given by the model's own names: one sample's columns are
    handed over as a batch of one row, as the compiled function (always a batch) takes them."""
    f = symgrad.compile(model)
    arguments = dict(values)
    if model.batch is None:
        for mine, theirs in zip(model.inputs[:2], f.model.inputs[:2]):
            arguments[str(theirs)] = arguments.pop(str(mine)).T
    return f(arguments)


def drawn_chain3():
    """The lectures' 3-layer chain with its slide values, forward and backward done: ready to draw."""
    graph = Graph.from_model(networks.chain(3, loss=losses.half_squared_error))
    graph.forward(x=1.0, y=0.5, w1=0.5, w2=-1.0, w3=2.0, b=0.1)
    graph.backward()
    return graph


def drawn_lecture_example(name: str):
    """A lecture example's graph at the example's own values, forward and backward done."""
    example = lectures.example(name)
    graph = Graph.from_model(example.model)
    graph.forward(matrix_point(example.model, example.values))
    graph.backward()
    return graph
