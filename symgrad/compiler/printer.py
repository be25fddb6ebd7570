"""Print SymPy expressions as NumPy source, with symgrad's functions in overflow-free forms."""
from __future__ import annotations

import sympy as sp
from sympy import Add, Function, Mul, S
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE, precedence

from ..core.functions import sigmoid, softplus
from ..core.ops import numpy_call, op_for_function
from ..errors import CompileError

__all__ = ["NumPySourcePrinter", "Unprintable", "logsumexp", "stable_form"]


class Unprintable(CompileError):
    """A part of an expression that has no NumPy form; ``part`` is that part, for the message to place it."""

    def __init__(self, part):
        super().__init__(f"{part} has no NumPy form")
        self.part = part


class logsumexp(Function):
    r"""``log(exp(z1) + ... + exp(zn))``, computed without overflow; its partials are the softmax.

    >>> from sympy import symbols, diff
    >>> z1, z2 = symbols('z1 z2')
    >>> diff(logsumexp(z1, z2), z1)
    exp(z1 - logsumexp(z1, z2))
    """

    def fdiff(self, argindex=1):
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_is_extended_real(self):
        return True if all(a.is_extended_real for a in self.args) else None

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return sp.log(Add(*[sp.exp(a) for a in args]))


class NumPySourcePrinter(NumPyPrinter):
    """SymPy's NumPy printer, with symgrad's functions printed to stable NumPy and ``np.`` names.

    >>> from sympy import Heaviside, Max, symbols
    >>> from symgrad import relu, softplus
    >>> a, b = symbols('a b')
    >>> p = NumPySourcePrinter()
    >>> p.doprint(relu(a)), p.doprint(softplus(a)), p.doprint(Max(a, b, 0))
    ('np.maximum(a, 0.0)', 'np.logaddexp(a, 0.0)', 'np.maximum(np.maximum(0, a), b)')
    >>> p.doprint(Heaviside(a, 0)), p.doprint(1/(a + b))
    ('np.heaviside(a, 0.0)', '1/(a + b)')
    """

    def _print_not_supported(self, expr):
        # refuse the part itself, where it is met: no partial code, no SymPy message to pick apart later
        raise Unprintable(expr)

    _print_ComplexInfinity = _print_not_supported

    def __init__(self, settings=None):
        super().__init__({"fully_qualified_modules": True, **(settings or {})})
        #: helper functions of the generated module that the printed code calls
        self.helpers: set[str] = set()

    def _module_format(self, fqn, register=True):
        if fqn.startswith("numpy."):
            return "np." + fqn[len("numpy."):]
        return super()._module_format(fqn, register)

    def _print_Add(self, expr, order=None):
        # a positive term first: 1 - f*y, not -f*y + 1 (which NumPy computes with one more pass)
        terms = list(self._as_ordered_terms(expr, order=order))
        first = next((i for i, t in enumerate(terms) if not t.as_coeff_Mul()[0].is_negative), 0)
        terms.insert(0, terms.pop(first))
        level = precedence(expr)
        parts = []
        for term in terms:
            text = self._print(term)
            sign = "+"
            if text.startswith("-") and not term.is_Add:
                sign, text = "-", text[1:]
            parts += [sign, f"({text})" if precedence(term) < level or term.is_Add else text]
        sign = parts.pop(0)
        return ("" if sign == "+" else sign) + " ".join(parts)

    def _print_OpFunctionBase(self, expr):
        # an activation of the op table: its NumPy call, and the helpers that call needs
        entry = op_for_function(type(expr))
        self.helpers.update(name for name, _ in entry.helpers)
        return numpy_call(entry, self._print(expr.args[0]))

    def _print_logsumexp(self, expr):
        self.helpers.add("logsumexp")
        return f"logsumexp({', '.join(self._print(a) for a in expr.args)})"

    def _print_Heaviside(self, expr):
        at_zero = expr.args[1] if len(expr.args) > 1 else S.Half
        return f"np.heaviside({self._print(expr.args[0])}, {float(at_zero)!r})"

    def _nested(self, function, args):
        code = self._print(args[0])
        for arg in args[1:]:
            code = f"{function}({code}, {self._print(arg)})"
        return code

    def _print_Max(self, expr):
        return self._nested("np.maximum", expr.args)

    def _print_Min(self, expr):
        return self._nested("np.minimum", expr.args)

    def _print_Abs(self, expr):
        return f"np.abs({self._print(expr.args[0])})"

    def _print_sign(self, expr):
        return f"np.sign({self._print(expr.args[0])})"

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.as_base_exp()
        if exponent == S.Half:
            return f"np.sqrt({self._print(base)})"
        if exponent.is_Integer:
            if exponent == -1:
                return f"1/{self.parenthesize(base, PRECEDENCE['Mul'], strict=True)}"
            powered = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
            if exponent > 0:
                return f"{powered}**{exponent}"
            return f"1/{powered}**{-exponent}"
        return super()._print_Pow(expr, rational=rational)


# -- rewriting into overflow-free forms ---------------------------------------------------

def _is_exp_sum(e) -> bool:
    return e.is_Add and all(isinstance(t, sp.exp) for t in e.args)


def _softmax_ratio(e):
    """``exp(a) / (exp(b1) + ... + exp(bn))`` as ``exp(a - logsumexp(b1, ..., bn))``, or None."""
    if not e.is_Mul:
        return None
    exps = [f for f in e.args if isinstance(f, sp.exp)]
    sums = [f for f in e.args if f.is_Pow and f.exp == -1 and _is_exp_sum(f.base)]
    if len(exps) != 1 or len(sums) != 1:
        return None
    rest = [f for f in e.args if f is not exps[0] and f is not sums[0]]
    scores = [t.args[0] for t in sums[0].base.args]
    return Mul(*rest) * sp.exp(exps[0].args[0] - logsumexp(*scores))


def _stable_log(e):
    arg = e.args[0]
    if isinstance(arg, sigmoid):  # log(sigmoid(a)) = -softplus(-a)
        return -softplus(-arg.args[0])
    if arg.is_Add and len(arg.args) == 2 and S.One in arg.args:
        other = arg.args[0] if arg.args[1] == S.One else arg.args[1]
        if isinstance(-other, sigmoid):  # log(1 - sigmoid(a)) = -softplus(a)
            return -softplus((-other).args[0])
        if isinstance(other, sp.exp):  # log(1 + e^a) = softplus(a)
            return softplus(other.args[0])
    if _is_exp_sum(arg):
        return logsumexp(*[t.args[0] for t in arg.args])
    return e


def stable_form(expr: sp.Expr) -> sp.Expr:
    """The expression with softmax ratios and logs of sigmoids/softmaxes in overflow-free form.

    >>> from sympy import exp, log, symbols
    >>> z1, z2 = symbols('z1 z2', real=True)
    >>> stable_form(log(exp(z1) / (exp(z1) + exp(z2))))
    z1 - logsumexp(z1, z2)
    >>> stable_form(log(sigmoid(z1)))
    -softplus(-z1)
    """
    expr = expr.replace(lambda e: _softmax_ratio(e) is not None, _softmax_ratio)
    return expr.replace(lambda e: isinstance(e, sp.log), _stable_log)
