"""The lectures' claims, as each slide writes them, and the check that says which hold.

Each claim keeps the slide's own text (usually LaTeX) beside a SymPy
expression written by hand from that text, so that a claim can be checked
even where the slide's notation is loose. ``check_all()`` verifies them all;
the lectures do contain mistakes, and those come back flagged with a reason.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy import Eq, Heaviside, IndexedBase, Sum, symbols

from . import catalog as lectures
from .. import losses
from ..networks import parameter_count
from ..core.functions import sigmoid, softmax
from ..numeric.points import concrete, random_points, values_at
from ..verification.matrix_claims import verify_matrix
from ..verification.verdict import Verdict, verify

__all__ = ["Claim", "CLAIMS", "ClaimResult", "check", "check_all"]

w, x, b, y, eta, alpha = symbols("w x b y eta alpha")
w1, w2, w3, x1, x2, x3 = symbols("w1 w2 w3 x1 x2 x3")
f1, f2, f3, q, z, r = symbols("f1 f2 f3 q z r")
W, X, Y = IndexedBase("w"), IndexedBase("x"), IndexedBase("y")
i, j, k, m, N = symbols("i j k m N")


@dataclass(frozen=True)
class Claim:
    """One statement of a slide.

    ``kind`` is ``"derivative"`` or ``"update rule"`` (checked by
    :func:`symgrad.verify` against ``example``'s model), ``"identity"``
    (``expr`` equals ``truth``), ``"number"`` (a value the slide prints,
    to the digits it prints) or ``"matrix"`` (a backprop rule for a matrix
    product, checked by :func:`symgrad.verify`, shapes first).
    """

    lecture: str
    slide: str
    kind: str
    expr: object
    example: str | None = None
    wrt: object = None
    lr: object = eta
    truth: object = None
    why: str = ""

    @property
    def source(self) -> str:
        return lectures.LECTURES[self.lecture]


@dataclass
class ClaimResult:
    claim: Claim
    ok: bool
    reason: str
    verdict: Verdict | None = None

    def __str__(self) -> str:
        mark = "✓" if self.ok else "✗"
        return f"{mark} [lecture {self.claim.lecture}] {self.claim.slide}\n    {self.reason}"


def _sigmoid_perceptron_rule_as_written():
    # the slide's sum runs over k but its summand is written with i
    sigma_i = sigmoid(Sum(W[k] * X[i, k], (k, 1, m)))
    delta_i = Y[i] - sigma_i
    return Eq(W[j], W[j] + 2 * eta * Sum(delta_i * sigma_i * (1 - sigma_i) * X[i, j], (k, 1, N)))


def _sigmoid_perceptron_rule_corrected():
    sigma_i = sigmoid(Sum(W[k] * X[i, k], (k, 1, m)))
    delta_i = Y[i] - sigma_i
    return Eq(W[j], W[j] + 2 * eta * Sum(delta_i * sigma_i * (1 - sigma_i) * X[i, j], (i, 1, N)))


def _linear_rule():
    delta_i = Y[i] - Sum(W[k] * X[i, k], (k, 1, m))
    return Eq(W[j], W[j] + 2 * alpha * Sum(delta_i * X[i, j], (i, 1, N)))


def _perceptron_gradient():
    d_i = Sum(W[k] * X[i, k], (k, 1, m))
    delta_i = Y[i] - sigmoid(d_i)
    return Sum(-2 * delta_i * sigmoid(d_i) * (1 - sigmoid(d_i)) * X[i, j], (i, 1, N))


CLAIMS: list[Claim] = [
    # -- lecture 000 ---------------------------------------------------------------
    Claim("000", r"\frac{\partial f}{\partial w} = \frac{\partial}{\partial w}(wx + b) = x",
          "derivative", x, "mse-linear-prediction", w),
    Claim("000", r"\frac{\partial}{\partial x}(wx) + \frac{\partial}{\partial x}(b) = x + 0 = x",
          "identity", x, truth=sp.diff(w * x, x) + sp.diff(b, x),
          why="the middle step differentiates by x where it means w: by x, wx gives w, not x"),
    Claim("000", r"L = y^2 + f(x)^2 - 2y", "identity", y**2 + (w * x + b) ** 2 - 2 * y,
          truth=(y - (w * x + b)) ** 2,
          why="the cross term of (y - f(x))^2 is -2y f(x); the slide drops f(x)"),
    Claim("000", r"L = y^2 + w^2x^2 + b^2 + 2wxb - 2ywx - 2yb", "identity",
          y**2 + w**2 * x**2 + b**2 + 2 * w * x * b - 2 * y * w * x - 2 * y * b,
          truth=(y - (w * x + b)) ** 2),
    Claim("000", r"\frac{\partial L}{\partial w} = 2wx^2 + 2xb - 2yx", "derivative",
          2 * w * x**2 + 2 * x * b - 2 * y * x, "mse-linear", w),
    Claim("000", r"\frac{\partial L}{\partial w} = 2x(wx + b - y)", "derivative",
          2 * x * (w * x + b - y), "mse-linear", w),
    Claim("000", r"\frac{dL}{dw} = -2(y - l) \cdot x = -2x(y - wx - b)", "derivative",
          -2 * x * (y - w * x - b), "mse-linear", w),
    # -- lecture 001 ---------------------------------------------------------------
    Claim("001", r"\frac{\partial L}{\partial w_j} = -2 \sum_{k=1}^{N} \delta_k x_{kj}", "derivative",
          -2 * Sum((Y[k] - Sum(W[i] * X[k, i], (i, 1, m))) * X[k, j], (k, 1, N)),
          "linear-data-set", W[j]),
    Claim("001", r"w_j \leftarrow w_j + 2\alpha \sum_{k=1}^N \delta_k x_{kj}", "update rule",
          _linear_rule(), "linear-data-set", W[j], lr=alpha),
    Claim("001", r"\frac{\partial L}{\partial w_j} = \sum_{i} -2 \delta_i \sigma(d_i)(1 - \sigma(d_i)) x_{ij}",
          "derivative", _perceptron_gradient(), "sigmoid-perceptron", W[j]),
    Claim("001", r"\sigma'(x) = \sigma(x)(1 - \sigma(x))", "identity",
          sigmoid(x) * (1 - sigmoid(x)), truth=sp.diff(1 / (1 + sp.exp(-x)), x)),
    Claim("001", r"w_j \leftarrow w_j + 2\eta \sum_{k=1}^N \delta_i \sigma_i (1-\sigma_i) x_{ij}",
          "update rule", _sigmoid_perceptron_rule_as_written(), "sigmoid-perceptron", W[j],
          why="as written the sum runs over k while its summand is indexed by i"),
    Claim("001", r"w_j \leftarrow w_j + 2\eta \sum_{i=1}^N \delta_i \sigma_i (1-\sigma_i) x_{ij} \quad \text{(summed over } i \text{)}",
          "update rule", _sigmoid_perceptron_rule_corrected(), "sigmoid-perceptron", W[j]),
    # -- lecture 002 ---------------------------------------------------------------
    Claim("002", r"\frac{d\mathcal{L}}{dw} = -(y - \hat{y}) x", "derivative",
          -(y - w * x) * x, "perceptron", w),
    Claim("002", r"w = w - \nabla w = w + (y - \hat{y}) x", "update rule",
          Eq(w, w + (y - w * x) * x), "perceptron", w, lr=1),
    Claim("002", r"\mathcal{L}_i = \frac{1}{2}(y_i - \hat{y})", "identity",
          (y - w * x) / 2, truth=losses.half_squared_error(y, w * x),
          why="the loss on this slide lost its square: elsewhere the lecture uses 1/2 (y - yhat)^2"),
    Claim("002", r"\frac{\partial L}{\partial w_3} = -\eta(y - \hat{y}) f_3(1 - f_3) f_2", "derivative",
          -eta * (y - f3) * f3 * (1 - f3) * f2, "chain3", w3),
    Claim("002", r"\frac{\partial L}{\partial w_3} = -(y - \hat{y}) f_3(1 - f_3) f_2 \quad \text{(without } \eta \text{)}",
          "derivative", -(y - f3) * f3 * (1 - f3) * f2, "chain3", w3),
    Claim("002", r"\frac{\partial L}{\partial w_1} = \frac{\partial L}{\partial f_3}\frac{\partial f_3}{\partial a_3}"
          r"\frac{\partial a_3}{\partial f_2}\frac{\partial f_2}{\partial a_2}\frac{\partial a_2}{\partial f_1}"
          r"\frac{\partial f_1}{\partial a_1}\frac{\partial a_1}{\partial w_1}", "derivative",
          -(y - f3) * f3 * (1 - f3) * w3 * f2 * (1 - f2) * w2 * f1 * (1 - f1) * x, "chain3", w1),
    Claim("002", r"\theta \leftarrow \theta + \eta \frac{\partial \mathcal{L}}{\partial \theta}", "update rule",
          Eq(w3, w3 + eta * (f3 - y) * f3 * (1 - f3) * f2), "chain3", w3,
          why="adding the gradient climbs the loss; the earlier slide's theta <- theta - eta grad is right"),
    # -- lecture 004 ---------------------------------------------------------------
    Claim("004", r"\frac{\partial f}{\partial x} = \frac{\partial f}{\partial z}\frac{dz}{dq}\frac{\partial q}{\partial x} = r",
          "derivative", r, "graph-qzf", x),
    Claim("004", r"\frac{\partial f}{\partial r} = z", "derivative", z, "graph-qzf", r),
    Claim("004", r"\frac{\partial f}{\partial x} = \mathbf{1}\{x \geq y\}, \frac{\partial f}{\partial y} = \mathbf{1}\{y \geq x\}"
          r" \quad \text{for } f = \max(x, y) \text{ at a tie } x = y", "identity",
          Heaviside(x - y, 1) + Heaviside(y - x, 1), truth=sp.Integer(1),
          why="at a tie both indicators are 1, so moving x and y together by t would change max by 2t; "
              "max(x + t, y + t) = max(x, y) + t, so the two partials at a tie must add to 1 "
              "(symgrad gives 1/2 each)"),
    Claim("004", r"-\log(0.7) = 0.35", "number", (-sp.log(sp.Rational(7, 10)), "0.35"),
          why="the slide truncates instead of rounding"),
    Claim("004", r"-\log(0.1) = 2.3", "number", (-sp.log(sp.Rational(1, 10)), "2.3")),
    Claim("004", r"\operatorname{softmax}\left(\begin{pmatrix} 2 & 1 \\ -1 & 0 \end{pmatrix}\begin{pmatrix} 1 \\ 1 \end{pmatrix}\right) = (0.98, 0.02)",
          "number", (softmax(sp.Matrix([[2, 1], [-1, 0]]) * sp.Matrix([1, 1]))[0], "0.98")),
    Claim("004", r"\operatorname{softmax}\left(\begin{pmatrix} 0 & -1 \\ 1 & 0 \end{pmatrix}\begin{pmatrix} 1 \\ 1 \end{pmatrix}\right) = (0.12, 0.88)",
          "number", (softmax(sp.Matrix([[0, -1], [1, 0]]) * sp.Matrix([1, 1]))[0], "0.12")),
    Claim("004", r"AB = C: dA = dC \times B^T", "matrix", "dA = dC B^T", truth="C = A B"),
    Claim("004", r"AB = C: dB = dC \times A^T", "matrix", "dB = dC A^T", truth="C = A B",
          why="the shapes do not fit: dB = A^T dC"),
    Claim("002", r"(3 \times 4) + (4 \times 2) = 20 \text{ weights}, \; 20 + 4 + 2 = 26 \text{ parameters}", "number",
          (sp.Integer(parameter_count([3, 4, 2])), "26")),
    # -- lecture 003 ---------------------------------------------------------------
    Claim("003", r"\frac{dL}{d\theta_1} = 2\theta_1 \sum x^{(i)2} + 2\theta_0 \sum x^{(i)} - 2\sum x^{(i)} y^{(i)}",
          "derivative", 2 * symbols("theta1") * Sum(X[i] ** 2, (i, 1, symbols("m")))
          + 2 * symbols("theta0") * Sum(X[i], (i, 1, symbols("m")))
          - 2 * Sum(X[i] * Y[i], (i, 1, symbols("m"))), "least-squares", symbols("theta1")),
    Claim("003", r"\frac{dL}{d\theta_0} = 2\theta_1 \sum x^{(i)} + 2\theta_0 N - 2\sum y^{(i)}",
          "derivative", 2 * symbols("theta1") * Sum(X[i], (i, 1, symbols("m")))
          + 2 * symbols("theta0") * symbols("m") - 2 * Sum(Y[i], (i, 1, symbols("m"))),
          "least-squares", symbols("theta0")),
]

def _models() -> dict:
    models = {name: ex.model for name, ex in lectures.EXAMPLES.items()}
    models["mse-linear-prediction"] = lectures.Model.from_expr(w * x + b, inputs=[x], output="f")
    return models


def _check_identity(claim: Claim) -> tuple[bool, str]:
    left, right = concrete([sp.sympify(claim.expr), sp.sympify(claim.truth)])
    names = sorted(left.free_symbols | right.free_symbols, key=sp.default_sort_key)
    if not names:
        ok = bool(sp.simplify(left - right) == 0)
        return ok, "holds exactly" if ok else f"{left} ≠ {right}"
    if claim.expr.has(Heaviside):  # an indicator claim: check on the tie it is about
        tie = {names[1]: names[0]}
        left, right = left.xreplace(tie), right.xreplace(tie)
        names = [names[0]]
    points = random_points(names, 50, np.random.default_rng(0))
    a, b_ = values_at(left, names, points), values_at(right, names, points)
    ok = bool(np.allclose(a, b_, rtol=1e-9, atol=1e-12))
    if ok:
        return True, "holds at 50 random points"
    bad = int(np.flatnonzero(~np.isclose(a, b_, rtol=1e-9, atol=1e-12))[0])
    point = ", ".join(f"{s}={points[s][bad]:.3g}" for s in names)
    return False, f"at {point} the slide gives {a[bad]:.6g} but it is {b_[bad]:.6g}"


def _check_number(claim: Claim) -> tuple[bool, str]:
    value, shown = claim.expr
    exact = float(value)
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    ok = math.isclose(round(exact, decimals), float(shown), abs_tol=10 ** -(decimals + 3))
    rounded = f"{exact:.{decimals}f}"
    return ok, f"the value is {exact:.6g}, which to {decimals} decimals is {rounded}"


def _check_matrix(claim: Claim) -> tuple[bool, str]:
    verdict = verify_matrix(claim.expr, claim.truth)
    return verdict.ok, verdict.summary()[2:]


def check(claim: Claim, models: dict | None = None) -> ClaimResult:
    """Check one claim of the catalog."""
    if claim.kind in ("derivative", "update rule"):
        model = (models or _models())[claim.example]
        verdict = verify(claim.expr, model, claim.wrt, lr=claim.lr)
        reason = verdict.summary()[2:]
        if not verdict.ok and verdict.counterexample:
            c = verdict.counterexample
            reason += f" (at one sampled point the claim gives {c['claimed']:.6g}, the truth {c['correct']:.6g})"
        return ClaimResult(claim, verdict.ok, reason, verdict)
    checker: Callable[[Claim], tuple[bool, str]] = {
        "identity": _check_identity, "number": _check_number, "matrix": _check_matrix}[claim.kind]
    ok, reason = checker(claim)
    if not ok and claim.why:
        reason = f"{reason}; {claim.why}"
    return ClaimResult(claim, ok, reason)


def check_all() -> list[ClaimResult]:
    """Check every claim of the lectures; the wrong ones come back with ``ok=False`` and a reason.

    >>> results = check_all()
    >>> sum(not r.ok for r in results) > 0   # the lectures do contain mistakes
    True
    """
    models = _models()
    return [check(claim, models) for claim in CLAIMS]


