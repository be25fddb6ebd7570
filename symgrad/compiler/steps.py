"""A model as assignment steps: stages split (with CSE) into short assignments, then one reverse sweep."""
from __future__ import annotations

from collections import defaultdict

import sympy as sp
from sympy import Add, Function, Pow, S, Symbol

from ..symbolic.derive import local_derivative, local_derivatives
from ..core.model import WIDE, Model, replace_symbols, split_deep
from .names import Names, real_symbol
from .printer import NumPySourcePrinter, stable_form

__all__ = ["Steps", "split_stage"]


def _reuses_itself(node) -> bool:
    # exp, sigmoid, tanh, logsumexp: the derivative contains the value, so keep it
    if not isinstance(node, (Function, Pow)) or node.is_Atom:
        return False
    return any(node.diff(s).has(node) for s in node.free_symbols)


def _stage_derivative(symbol, expr, wrt) -> sp.Expr:
    """d(stage)/d(wrt); for a power, d(b**p)/db = p*b**(p - 1), never p*(b**p)/b, which is 0/0 at b = 0."""
    if isinstance(expr, Pow) and expr.base == wrt and wrt not in expr.exp.free_symbols:
        return expr.exp * wrt ** (expr.exp - 1)
    return local_derivative(symbol, expr, wrt)


def _canonical_sign(e: sp.Expr) -> sp.Expr:
    # (y - f3)**2 == (f3 - y)**2: name the residual the way that prints without a leading minus
    return -e if str(e).startswith("-") else e


def split_stage(symbol, expr, names: Names) -> list[tuple[Symbol, sp.Expr]]:
    """One stage as a short sequence of assignments ending in ``symbol``.

    Repeated parts (common-subexpression elimination), the arguments of
    nonlinear functions and the non-final functions whose derivative reuses
    their value (exp, sigmoid, ...) get temporaries ``t1, t2, ...``, so that
    the backward pass refers to them instead of recomputing them.
    """
    out: list[tuple[Symbol, sp.Expr]] = []

    def temporary(value):
        t = names.temporary()
        out.append((t, value))
        return t

    def hoist(e, root):
        if e.is_Atom:
            return e
        args = [hoist(a, False) for a in e.args]
        if (e.is_Function or e.is_Pow) and not isinstance(e, sp.Piecewise):  # exp, Max, x**p, ...
            even = isinstance(e, sp.Abs) or (e.is_Pow and e.exp.is_even)
            args = [a if a.is_Atom or not isinstance(a, sp.Expr)
                    else temporary(_canonical_sign(a) if even and i == 0 else a)
                    for i, a in enumerate(args)]
        node = e.func(*args) if tuple(args) != e.args else e
        if not root and _reuses_itself(node):
            return temporary(node)
        return node

    generator = iter(names.temporary, None)
    replacements, (reduced,) = sp.cse([stable_form(expr)], symbols=generator, optimizations=None)
    for t, value in replacements:
        out.append((t, hoist(value, True)))
    out.append((symbol, hoist(reduced, True)))
    return out


class Steps:
    """The steps of one model's loss and gradients, in the model's symbols renamed to unique identifiers.

    ``forward`` and ``backward`` are the statements of the block loop,
    ``("assign", symbol, expr)`` or ``("reduce", accumulator, expr)``;
    ``before`` and ``after`` are the lines of scalar code around it.
    """

    def __init__(self, model: Model, wrt):
        self.model = model
        self.printer = NumPySourcePrinter()
        self.names = Names()
        # model symbols -> real symbols named by unique identifiers
        self.real = {s: real_symbol(s, self.names.fresh(str(s)))
                     for s in model.inputs + model.params + model.stage_symbols}
        self._user_names: dict | None = None  # the inverse of ``real``, built when first asked
        self.data = [self.real[s] for s in model.inputs]
        self.params = [self.real[s] for s in model.params]
        self.wrt = [self.real[s] for s in wrt]
        self.output = self.real[model.output]
        self.stages = self._needed(self._split_stages())
        self.arrays = self._arrays()
        self.depends = self._depends()
        #: scalar code before and after the block loop; the loop's statements
        self.before: list[str] = []
        self.after: list[str] = []
        self.forward: list[tuple] = []
        self.backward: list[tuple] = []
        self.accumulators: list[str] = []
        self.gradient_names: dict = {}
        self.sweep()
        self.forward_pass()

    # -- planning ---------------------------------------------------------------------

    def _split_stages(self):
        stages = []
        for symbol, expr in self.model.stages:
            # a deep stage first becomes shallow sub-stages: SymPy's cse, replace and printing recurse
            # (split before renaming: rebuilding a deep expression makes SymPy's cache compare it deep down)
            # and a wide sum becomes a stage of its own, differentiated term by term
            pieces, top = split_deep(expr, self.names.temporary, width=WIDE)
            for piece, value in pieces + [(self.real[symbol], top)]:
                stages += split_stage(piece, replace_symbols(value, self.real), self.names)
        return stages

    def _needed(self, stages):
        wanted, kept = {self.output}, []
        for symbol, expr in reversed(stages):
            if symbol in wanted:
                kept.append((symbol, expr))
                wanted |= expr.free_symbols
        return kept[::-1]

    def _arrays(self) -> set:
        """The per-sample symbols: the data and every stage computed from data."""
        arrays = set(self.data)
        for symbol, expr in self.stages:
            if expr.free_symbols & arrays:
                arrays.add(symbol)
        return arrays

    def _depends(self) -> dict:
        depends, wrt = {}, set(self.wrt)
        for symbol, expr in self.stages:
            free = expr.free_symbols
            depends[symbol] = bool(free & wrt) or any(depends.get(s, False) for s in free)
        return depends

    def is_array(self, expr) -> bool:
        return bool(expr.free_symbols & self.arrays)

    # -- backward -----------------------------------------------------------------------

    def _inline_or_assign(self, name: str, value, in_loop: bool):
        """Small adjoints (a constant, a symbol, a multiple of one) stay inline; others get a line."""
        if value.is_Atom or (value.is_Mul and len(value.args) == 2 and value.args[0].is_Number
                             and value.args[1].is_Atom):
            return value
        symbol = Symbol(name, real=True)
        if in_loop:
            self.backward.append(("assign", symbol, value))
            if self.is_array(value):
                self.arrays.add(symbol)
        else:
            self.after.append(f"{name} = {self.printer.doprint(value)}")
        return symbol

    def _accumulate(self, name, contributions) -> Symbol | None:
        """``name += sum over the block`` of the per-sample contributions."""
        parts = [c for c, per_sample in contributions if per_sample]
        if not parts:
            return None
        self.accumulators.append(name)
        self.backward.append(("reduce", name, Add(*parts)))
        return Symbol(name, real=True)

    def _adjoint(self, symbol, contributions):
        name = self.names.fresh(f"d_{symbol}")
        if symbol in self.arrays:
            return self._inline_or_assign(name, Add(*[c for c, _ in contributions]), in_loop=True)
        accumulated = self._accumulate(name, contributions)
        shared = [c for c, per_sample in contributions if not per_sample]
        if accumulated is None:
            return self._inline_or_assign(name, Add(*shared), in_loop=False)
        if shared:
            self.after.append(f"{name} += {self.printer.doprint(Add(*shared))}")
        return accumulated

    def _gradient(self, param, contributions) -> str:
        name = self.names.fresh(f"grad_{param}")
        if self._accumulate(name, contributions) is None:
            self.accumulators.append(name)
        shared = [c for c, per_sample in contributions if not per_sample]
        if shared:
            self.after.append(f"{name} += {self.printer.doprint(Add(*shared))}")
        return name

    def sweep(self):
        """Reverse mode over the stages: each adjoint once, from its consumers' adjoints.

        A contribution is per-sample when it comes from a per-sample stage;
        reaching a scalar (a parameter, or a stage without data) it is summed
        over the samples of the block.
        """
        contributions = defaultdict(list)
        contributions[self.output].append((S.One, self.output in self.arrays))
        wanted = set(self.wrt)
        first_use = {}
        for index, (symbol, expr) in enumerate(self.stages):
            for p in expr.free_symbols & wanted:
                first_use.setdefault(p, index)
        stage_symbols = {s for s, _ in self.stages}
        for index in reversed(range(len(self.stages))):
            symbol, expr = self.stages[index]
            if contributions[symbol] and self.depends[symbol]:
                adjoint = self._adjoint(symbol, contributions[symbol])
                targets = expr.free_symbols & (stage_symbols | wanted)
                names = [v for v in sorted(targets, key=sp.default_sort_key) if v in wanted or self.depends.get(v)]
                for v, derivative in local_derivatives(symbol, expr, names, _stage_derivative).items():
                    if derivative != 0:
                        contributions[v].append((adjoint * derivative, symbol in self.arrays))
            # a parameter's gradient is complete once its first (in forward order) use is passed
            for p in sorted((p for p, i in first_use.items() if i == index), key=sp.default_sort_key):
                self.gradient_names[p] = self._gradient(p, contributions[p])
        for p in self.wrt:
            if p not in self.gradient_names:  # the loss does not depend on it
                self.gradient_names[p] = self.names.fresh(f"grad_{p}")
                self.accumulators.append(self.gradient_names[p])

    # -- forward ----------------------------------------------------------------------------

    def forward_pass(self):
        """The loop's forward statements; stages without data go before the loop, computed once."""
        read = set()
        for _, _, expr in self.backward:
            read |= expr.free_symbols
        for symbol, expr in self.stages:
            if symbol not in self.arrays:
                prefix = "loss = " if symbol == self.output else ""
                self.before.append(f"{prefix}{symbol} = {self.printer.doprint(expr)}")
            elif symbol != self.output:
                self.forward.append(("assign", symbol, expr))
            elif symbol in read:  # the backward pass reuses the loss's value
                self.forward += [("assign", symbol, expr), ("reduce", "loss", symbol)]
            else:
                self.forward.append(("reduce", "loss", expr))

    def user_name(self, symbol) -> str:
        """The model's own name of a renamed symbol."""
        if self._user_names is None:
            self._user_names = {real: str(original) for original, real in self.real.items()}
        return self._user_names.get(symbol, str(symbol))
