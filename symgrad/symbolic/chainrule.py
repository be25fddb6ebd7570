"""The chain rule written factor by factor, as the lectures write backprop: dL/dw1 = dL/df3 · df3/da3 · ..."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sympy as sp
from sympy import Symbol

from .. import printing
from .derive import local_derivative, real_model
from ..errors import DerivationError
from ..core.matrix_model import MatrixModel
from ..core.model import Model
from .matrix_rules import Backprop, backprop

__all__ = ["Factor", "ChainRule", "ChainRules", "chain_rule"]

#: more paths than this from the loss to one parameter is not a chain rule anyone reads
MAX_PATHS = 1000


@dataclass(frozen=True)
class Factor:
    """One local derivative ``d(of)/d(wrt)`` on a path, with its value in stage symbols."""

    of: Symbol
    wrt: Symbol
    value: sp.Expr

    def __str__(self) -> str:
        return f"d{self.of}/d{self.wrt}"

    def latex(self) -> str:
        return rf"\frac{{\partial {sp.latex(self.of)}}}{{\partial {sp.latex(self.wrt)}}}"


def _needs_parentheses(value) -> bool:
    # a sum needs them in a product, unless it prints as 2(yhat - y) already
    return isinstance(value, sp.Add) and value.primitive()[0] == 1


def _product_text(values) -> str:
    return " · ".join(f"({printing.text(v)})" if _needs_parentheses(v) else printing.text(v)
                      for v in values)


class ChainRule:
    """Every path from the model's output back to one parameter, each a list of :class:`Factor`.

    ``expression()`` is the sum over paths of the product of the factors'
    values: it equals ``grad(model, param)``.
    """

    def __init__(self, output: Symbol, param: Symbol, paths: tuple[tuple[Factor, ...], ...]):
        self.output, self.param, self.paths = output, param, paths

    @property
    def factors(self) -> set[Factor]:
        return {f for path in self.paths for f in path}

    def expression(self) -> sp.Expr:
        """The derivative: the sum over paths of each path's product of local derivatives."""
        return sp.Add(*[sp.Mul(*[f.value for f in path]) for path in self.paths])

    def text(self) -> str:
        head = f"d{self.output}/d{self.param}"
        if not self.paths:
            return f"{head} = 0  ({self.param} does not reach {self.output})"
        symbolic = " + ".join(" · ".join(map(str, path)) for path in self.paths)
        values = " + ".join(_product_text(f.value for f in path) for path in self.paths)
        pad = " " * len(head)
        return f"{head} = {symbolic}\n{pad} = {values}"

    def latex_rows(self) -> list[str]:
        """The two rows of the rule, factors then their values, aligned at ``&=`` (no environment around them).

        >>> from symgrad import networks, losses
        >>> print(chain_rule(networks.chain(1, loss=losses.half_squared_error), 'b').latex_rows()[1])
        &= \\left(f_{1} - y\\right) \\cdot f_{1} \\left(1 - f_{1}\\right) \\cdot 1
        """
        head = rf"\frac{{\partial {sp.latex(self.output)}}}{{\partial {sp.latex(self.param)}}}"
        symbolic = " + ".join(" ".join(f.latex() for f in path) for path in self.paths) or "0"
        values = " + ".join(
            r" \cdot ".join(rf"\left({printing.latex(f.value)}\right)" if isinstance(f.value, sp.Add)
                            else printing.latex(f.value) for f in path)
            for path in self.paths) or "0"
        return [f"{head} &= {symbolic}", f"&= {values}"]

    def latex(self) -> str:
        return printing.aligned_latex(self.latex_rows())

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"ChainRule({self.output} -> {self.param}, {len(self.paths)} path(s))"


class ChainRules(Mapping):
    """Chain rules of several parameters, and the factors they share (what backprop computes once)."""

    def __init__(self, rules: Mapping[Symbol, ChainRule]):
        self._rules = dict(rules)

    def __getitem__(self, param) -> ChainRule:
        return self._rules[param]

    def __iter__(self):
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def shared_factors(self) -> dict[Factor, list[Symbol]]:
        """Each factor used by two or more parameters' chains, with those parameters."""
        users: dict[Factor, list[Symbol]] = {}
        for param, rule in self._rules.items():
            for factor in sorted(rule.factors, key=str):
                users.setdefault(factor, []).append(param)
        return {f: ps for f, ps in users.items() if len(ps) > 1}

    def text(self) -> str:
        parts = [rule.text() for rule in self._rules.values()]
        shared = self.shared_factors()
        if shared:
            lines = ["shared factors (backprop computes each once):"]
            for factor, params in sorted(shared.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))):
                lines.append(f"  {factor} = {printing.text(factor.value)}   used by "
                             + ", ".join(map(str, params)))
            parts.append("\n".join(lines))
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        # who is differentiated, how many paths each, and what backprop shares; str() writes the rules
        rules = ", ".join(f"d{r.output}/d{p}: {len(r.paths)} path{'s' * (len(r.paths) != 1)}"
                          for p, r in self._rules.items())
        shared = len(self.shared_factors())
        return f"ChainRules({rules or 'no parameter'}; {shared} shared factor{'s' * (shared != 1)})"

    def latex(self) -> str:
        """Every parameter's rule as the rows of ONE ``aligned`` environment (a display shows them lined up)."""
        rows = [row for rule in self._rules.values() for row in rule.latex_rows()]
        return printing.aligned_latex(rows)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def __str__(self) -> str:
        return self.text()


def _paths(model: Model, param: Symbol) -> tuple[tuple[Factor, ...], ...]:
    stages = dict(model.stages)
    # which stages depend on the parameter: only those lie on a path
    reaches = {param}
    for symbol, expr in model.stages:
        if expr.free_symbols & reaches:
            reaches.add(symbol)
    if model.output not in reaches:
        return ()
    paths: list[tuple[Factor, ...]] = []
    stack = [(model.output, ())]
    while stack:  # iterative depth-first walk from the loss back to the parameter
        node, prefix = stack.pop()
        if node == param:
            paths.append(prefix)
            if len(paths) > MAX_PATHS:
                raise DerivationError(
                    f"more than {MAX_PATHS} paths lead from {model.output} to {param}; "
                    "the chain rule written path by path is unreadable here, use grad()"
                )
            continue
        expr = stages[node]
        for name in sorted(expr.free_symbols & reaches, key=sp.default_sort_key, reverse=True):
            factor = Factor(node, name, local_derivative(node, expr, name))
            stack.append((name, prefix + (factor,)))
    return tuple(paths)


def chain_rule(model_or_expr, param=None, *, inputs: Iterable = ()) -> ChainRule | ChainRules | Backprop:
    """The chain rule for ``param`` (a :class:`ChainRule`), or for several (a :class:`ChainRules`).

    For a matrix model the chain rule is the layer recurrence backprop
    writes: the deltas, then each gradient (a :class:`~symgrad.symbolic.matrix_rules.Backprop`).

    >>> from symgrad import networks, losses
    >>> model = networks.chain(3, loss=losses.half_squared_error)
    >>> print(chain_rule(model, 'w3'))
    dL/dw3 = dL/df3 · df3/da3 · da3/dw3
           = (f3 - y) · f3(1 - f3) · f2
    >>> print(chain_rule(networks.dense(3, 2, 'sigmoid', loss='squared_error')))
    δ1 = (ŷ - y) ⊙ σ'(z1)   (2×1)
    dL/dW1 = δ1·xᵀ          (2×3)
    dL/db1 = δ1             (2×1)
    """
    if isinstance(model_or_expr, MatrixModel):
        return backprop(model_or_expr, param if param is None or isinstance(param, (list, tuple)) else [param])
    model = Model.coerce(model_or_expr, inputs=inputs)
    single = param is not None and not isinstance(param, (list, tuple))
    wanted = model.params if param is None else ([param] if single else list(param))
    real, forward, backward = real_model(model)
    rules = {}
    for p in wanted:
        p = model.symbol(p)
        if not isinstance(p, Symbol):
            raise DerivationError(
                f"the chain rule is written for scalar symbols; {p} is an array (use grad)")
        paths = _paths(real, forward.get(p, p))
        back = tuple(tuple(Factor(f.of.xreplace(backward), f.wrt.xreplace(backward),
                                  f.value.xreplace(backward)) for f in path) for path in paths)
        rules[p] = ChainRule(model.output, p, back)
    return rules[model.symbol(param)] if single else ChainRules(rules)
