"""Computational graph of a model: build it from named stages, run numeric forward and backward passes.

The graph is drawn the way the lectures draw one, not the way SymPy stores an
expression: ``a - b`` is one ``sub`` node, ``x**2`` a ``square`` node,
``(y - f3)**2/2`` a ``div`` by the constant 2, and a model's stages (``a1``,
``f1``, ...) are named nodes. Every operation's forward pass and local
derivative come from :data:`symgrad.core.ops.OPS`; nothing here differentiates.

>>> from sympy import symbols
>>> x, y, r, q, z, f = symbols('x y r q z f')
>>> from symgrad.core.model import Model
>>> g = Graph.from_model(Model([(q, x + y), (z, q + 1), (f, z * r)], params=[x, y, r]))
>>> g.forward({'x': -2, 'y': 5, 'r': -4})  # q = 3, z = 4, f = 4 * -4
-16.0
>>> g.backward()
{x: -4.0, y: -4.0, r: 4.0}
>>> g.value('q'), g.grad('z')  # df/dz = r
(3.0, -4.0)
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy import Indexed, IndexedBase, MatrixSymbol, Symbol

from .decompose import class_axis, decompose, fuse, unsupported_message
from ..core.matrix_model import MatrixModel
from ..core.shapes import as_given
from ..errors import GraphError, ShapeError
from ..core.model import Model
from ..core.ops import OPS, Op
from .backend import render as render_drawing
from .backend import repr_mimebundle, repr_svg, to_dot
from .nodes import CONSTANT, INPUT, OPERATION, PARAMETER, Node

__all__ = ["Graph", "Node", "GraphError", "REDUCTIONS"]

#: how a batched output becomes the scalar loss that ``backward`` differentiates
REDUCTIONS = frozenset({"mean", "sum", "none"})

# -- reading SymPy as the lectures draw -------------------------------------------

class Graph:
    """The computational graph of a model, with numeric forward and reverse-mode backward passes.

    Build it with :meth:`from_model` or :meth:`from_expr`; run :meth:`forward`
    with values for the inputs and parameters, then :meth:`backward`; read
    any node's numbers with :meth:`value` and :meth:`grad`.

    After a :meth:`forward` that raised, :meth:`backward`, :meth:`value` and
    :meth:`grad` raise a :class:`GraphError` saying so: nothing of an earlier
    pass can be read as if it belonged to the failed one.

    Threads: a Graph may be shared between threads. Its structure (the
    nodes) is read-only once built; what a pass computes is kept per thread
    (``threading.local``), so :meth:`backward`, :meth:`value` and
    :meth:`grad` in a thread read that thread's last :meth:`forward`, never
    another thread's. ``forward`` returns the loss and ``backward`` a fresh
    dict, so the results of one call are never overwritten by another.
    (A lock would also be sound, but would serialise every pass and still
    need forward and backward called as one pair; per-thread state needs
    neither.) Registering operations while graphs are built is not
    thread-safe.

    >>> from symgrad import networks, losses
    >>> g = Graph.from_model(networks.chain(1, loss=losses.half_squared_error))
    >>> [node.name for node in g.nodes if node.names]
    ['a1', 'f1', 'L']
    >>> print(g.node('L').op.name, g.node('L').args[0].op.name)
    div square
    """

    def __init__(self, model: Model | MatrixModel):
        if not isinstance(model, (Model, MatrixModel)):
            raise TypeError(f"Graph needs a symgrad Model (use Graph.from_expr for an expression), not {model!r}")
        self.model = model
        #: whether the nodes hold matrices (a MatrixModel): values are 2-D arrays of the declared shapes
        #: (a column k×1 stays k×1, so an N×1 target never broadcasts against a flat array)
        self.matrix = isinstance(model, MatrixModel)
        self.nodes: list[Node] = []  # grows in topological order while stages are added
        self._memo: dict[sp.Basic, Node] = {}
        self._structure: dict[tuple, Node] = {}
        self._by_name: dict[str, Node] = {}
        self._inputs = set(model.inputs)
        self._params = set(model.params)
        self._definitions: dict[sp.Basic, sp.Expr] = {}
        self._reads: list[tuple[Node, sp.Basic]] = []
        for symbol, expr in model.stages:
            self._add_stage(symbol, expr)
        for node, read in self._reads:  # σ(a) may be built after the fused node that reads it, or never
            node.reads = self._memo.get(read)
        #: every node, arguments before consumers
        self.nodes: tuple[Node, ...] = tuple(self.nodes)
        self.outputs: tuple[Node, ...] = tuple(self._by_name[str(s)] for s in model.outputs)
        # the structure above is read-only from here on; what a pass computes is each thread's own
        self._local = threading.local()

    # -- construction ----------------------------------------------------------

    @classmethod
    def from_model(cls, model: Model) -> "Graph":
        """The graph of a :class:`~symgrad.model.Model`: one named node per stage.

        >>> from symgrad import networks
        >>> len(Graph.from_model(networks.linear()).nodes)  # w, x, w*x, b, +
        5
        """
        return cls(model)

    @classmethod
    def from_expr(cls, expr, inputs: Iterable = (), params: Iterable | None = None,
                  output="L") -> "Graph":
        """The graph of a bare SymPy expression (a model with one stage named ``output``).

        >>> from sympy import symbols
        >>> w, x, b, y = symbols('w x b y')
        >>> g = Graph.from_expr((y - (w*x + b))**2, inputs=[x, y])
        >>> [n.op.name for n in g.nodes if n.op]
        ['mul', 'add', 'sub', 'square']
        """
        if isinstance(expr, Model):
            return cls(expr)
        return cls(Model.from_expr(expr, inputs=inputs, params=params, output=output))

    def _add_stage(self, symbol: Symbol, expr: sp.Expr) -> None:
        try:
            node = self._build(expr)
        except GraphError as error:
            raise GraphError(f"stage {symbol} = {expr}: {error}") from None
        node.names.append(str(symbol))
        self._by_name.setdefault(str(symbol), node)
        self._memo[symbol] = node
        self._definitions[symbol] = expr

    def _definition(self, symbol) -> sp.Expr | None:
        return self._definitions.get(symbol)

    def _build(self, expr: sp.Expr) -> Node:
        # iterative post-order walk (no recursion, so depth is unlimited); each
        # distinct subexpression becomes one node, however often it is used
        pending: dict[sp.Basic, tuple[str, list]] = {}
        stack = [(expr, False)]
        while stack:
            current, expanded = stack.pop()
            if current in self._memo:
                continue
            if not expanded:
                leaf = self._leaf(current)
                if leaf is not None:
                    self._memo[current] = leaf
                    continue
                # a composition that saturates (log(1 - σ(a))) is one fused node of its stable form
                fused = fuse(current, self._definition)
                pending[current] = fused if fused is not None else (*decompose(current), None)
                stack.append((current, True))
                stack.extend((a, False) for a in reversed(pending[current][1]) if a not in self._memo)
            else:
                name, args, read = pending.pop(current)
                node = self._operation(OPS[name], [self._memo[a] for a in args], current)
                if read is not None:
                    self._reads.append((node, read))
                self._memo[current] = node
        return self._memo[expr]

    def _leaf(self, expr: sp.Basic) -> Node | None:
        if isinstance(expr, (Symbol, MatrixSymbol)):
            if expr in self._inputs or expr in self._params:
                kind = INPUT if expr in self._inputs else PARAMETER
                node = self._new(Node(len(self.nodes), kind, expr, symbol=expr))
                self._by_name[str(expr)] = node
                return node
            raise GraphError(f"{expr} is not an input, a parameter or an earlier stage")
        if isinstance(expr, (Indexed, IndexedBase)):
            raise GraphError(unsupported_message(expr))
        if expr.is_number:
            try:
                value = float(expr)
            except TypeError:
                raise GraphError(f"constant {expr} is not a real number") from None
            if not math.isfinite(value):
                raise GraphError(f"constant {expr} is not finite")
            key = ("constant", value)
            if key not in self._structure:
                self._structure[key] = self._new(Node(len(self.nodes), CONSTANT, expr, constant=value))
            return self._structure[key]
        return None

    def _operation(self, entry: Op, args: list[Node], expr: sp.Expr) -> Node:
        columns = class_axis(expr) == 0
        key = (entry.name, tuple(a.index for a in args), columns)
        if key not in self._structure:
            node = self._new(Node(len(self.nodes), OPERATION, expr, op=entry, args=tuple(args),
                                  samples_as_columns=columns))
            for position, arg in enumerate(args):
                arg.consumers.append((node, position))
            self._structure[key] = node
        return self._structure[key]

    def _new(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    # -- lookup -----------------------------------------------------------------

    def node(self, key) -> Node:
        """The node of a symbol, a name (input, parameter or stage), a subexpression, or a node itself.

        >>> from sympy import symbols
        >>> w, x = symbols('w x')
        >>> g = Graph.from_expr(w * x + 1, inputs=[x])
        >>> g.node('L').op.label, g.node(w * x).op.name
        ('+', 'mul')
        """
        if isinstance(key, Node):
            if key.index < len(self.nodes) and self.nodes[key.index] is key:
                return key
            raise GraphError(f"{key!r} is a node of another graph")
        if isinstance(key, (str, Symbol)) and str(key) in self._by_name:
            return self._by_name[str(key)]
        if isinstance(key, sp.Basic) and key in self._memo:
            return self._memo[key]
        known = ", ".join(sorted(self._by_name))
        raise GraphError(f"{key!r} is not a node of this graph (named nodes: {known})")

    @property
    def output(self) -> Node:
        """The single output node (the loss) that :meth:`backward` differentiates."""
        if len(self.outputs) != 1:
            raise GraphError(
                f"graph has {len(self.outputs)} outputs ({', '.join(n.name for n in self.outputs)}); "
                "add a loss with model.with_loss(...) to get one scalar to differentiate"
            )
        return self.outputs[0]

    @property
    def inputs(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == INPUT)

    @property
    def params(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == PARAMETER)

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __repr__(self) -> str:
        counts = {kind: sum(n.kind == kind for n in self.nodes)
                  for kind in (INPUT, PARAMETER, CONSTANT, OPERATION)}
        parts = ", ".join(f"{count} {kind}s" for kind, count in counts.items())
        outputs = ", ".join(n.name for n in self.outputs)
        return f"Graph({len(self.nodes)} nodes: {parts}; output {outputs})"

    # -- structure -----------------------------------------------------------------

    def ancestors(self, node) -> set[Node]:
        """Every node that ``node`` depends on, itself included."""
        return self._reach(self.node(node), lambda n: n.args)

    def descendants(self, node) -> set[Node]:
        """Every node that depends on ``node``, itself included."""
        return self._reach(self.node(node), lambda n: [c for c, _ in n.consumers])

    @staticmethod
    def _reach(start: Node, neighbours) -> set[Node]:
        seen, stack = {start}, [start]
        while stack:
            for other in neighbours(stack.pop()):
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        return seen

    def nodes_between(self, source, target=None) -> set[Node]:
        """The nodes on any path from ``source`` to ``target`` (the output by default).

        >>> from symgrad import networks
        >>> g = Graph.from_model(networks.chain(2))
        >>> sorted(n.name for n in g.nodes_between('w2') if n.name)
        ['a2', 'f2', 'w2']
        """
        target = self.output if target is None else self.node(target)
        return self.descendants(source) & self.ancestors(target)

    # -- forward ----------------------------------------------------------------------

    def forward(self, values: Mapping | None = None, reduction: str = "mean", **named_values):
        """Compute every node's value; return the output (reduced over a batch by ``reduction``).

        ``values`` maps inputs and parameters (symbols or names) to floats or
        NumPy arrays of one common batch shape. A batched output becomes the
        loss by ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"``
        (the per-sample outputs).

        >>> from sympy import symbols
        >>> w, x = symbols('w x')
        >>> g = Graph.from_expr(w * x, inputs=[x])
        >>> g.forward({w: 2.0, x: [1.0, 2.0, 3.0]})
        4.0
        >>> g.forward({w: 2.0, x: [1.0, 2.0, 3.0]}, reduction="sum")
        12.0
        """
        # this thread's previous pass is dropped first: after a failed forward, nothing stale can be read
        state = self._local.state = _Pass(failure="forward() has not finished")
        try:
            loss = self._forward(state, {**dict(values or {}), **named_values}, reduction)
        except Exception as error:
            state.failure = f"the last forward() failed: {error}"
            raise
        state.failure = None
        return loss

    def _forward(self, state: "_Pass", given: dict, reduction: str):
        if reduction not in REDUCTIONS:
            raise GraphError(f"unknown reduction {reduction!r} (must be one of {sorted(REDUCTIONS)})")
        leaves, batch_shape = self._leaf_values(given, state)
        computed: list = [None] * len(self.nodes)
        with np.errstate(all="ignore"):  # a nan or inf is reported below, naming the node
            for node in self.nodes:
                if node.kind == OPERATION:
                    result = _run_forward(node, [computed[a.index] for a in node.args])
                    if not _all_finite(result):
                        raise GraphError(self._non_finite_message(node, result, computed))
                elif node.kind == CONSTANT:
                    result = node.constant
                else:
                    result = leaves[node.symbol]
                computed[node.index] = result
        # a matrix model's loss is already one number (a mean over its batch); its other outputs are
        # vectors or matrices, returned whole
        outputs = [_plain(computed[n.index]) if self.matrix else self._reduce(computed[n.index], reduction)
                   for n in self.outputs]
        state.values, state.reduction, state.batch_shape = computed, reduction, batch_shape
        state.loss = outputs[0] if len(outputs) == 1 else tuple(outputs)
        return state.loss

    # -- this thread's last pass -----------------------------------------------------------

    @property
    def _pass(self) -> "_Pass":
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _Pass()
        return state

    @property
    def _values(self) -> list | None:
        return self._pass.values

    @property
    def _grads(self) -> list | None:
        return self._pass.grads

    @property
    def loss(self):
        """The output of this thread's last :meth:`forward` (``None`` before one succeeded)."""
        return self._pass.loss

    @property
    def reduction(self) -> str:
        """How this thread's last :meth:`forward` reduced a batch: ``"mean"``, ``"sum"`` or ``"none"``."""
        return self._pass.reduction

    @property
    def batch_shape(self) -> tuple:
        """The batch shape of this thread's last :meth:`forward` (``()`` for one sample)."""
        return self._pass.batch_shape

    def _leaf_values(self, given: dict, state: "_Pass") -> tuple[dict, tuple]:
        if self.matrix:
            return self._matrix_leaf_values(given, state), ()
        by_name = {str(k): (k, v) for k, v in given.items()}
        known = {str(s) for s in self.model.inputs + self.model.params}
        for name, (key, _) in by_name.items():
            if name not in known:
                role = "a stage, computed by the graph" if name in self._by_name else "not an input or a parameter"
                raise GraphError(f"got a value for {key!r}, which is {role} (inputs and parameters: "
                                 f"{', '.join(sorted(known))})")
        leaves, shapes = {}, {}
        for node in self.nodes:
            if node.kind not in (INPUT, PARAMETER):
                continue
            name = str(node.symbol)
            if name not in by_name:
                user = node.consumers[0][0].describe() if node.consumers else "the output"
                raise GraphError(f"missing value for {node.kind} {name} (used by {user})")
            leaves[node.symbol] = value = _as_number(by_name[name][1], node)
            if np.ndim(value):
                shapes[name] = np.shape(value)
        distinct = sorted(set(shapes.values()))
        if len(distinct) > 1:
            first, second = (next(n for n, s in shapes.items() if s == d) for d in distinct[:2])
            raise GraphError(
                f"inconsistent batch shapes: {first} has shape {shapes[first]} but {second} has "
                f"shape {shapes[second]}; batched values must share one shape (scalars are broadcast)"
            )
        return leaves, (distinct[0] if distinct else ())

    def _matrix_leaf_values(self, given: dict, state: "_Pass") -> dict:
        try:
            arrays, _ = self.model.bind(given)
        except ShapeError as error:
            raise GraphError(str(error)) from None
        # backward() returns each parameter's gradient in the shape its value was given (a flat bias, flat)
        state.given = {str(k): v for k, v in given.items()}
        return {node.symbol: arrays[str(node.symbol)] for node in self.nodes if node.kind in (INPUT, PARAMETER)}

    def _non_finite_message(self, node: Node, result, computed: list) -> str:
        if self.matrix:
            leaves = sorted((str(n.symbol) for n in self.ancestors(node) if n.symbol is not None))
            what = "nan" if np.isnan(np.asarray(result)).any() else "inf"
            shapes = ", ".join(f"{a.reference} ({'×'.join(map(str, np.shape(computed[a.index]))) or 'scalar'})"
                               for a in node.args)
            return (f"forward pass produced {what} at {node.describe()} from {shapes}; "
                    f"check the values of {', '.join(leaves)}")
        bad = np.argwhere(~np.isfinite(np.asarray(result)))
        where = tuple(int(i) for i in bad[0]) if np.ndim(result) else ()
        what = "nan" if np.isnan(np.asarray(result)[where]) else "inf"
        at = f" at batch index {where}" if where else ""
        arguments = ", ".join(
            f"{a.reference} = {_format(np.asarray(computed[a.index])[where] if np.ndim(computed[a.index]) else computed[a.index])}"
            for a in node.args
        )
        leaves = sorted((str(n.symbol) for n in self.ancestors(node) if n.symbol is not None))
        return (f"forward pass produced {what} at {node.describe()}{at}: its arguments are "
                f"{arguments}; check the values of {', '.join(leaves)}")

    @staticmethod
    def _reduce(value, reduction: str):
        if np.ndim(value) == 0:
            return float(value)
        if reduction == "mean":
            return float(np.mean(value))
        if reduction == "sum":
            return float(np.sum(value))
        return value

    # -- backward ---------------------------------------------------------------------

    def backward(self) -> dict[Symbol, object]:
        """Reverse-mode pass: every node's gradient of the (reduced) output; returns the parameters'.

        Each operation's local rule is the table's ``backward``; a node used
        several times receives the sum of its consumers' contributions. With
        a batch, scalar parameters get the gradient of the reduced loss;
        with ``reduction="none"`` every gradient is per sample. A matrix
        parameter's gradient comes back in the shape its value was given (a
        bias given flat, flat); :meth:`grad` reads it with its declared shape.

        >>> from sympy import symbols
        >>> w, x = symbols('w x')
        >>> g = Graph.from_expr(w * x + w, inputs=[x])  # dL/dw = x + 1
        >>> g.forward({w: 3.0, x: 2.0})
        9.0
        >>> g.backward()
        {w: 3.0}
        """
        state = self._pass
        if state.failure is not None:
            raise GraphError(f"{state.failure}; backward() has no values to differentiate "
                             "(call forward(values) again with values that work)")
        if state.values is None:
            raise GraphError("call forward(values) before backward()")
        output = self.output
        values = state.values
        grads: list = [None] * len(self.nodes)
        # each edge's share: what consumer ``node`` sends its argument at ``position`` (a fork's shares add up)
        edges: dict[tuple[int, int], object] = {}
        # what a fused node's slides' form sends to the value it reads (σ(a) of log(1 − σ)): shown, not
        # propagated, since the fused rule already carried that gradient to the arguments
        shown: list = [None] * len(self.nodes)
        out_value = values[output.index]
        # d(mean)/d(out_i) = 1/N for every sample: a scalar seed broadcasts through every
        # rule and saves a pass over the batch; gradients are given their full shape at the end
        batched = np.ndim(out_value) > 0
        grads[output.index] = 1.0 / np.size(out_value) if batched and state.reduction == "mean" else 1.0
        per_sample = state.reduction == "none"
        with np.errstate(all="ignore"):  # a non-finite gradient is reported below
            for node in reversed(self.nodes):
                upstream = grads[node.index]
                if upstream is None or node.kind != OPERATION:
                    continue
                args = [values[a.index] for a in node.args]
                parts = _run_backward(node, upstream, values[node.index], args)
                across_batch = not per_sample and np.ndim(values[node.index]) > 0
                for position, (arg, part) in enumerate(zip(node.args, parts)):
                    edges[node.index, position] = self._accumulate(grads, arg, part, values, node, across_batch)
                if node.reads is not None:
                    part = _run_read_backward(node, upstream, values[node.reads.index], args)
                    self._accumulate(shown, node.reads, part, values, node, across_batch)
        propagated = [self._shaped(g, values[n.index], batched, state) for n, g in zip(self.nodes, grads)]
        self._check_gradients(propagated)
        state.edge_grads = {key: self._shaped(part, values[self.nodes[key[0]].args[key[1]].index], batched, state)
                            for key, part in edges.items()}
        state.grads = [g if extra is None else g + self._shaped(extra, values[n.index], batched, state)
                       for n, g, extra in zip(self.nodes, propagated, shown)]
        if self.matrix:  # each gradient in the shape its parameter was given, as autodiff libraries return it
            return {n.symbol: as_given(state.grads[n.index], state.given[str(n.symbol)])
                    for n in self.nodes if n.kind == PARAMETER}
        return {n.symbol: _plain(state.grads[n.index]) for n in self.nodes if n.kind == PARAMETER}

    def _accumulate(self, grads: list, arg: Node, part, values: list, node: Node, across_batch: bool):
        """Add one consumer's gradient ``part`` to ``grads[arg]`` (a node used several times gets the sum).

        Returns the part as added (shaped as ``arg``'s gradient): that edge's share.
        """
        if self.matrix:  # a bias broadcast over rows gets the sum over the rows
            part = _unbroadcast(part, np.shape(values[arg.index]))
        elif across_batch and np.ndim(values[arg.index]) == 0:
            # a scalar used across a batch receives the gradient summed over the batch;
            # a scalar part stands for the same value at every sample
            part = np.sum(part) if np.ndim(part) else part * np.size(values[node.index])
        current = grads[arg.index]
        grads[arg.index] = part if current is None else current + part
        return part

    @staticmethod
    def _shaped(grad, value, batched: bool, state: "_Pass"):
        grad = 0.0 if grad is None else grad
        # per sample (reduction "none"), every gradient has the batch's shape; otherwise a
        # node's gradient has the shape of its value (a scalar parameter's is already summed)
        shape = state.batch_shape if batched and state.reduction == "none" else np.shape(value)
        return np.broadcast_to(grad, shape) if np.shape(grad) != shape else grad

    def _check_gradients(self, grads: list) -> None:
        # only a parameter's gradient must be finite (sqrt(x) at x = 0 is fine if x is data);
        # when one is not, name the node whose local rule first broke
        for param in (n for n in self.nodes if n.kind == PARAMETER):
            if _all_finite(grads[param.index]):
                continue
            suspects = self.descendants(param)
            for node in reversed(self.nodes):
                if node in suspects and not _all_finite(grads[node.index]):
                    consumer = next(c for c, _ in node.consumers if _all_finite(grads[c.index]))
                    raise GraphError(
                        f"backward pass produced a non-finite gradient for {node.describe()} through "
                        f"{consumer.describe()}, so the gradient of {param.symbol} is not finite: the "
                        f"{consumer.op.name} rule has no finite value at its arguments "
                        "(a point where the function is not differentiable)"
                    )

    # -- reading values -------------------------------------------------------------------

    def value(self, key):
        """The forward value of a node (by node, symbol, name or subexpression).

        A scalar is returned as a Python float, a batch as a NumPy array.
        """
        return _plain(self._values_of_last_pass()[self.node(key).index])

    def grad(self, key):
        """The gradient of the (reduced) output with respect to a node's value."""
        self._values_of_last_pass()
        if self._grads is None:
            raise GraphError("no gradients yet: call forward(values) then backward()")
        return _plain(self._grads[self.node(key).index])

    def edge_grad(self, node, consumer, position: int | None = None):
        """The gradient that flows back along one edge: ``consumer``'s share of ``node``'s gradient.

        It is the consumer's upstream gradient times its local derivative with
        respect to argument ``position``; a node used several times (a fork)
        has one share per use, and its :meth:`grad` is their sum. ``position``
        may be left out when ``consumer`` uses ``node`` once.

        >>> from sympy import symbols
        >>> x, y = symbols('x y')
        >>> g = Graph.from_expr(x * (x + y), inputs=[y])  # x feeds the product and the sum
        >>> _ = g.forward(x=3.0, y=1.0)
        >>> _ = g.backward()
        >>> g.edge_grad('x', x * (x + y), 0), g.edge_grad('x', x + y), g.grad('x')  # x + y, then x
        (4.0, 3.0, 7.0)
        """
        self._values_of_last_pass()
        state = self._pass
        if state.grads is None:
            raise GraphError("no gradients yet: call forward(values) then backward()")
        node, consumer = self.node(node), self.node(consumer)
        positions = [p for c, p in node.consumers if c is consumer]
        if not positions:
            raise GraphError(f"{node.describe()} is not an argument of {consumer.describe()}")
        if position is None:
            if len(positions) > 1:
                raise GraphError(f"{consumer.describe()} uses {node.describe()} at positions {positions}: "
                                 "give position=")
            position = positions[0]
        elif position not in positions:
            raise GraphError(f"{consumer.describe()} uses {node.describe()} at positions {positions}, "
                             f"not {position}")
        share = state.edge_grads.get((consumer.index, position))
        return 0.0 if share is None else _plain(share)

    def _values_of_last_pass(self) -> list:
        state = self._pass
        if state.failure is not None:
            raise GraphError(f"{state.failure}; no values to read (call forward(values) again)")
        if state.values is None:
            raise GraphError("no values yet: call forward(values) first")
        return state.values

    @property
    def has_values(self) -> bool:
        return self._values is not None

    @property
    def has_gradients(self) -> bool:
        return self._grads is not None

    def local_derivatives(self, key) -> tuple:
        """The numeric partial derivative of an operation node with respect to each argument.

        They are the table's ``backward`` rule with an upstream gradient of 1,
        at the values of the last forward pass.

        >>> from sympy import symbols
        >>> z, r = symbols('z r')
        >>> g = Graph.from_expr(z * r)
        >>> _ = g.forward({z: 4.0, r: -4.0})
        >>> [(str(a.symbol), d) for a, d in zip(g.node('L').args, g.local_derivatives('L'))]
        [('r', 4.0), ('z', -4.0)]
        """
        node = self.node(key)
        if node.kind != OPERATION:
            raise GraphError(f"{node.describe()} is not an operation: it has no local derivatives")
        if node.shape or any(a.shape for a in node.args):
            raise GraphError(f"{node.describe()} works on matrices: its local derivative is a Jacobian, not "
                             "a number; its backward rule sends the upstream gradient on (for C = A B, "
                             "dA = dC Bᵀ and dB = Aᵀ dC)")
        values = self._values_of_last_pass()
        out = values[node.index]
        args = [values[a.index] for a in node.args]
        with np.errstate(all="ignore"):
            return tuple(_plain(d) for d in node.op.backward(np.ones_like(out, dtype=float), out, *args))

    # -- drawing: drawing.py builds the DOT, backend.py renders it; nothing about drawing lives here ----

    def to_dot(self, **options):
        """The drawing as a ``graphviz.Digraph`` (shown in Jupyter with or without ``dot``); see
        :func:`symgrad.graph.to_dot` for options."""
        return to_dot(self, **options)

    def render(self, path, format: str | None = None, **options):
        """Write the drawing to ``path`` as SVG, PNG or PDF; see :func:`symgrad.graph.render`."""
        return render_drawing(self, path, format=format, **options)

    def _repr_svg_(self):
        return repr_svg(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        # Jupyter asks for this first: the drawing (dot, else the embedded renderer) and a text line
        return repr_mimebundle(self, include, exclude)


@dataclass
class _Pass:
    """What one thread's last forward (and backward) computed; see :class:`Graph` on threads."""

    #: every node's value, by node index; ``None`` before a forward pass succeeded
    values: list | None = None
    #: every node's gradient, by node index; ``None`` before backward
    grads: list | None = None
    #: each edge's share of its argument's gradient, by ``(consumer index, argument position)``
    edge_grads: dict = field(default_factory=dict)
    #: a matrix model's parameter values as given (a gradient comes back in the same shape)
    given: dict = field(default_factory=dict)
    batch_shape: tuple = ()
    reduction: str = "mean"
    loss: object = None
    #: why the last forward pass failed (then nothing of it can be read), else ``None``
    failure: str | None = None


def _transposed(value):
    return np.transpose(value) if np.ndim(value) == 2 else value


def _run_forward(node: Node, args: list):
    """An operation's forward value; a softmax or loss over columns runs on the transposes (rows)."""
    if not node.samples_as_columns:
        return node.op.forward(*args)
    return _transposed(node.op.forward(*(_transposed(a) for a in args)))


def _run_backward(node: Node, upstream, out, args: list) -> tuple:
    """An operation's backward rule, its parts shaped as its arguments (see :func:`_run_forward`)."""
    if not node.samples_as_columns:
        return node.op.backward(upstream, out, *args)
    parts = node.op.backward(_transposed(upstream), _transposed(out), *(_transposed(a) for a in args))
    return tuple(_transposed(p) for p in parts)


def _run_read_backward(node: Node, upstream, read_value, args: list):
    """What a fused node's slides' form sends to the value it reads, shaped as that value."""
    if not node.samples_as_columns:
        return node.op.read_backward(upstream, read_value, *args)
    return _transposed(node.op.read_backward(_transposed(upstream), _transposed(read_value),
                                             *(_transposed(a) for a in args)))


def _unbroadcast(part, shape: tuple):
    """A gradient summed back to the shape of the value it belongs to (undoing NumPy broadcasting)."""
    if np.shape(part) == shape:
        return part
    part = np.asarray(part)
    extra = part.ndim - len(shape)
    if extra > 0:
        part = part.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and part.shape[i] != 1)
    if stretched:
        part = part.sum(axis=stretched, keepdims=True)
    return float(part) if not shape else np.broadcast_to(part, shape)


def _all_finite(value) -> bool:
    if np.ndim(value) == 0:
        return math.isfinite(value)
    # one reduction is much cheaper than an elementwise test; a finite array can
    # only sum to inf by overflow, which the exact test below rules out
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(value, axis=None)
    return math.isfinite(total) or bool(np.isfinite(value).all())


def _as_number(value, node: Node):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise GraphError(f"value of {node.kind} {node.symbol} is not a number or an array of numbers: "
                             f"{value!r}") from None
        if array.size == 0:
            raise GraphError(f"value of {node.kind} {node.symbol} is an empty array")
        number = float(array) if array.ndim == 0 else array
    if not _all_finite(number):
        raise GraphError(f"value of {node.kind} {node.symbol} is not finite: {value!r}")
    return number


def _plain(value):
    return float(value) if np.ndim(value) == 0 else value


def _format(value) -> str:
    return f"{float(value):.6g}"
