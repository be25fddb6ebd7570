"""Check a claimed derivative or update rule: decide numerically, diagnose the mistake, then try to prove.

A wrong claim is exposed in milliseconds at sampled points, where
``simplify(a - b)`` could run for minutes; a claim that holds everywhere
sampled is then proved symbolically under a time limit. The verdict's
``status`` says which of four things happened: ``"proved"``, ``"observed"``
(equal at every sampled point, not proved), ``"wrong"`` (with a
counterexample confirmed at high precision) or ``"unchecked"`` (it could not
be decided; the diagnosis says why). The claim is read as written: a second
or mixed partial is checked as one, every side of a chain ``a = b = c`` is a
claim, and the variable the claim names is the one checked.
"""
from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy import Derivative, Indexed, IndexedBase, Symbol

from .. import printing
from ..core.matrix_model import MatrixModel
from ..core.model import Model, contains, depth, free_symbols, replace_symbols, symbols_of
from ..errors import ClaimError, ModelError
from ..core.ops import OPS
from ..numeric.points import (SumTooLarge, UndefinedFunction, concrete, index_assignments, kink_points, magnitude,
                              precise_value,
                              StagedExpression,
                              random_points, spread_points, undefined_functions, values_at)
from ..parsing import parse
from ..symbolic.chainrule import chain_rule
from .diagnoses import constant_factor_diagnosis, identity_diagnosis, index_slip
from .outcome import STATUSES, Verdict
from .matrix_claims import verify_matrix
from ..symbolic.derive import component, grad
from ..errors import DerivationError

__all__ = ["Verdict", "verify", "verify_identity", "ETA", "STATUSES", "MIN_VALID_POINTS"]

ETA = Symbol("eta")
#: fewest points where both sides must have real values before a claim is called right
MIN_VALID_POINTS = 20
#: most float64 disagreements re-checked at high precision before giving up as "unchecked"
MAX_PRECISE_CHECKS = 40

#: sides deeper than this (in nested operations) are checked by numbers alone, sub-stage by sub-stage
DEEP = 60
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


# -- a time limit for the whole verdict -------------------------------------------------

class _OutOfTime(Exception):
    """The verdict's deadline passed."""


class _Deadline:
    """Seconds left for one verdict; every loop of the check asks it before going on."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self) -> None:
        if self.remaining() <= 0:
            raise _OutOfTime


# -- numeric comparison ----------------------------------------------------------

#: float64 comparison: relative, with a floor that scales with the terms' sizes (their round-off)
_RTOL, _FLOOR = 1e-9, 1e-11
#: high-precision comparison, at 50 digits
_PRECISE_RTOL, _PRECISE_FLOOR = 1e-20, 1e-30


@dataclass
class _Outcome:
    """What the numbers (and the proof) said about one claimed side."""

    status: str
    points: int = 0
    counterexample: dict | None = None
    reason: str | None = None


def _close(a, b, scale=0.0) -> np.ndarray:
    """Relative agreement, with an absolute floor ``scale`` for values that cancel to near zero."""
    with np.errstate(all="ignore"):  # inf - inf is NaN, which compares as a disagreement
        return np.abs(a - b) <= _RTOL * np.maximum(np.maximum(np.abs(a), np.abs(b)), scale)


def _precise_agree(claimed, correct, scale: float) -> bool | None:
    """Whether two high-precision values agree; ``None`` when neither is a real number."""
    real_c = claimed is not None and claimed.imag == 0
    real_t = correct is not None and correct.imag == 0
    if not (real_c or real_t):
        return None
    if real_c != real_t:
        return False  # real on one side only: a disagreement
    c, t = claimed.real, correct.real
    floor = _PRECISE_FLOOR * scale if np.isfinite(scale) else 0.0
    return abs(c - t) <= _PRECISE_RTOL * max(abs(c), abs(t)) + floor


class _Comparison:
    """Both sides of one claimed side evaluated at point sets, disagreements confirmed at high precision.

    With ``deep``, both are evaluated sub-stage by sub-stage (SymPy's
    printing and evaluation recurse through a deep expression), and
    agreement is relative, without the floor from the terms' sizes.
    """

    def __init__(self, claimed, correct, symbols, clock: _Deadline, deep: bool = False):
        self.claimed, self.correct, self.symbols, self.clock = claimed, correct, symbols, clock
        self.deep = deep
        #: each side split once into shallow sub-stages, when deep
        self.staged = {id(e): StagedExpression(e) for e in (claimed, correct)} if deep else None
        self.valid = 0
        self.counterexample = None
        self.unresolved = 0
        self.checked_precisely = 0

    def add(self, points: dict) -> None:
        """Compare at a set of points; stops at the first confirmed disagreement."""
        if not self.symbols or len(points[self.symbols[0]]) == 0:
            return
        c, t = self._values(self.claimed, points), self._values(self.correct, points)
        both, one = np.isfinite(c) & np.isfinite(t), np.isfinite(c) != np.isfinite(t)
        suspects = np.flatnonzero(one)
        agree = both.copy()
        failing = np.flatnonzero(both & ~_close(c, t))
        if failing.size and self.deep:
            agree[failing] = False
            suspects = np.concatenate([failing, suspects])
        elif failing.size:  # the floor needs the terms' sizes, only where the plain comparison failed
            at = {s: points[s][failing] for s in self.symbols}
            scale = _FLOOR * np.fmax(magnitude(self.claimed, self.symbols, at),
                                     magnitude(self.correct, self.symbols, at))
            scale = np.where(np.isfinite(scale), scale, 0.0)  # no floor from overflowing terms
            still = failing[~_close(c[failing], t[failing], scale)]
            agree[still] = False
            suspects = np.concatenate([still, suspects])
        self.valid += int(agree.sum())
        self.confirm(points, suspects, one_sided=set(np.flatnonzero(one).tolist()))

    def confirm(self, points: dict, suspects: np.ndarray, one_sided=frozenset()) -> None:
        """Re-evaluate float64 disagreements at 50 digits: round-off or overflow, or a real difference.

        Past :data:`MAX_PRECISE_CHECKS`, a point where one side merely overflowed or lost all its digits
        in float64 (NaN or inf on one side only) is left out: it carries no evidence of a difference.
        """
        def size(k):  # small coordinates first: readable counterexamples, and no overflow there
            return max(abs(points[s][k]) for s in self.symbols)

        # finite disagreements first: they are the evidence; a value undefined on one side may be cancellation
        for k in sorted(suspects, key=lambda k: (k in one_sided, size(k))):
            if self.counterexample is not None:
                return
            if self.checked_precisely >= MAX_PRECISE_CHECKS:
                self.unresolved += int(k not in one_sided)
                continue
            self.clock.check()
            self.checked_precisely += 1
            point = {s: float(points[s][k]) for s in self.symbols}
            claimed, correct = self._precise(self.claimed, point), self._precise(self.correct, point)
            scale = 0.0 if self.deep else self._scale(point)
            agree = _precise_agree(claimed, correct, scale)
            if agree is False and (claimed is None) != (correct is None) and not self.deep:
                # undefined on one side only: 1 - σ(449) is 0 at 50 digits. At 1000 digits cancellation
                # (both defined, and equal) shows; a side still undefined there proves nothing either way
                claimed = precise_value(self.claimed, point, digits=1000)
                correct = precise_value(self.correct, point, digits=1000)
                agree = _precise_agree(claimed, correct, scale)
                if agree is False and (claimed is None) != (correct is None):
                    continue  # no evidence either way: the point is left out, like one where both are undefined
            if agree is False and self.deep and not self._stable(point, claimed, correct):
                self.unresolved += 1  # a deep expression can lose 50 digits: no counterexample from noise
                continue
            if agree is True:
                self.valid += 1
            elif agree is False:
                self.counterexample = {
                    "point": {str(s): v for s, v in point.items()},
                    "claimed": _real_or_nan(claimed), "correct": _real_or_nan(correct)}


    def _values(self, side, points: dict) -> np.ndarray:
        if self.deep:
            return self.staged[id(side)].values(self.symbols, points)
        return values_at(side, self.symbols, points)

    def _precise(self, side, point: dict) -> complex | None:
        return self.staged[id(side)].precise(point) if self.deep else precise_value(side, point)

    def _stable(self, point: dict, claimed, correct) -> bool:
        """Whether both sides keep their 50-digit values at 100 digits (only then is a difference real)."""
        for side, value in ((self.claimed, claimed), (self.correct, correct)):
            finer = self.staged[id(side)].precise(point, digits=100)
            if (value is None) != (finer is None):
                return False
            if value is not None and abs(finer - value) > 1e-30 * max(abs(finer), 1e-300):
                return False
        return True

    def _scale(self, point: dict) -> float:
        at = {s: np.array([v]) for s, v in point.items()}
        return float(np.fmax(magnitude(self.claimed, self.symbols, at),
                             magnitude(self.correct, self.symbols, at))[0])


def _real_or_nan(value) -> float:
    return float(value.real) if value is not None and value.imag == 0 else float("nan")


def _constant_values(claimed, correct) -> _Outcome:
    """A claim and a truth without free symbols: compare their values at 50 digits."""
    c, t = precise_value(claimed, {}), precise_value(correct, {})
    agree = _precise_agree(c, t, max(abs(c or 0), abs(t or 0)))
    if agree is None:
        return _Outcome("unchecked", reason="could not evaluate: neither side is a real number")
    if agree:
        return _Outcome("observed", points=1)
    return _Outcome("wrong", points=1, counterexample={"point": {}, "claimed": _real_or_nan(c),
                                                       "correct": _real_or_nan(t)})


def _decide(claimed, correct, *, count: int, seed: int, positive, clock: _Deadline,
            deep: bool = False) -> _Outcome:
    """The numeric verdict on ``claimed == correct`` (both free of undefined functions and big sums)."""
    symbols = sorted(free_symbols(claimed) | free_symbols(correct), key=sp.default_sort_key)
    if not symbols:
        return _constant_values(claimed, correct)
    rng = np.random.default_rng(seed)
    comparison = _Comparison(claimed, correct, symbols, clock, deep)

    def draw(points):
        for s in set(symbols) & set(positive):  # a learning rate is positive
            points[s] = np.abs(points[s]) + 1e-3
        comparison.add(points)

    draw(spread_points(symbols, count, rng))
    clock.check()
    if not deep:  # finding kinks walks the expressions by recursion
        draw(kink_points([claimed, correct], symbols, rng))
    if comparison.counterexample is None and comparison.valid < max(MIN_VALID_POINTS, count // 4):
        clock.check()  # logs and roots reject negatives: try positive values too
        draw(spread_points(symbols, count, rng, positive=True))
    if comparison.counterexample is not None:
        return _Outcome("wrong", comparison.valid, comparison.counterexample)
    if comparison.unresolved:
        return _Outcome("unchecked", comparison.valid, reason=(
            f"the float64 values disagree at {comparison.unresolved + MAX_PRECISE_CHECKS} points; the "
            f"{MAX_PRECISE_CHECKS} re-checked at high precision agree, the rest were not re-checked"))
    if comparison.valid < MIN_VALID_POINTS:
        return _Outcome("unchecked", comparison.valid, reason=(
            f"could not evaluate: only {comparison.valid} sampled points give real values on both sides "
            f"(at least {MIN_VALID_POINTS} are needed)"))
    return _Outcome("observed", comparison.valid)


def _check_deep_side(claimed, correct, *, count: int, seed: int, positive, clock: _Deadline) -> _Outcome:
    """Decide a deep side by numbers alone, sub-stage by sub-stage.

    SymPy's symbolic proof, its comparison of two expressions and the
    search for undefined functions or sums all recurse through an
    expression, several frames a level; numbers taken stage by stage do not.
    """
    if claimed is correct:  # the very same expression
        return _Outcome("proved")
    try:
        return _decide(claimed, correct, count=count, seed=seed, positive=positive, clock=clock, deep=True)
    except UndefinedFunction as error:
        return _Outcome("unchecked", reason=str(error))


def _check_side(claimed, correct, *, count: int, seed: int, positive, time_limit: float,
                clock: _Deadline) -> _Outcome:
    """Decide one claimed side against the truth: numbers first, then a proof."""
    claimed, correct = sp.sympify(claimed), sp.sympify(correct)
    if depth(claimed) > DEEP or depth(correct) > DEEP:
        return _check_deep_side(claimed, correct, count=count, seed=seed, positive=positive, clock=clock)
    if claimed == correct:
        return _Outcome("proved")
    undefined = undefined_functions(claimed) | undefined_functions(correct)
    if undefined:  # no numbers for f(w): only a proof can decide
        if _prove(claimed, correct, min(time_limit, clock.remaining())):
            return _Outcome("proved")
        names = ", ".join(sorted(undefined))
        return _Outcome("unchecked", reason=f"{names} {'is' if len(undefined) == 1 else 'are'} not defined: "
                        "an undefined function has no values, and no symbolic proof was found")
    outcome = None
    for fixed in index_assignments([claimed, correct]):  # free indices distinct, then equal: both must agree
        try:
            exprs = concrete([claimed, correct], fixed=fixed)
        except SumTooLarge as error:
            if _prove(claimed, correct, min(time_limit, clock.remaining())):
                return _Outcome("proved")
            return _Outcome("unchecked", reason=f"{error} (only symbolic bounds are given small sizes), "
                            "and no symbolic proof was found")
        try:
            outcome = _decide(exprs[0], exprs[1], count=count, seed=seed, positive=positive, clock=clock)
        except UndefinedFunction as error:  # pragma: no cover - caught above, kept for safety
            return _Outcome("unchecked", reason=str(error))
        if outcome.status != "observed":
            break
    if outcome.status == "observed" and _prove(claimed, correct, min(time_limit, clock.remaining())):
        outcome.status = "proved"
    return outcome


# -- diagnosis helpers (a rough sample on [-2, 2] is enough to name a mistake) -------------------

@dataclass
class _Sample:
    symbols: list
    points: dict
    claim: np.ndarray
    truth: np.ndarray
    valid: np.ndarray


def _sample(claim, truth, count=200, seed=0, spread=False) -> _Sample:
    exprs = concrete([claim, truth])
    symbols = sorted(set().union(*(e.free_symbols for e in exprs)), key=sp.default_sort_key)
    rng = np.random.default_rng(seed)
    draw = spread_points if spread else random_points
    for positive in (False, True):  # retry on positive values when logs or roots reject negatives
        points = draw(symbols, count, rng, positive=positive)
        c = values_at(exprs[0], symbols, points) if symbols else np.full(count, complex(exprs[0]).real)
        t = values_at(exprs[1], symbols, points) if symbols else np.full(count, complex(exprs[1]).real)
        valid = np.isfinite(c) & np.isfinite(t)
        if valid.sum() >= max(10, count // 4):
            break
    return _Sample(symbols, points, c, t, valid)


def _agrees(candidate, truth, seed=1) -> bool:
    """Whether two expressions agree at random points (used to test a diagnosis)."""
    try:
        s = _sample(candidate, truth, count=60, seed=seed)
    except (SumTooLarge, UndefinedFunction):
        return False
    return bool(s.valid.sum() >= 10 and np.all(_close(s.claim[s.valid], s.truth[s.valid])))


# -- symbolic proof under a time limit ------------------------------------------------

def _simplifies_to_zero(difference, connection):
    try:
        connection.send(sp.expand(difference) == 0 or sp.simplify(difference.rewrite(sp.exp)) == 0)
    except Exception:  # any failure is "not proved"
        connection.send(False)


def _prove(claim, truth, time_limit: float) -> bool:
    difference = sp.sympify(claim - truth)
    if difference == 0:
        return True
    if time_limit <= 0 or "fork" not in multiprocessing.get_all_start_methods():
        return False
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    # expand as well as simplify runs in the worker: expanding (a + b)^200 is not bounded in time
    worker = context.Process(target=_simplifies_to_zero, args=(difference, send), daemon=True)
    worker.start()
    worker.join(time_limit)
    if worker.is_alive():  # simplify can run for minutes: give up, the numbers already spoke
        worker.kill()
        worker.join()
        return False
    return bool(receive.poll() and receive.recv())


# -- diagnosis ------------------------------------------------------------------------

def _constant_ratio(sample: _Sample):
    """claim / truth where it is the same at every sampled point (and not 1); else ``None``."""
    mask = sample.valid & (sample.truth != 0)
    if mask.sum() < 5:
        return None
    with np.errstate(all="ignore"):
        ratio = sample.claim[mask] / sample.truth[mask]
    if not np.isfinite(ratio).all():
        return None
    if np.allclose(ratio, ratio[0], rtol=1e-7, atol=1e-12) and abs(ratio[0] - 1.0) > 1e-9:
        return float(ratio[0])
    return None




def _index_mistake(claim) -> str | None:
    """A sum whose summand does not use its index (Σ_k δ_i x_ij) is a slip of the pen."""
    slip = index_slip(claim)
    if slip is None:
        return None
    index, summand, names = slip
    where = "".join(f", {printing.text(k)} = {printing.text(v)}" for k, v in names.items())
    return f"the sum runs over {index} but its summand {printing.text(summand)} does not use {index}{where}"


def _diagnose_derivative(claim, truth, model: Model, wrt, lr, first_order: bool = True) -> str | None:
    mistake = _index_mistake(claim)
    if mistake:
        return mistake
    if isinstance(wrt, Symbol) and first_order:
        try:
            rule = chain_rule(model, wrt)
        except (DerivationError, ModelError):
            rule = None
        if rule is not None and len(rule.paths) > 1:
            closed = model.substitutions()
            for path in rule.paths:
                product = sp.Mul(*[f.value for f in path]).xreplace(closed)
                if _agrees(claim, product):
                    return (f"missing term: {wrt} is used {len(rule.paths)} times and gradients add "
                            f"over every use; the claim has only the path "
                            + " · ".join(map(str, path)))
    try:
        sample = _sample(claim, truth, seed=2, spread=True)
    except (SumTooLarge, UndefinedFunction):
        return None
    ratio = _constant_ratio(sample)
    if lr in claim.free_symbols and first_order:
        for sign, word in ((1, ""), (-1, " and its sign is flipped")):
            if _agrees(claim, sign * lr * truth):
                return (f"the learning rate {printing.text(lr)} is written into the gradient{word}; "
                        f"dL/d{printing.text(wrt)} has no {printing.text(lr)}, it belongs in the update rule")
    if ratio is not None:
        return constant_factor_diagnosis(ratio)
    for node in sp.preorder_traversal(truth):
        name = type(node).__name__
        entry = OPS.get(name)
        if first_order and entry is not None and entry.elementwise and entry.name != "log" and len(node.args) == 1:
            u = sp.Dummy("u")
            local = sp.diff(node.func(u), u).xreplace({u: node.args[0]})
            if _agrees(claim * local, truth):
                # name the factor with the model's stage symbols: σ'(a3) = f3(1 - f3)
                named = {v: k for k, v in model.substitutions().items()}
                return (f"missing local-derivative factor {entry.name_text}'"
                        f"({printing.text(node.args[0].xreplace(named))}) = "
                        f"{printing.text(local.xreplace(named))}")
    return None


def _diagnose_update(claimed, target, gradient, model, lr) -> str:
    mistake = _index_mistake(claimed)
    if mistake:
        return mistake
    if _agrees(claimed, target + lr * gradient):
        return "ascent instead of descent: the rule adds the gradient; gradient descent subtracts it"
    implied = sp.expand((target - claimed) / lr)
    inner = _diagnose_derivative(implied, gradient, model, target, lr)
    return f"the step is not η·dL/d{printing.text(target)}" + (f": {inner}" if inner else "")


# -- reading the claim ---------------------------------------------------------------------

@dataclass
class _Reading:
    """A claim as written: what kind, what it differentiates by, and each side it claims."""

    kind: str
    #: the variables of a derivative, with repeats ((w, w) for d²L/dw²); the parameter of a rule
    variables: tuple
    sides: list
    #: what a derivative claim differentiates (``L`` of ``dL/dw``), if it says
    of: object = None


def _is_param(model: Model, expr) -> bool:
    return expr in model.params or (isinstance(expr, Indexed) and expr.base in model.params)


def _read(claim, model: Model, lr) -> _Reading:
    if isinstance(claim, str):
        # the model's own symbols keep multi-letter names (w1, yhat, theta0) whole
        known = list(model.symbols.values()) + ([lr] if isinstance(lr, Symbol) else [])
        claim = parse(claim, symbols=known)
    if isinstance(claim, dict):
        raise ClaimError("give one claim at a time")
    if hasattr(claim, "param") and hasattr(claim, "new_value"):  # a parsed update rule
        return _Reading("update rule", (claim.param,), [sp.sympify(claim.new_value)])
    if hasattr(claim, "lhs") and hasattr(claim, "rhs"):  # an equation, parsed or sp.Eq; maybe a chain
        sides = [sp.sympify(s) for s in getattr(claim, "sides", (claim.lhs, claim.rhs))]
        first = sides[0]
        if _is_param(model, first):  # w = w - eta*...: an update rule
            return _Reading("update rule", (first,), sides[1:])
        if isinstance(first, Derivative):
            return _Reading("derivative", tuple(first.variables), sides[1:], first.expr)
        if isinstance(first, Symbol) and str(first) not in model.symbols:
            return _Reading("derivative", (), sides[1:])  # g = ...: a name for the result
        return _Reading("derivative", (), sides)
    return _Reading("derivative", (), [sp.sympify(claim, strict=True)])


def _resolve_wrt(model: Model, wrt):
    if wrt is None:
        if len(model.params) == 1:
            wrt = model.params[0]
        else:
            raise ClaimError("say which variable the claim differentiates by (wrt=...); "
                             f"the model has parameters {', '.join(map(str, model.params))}")
    target = model.symbol(wrt) if not isinstance(wrt, Indexed) else wrt
    if isinstance(target, IndexedBase):
        target = component(model, target)
    return target


def _same_variable(a, b) -> bool:
    base = (lambda v: v.base if isinstance(v, Indexed) else v)
    return a == b or (isinstance(a, Indexed) and isinstance(b, Indexed) and a.base == b.base) or (
        isinstance(b, IndexedBase) and base(a) == b) or (isinstance(a, IndexedBase) and base(b) == a)


def _variables(model: Model, reading: _Reading, wrt) -> tuple:
    """The variables checked: those the claim names, which ``wrt`` may repeat but never replaces."""
    if not reading.variables:
        return (_resolve_wrt(model, wrt),)
    named = []
    for variable in reading.variables:
        try:
            named.append(model.symbol(variable))
        except ModelError:
            raise ClaimError(f"the claim differentiates by {printing.text(variable)}, which is not a symbol "
                             f"of the model (it has: {', '.join(sorted(model.symbols))})") from None
    if wrt is not None:
        given = model.symbol(wrt) if not isinstance(wrt, Indexed) else wrt
        if not any(_same_variable(v, given) for v in named):
            what = "an update rule for" if reading.kind == "update rule" else "a derivative by"
            raise ClaimError(f"the claim is {what} {', '.join(printing.text(v) for v in named)} but "
                             f"wrt={printing.text(given)} was given: drop wrt or make the two agree")
    return tuple(named)


def _subject(model: Model, of, variables: tuple) -> str:
    name = printing.text(of) if of is not None else str(model.output)
    order = len(variables)
    if order == 1:
        return f"d{name}/d{printing.text(variables[0])}"
    power = str(order).translate(_SUPERSCRIPTS)
    if len(set(variables)) == 1:
        return f"d{power}{name}/d{printing.text(variables[0])}{power}"
    return f"∂{power}{name}/" + "".join(f"∂{printing.text(v)}" for v in variables)


def _through_stages(of, variable, model: Model) -> sp.Expr:
    """d(of)/d(variable) read as the chain rule's notation: a stage variable is held as a symbol.

    ``∂L/∂f3`` differentiates L by f3 with the stages after f3 written out and
    f3 itself kept; by a parameter or an input every stage is written out.
    """
    stages = [s for s, _ in model.stages]
    if variable in stages:
        later = model.stages[stages.index(variable) + 1:]
    else:
        later = model.stages
    for stage, definition in reversed(later):
        of = of.xreplace({stage: definition})
    return sp.diff(of, variable)


def _evaluate_derivatives(expr: sp.Expr, model: Model) -> sp.Expr:
    """Derivatives written in a claim (``∂L/∂f3 ∂f3/∂a3``, ``d/dw (wx + b)``) taken in the model."""
    if not contains(expr, Derivative):  # a deep claim has none, and replace() would recurse through it
        return expr

    def value(node):
        result = node.expr
        for variable, count in node.variable_count:
            for _ in range(int(count)):
                result = _through_stages(result, variable, model)
        return result
    return expr.replace(lambda node: isinstance(node, Derivative), value)


def _truth(model: Model, reading: _Reading, variables: tuple, lr):
    """(correct value closed, the same for the reader, a first-order gradient or None)."""
    closed = model.substitutions()
    of = reading.of
    if reading.kind == "update rule":
        target = variables[0]
        gradient = grad(model, target, form="closed")
        return target - lr * gradient, target - lr * grad(model, target), gradient
    by_output = of is None or of == model.output or not (
        isinstance(of, sp.Basic) and of.free_symbols & set(model.symbols.values()))
    if by_output and len(variables) == 1:
        gradient = grad(model, variables[0], form="closed")
        # one stage: its stage form is the closed form (and a deep one is slow to derive twice)
        shown = gradient if len(model.stages) == 1 else grad(model, variables[0])
        return gradient, shown, gradient
    base = model.closed_form() if by_output else sp.sympify(of).xreplace(closed)
    if by_output:
        derivative = grad(model, variables[0], form="closed")
        rest = variables[1:]
    else:
        derivative, rest = base, variables
    for variable in rest:
        derivative = sp.diff(derivative, variable)
    return derivative, derivative, None


def _unknown_names(sides, model: Model, lr) -> list[str]:
    known = set(model.symbols.values()) | {lr}
    names = set()
    for side in sides:
        parts = symbols_of(side)
        names |= {str(s) for s in parts["scalars"] - known}
        names |= {str(b) for b in parts["bases"] - known}
    return sorted(names)


# -- the entry point ---------------------------------------------------------------------

def verify(claim, model_or_expr, wrt=None, *, lr=ETA, points: int = 200, seed: int = 0,
           time_limit: float = 2.0, inputs=(), deadline: float = 30.0) -> Verdict:
    """Check a claimed derivative ``dL/d(wrt)`` (of any order) or update rule of a model or expression.

    ``claim`` is a SymPy expression (the claimed derivative), an equation
    (``Eq(Derivative(L, w), ...)``), an update rule, or text that
    ``symgrad.parse`` reads (``d^2L/dw^2 = 2x^2``, a chain ``dL/dw = a = b``).
    Stage symbols of the model may appear in it. The variables a claim names
    are the ones checked; ``wrt`` that names another is an error. The whole
    check stops after ``deadline`` seconds (then the verdict is
    ``"unchecked"``); the symbolic proof alone gets ``time_limit`` seconds.

    >>> from sympy import symbols
    >>> w, x, b, y = symbols('w x b y')
    >>> verify(2*x*(w*x + b - y), (y - (w*x + b))**2, w).status
    'proved'
    >>> print(verify(x*(w*x + b - y), (y - (w*x + b))**2, w).diagnosis)
    missing factor 2 (the 2 that differentiating the square brings down)
    >>> verify("d^2L/dw^2 = 2x^2", (y - (w*x + b))**2).summary()
    '✓ d²L/dw² holds (proved symbolically)'
    >>> verify("d^2L/dw^2 = 2x(wx + b - y)", (y - (w*x + b))**2).summary()
    '✗ d²L/dw² is wrong: the claim is dL/dw, a derivative of lower order'
    """

    if isinstance(model_or_expr, MatrixModel):
        return verify_matrix(claim, model_or_expr, wrt)
    clock = _Deadline(deadline)
    model = Model.coerce(model_or_expr, inputs=inputs)
    lr = sp.sympify(lr, strict=True)
    reading = _read(claim, model, lr)
    variables = _variables(model, reading, wrt)
    expected, shown, gradient = _truth(model, reading, variables, lr)
    target = variables[0]
    if reading.kind == "update rule":
        subject = f"update rule for {printing.text(target)}"
    else:
        subject = _subject(model, reading.of if reading.of not in (None, model.output) else None, variables)
    closed = model.substitutions()
    written = [_evaluate_derivatives(side, model) for side in reading.sides]
    sides = [replace_symbols(side, closed) for side in written]

    outcomes = []
    for side in sides:
        try:
            outcome = _check_side(side, expected, count=points, seed=seed, positive=(lr,),
                                  time_limit=time_limit, clock=clock)
        except _OutOfTime:
            outcome = _Outcome("unchecked", reason=f"ran out of time (deadline {clock.seconds:g} s)")
        outcomes.append(outcome)
        if outcome.status == "wrong":
            break
    decisive = _decisive(outcomes)
    k = outcomes.index(decisive)
    verdict = Verdict(decisive.status, reading.kind, subject, reading.sides[k], shown,
                      points=decisive.points, counterexample=decisive.counterexample,
                      diagnosis=decisive.reason)
    if isinstance(reading.of, Symbol) and reading.of != model.output and str(reading.of) not in model.symbols:
        verdict.notes.append(f"the claim differentiates {reading.of}, which the model does not define: "
                             f"checked as the derivative of its output {model.output}")
    unknown = _unknown_names(reading.sides, model, lr)
    if unknown:
        verdict.notes.append(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a symbol of "
                             "the model: checked as one more variable")
    if len(reading.sides) > 1:
        verdict.steps = [{"claim": str(s), "status": o.status, "points": o.points,
                          "diagnosis": o.reason} for s, o in zip(reading.sides, outcomes)]
    deep = any(depth(side) > DEEP for side in sides) or depth(expected) > DEEP
    if decisive.status == "wrong" and clock.remaining() > 0 and not deep:  # a diagnosis rewrites by recursion
        verdict.diagnosis = _diagnosis(reading, sides[k], expected, gradient, model, variables, lr)
    if len(reading.sides) > 1 and decisive.status in ("wrong", "unchecked"):
        where = f"step {k + 1} of {len(reading.sides)}, {printing.text(reading.sides[k])}"
        verdict.diagnosis = where + (f": {verdict.diagnosis}" if verdict.diagnosis else "")
        if verdict.steps:
            verdict.steps[k]["diagnosis"] = verdict.diagnosis
    return verdict


def verify_identity(claimed, correct, *, subject: str = "the equation", points: int = 200, seed: int = 0,
                    time_limit: float = 2.0, deadline: float = 10.0, diagnose=None) -> Verdict:
    """Check that ``claimed`` equals ``correct`` wherever both are defined: an expansion, a step, a formula.

    The same decision as :func:`verify` (sampled points at several scales and
    on both sides of every kink, disagreements confirmed at 50 digits, then a
    proof under ``time_limit``), without a model: both sides are given in
    full. ``diagnose`` is the pair of expressions to name the mistake from,
    when a shallower form than the full one reads better (default: the two).

    >>> from sympy import symbols
    >>> y, f = symbols('y f')
    >>> verify_identity(y**2 - 2*y*f + f**2, (y - f)**2).status
    'proved'
    >>> print(verify_identity(y**2 + f**2 - 2*y, (y - f)**2).diagnosis)
    the cross term of (y - f)^2 is -2f·y; the claim has -2y
    """
    clock = _Deadline(deadline)
    try:
        outcome = _check_side(claimed, correct, count=points, seed=seed, positive=(ETA,),
                              time_limit=time_limit, clock=clock)
    except _OutOfTime:
        outcome = _Outcome("unchecked", reason=f"ran out of time (deadline {clock.seconds:g} s)")
    verdict = Verdict(outcome.status, "identity", subject, claimed, correct, points=outcome.points,
                      counterexample=outcome.counterexample, diagnosis=outcome.reason)
    if outcome.status == "wrong" and clock.remaining() > 0:
        try:
            verdict.diagnosis = identity_diagnosis(*(diagnose or (claimed, correct)))
        except (TypeError, ValueError, ZeroDivisionError):  # a rewriting SymPy cannot do: no diagnosis
            verdict.diagnosis = None
    return verdict


def _decisive(outcomes: list) -> _Outcome:
    """The side a chain's verdict is about: the first wrong, else the first unchecked, else the weakest."""
    for status in ("wrong", "unchecked", "observed", "proved"):
        for outcome in outcomes:
            if outcome.status == status:
                return outcome
    raise ClaimError("a claim needs at least one side")  # pragma: no cover - the parser makes one


def _lower_order(claimed, model: Model, reading: _Reading, variables: tuple) -> str | None:
    """The lower-order derivative a higher-order claim equals, if any (``dL/dw`` for ``d²L/dw²``)."""
    for order in range(len(variables) - 1, -1, -1):
        lower = _Reading("derivative", variables[:order], [], reading.of)
        value = _truth(model, lower, variables[:order], ETA)[0] if order else (
            model.closed_form() if reading.of in (None, model.output) else reading.of)
        if _agrees(claimed, value):
            if order == 0:
                return f"the claim is {printing.text(reading.of or model.output)} itself, not a derivative"
            return (f"the claim is {_subject(model, None, variables[:order])}, "
                    "a derivative of lower order")
    return None


def _diagnosis(reading: _Reading, claimed, expected, gradient, model, variables, lr) -> str | None:
    try:
        if reading.kind == "update rule":
            return _diagnose_update(claimed, variables[0], gradient, model, lr)
        if len(variables) > 1:
            lower = _lower_order(claimed, model, reading, variables)
            if lower:
                return lower
        return _diagnose_derivative(claimed, expected, model, variables[0], lr,
                                    first_order=gradient is not None)
    except (SumTooLarge, UndefinedFunction):
        return None
