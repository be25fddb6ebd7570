"""The outcome of checking a claim, scalar or matrix: its status, the correct result and why it is wrong."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .. import printing
from ..core.model import depth

__all__ = ["Verdict", "STATUSES"]

#: what a verdict can say, from strongest to weakest
STATUSES = ("proved", "observed", "wrong", "unchecked")


#: sides deeper than this (in nested operations) are too deep to print: SymPy prints by recursion
PRINTABLE_DEPTH = 60


def _written(value, show=printing.text) -> str:
    # a matrix claim is kept as the text it was written in: shown as it is, never parsed again
    if isinstance(value, str):
        return value
    if isinstance(value, sp.Basic) and depth(value) > PRINTABLE_DEPTH:
        return f"(an expression {depth(value)} operations deep: too deep to print)"
    return show(value)


def _shown(value: float) -> str:
    return "undefined (not a real number)" if not np.isfinite(value) else f"{value:.6g}"


@dataclass
class Verdict:
    """The outcome of checking one claim.

    ``status`` is ``"proved"`` (equality shown symbolically), ``"observed"``
    (equal at ``points`` sampled points, not proved), ``"wrong"`` or
    ``"unchecked"`` (it could not be decided: ``diagnosis`` says why).
    ``ok`` (and ``bool(verdict)``) is true for the first two. A wrong claim
    carries a ``counterexample`` (a point with both values) and, when one
    fits, a ``diagnosis`` of the mistake. For a chain ``a = b = c``,
    ``steps`` holds each side's own status, and the verdict is that of the
    first side that is wrong (else unchecked, else the weakest of the rest).
    """

    status: str
    #: ``"derivative"``, ``"update rule"``, ``"expression"``, ``"matrix"``, ...
    kind: str
    subject: str
    #: the claim as read (a SymPy expression, or for a matrix claim its text as the slide writes it)
    claim: sp.Expr | str
    #: the correct result, in the model's stage symbols where it has stages
    expected: sp.Expr | str
    points: int = 0
    counterexample: dict | None = None
    diagnosis: str | None = None
    notes: list[str] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    #: for a matrix claim: the shape of every matrix it may use, by name
    shapes: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r} (one of {', '.join(STATUSES)})")

    @property
    def ok(self) -> bool:
        """Whether the claim holds: proved, or observed at every sampled point."""
        return self.status in ("proved", "observed")

    @property
    def proved(self) -> bool:
        return self.status == "proved"

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        if self.status == "proved":
            return f"✓ {self.subject} holds (proved symbolically)"
        if self.status == "observed":
            where = "random draws of the matrices" if self.kind == "matrix" else "sampled points"
            return f"✓ {self.subject} holds (observed at {self.points} {where}, not proved)"
        reason = f": {self.diagnosis}" if self.diagnosis else ""
        if self.status == "unchecked":
            return f"? {self.subject} unchecked{reason}"
        return f"✗ {self.subject} is wrong{reason}"

    def __str__(self) -> str:
        lines = [self.summary(), f"  claimed:  {_written(self.claim)}", f"  correct:  {_written(self.expected)}"]
        if self.shapes:
            lines.append(f"  shapes:   {', '.join(f'{k} {v}' for k, v in self.shapes.items())}")
        if self.counterexample:
            point = ", ".join(f"{k}={v:.4g}" for k, v in self.counterexample["point"].items())
            claimed, correct = (_shown(self.counterexample[k]) for k in ("claimed", "correct"))
            lines.append(f"  at {point}: claimed {claimed}, correct {correct}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        # the one-line summary; str() gives the claim, the correct result and the counterexample
        return f"<Verdict {self.status}: {self.summary()}>"

    def _repr_html_(self) -> str:
        """The verdict for Jupyter: its status as a coloured heading, then the lines of ``str()``."""
        colour = {"proved": "#1a7f37", "observed": "#1a7f37", "wrong": "#b42318", "unchecked": "#9a6700"}
        head, *details = str(self).split("\n")
        return (f"<div class='verdict {self.status}'><p style='color:{colour[self.status]}'>"
                f"<b>{html.escape(self.status)}</b>: {html.escape(head)}</p>"
                + (f"<pre>{html.escape(chr(10).join(line.strip() for line in details))}</pre>" if details else "")
                + "</div>")

    def to_dict(self) -> dict:
        return {"status": self.status, "ok": self.ok, "kind": self.kind, "subject": self.subject,
                "claim": _written(self.claim, str), "expected": _written(self.expected, str), "proved": self.proved,
                "points": self.points, "counterexample": self.counterexample, "diagnosis": self.diagnosis,
                "notes": self.notes, "steps": self.steps, "shapes": self.shapes}
