"""Model: a loss written as ordered named stages, with its inputs (data) and parameters."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import sympy as sp
from sympy import Indexed, IndexedBase, Symbol

from ..printing import aligned_latex, latex, text
from ..errors import ModelError

__all__ = ["WIDE", "Model", "ModelError", "symbols_of", "contains", "depth", "free_symbols", "nodes_bottom_up", "replace_symbols", "size_exceeds",
           "split_deep"]

#: nodes whose free symbols are their arguments' (no bound variables): the walks below look inside them
_TRANSPARENT = (sp.Add, sp.Mul, sp.Pow, sp.Function)

#: stages deeper than this (in nested operations) are split into sub-stages before SymPy works on them:
#: SymPy's diff, printing and equality recurse through an expression, several frames a level
SHALLOW_HEIGHT = 12

#: sums with more terms than this inside a stage become sub-stages of their own, differentiated term by term
WIDE = 32


# -- walks that do not recurse (a model may be thousands of operations deep) ----------------------

def _nodes_bottom_up(expr: sp.Basic, done: set | None = None):
    """Each distinct node of ``expr`` (by identity) once, every node after its arguments; no recursion.

    Only the arguments of arithmetic and function nodes are visited; any other
    node (a Sum, an Indexed, a matrix product) is a leaf here. Nodes whose
    ids are in ``done`` (given by a caller walking several expressions) are
    skipped, and each visited node's id is added to it.
    """
    done = set() if done is None else done
    stack = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded or not isinstance(node, _TRANSPARENT) or not node.args:
            done.add(id(node))
            yield node
            continue
        stack.append((node, True))
        stack.extend((a, False) for a in reversed(node.args) if id(a) not in done)


def nodes_bottom_up(expr: sp.Basic):
    """Each distinct node of ``expr`` once, arguments first, without recursion; arithmetic and
    function nodes are walked into, any other node (a Sum, an Indexed) is a leaf.

    >>> from sympy import sin, symbols
    >>> x, w = symbols('x w')
    >>> [str(n) for n in nodes_bottom_up(sin(w*x) + w*x)]
    ['w', 'x', 'w*x', 'sin(w*x)', 'w*x + sin(w*x)']
    """
    return _nodes_bottom_up(expr)


def free_symbols(expr: sp.Basic) -> set:
    """``expr.free_symbols``, computed without recursion and visiting a shared part once.

    >>> from sympy import Sum, sin, symbols
    >>> x, w, k, n = symbols('x w k n')
    >>> e = x
    >>> for _ in range(2000): e = sin(w*e)
    >>> sorted(free_symbols(e), key=str), free_symbols(Sum(k*x, (k, 1, n)))  == {x, n}
    ([w, x], True)
    """
    found: set = set()
    for node in _nodes_bottom_up(expr):
        if isinstance(node, _TRANSPARENT) and node.args:
            continue  # its arguments were visited
        found |= node.free_symbols
    return found


def depth(expr: sp.Basic) -> int:
    """How many arithmetic and function nodes deep ``expr`` is (a symbol is 0); no recursion.

    >>> from sympy import sin, symbols
    >>> x, w = symbols('x w')
    >>> e = x
    >>> for _ in range(2000): e = sin(w*e)
    >>> depth(x), depth(w*x + 1), depth(e)
    (0, 2, 4000)
    """
    height: dict[int, int] = {}
    for node in _nodes_bottom_up(expr):
        transparent = isinstance(node, _TRANSPARENT) and node.args
        height[id(node)] = 1 + max(height[id(a)] for a in node.args) if transparent else 0
    return height[id(expr)]


def contains(expr: sp.Basic, *types) -> bool:
    """``expr.has(*types)`` for node types, without recursion through arithmetic.

    >>> from sympy import KroneckerDelta, Sum, symbols
    >>> i, j, n, x = symbols('i j n x')
    >>> contains(x + Sum(KroneckerDelta(i, j), (i, 1, n)), KroneckerDelta), contains(x**2, Sum)
    (True, False)
    """
    for node in _nodes_bottom_up(expr):
        if isinstance(node, types):
            return True
        if node.args and not isinstance(node, _TRANSPARENT) and node.has(*types):
            return True
    return False


def size_exceeds(expr: sp.Basic, limit: int) -> bool:
    """Whether ``expr`` has more than ``limit`` nodes (a shared part counted at each use); O(limit) work.

    >>> from sympy import symbols
    >>> x, y = symbols('x y')
    >>> size_exceeds(x*y + 1, 4), size_exceeds(x*y + 1, 5)
    (True, False)
    """
    stack, count = [expr], 0
    while stack:
        node = stack.pop()
        count += 1
        if count > limit:
            return True
        stack.extend(node.args)
    return False


def replace_symbols(expr: sp.Basic, mapping: Mapping, evaluate: bool = True, memo: dict | None = None) -> sp.Basic:
    """``expr.xreplace(mapping)`` for a mapping of atoms (symbols), without recursion.

    With ``evaluate=False`` the changed nodes are rebuilt as they are, not
    re-sorted: sorting the factors of a product compares them, and comparing
    two deep expressions that differ only far down is as deep as they are.
    ``memo`` (a dict the caller keeps, with the expressions, for one mapping)
    shares the work between calls: a part already replaced is not walked again.

    >>> from sympy import sin, symbols
    >>> x, w, z = symbols('x w z')
    >>> e = x
    >>> for _ in range(2000): e = sin(w*e)
    >>> free_symbols(replace_symbols(e, {x: z})) == {w, z}
    True
    """
    if not mapping:
        return expr
    new: dict[int, sp.Basic] = {} if memo is None else memo
    done = None if memo is None else memo.setdefault("done", set())
    if id(expr) in new:
        return new[id(expr)]
    for node in _nodes_bottom_up(expr, done):
        if isinstance(node, _TRANSPARENT) and node.args:
            args = [new[id(a)] for a in node.args]
            changed = any(a is not b for a, b in zip(args, node.args))
            new[id(node)] = node if not changed else node.func(*args) if evaluate else _unevaluated(node, args)
        else:
            # an Indexed is an Atom to SymPy, yet its base and indices are symbols to replace
            atom = node.is_Atom and not isinstance(node, Indexed)
            new[id(node)] = mapping.get(node, node) if atom else node.xreplace(mapping)
    return new[id(expr)]


def _unevaluated(node: sp.Basic, args: list) -> sp.Basic:
    try:
        return node.func(*args, evaluate=False)
    except TypeError:  # a function that takes no evaluate flag
        return node.func(*args)


def split_deep(expr: sp.Expr, new_symbol, height: int = SHALLOW_HEIGHT,
               origins: dict | None = None, width: int | None = None) -> tuple[list, sp.Expr]:
    """``expr`` as sub-stages no more than ``height`` operations deep, and the last one's expression.

    Returns ``(pieces, top)``: ``pieces`` are ``(symbol, expression)`` pairs
    in order, each symbol from ``new_symbol()``, and ``top`` computes ``expr``
    from them. A shallow expression comes back whole, with no pieces.
    ``origins``, if given, receives each new symbol's part of ``expr`` (the
    node itself, so that putting it back shares it rather than rebuilds it).
    With ``width``, a sum of more than ``width`` terms is a piece of its own too.

    >>> from sympy import Dummy, sin, symbols
    >>> x, w = symbols('x w')
    >>> e = x
    >>> for _ in range(30): e = sin(w*e)
    >>> pieces, top = split_deep(e, lambda: Dummy('t'), height=12)
    >>> len(pieces), all(free_symbols(p) <= {x, w} | {s for s, _ in pieces} for _, p in pieces)
    (4, True)
    >>> split_deep(w*x, lambda: Dummy('t'))
    ([], w*x)
    """
    pieces: list = []
    new: dict[int, tuple] = {}  # id(node) -> (its replacement, its height)
    for node in _nodes_bottom_up(expr):
        if not (isinstance(node, _TRANSPARENT) and node.args):
            new[id(node)] = (node, 0)
            continue
        parts = [new[id(a)] for a in node.args]
        args = [a for a, _ in parts]
        rebuilt = node.func(*args) if any(a is not b for a, b in zip(args, node.args)) else node
        level = 1 + max(h for _, h in parts)
        wide = width is not None and node.is_Add and len(node.args) > width
        if (level >= height or wide) and node is not expr:
            symbol = new_symbol()
            pieces.append((symbol, rebuilt))
            if origins is not None:
                origins[symbol] = node
            new[id(node)] = (symbol, 0)
        else:
            new[id(node)] = (rebuilt, level)
    return pieces, new[id(expr)][0]


def symbols_of(expr: sp.Basic) -> dict[str, set]:
    """Split the names an expression uses by role.

    Returns ``scalars`` (plain free symbols), ``bases`` (``IndexedBase``
    arrays), ``indices`` (free symbols used as array subscripts) and
    ``sizes`` (free symbols in summation bounds, such as ``n``).

    >>> from sympy import IndexedBase, Sum, symbols
    >>> w, x = IndexedBase('w'), IndexedBase('x')
    >>> i, k, m, b = symbols('i k m b')
    >>> parts = symbols_of(Sum(w[k] * x[i, k], (k, 1, m)) + b)
    >>> sorted(map(str, parts['scalars'])), sorted(map(str, parts['bases']))
    (['b'], ['w', 'x'])
    >>> parts['indices'], parts['sizes']
    ({i}, {m})
    """
    bases, indices, sizes, bound = set(), set(), set(), set()
    # arrays and sums sit below arithmetic: walk (recursively) only the parts that are not arithmetic
    leaves = [n for n in _nodes_bottom_up(expr) if n.args and not isinstance(n, _TRANSPARENT)]
    for node in (inner for leaf in leaves for inner in sp.preorder_traversal(leaf)):
        if isinstance(node, Indexed):
            bases.add(node.base)
            for index in node.indices:
                indices |= index.free_symbols
        elif isinstance(node, sp.concrete.expr_with_limits.ExprWithLimits):
            for limit in node.limits:
                bound.add(limit[0])
                for bound_expr in limit[1:]:
                    sizes |= bound_expr.free_symbols
    indices -= bound
    sizes -= bound
    labels = {base.label for base in bases}
    scalars = {
        s for s in free_symbols(expr)
        if isinstance(s, Symbol) and s not in indices | sizes | bound | labels
    }
    return {"scalars": scalars, "bases": bases, "indices": indices, "sizes": sizes}


def _as_symbol(name_or_symbol, what: str):
    if isinstance(name_or_symbol, str):
        if not name_or_symbol.isidentifier():
            raise ModelError(f"{what} name {name_or_symbol!r} is not a valid identifier")
        return Symbol(name_or_symbol)
    if isinstance(name_or_symbol, (Symbol, IndexedBase)):
        return name_or_symbol
    raise ModelError(
        f"{what} must be a SymPy Symbol, an IndexedBase or a name, not {name_or_symbol!r}"
    )


def _as_expr(value, stage_name) -> sp.Expr:
    if isinstance(value, str):
        raise ModelError(
            f"stage {stage_name}: got the text {value!r}; build a SymPy expression, "
            "or parse text safely with symgrad.parse"
        )
    try:
        return sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError):
        raise ModelError(f"stage {stage_name}: {value!r} is not a SymPy expression") from None


#: what SymPy's values without a value stand for, by type
_UNDEFINED = {sp.core.numbers.ComplexInfinity: "zoo (complex infinity, as from 1/0 or log(0))",
              sp.core.numbers.NaN: "nan (no number, as from 0/0 or oo - oo)"}


def _check_defined(stages) -> None:
    """Refuse a stage that is or contains zoo or nan: derived, printed or compiled it would pass for a number.

    >>> from sympy import Symbol, log
    >>> w = Symbol('w')
    >>> _check_defined([(Symbol('L'), w*log(0))])
    Traceback (most recent call last):
      ...
    symgrad.errors.ModelError: stage L = zoo*w is undefined: it contains zoo (complex infinity, as from 1/0 or log(0))
    """
    for symbol, expr in stages:
        for kind, meaning in _UNDEFINED.items():
            if contains(expr, kind):
                raise ModelError(f"stage {symbol} = {expr} is undefined: it contains {meaning}")


class StagedModel:
    """What every model of named stages shares: its listing, LaTeX display and equality.

    Subclasses set ``stages``, ``inputs``, ``params``, ``outputs`` and ``name``
    and say how one expression is typeset (:meth:`_latex_of`).
    """

    stages: tuple
    inputs: tuple
    params: tuple
    outputs: tuple
    name: str | None

    @staticmethod
    def _latex_of(expr) -> str:
        # symgrad's LaTeX, as a slide writes it: positive terms first (y - f3), components W_{1,12}
        return latex(expr)

    @staticmethod
    def _text_of(expr) -> str:
        return str(expr)

    def _output_symbol(self, output):
        raise NotImplementedError

    def _resolve_outputs(self, output) -> tuple:
        """The output stages: the last stage unless ``output`` names others."""
        if output is None:
            return (self.stages[-1][0],)
        resolved = []
        for o in output if isinstance(output, (list, tuple)) else [output]:
            o = self._output_symbol(o)
            if o not in self._definitions:
                raise ModelError(f"output {o} is not a stage (stages: {self._stage_names()})")
            resolved.append(o)
        return tuple(resolved)

    def _check_stage_order(self) -> None:
        """Each stage is defined once, is not an input, and uses only earlier stages."""
        position = {}
        for i, (symbol, _) in enumerate(self.stages):
            if symbol in position:
                raise ModelError(f"stage {symbol} is defined twice (stages {position[symbol] + 1} and {i + 1})")
            if symbol in self.inputs:
                raise ModelError(f"{symbol} is both an input and a stage")
            position[symbol] = i
        for i, (symbol, expr) in enumerate(self.stages):
            for name in free_symbols(expr):
                later = position.get(name)
                if later is not None and later >= i:
                    where = "itself" if later == i else f"stage {name}, which is defined later"
                    raise ModelError(
                        f"stage {symbol} = {self._text_of(expr)} uses {where}; stages must come in order")

    def _stage_names(self) -> str:
        return ", ".join(str(s) for s, _ in self.stages)

    def latex(self) -> str:
        """The stages as one LaTeX ``aligned`` block."""
        rows = [rf"{self._latex_of(s)} &= {self._latex_of(e)}" for s, e in self.stages]
        return aligned_latex(rows)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def __repr__(self) -> str:
        name = f"{self.name!r}, " if self.name else ""
        return (f"{type(self).__name__}({name}stages=[{self._stage_names()}], "
                f"inputs={list(self.inputs)}, params={list(self.params)})")

    def _key(self) -> tuple:
        return self.stages, self.inputs, self.params, self.outputs

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


class Model(StagedModel):
    """A model as the lectures write a network: ordered named stages, inputs and parameters.

    ``stages`` is a sequence of ``(symbol, expression)`` pairs (or a dict);
    each expression may use inputs, parameters and earlier stages. The last
    stage is the output (the loss) unless ``output`` says otherwise.
    ``params`` defaults to every free symbol that is neither an input, a
    stage, an array subscript nor a summation bound.

    >>> from sympy import symbols
    >>> w, x, b, y, yhat, L = symbols('w x b y yhat L')
    >>> m = Model([(yhat, w*x + b), (L, (y - yhat)**2)], inputs=[x, y])
    >>> m.params
    (b, w)
    >>> m.closed_form()
    (-b - w*x + y)**2
    >>> print(m)
    ŷ = b + w·x
    L = (y - ŷ)^2
    """

    def __init__(self, stages, inputs: Iterable = (), params: Iterable | None = None,
                 output=None, name: str | None = None):
        pairs = stages.items() if isinstance(stages, Mapping) else stages
        self.stages: tuple[tuple[Symbol, sp.Expr], ...] = tuple(
            (_as_symbol(s, "stage"), _as_expr(e, s)) for s, e in self._pairs(pairs)
        )
        if not self.stages:
            raise ModelError("a model needs at least one stage")
        _check_defined(self.stages)
        self.name = name
        self.inputs: tuple = tuple(_as_symbol(s, "input") for s in inputs)
        self._definitions = dict(self.stages)
        self._check_stage_order()
        used = self._used_names()
        self.params: tuple = self._resolve_params(params, used)
        self.outputs: tuple = self._resolve_outputs(output)

    @staticmethod
    def _pairs(pairs):
        for item in pairs:
            if isinstance(item, sp.Equality):
                yield item.lhs, item.rhs
                continue
            try:
                symbol, expr = item
            except (TypeError, ValueError):
                raise ModelError(
                    f"a stage must be a (symbol, expression) pair or an Eq, not {item!r}"
                ) from None
            yield symbol, expr

    # -- construction checks -------------------------------------------------

    def _used_names(self) -> set:
        used: set = set()
        for _, expr in self.stages:
            parts = symbols_of(expr)
            used |= parts["scalars"] | parts["bases"]
        return used - set(self._definitions)

    def _resolve_params(self, params, used) -> tuple:
        inputs = set(self.inputs)
        if params is None:
            found = sorted(used - inputs, key=sp.default_sort_key)
        else:
            found = [_as_symbol(p, "parameter") for p in params]
            for p in found:
                if p in inputs:
                    raise ModelError(f"{p} is declared both an input and a parameter")
                if p in self._definitions:
                    raise ModelError(f"{p} is a stage, not a parameter")
                if p not in used:
                    raise ModelError(f"parameter {p} does not appear in any stage")
            undefined = used - inputs - set(found)
            for symbol, expr in self.stages:
                bad = sorted(undefined & (symbols_of(expr)["scalars"] | symbols_of(expr)["bases"]),
                             key=sp.default_sort_key)
                if bad:
                    raise ModelError(
                        f"stage {symbol} = {expr} refers to undefined name {bad[0]}: "
                        "it is not an input, a parameter or an earlier stage"
                    )
        if not found:
            names = ", ".join(map(str, sorted(used, key=sp.default_sort_key))) or "none"
            raise ModelError(
                f"model has no parameters: its free symbols ({names}) are all inputs; "
                "declare which symbols are parameters with params=[...]"
            )
        return tuple(found)

    def _output_symbol(self, output):
        return _as_symbol(output, "output")

    # -- alternative constructors --------------------------------------------

    @classmethod
    def from_expr(cls, expr, inputs: Iterable = (), params: Iterable | None = None,
                  output="L", name: str | None = None) -> "Model":
        """Wrap a bare expression as a one-stage model whose output is named ``output``.

        >>> from sympy import symbols
        >>> w, x, b = symbols('w x b')
        >>> Model.from_expr(w*x + b, inputs=[x]).params
        (b, w)
        """
        return cls([(_as_symbol(output, "output"), expr)], inputs=inputs, params=params, name=name)

    @classmethod
    def coerce(cls, model_or_expr, inputs: Iterable = ()) -> "Model":
        """A Model as it is, or a bare expression wrapped with :meth:`from_expr`."""
        if isinstance(model_or_expr, Model):
            return model_or_expr
        return cls.from_expr(model_or_expr, inputs=inputs)

    def with_loss(self, loss, target=None, name="L", **loss_options) -> "Model":
        """This model followed by a loss stage ``L = loss(target, output)``; the target becomes an input.

        ``loss`` is a function of ``losses`` (or any ``(y, yhat) -> Expr``);
        with several outputs it receives them as a list (and ``target`` should
        be a list of the same length).

        >>> from sympy import symbols
        >>> from symgrad import losses
        >>> w, x, y, yhat = symbols('w x y yhat')
        >>> m = Model([(yhat, w*x)], inputs=[x]).with_loss(losses.half_squared_error, y)
        >>> m.stages[-1], m.inputs
        ((L, (y - yhat)**2/2), (x, y))
        """
        if len(self.outputs) == 1:
            prediction = self.outputs[0]
            target = Symbol("y") if target is None else target
        else:
            prediction = list(self.outputs)
            if target is None:
                target = [Symbol(f"y_{i}") for i in range(1, len(prediction) + 1)]
        loss_expr = loss(target, prediction, **loss_options)
        targets = target if isinstance(target, (list, tuple)) else [target]
        target_symbols = [t for t in targets if isinstance(t, (Symbol, IndexedBase))]
        target_symbols += [t.base for t in targets if isinstance(t, Indexed)]
        new_inputs = list(self.inputs) + [t for t in target_symbols if t not in self.inputs]
        return Model(list(self.stages) + [(_as_symbol(name, "loss"), loss_expr)],
                     inputs=new_inputs, params=self.params, name=self.name)

    # -- queries ---------------------------------------------------------------

    @property
    def output(self) -> Symbol:
        """The single (scalar) output that gradients are taken of."""
        if len(self.outputs) != 1:
            raise ModelError(
                f"model has {len(self.outputs)} outputs ({', '.join(map(str, self.outputs))}); "
                "add a loss with model.with_loss(...) to get one scalar to differentiate"
            )
        return self.outputs[0]

    @property
    def stage_symbols(self) -> tuple[Symbol, ...]:
        return tuple(s for s, _ in self.stages)

    def definition(self, stage) -> sp.Expr:
        """The expression that defines a stage."""
        stage = self.symbol(stage)
        try:
            return self._definitions[stage]
        except KeyError:
            raise ModelError(f"{stage} is not a stage (stages: {self._stage_names()})") from None

    @property
    def symbols(self) -> dict[str, object]:
        """Every name the model knows (inputs, parameters, stages), by name."""
        table = {str(s): s for s in self.inputs + self.params}
        table.update({str(s): s for s in self.stage_symbols})
        return table

    def symbol(self, name_or_symbol):
        """Resolve a name or symbol to the model's own symbol, with a clear error if unknown."""
        if isinstance(name_or_symbol, Indexed):
            self.symbol(name_or_symbol.base)
            return name_or_symbol
        key = str(name_or_symbol) if isinstance(name_or_symbol, (str, Symbol, IndexedBase)) else None
        known = self.symbols
        if key in known:
            return known[key]
        listing = ", ".join(sorted(known))
        raise ModelError(f"{name_or_symbol!r} is not a symbol of this model (it has: {listing})")

    def closed_form(self, stage=None) -> sp.Expr:
        """The output (or the given stage) with every stage substituted: one expression of inputs and parameters.

        >>> from sympy import symbols
        >>> a, f, w, x = symbols('a f w x')
        >>> from symgrad import sigmoid
        >>> Model([(a, w*x), (f, sigmoid(a))], inputs=[x]).closed_form()
        sigmoid(w*x)
        """
        substituted = self.substitutions()
        target = self.output if stage is None else self.symbol(stage)
        return substituted.get(target, target)

    def substitutions(self) -> dict[Symbol, sp.Expr]:
        """Each stage symbol mapped to its closed form (stages substituted in order)."""
        closed: dict[Symbol, sp.Expr] = {}
        for symbol, expr in self.stages:
            closed[symbol] = replace_symbols(expr, closed)
        return closed

    # -- printing ---------------------------------------------------------------

    def __str__(self) -> str:
        # as a slide writes the stages: positive terms first, implicit products, Greek letters
        return "\n".join(f"{text(s)} = {text(e)}" for s, e in self.stages)
