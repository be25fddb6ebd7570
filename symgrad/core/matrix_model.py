"""MatrixModel: a network written as named matrix stages with shapes, inputs, parameters and a scalar loss."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sympy as sp
from sympy import MatrixSymbol, Symbol

from .model import StagedModel
from ..errors import ModelError
from .expressions import is_matrix, latex, text
from .shapes import bind_values, shape_text, size_symbols
from ..errors import ShapeError

__all__ = ["MatrixModel", "Layer"]


@dataclass(frozen=True)
class Layer:
    """One fully connected layer of a matrix model: ``pre = W·x + b`` then ``post = activation(pre)``."""

    index: int
    weight: MatrixSymbol
    bias: MatrixSymbol | None
    #: the stage holding ``W·x + b`` (``z1``)
    pre: MatrixSymbol
    #: the stage holding the activation (``h1``, ``p``), or ``None`` for the identity
    post: MatrixSymbol | None
    #: ``"sigmoid"``, ``"relu"``, ``"tanh"``, ``"softplus"``, ``"softmax"`` or ``"identity"``
    activation: str
    inputs: int
    units: int

    @property
    def output(self) -> MatrixSymbol:
        return self.pre if self.post is None else self.post


def _named(value, what: str):
    if isinstance(value, (MatrixSymbol, Symbol)):
        return value
    raise ModelError(f"{what} must be a SymPy MatrixSymbol or Symbol, not {value!r}")


def aligned(rows) -> str:
    """Lines ``name = formula`` with the shapes of the matrix ones lined up in a column on the right."""
    width = max((len(f"{s} = {e}") for s, e, shape in rows if shape), default=0)
    return "\n".join(f"{s} = {e}".ljust(width) + f"   ({shape_text(shape)})" if shape else f"{s} = {e}"
                     for s, e, shape in rows)


class MatrixModel(StagedModel):
    """A network at the level of matrices: ordered named stages whose values are matrices (or the scalar loss).

    Stages are ``(symbol, expression)`` pairs; a stage's symbol is a
    ``MatrixSymbol`` of the expression's shape (a mismatch is an error that
    names the stage) or, for the loss, a scalar ``Symbol``. ``params``
    defaults to every symbol used that is neither an input nor a stage.
    Build one with :func:`symgrad.matrix.dense`, :func:`~symgrad.matrix.mlp`
    or :func:`~symgrad.matrix.softmax_classifier`, or write the stages.

    >>> from sympy import MatrixSymbol, Symbol
    >>> from symgrad.matrix import Elementwise, HalfSquaredError
    >>> W, x, b, y = MatrixSymbol('W', 2, 3), MatrixSymbol('x', 3, 1), MatrixSymbol('b', 2, 1), MatrixSymbol('y', 2, 1)
    >>> z, h = MatrixSymbol('z', 2, 1), MatrixSymbol('h', 2, 1)
    >>> m = MatrixModel([(z, W*x + b), (h, Elementwise('sigmoid', z)), (Symbol('L'), HalfSquaredError(y, h))],
    ...                 inputs=[x, y])
    >>> m.params
    (W, b)
    >>> print(m)
    z = W·x + b      (2×1)
    h = σ(z)         (2×1)
    L = ½‖h - y‖²
    >>> MatrixModel([(MatrixSymbol('h', 3, 1), Elementwise('sigmoid', W*x))], inputs=[x])
    Traceback (most recent call last):
    ...
    symgrad.errors.ShapeError: stage h is declared 3×1 but σ(W·x) is 2×1
    """

    def __init__(self, stages, inputs: Iterable = (), params: Iterable | None = None, output=None,
                 name: str | None = None, roles: Mapping | None = None, layers: Iterable[Layer] = (),
                 **spec):
        pairs = list(stages.items() if isinstance(stages, Mapping) else stages)
        if not pairs:
            raise ModelError("a model needs at least one stage")
        self.stages: tuple = tuple(self._stage(s, e) for s, e in pairs)
        self.name = name
        self.inputs: tuple = tuple(_named(s, "an input") for s in inputs)
        self._definitions = dict(self.stages)
        self._check_stage_order()
        used = self._used()
        self.params: tuple = self._resolve_params(params, used)
        self.outputs: tuple = self._resolve_outputs(output)
        self.layers: tuple[Layer, ...] = tuple(layers)
        #: what each symbol is, for messages ("the weights of layer 2 (3 inputs → 2 units)")
        self.roles: dict = {str(k): v for k, v in (roles or {}).items()}
        #: how a builder made the model (loss, weight decay, batch size), for compiling and rebuilding
        self.spec: dict = dict(spec)

    # -- construction checks -------------------------------------------------------

    @staticmethod
    def _stage(symbol, expr):
        if isinstance(symbol, str):
            symbol = MatrixSymbol(symbol, *expr.shape) if is_matrix(expr) else Symbol(symbol)
        symbol = _named(symbol, "a stage")
        expr = sp.sympify(expr, strict=True)
        if isinstance(symbol, MatrixSymbol):
            if not is_matrix(expr):
                raise ShapeError(f"stage {symbol} is declared {shape_text(symbol.shape)} but {text(expr)} "
                                 "is a scalar")
            if symbol.shape != expr.shape:
                raise ShapeError(f"stage {symbol} is declared {shape_text(symbol.shape)} but {text(expr)} "
                                 f"is {shape_text(expr.shape)}")
        elif is_matrix(expr):
            raise ShapeError(f"stage {symbol} is a scalar but {text(expr)} is {shape_text(expr.shape)}; "
                             f"name it MatrixSymbol('{symbol}', {', '.join(map(str, expr.shape))})")
        return symbol, expr

    def _used(self) -> set:
        used: set = set()
        for _, expr in self.stages:
            used |= expr.free_symbols
        return used - set(self._definitions) - size_symbols(self.shapes.values())

    def _resolve_params(self, params, used) -> tuple:
        inputs = set(self.inputs)
        if params is None:
            found = [s for s in used - inputs if isinstance(s, MatrixSymbol)]
            found = sorted(found, key=sp.default_sort_key)
        else:
            found = [_named(p, "a parameter") for p in params]
            for p in found:
                if p in inputs:
                    raise ModelError(f"{p} is declared both an input and a parameter")
                if p not in used:
                    raise ModelError(f"parameter {p} does not appear in any stage")
        undefined = used - inputs - set(found)
        if undefined:
            culprit = sorted(undefined, key=sp.default_sort_key)[0]
            stage = next(s for s, e in self.stages if culprit in e.free_symbols)
            raise ModelError(f"stage {stage} = {text(self._definitions[stage])} uses {culprit}, which is not "
                             "an input, a parameter or an earlier stage")
        if not found:
            raise ModelError("model has no parameters: declare which symbols are parameters with params=[...]")
        return tuple(found)

    def _output_symbol(self, output):
        return self.symbol(output)

    # -- queries ---------------------------------------------------------------------

    @property
    def output(self):
        """The single scalar output (the loss) that gradients are taken of."""
        if len(self.outputs) != 1 or isinstance(self.outputs[0], MatrixSymbol):
            shown = ", ".join(f"{o} ({shape_text(getattr(o, 'shape', ()))})" for o in self.outputs)
            raise ModelError(f"the model's output {shown} is not one scalar; add a loss "
                             "(loss='cross_entropy' or loss='squared_error') to get one to differentiate")
        return self.outputs[0]

    @property
    def stage_symbols(self) -> tuple:
        return tuple(s for s, _ in self.stages)

    @property
    def shapes(self) -> dict:
        """The shape of every input, parameter and stage (``()`` for a scalar), by symbol."""
        table = {}
        for _, expr in getattr(self, "stages", ()):
            for s in expr.free_symbols:
                table[s] = getattr(s, "shape", ())
        for s, _ in getattr(self, "stages", ()):
            table[s] = getattr(s, "shape", ())
        return table

    @property
    def sizes(self) -> tuple:
        """The free size symbols of the shapes (the batch size ``N``), fixed by the data."""
        return tuple(sorted(size_symbols(self.shapes.values()), key=sp.default_sort_key))

    @property
    def batch(self):
        """The batch size (a symbol or a number) of a batched model, ``None`` for one sample."""
        return self.spec.get("batch")

    def definition(self, stage):
        """The expression that defines a stage."""
        stage = self.symbol(stage)
        if stage not in self._definitions:
            raise ModelError(f"{stage} is not a stage (stages: {self._stage_names()})")
        return self._definitions[stage]

    @property
    def symbols(self) -> dict:
        """Every name the model knows (inputs, parameters, stages), by name."""
        table = {str(s): s for s in self.inputs + self.params}
        table.update({str(s): s for s in self.stage_symbols})
        return table

    def symbol(self, name_or_symbol):
        """Resolve a name or symbol to the model's own symbol, with a clear error if unknown."""
        key = str(name_or_symbol)
        known = self.symbols
        if key in known:
            return known[key]
        raise ModelError(f"{name_or_symbol!r} is not a symbol of this model (it has: {', '.join(sorted(known))})")

    def role(self, symbol) -> str:
        """What a symbol is, in words: its role if a builder gave one, else its kind and shape."""
        symbol = self.symbol(symbol)
        if str(symbol) in self.roles:
            return self.roles[str(symbol)]
        kind = "input" if symbol in self.inputs else "parameter" if symbol in self.params else "stage"
        return f"{kind} {symbol} ({shape_text(self.shapes[symbol])})"

    def substitutions(self) -> dict:
        """Each stage symbol mapped to its closed form (stages substituted in order)."""
        closed: dict = {}
        for symbol, expr in self.stages:
            closed[symbol] = expr.xreplace(closed)
        return closed

    def closed_form(self, stage=None):
        """The output (or the given stage) with every stage substituted.

        >>> from symgrad.matrix import dense
        >>> print(dense(3, 2, 'sigmoid').closed_form())
        sigmoid(W1*x + b1)
        """
        target = self.outputs[0] if stage is None else self.symbol(stage)
        return self.substitutions().get(target, target)

    def bind(self, values: Mapping, check_finite: bool = True) -> tuple[dict, dict]:
        """Numeric values (by name) checked against the shapes; returns the arrays and the sizes.

        >>> import numpy as np
        >>> from symgrad.matrix import mlp
        >>> m = mlp([3, 2], 'sigmoid', loss='squared_error')
        >>> m.bind({'x': [1, 2, 3], 'y': [0, 1], 'W1': np.ones((3, 2)), 'b1': [0, 0]})
        Traceback (most recent call last):
        ...
        symgrad.errors.ShapeError: W1 has shape 3×2 but the weights of layer 1 (3 inputs → 2 units) must be 2×3
        """
        declared = {str(s): self.shapes[s] for s in self.inputs + self.params}
        given = {str(k): v for k, v in values.items()}
        return bind_values(declared, given, self.roles, check_finite)

    # -- printing ----------------------------------------------------------------------

    def __str__(self) -> str:
        return aligned([(text(s), text(e), getattr(s, "shape", None)) for s, e in self.stages])

    @staticmethod
    def _latex_of(expr) -> str:
        return latex(expr)

    @staticmethod
    def _text_of(expr) -> str:
        return text(expr)
