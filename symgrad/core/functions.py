"""Activation functions as SymPy functions of their own, so derivatives read as in the lectures."""
from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
from sympy import Function, Heaviside, S, exp, log
from sympy.printing.pretty.stringpict import prettyForm

__all__ = ["sigmoid", "relu", "softplus", "softmax", "log_softmax"]


class _Activation(Function):
    """Shared printing and assumptions of the one-argument activations."""

    nargs = 1
    #: symbol used in LaTeX and pretty printing, e.g. ``\sigma``
    _latex_name = ""
    _pretty_name = ""

    @classmethod
    def class_key(cls):
        # Sort before sums when printing a product, so σ'(a) reads
        # sigmoid(a)*(1 - sigmoid(a)) as on the slides, not (1 - sigmoid(a))*sigmoid(a).
        return 2, 5, cls.__name__

    def _latex(self, printer, exp=None):
        body = rf"{self._latex_name}\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"

    def _pretty(self, printer):
        arg = printer._print(self.args[0])
        return prettyForm(*prettyForm(self._pretty_name).right(prettyForm(*arg.parens())))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        if self.args[0].is_number:
            return self.rewrite(exp)._eval_evalf(prec)
        return None


class sigmoid(_Activation):
    r"""The logistic sigmoid :math:`\sigma(a) = 1/(1 + e^{-a})`.

    Its derivative is written with itself, as the lectures write it:

    >>> from sympy import Symbol, diff
    >>> a = Symbol('a')
    >>> diff(sigmoid(a), a)
    sigmoid(a)*(1 - sigmoid(a))
    >>> sigmoid(0)
    1/2
    """

    _latex_name = r"\sigma"
    _pretty_name = "σ"

    @classmethod
    def eval(cls, a):
        if a is S.Zero:
            return S.Half
        if a is S.Infinity:
            return S.One
        if a is S.NegativeInfinity:
            return S.Zero
        if a.is_Float:
            return 1 / (1 + exp(-a))
        return None

    def fdiff(self, argindex=1):
        # σ' = σ(1 - σ), in terms of σ itself, as the lectures write it
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, a, **kwargs):
        return 1 / (1 + exp(-a))

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real


class relu(_Activation):
    r"""The rectifier :math:`\mathrm{ReLU}(a) = \max(0, a)`.

    Its derivative is the Heaviside step with the value **0 at a = 0**
    (``Heaviside(a, 0)``), the convention of PyTorch and of symgrad's graph
    engine: the gradient through a unit that is exactly at the kink is dropped.

    >>> from sympy import Symbol, diff
    >>> a = Symbol('a')
    >>> diff(relu(a), a)
    Heaviside(a, 0)
    >>> relu(-2), relu(3)
    (0, 3)
    """

    _latex_name = r"\operatorname{ReLU}"
    _pretty_name = "ReLU"

    @classmethod
    def eval(cls, a):
        if a.is_extended_nonnegative:
            return a
        if a.is_extended_nonpositive:
            return S.Zero
        return None

    def fdiff(self, argindex=1):
        return Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, a, **kwargs):
        return sp.Max(0, a)

    _eval_rewrite_as_exp = _eval_rewrite_as_Max

    def _eval_is_nonnegative(self):
        return True if self.args[0].is_extended_real else None


class softplus(_Activation):
    r"""The smooth rectifier :math:`\mathrm{softplus}(a) = \log(1 + e^{a})`, whose derivative is σ.

    >>> from sympy import Symbol, diff
    >>> a = Symbol('a')
    >>> diff(softplus(a), a)
    sigmoid(a)
    """

    _latex_name = r"\operatorname{softplus}"
    _pretty_name = "softplus"

    @classmethod
    def eval(cls, a):
        if a is S.Infinity:
            return S.Infinity
        if a is S.NegativeInfinity:
            return S.Zero
        if a.is_Float:
            return log(1 + exp(a))
        return None

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, a, **kwargs):
        return log(1 + exp(a))

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None


def softmax(scores: Sequence) -> list[sp.Expr]:
    r"""The softmax of a list of scores, component by component: :math:`e^{z_i} / \sum_j e^{z_j}`.

    >>> from sympy import symbols
    >>> softmax(symbols('z1 z2'))
    [exp(z1)/(exp(z1) + exp(z2)), exp(z2)/(exp(z1) + exp(z2))]
    """
    scores = [sp.sympify(z, strict=True) for z in scores]
    if not scores:
        raise ValueError("softmax needs at least one score")
    total = sp.Add(*[exp(z) for z in scores])
    return [exp(z) / total for z in scores]


def log_softmax(scores: Sequence) -> list[sp.Expr]:
    r"""The log of the softmax, :math:`z_i - \log \sum_j e^{z_j}`, the form cross-entropy should use.

    >>> from sympy import symbols
    >>> log_softmax(symbols('z1 z2'))
    [z1 - log(exp(z1) + exp(z2)), z2 - log(exp(z1) + exp(z2))]
    """
    scores = [sp.sympify(z, strict=True) for z in scores]
    if not scores:
        raise ValueError("log_softmax needs at least one score")
    lse = log(sp.Add(*[exp(z) for z in scores]))
    return [z - lse for z in scores]
