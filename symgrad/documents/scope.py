r"""What a reader knows at a point of a document: the definitions made so far, in the order made.

Definitions are of five kinds, each kept as written: a variable
(``\hat y = wx``), a per-sample variable (``\delta_i = y_i - \sigma_i``, kept
with its index so ``\delta_k`` reads as ``y_k - \sigma_k``), a function
(``f(x) = wx + b``), a number (``x = -2``) and a matrix (a shape, or a product
``C = AB``). A claim is checked against the model the scope gives for what it
differentiates: the definitions it depends on, as stages, in dependency order.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import sympy as sp
from sympy import Indexed, Symbol

from ..core.model import Model
from ..errors import ModelError

__all__ = ["Definition", "Scope", "LOSS_NAMES"]

#: names a loss goes by in notes, for update rules that do not name the loss they descend
LOSS_NAMES = ("L", "J", "E", "C", "ell", "l", "loss")
#: the deepest chain of definitions followed (a guard against a definition that refers to itself)
MAX_CHAIN = 50


def plain_symbols(expr) -> set:
    """The free symbols of ``expr`` that stand alone: not the name of an array (``y`` of ``y_i``)."""
    labels = {base.label for base in expr.atoms(sp.IndexedBase)}
    alone = {s for s in expr.free_symbols if isinstance(s, Symbol)}
    if not labels:
        return alone
    # a label may also stand alone elsewhere in the expression: look for it outside the arrays
    outside = sp.sympify(expr).xreplace({n: sp.Dummy() for n in expr.atoms(Indexed)})
    return {s for s in alone if s not in labels or s in outside.free_symbols}


def substitute(expr, mapping: dict):
    """``expr.xreplace(mapping)`` that leaves the names of arrays alone (``y → wx`` keeps ``y_i``)."""
    bases = {base: sp.Dummy(str(base)) for base in expr.atoms(sp.IndexedBase)}
    if not bases:
        return expr.xreplace(mapping)
    hidden = expr.xreplace({b: sp.IndexedBase(d) for b, d in bases.items()})
    back = {sp.IndexedBase(d): b for b, d in bases.items()}
    return hidden.xreplace(mapping).xreplace(back)


@dataclass(frozen=True)
class Definition:
    """One definition: the name as written, its value, the line and the section it was made in."""

    name: sp.Basic
    value: sp.Expr
    line: int
    section: int = 0
    #: the parameters of a function definition ``f(x) = …``
    args: tuple = ()
    #: where the definition's text could be read otherwise (``1/2w^2``): claims on it inherit the doubt
    notes: tuple = ()
    #: made in a ``symgrad:`` annotation: the author's own statement of the model
    annotated: bool = False


@dataclass
class Scope:
    """The definitions in force, updated as the document is read top to bottom."""

    variables: dict = field(default_factory=dict)    # Symbol -> Definition
    indexed: dict = field(default_factory=dict)      # IndexedBase -> Definition (name is Indexed)
    functions: dict = field(default_factory=dict)    # name -> Definition
    matrices: dict = field(default_factory=dict)     # name -> (rows, cols)
    products: list = field(default_factory=list)     # "C = A B" texts
    #: the loss an update rule descends when it names none: the last one differentiated or defined
    loss: sp.Basic | None = None
    #: every definition ever made of a name, oldest first (a later one may contradict an earlier)
    history: dict = field(default_factory=dict)
    #: arrays stated to be probability distributions (``\\sum_i y_i = 1``), by their line
    distributions: dict = field(default_factory=dict)

    def reset(self) -> None:
        self.variables.clear()
        self.indexed.clear()
        self.functions.clear()
        self.matrices.clear()
        self.products.clear()
        self.loss = None
        self.history.clear()
        self.distributions.clear()

    def earlier(self, name) -> list[Definition]:
        """The definitions of ``name`` made before the one in force, newest first."""
        return list(reversed(self.history.get(name, [])[:-1]))

    @contextmanager
    def replaced(self, definition: Definition):
        """The scope with ``definition`` in force for a moment (to try an earlier one)."""
        table = self.indexed if isinstance(definition.name, Indexed) else self.variables
        key = definition.name.base if isinstance(definition.name, Indexed) else definition.name
        current = table.get(key)
        table[key] = definition
        try:
            yield
        finally:
            if current is None:
                del table[key]
            else:
                table[key] = current

    # -- recording ---------------------------------------------------------------

    def define(self, definition: Definition) -> None:
        name = definition.name
        self.history.setdefault(name, []).append(definition)
        if definition.args:
            self.functions[str(name)] = definition
        elif isinstance(name, Indexed):
            self.indexed[name.base] = definition
        else:
            self.variables[name] = definition
        label = str(name.base.label if isinstance(name, Indexed) else name)
        if not definition.args and (label.split("_")[0] in LOSS_NAMES or label in LOSS_NAMES):
            self.loss = name

    def lookup(self, name) -> Definition | None:
        if isinstance(name, Indexed):
            return self.indexed.get(name.base)
        if isinstance(name, Symbol):
            return self.variables.get(name)
        return self.functions.get(str(name))

    def is_defined(self, name) -> bool:
        return self.lookup(name) is not None

    def function_names(self) -> list[str]:
        return sorted(self.functions)

    def known_names(self) -> set[str]:
        """The names of every variable defined or used by a definition (``x`` of ``ŷ = wx``)."""
        names = {str(s) for s in self.variables}
        for definition in [*self.variables.values(), *self.indexed.values(), *self.functions.values()]:
            names |= {str(s) for s in definition.value.free_symbols}
            names |= {str(b.label) for b in definition.value.atoms(sp.IndexedBase)}
        names |= {str(b) for b in self.indexed}
        return names

    def numbers(self) -> dict:
        """The variables given a number (``x = -2``), by symbol."""
        return {s: d.value for s, d in self.variables.items() if d.value.is_number}

    # -- reading expressions through the scope -----------------------------------------

    def apply_functions(self, expr):
        """Calls of defined functions replaced by their bodies: ``f(3)`` with ``f(x) = wx + b`` is ``3w + b``."""
        for _ in range(MAX_CHAIN):
            calls = [node for node in sp.preorder_traversal(expr)
                     if isinstance(node, sp.Function) and type(node).__name__ in self.functions]
            if not calls:
                return expr
            replacements = {}
            for call in calls:
                definition = self.functions[type(call).__name__]
                if len(call.args) != len(definition.args):
                    raise ModelError(f"{type(call).__name__} is defined with {len(definition.args)} "
                                     f"argument(s) on line {definition.line} but called with {len(call.args)}")
                replacements[call] = definition.value.xreplace(dict(zip(definition.args, call.args)))
            expr = expr.xreplace(replacements)
        raise ModelError("the function definitions refer to each other without end")

    def apply_indexed(self, expr):
        """Per-sample names replaced by their definitions at the index used: ``δ_k`` → ``y_k - σ_k``."""
        if not self.indexed:
            return expr
        for _ in range(MAX_CHAIN):
            found = {node for node in sp.preorder_traversal(expr)
                     if isinstance(node, Indexed) and node.base in self.indexed}
            if not found:
                return expr
            replacements = {}
            for node in found:  # noqa: the per-sample name itself is replaced whole
                definition = self.indexed[node.base]
                if len(node.indices) != len(definition.name.indices):
                    continue
                replacements[node] = definition.value.xreplace(dict(zip(definition.name.indices, node.indices)))
            if not replacements:
                return expr
            expr = expr.xreplace(replacements)
        raise ModelError("the per-sample definitions refer to each other without end")

    def aliases(self) -> dict:
        """Variables defined as another name (``\\theta = w_3``): read as that name everywhere."""
        return {s: d.value for s, d in self.variables.items()
                if isinstance(d.value, (Symbol, Indexed)) and d.value != s}

    def kronecker(self, expr):
        """``\\delta_{ij}`` with no δ defined in scope is Kronecker's delta, as softmax derivations write it."""
        deltas = {node for node in expr.atoms(Indexed)
                  if str(node.base.label) == "delta" and len(node.indices) == 2 and node.base not in self.indexed}
        return expr.xreplace({d: sp.KroneckerDelta(*d.indices) for d in deltas}) if deltas else expr

    def read(self, expr):
        """An expression as the scope reads it: aliases, functions, per-sample names and Kronecker's δ applied."""
        expr = self.kronecker(sp.sympify(expr))
        aliases = self.aliases()
        for _ in range(MAX_CHAIN):
            before = expr
            expr = self.apply_indexed(self.apply_functions(substitute(expr, aliases) if aliases else expr))
            if expr == before:
                return expr
        return expr

    def closed(self, expr, numbers: bool = False, keep=frozenset()):
        """An expression with every defined variable written out in full (and the numbers given, if asked).

        A derivative in it is taken as the chain rule's notation reads it:
        ``∂f/∂z`` differentiates f written out down to z, with z held.
        """
        expr = self._derivatives_taken(self.read(expr))
        written = {s for s, d in self.variables.items()
                   if (numbers or not d.value.is_number) and s not in keep}
        for _ in range(MAX_CHAIN):
            present = plain_symbols(expr) & written
            if not present:
                return expr
            expr = self._derivatives_taken(self.read(substitute(expr, {s: self.variables[s].value for s in present})))
        raise ModelError("the definitions refer to each other without end")

    def _derivatives_taken(self, expr):
        if not expr.has(sp.Derivative):
            return expr

        def value(node):
            result = node.expr
            for variable, count in node.variable_count:
                result = sp.diff(self.closed(result, keep={variable}), variable, int(count))
            return result
        return expr.replace(lambda node: isinstance(node, sp.Derivative), value)

    def notes_of(self, expr) -> tuple:
        """The reading notes of every definition ``expr`` rests on, through the chain of definitions."""
        notes, seen, todo = [], set(), [sp.sympify(expr)]
        while todo:
            current = todo.pop()
            names = plain_symbols(current) | {n.base for n in current.atoms(Indexed)} | \
                {type(f).__name__ for f in current.atoms(sp.Function)}
            for name in names:
                definition = self.functions.get(name) if isinstance(name, str) else \
                    self.indexed.get(name) if isinstance(name, sp.IndexedBase) else self.variables.get(name)
                if definition is None or id(definition) in seen:
                    continue
                seen.add(id(definition))
                notes += [n for n in definition.notes if n not in notes]
                todo.append(definition.value)
        return tuple(notes)

    def depends_on(self, expr) -> set:
        """Every symbol an expression rests on once the definitions are written out."""
        return set(self.closed(expr).free_symbols)

    def model_for(self, output, also=()) -> Model:
        """The model of ``output``: every variable definition it (or ``also``) needs, as stages in order."""
        order: list[Symbol] = []
        seen: set = set()

        def visit(symbol, trail=()):
            if symbol in seen or symbol not in self.variables:
                return
            if symbol in trail:
                raise ModelError(f"{symbol} is defined through itself")
            for used in sorted(plain_symbols(self.read(self.variables[symbol].value)), key=str):
                visit(used, trail + (symbol,))
            seen.add(symbol)
            order.append(symbol)

        visit(output)  # the output by its own definition (read, ``L = w`` would be w itself)
        for expr in also:
            for symbol in sorted(plain_symbols(self.read(expr)), key=str):
                visit(symbol)
        if output in order:  # the output last, the stages it does not need before it
            order.remove(output)
            order.append(output)
        stages = [(s, self.read(self.variables[s].value)) for s in order if not self.variables[s].value.is_number]
        return Model(stages, output=output)
