"""Check a claimed derivative or update rule: decide numerically, diagnose the mistake, then try to prove.

A wrong claim is exposed in milliseconds at random points, where
``simplify(a - b)`` could run for minutes; a claim that holds everywhere
sampled is then proved symbolically under a time limit, and the verdict
says which of the two it got.
"""
from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy import Indexed, IndexedBase, Symbol

from .. import printing
from ..symbolic.abbreviate import abbreviate
from ..symbolic.chainrule import chain_rule
from ..symbolic.derive import DerivationError, component, grad
from ..core.model import Model, ModelError
from ..numeric.points import concrete, random_points, values_at
from ..core.ops import OPS
from ..parsing import parse

__all__ = ["Verdict", "verify", "ETA"]

ETA = Symbol("eta")


@dataclass
class Verdict:
    """The outcome of checking one claim.

    ``ok`` says whether the claim holds; ``proved`` whether equality was
    shown symbolically (otherwise it was observed at ``points`` random
    points). A wrong claim carries a ``counterexample`` (a point with both
    values) and, when one fits, a ``diagnosis`` of the mistake.
    """

    ok: bool
    kind: str
    subject: str
    claim: sp.Expr
    #: the correct result, in the model's stage symbols where it has stages
    expected: sp.Expr
    proved: bool = False
    points: int = 0
    counterexample: dict | None = None
    diagnosis: str | None = None
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        if self.ok:
            how = "proved symbolically" if self.proved else f"observed at {self.points} random points, not proved"
            return f"✓ {self.subject} holds ({how})"
        reason = f": {self.diagnosis}" if self.diagnosis else ""
        return f"✗ {self.subject} is wrong{reason}"

    def __str__(self) -> str:
        lines = [self.summary(), f"  claimed:  {printing.text(self.claim)}",
                 f"  correct:  {printing.text(self.expected)}"]
        if self.counterexample:
            point = ", ".join(f"{k}={v:.4g}" for k, v in self.counterexample["point"].items())
            lines.append(f"  at {point}: claimed {self.counterexample['claimed']:.6g}, "
                         f"correct {self.counterexample['correct']:.6g}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "kind": self.kind, "subject": self.subject, "claim": str(self.claim),
                "expected": str(self.expected), "proved": self.proved, "points": self.points,
                "counterexample": self.counterexample, "diagnosis": self.diagnosis, "notes": self.notes}


# -- numeric comparison ----------------------------------------------------------

@dataclass
class _Sample:
    symbols: list
    points: dict
    claim: np.ndarray
    truth: np.ndarray
    valid: np.ndarray


def _sample(claim, truth, extra=(), count=200, seed=0, positive_symbols=(ETA,)) -> _Sample:
    exprs = concrete([claim, truth, *extra])
    symbols = sorted(set().union(*(e.free_symbols for e in exprs)), key=sp.default_sort_key)
    rng = np.random.default_rng(seed)
    for positive in (False, True):  # retry on positive values when logs or roots reject negatives
        points = random_points(symbols, count, rng, positive=positive)
        for s in set(symbols) & set(positive_symbols):  # a learning rate is positive
            points[s] = np.abs(points[s]) + 0.01
        c = values_at(exprs[0], symbols, points) if symbols else np.full(count, complex(exprs[0]).real)
        t = values_at(exprs[1], symbols, points) if symbols else np.full(count, complex(exprs[1]).real)
        valid = np.isfinite(c) & np.isfinite(t)
        if valid.sum() >= max(10, count // 4):
            break
    return _Sample(symbols, points, c, t, valid)


def _close(a, b) -> np.ndarray:
    return np.abs(a - b) <= 1e-7 * (1 + np.abs(b))


def _agrees(candidate, truth, seed=1) -> bool:
    """Whether two expressions agree at random points (used to test a diagnosis)."""
    s = _sample(candidate, truth, count=60, seed=seed)
    return bool(s.valid.sum() >= 10 and np.all(_close(s.claim[s.valid], s.truth[s.valid])))


# -- symbolic proof under a time limit ------------------------------------------------

def _simplifies_to_zero(difference, connection):
    try:
        connection.send(sp.simplify(difference.rewrite(sp.exp)) == 0)
    except Exception:  # any failure is "not proved"
        connection.send(False)


def _prove(claim, truth, time_limit: float) -> bool:
    difference = sp.sympify(claim - truth)
    if difference == 0 or sp.expand(difference) == 0:
        return True
    if time_limit <= 0 or "fork" not in multiprocessing.get_all_start_methods():
        return False
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
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
    mask = sample.valid & (np.abs(sample.truth) > 1e-9)
    if mask.sum() < 5:
        return None
    ratio = sample.claim[mask] / sample.truth[mask]
    if np.allclose(ratio, ratio[0], rtol=1e-7, atol=1e-12):
        return float(ratio[0])
    return None


def constant_factor_diagnosis(ratio: float, what: str = "derivative") -> str:
    """The mistake that a constant ratio claim / truth points to."""
    if np.isclose(ratio, -1):
        return f"sign error: the claim is the negative of the {what}"
    if np.isclose(ratio, 0.5):
        return "missing factor 2 (the 2 that differentiating the square brings down)"
    if np.isclose(ratio, 2):
        return "extra factor 2"
    if np.isclose(ratio, 0):
        return f"the claim is zero but the {what} is not"
    return f"off by a constant factor: the claim is {ratio:.6g} times the {what}"


def _index_mistake(claim) -> str | None:
    """A sum whose summand does not use its index (Σ_k δ_i x_ij) is a slip of the pen."""
    for node in sp.preorder_traversal(claim):
        if isinstance(node, sp.Sum):
            for limit in node.limits:
                if limit[0] not in node.function.free_symbols:
                    summand, names = abbreviate(node.function)
                    where = "".join(f", {printing.text(k)} = {printing.text(v)}" for k, v in names.items())
                    return (f"the sum runs over {limit[0]} but its summand "
                            f"{printing.text(summand)} does not use {limit[0]}{where}")
    return None


def _diagnose_derivative(claim, truth, model: Model, wrt, lr) -> str | None:
    mistake = _index_mistake(claim)
    if mistake:
        return mistake
    if isinstance(wrt, Symbol):
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
    sample = _sample(claim, truth, seed=2)
    ratio = _constant_ratio(sample)
    if lr in claim.free_symbols:
        for sign, word in ((1, ""), (-1, " and its sign is flipped")):
            if _agrees(claim, sign * lr * truth):
                return (f"the learning rate {printing.text(lr)} is written into the gradient{word}; "
                        f"dL/d{printing.text(wrt)} has no {printing.text(lr)}, it belongs in the update rule")
    if ratio is not None:
        return constant_factor_diagnosis(ratio)
    closed_truth = truth
    for node in sp.preorder_traversal(closed_truth):
        name = type(node).__name__
        entry = OPS.get(name)
        if entry is not None and entry.elementwise and entry.name != "log" and len(node.args) == 1:
            u = sp.Dummy("u")
            local = sp.diff(node.func(u), u).xreplace({u: node.args[0]})
            if _agrees(claim * local, truth):
                # name the factor with the model's stage symbols: σ'(a3) = f3(1 - f3)
                named = {v: k for k, v in model.substitutions().items()}
                return (f"missing local-derivative factor {entry.name_text}'"
                        f"({printing.text(node.args[0].xreplace(named))}) = "
                        f"{printing.text(local.xreplace(named))}")
    return None


# -- the entry point ---------------------------------------------------------------------

def _unpack(claim, model: Model, wrt, lr):
    """(kind, wrt, claimed expression) from whatever form the claim takes."""
    if isinstance(claim, str):
        # the model's own symbols keep multi-letter names (w1, yhat, theta0) whole
        known = list(model.symbols.values()) + ([lr] if isinstance(lr, Symbol) else [])
        claim = parse(claim, symbols=known)
    kind = "derivative"
    if hasattr(claim, "param") and hasattr(claim, "new_value"):  # a parsed update rule
        return "update rule", claim.param, sp.sympify(claim.new_value)
    if hasattr(claim, "lhs") and hasattr(claim, "rhs"):  # an equation, parsed or sp.Eq
        lhs, rhs = claim.lhs, claim.rhs
        if lhs in model.params or (isinstance(lhs, Indexed) and lhs.base in model.params):
            return "update rule", lhs, sp.sympify(rhs)  # w = w - eta*...: an update rule
        claimed_wrt = getattr(claim, "wrt", None)
        if claimed_wrt is None and isinstance(lhs, sp.Derivative):
            claimed_wrt = lhs.variables[0]
        return kind, claimed_wrt if wrt is None else wrt, sp.sympify(rhs)
    if isinstance(claim, dict):
        raise ValueError("give one claim at a time")
    return kind, wrt, sp.sympify(claim, strict=True)


def _resolve_wrt(model: Model, wrt):
    if wrt is None:
        if len(model.params) == 1:
            wrt = model.params[0]
        else:
            raise ValueError("say which variable the claim differentiates by (wrt=...); "
                             f"the model has parameters {', '.join(map(str, model.params))}")
    target = model.symbol(wrt) if not isinstance(wrt, Indexed) else wrt
    if isinstance(target, IndexedBase):
        target = component(model, target)
    return target


def verify(claim, model_or_expr, wrt=None, *, lr=ETA, points: int = 200, seed: int = 0,
           time_limit: float = 2.0, inputs=()) -> Verdict:
    """Check a claimed derivative ``dL/d(wrt)`` or update rule of a model or expression.

    ``claim`` is a SymPy expression (the claimed derivative), an equation
    (``Eq(Derivative(L, w), ...)``), an update rule, or text that
    ``symgrad.parse`` reads. Stage symbols of the model may appear in it.

    >>> from sympy import symbols
    >>> w, x, b, y = symbols('w x b y')
    >>> verify(2*x*(w*x + b - y), (y - (w*x + b))**2, w).ok
    True
    >>> print(verify(x*(w*x + b - y), (y - (w*x + b))**2, w).diagnosis)
    missing factor 2 (the 2 that differentiating the square brings down)
    """
    from ..core.matrix_model import MatrixModel
    from ..verification.matrix_claims import verify_matrix  # here: symgrad.matrix imports this module

    if isinstance(model_or_expr, MatrixModel):
        return verify_matrix(claim, model_or_expr, wrt)
    model = Model.coerce(model_or_expr, inputs=inputs)
    lr = sp.sympify(lr, strict=True)
    kind, wrt, claimed = _unpack(claim, model, wrt, lr)
    target = _resolve_wrt(model, wrt)
    closed = model.substitutions()
    claimed_closed = claimed.xreplace(closed)
    gradient = grad(model, target, form="closed")
    readable = grad(model, target)  # the same, in stage symbols, for the reader
    if kind == "update rule":
        expected, shown = target - lr * gradient, target - lr * readable
        subject = f"update rule for {printing.text(target)}"
    else:
        expected, shown = gradient, readable
        subject = f"d{model.output}/d{printing.text(target)}"

    sample = _sample(claimed_closed, expected, count=points, seed=seed, positive_symbols=(lr,))
    valid = sample.valid
    agree = _close(sample.claim[valid], sample.truth[valid])
    verdict = Verdict(ok=bool(valid.any() and agree.all()), kind=kind, subject=subject,
                      claim=claimed, expected=shown, points=int(valid.sum()))
    if not valid.any():
        verdict.ok = False
        verdict.diagnosis = "neither side could be evaluated at any sampled point"
        return verdict
    if verdict.ok:
        verdict.proved = _prove(claimed_closed, expected, time_limit)
        return verdict

    bad = int(np.flatnonzero(valid)[np.flatnonzero(~agree)[0]])
    verdict.counterexample = {
        "point": {str(s): float(sample.points[s][bad]) for s in sample.symbols},
        "claimed": float(sample.claim[bad]), "correct": float(sample.truth[bad]),
    }
    if kind == "update rule":
        mistake = _index_mistake(claimed)
        if mistake:
            verdict.diagnosis = mistake
        elif _agrees(claimed_closed, target + lr * gradient):
            verdict.diagnosis = ("ascent instead of descent: the rule adds the gradient; "
                                 "gradient descent subtracts it")
        else:
            implied = sp.expand((target - claimed_closed) / lr)
            inner = _diagnose_derivative(implied, gradient, model, target, lr)
            verdict.diagnosis = f"the step is not η·dL/d{printing.text(target)}" + (
                f": {inner}" if inner else "")
    else:
        verdict.diagnosis = _diagnose_derivative(claimed_closed, expected, model, target, lr)
    return verdict
