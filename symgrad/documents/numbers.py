r"""Worked numbers checked to the digits written: ``-\\log(0.7) = 0.35`` is wrong, 0.3567 rounds to 0.36.

A value written with decimals is right when the exact value rounds to it
(truncating is named as the slip it is); a value written without decimals
must be exact. A vector or matrix is checked entry by entry.
"""
from __future__ import annotations

import re
from typing import NamedTuple

import sympy as sp

from ..numeric.points import precise_value
from .notation import shown

__all__ = ["NumberVerdict", "worked_number", "worked_numbers"]

#: a number as written, and its decimals
DECIMAL = re.compile(r"^\s*\(?\s*(-?\d+(?:\.(\d+))?)\s*\)?\s*$")
#: every number written in a matrix literal, in order
DECIMALS = re.compile(r"-?\d+(?:\.\d+)?")


class NumberVerdict(NamedTuple):
    """What a worked number gets: the verdict, why, the correct value and the two values."""

    verdict: str
    reason: str
    correction: str | None = None
    counterexample: dict | None = None


def worked_number(exact, claimed, written: str) -> NumberVerdict:
    """``exact`` against the number ``claimed``, as precise as ``written`` (its text) says.

    >>> worked_number(-sp.log(sp.Rational(7, 10)), sp.Rational(35, 100), "0.35").reason
    'the value is 0.356675, which to 2 decimals is 0.36; the slide truncates instead of rounding'
    >>> worked_number(sp.Integer(20), sp.Integer(20), "20").verdict
    'holds'
    """
    value, stated = precise_value(exact, {}), precise_value(claimed, {})
    if value is None or stated is None or value.imag or stated.imag:
        return NumberVerdict("unchecked", "not a real number")
    value, stated = value.real, stated.real
    decimal = DECIMAL.match(written or "")
    if decimal and decimal.group(2) is not None:
        places = len(decimal.group(2))
        rounded = round(value, places)
        if abs(rounded - stated) <= 0.5 * 10 ** -(places + 2):
            return NumberVerdict("holds", f"{value:.6g} to the {places} decimals written")
        reason = f"the value is {value:.6g}, which to {places} decimals is {rounded:.{places}f}"
        truncated = int(value * 10 ** places) / 10 ** places  # toward zero, as a careless rounding does
        if abs(truncated - stated) <= 0.5 * 10 ** -(places + 2):
            reason += "; the slide truncates instead of rounding"
        return NumberVerdict("wrong", reason, f"{rounded:.{places}f}",
                             {"point": {}, "claimed": stated, "correct": value})
    if abs(value - stated) <= 1e-12 * max(1.0, abs(value)):
        exactly = f"exactly {shown(sp.nsimplify(value))}" if float(value).is_integer() else f"{value:.12g}"
        return NumberVerdict("holds", exactly)
    return NumberVerdict("wrong", f"arithmetic slip: the value is {value:.6g}, not {stated:.6g}", f"{value:.6g}",
                         {"point": {}, "claimed": stated, "correct": value})


def worked_numbers(exact, claimed, written: str) -> NumberVerdict:
    """A vector or matrix of worked numbers (``softmax((2, 1)) = (0.73, 0.27)``), entry by entry."""
    if not (isinstance(exact, sp.MatrixBase) and isinstance(claimed, sp.MatrixBase)) or exact.shape != claimed.shape:
        shapes = [getattr(v, "shape", ()) for v in (exact, claimed)]
        return NumberVerdict("wrong", f"the shapes differ: {shapes[0]} on the left, {shapes[1]} on the right")
    literals = DECIMALS.findall(written.split("\\begin", 1)[-1]) if written else []
    if len(literals) != len(claimed):
        literals = [""] * len(claimed)
    for k, (value, stated, literal) in enumerate(zip(exact, claimed, literals)):
        entry = worked_number(value, stated, literal)
        if entry.verdict != "holds":
            digits = len(literal.split(".")[-1]) + 1 if "." in literal else 6
            correction = shown(exact.evalf(digits)) if entry.verdict == "wrong" else None
            return entry._replace(reason=f"entry {k + 1}: {entry.reason}", correction=correction)
    return NumberVerdict("holds", f"{shown(exact.evalf(6))} to the digits written")
