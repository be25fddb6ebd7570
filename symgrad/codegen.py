"""Generate the NumPy source of a model's loss and gradients: forward stages, backward adjoints, blocked reductions.

The source is written as backprop is done by hand. The forward pass
computes each stage once (``a1 = b + w1*x``, ``f1 = sigmoid(a1)``); the
backward pass walks the stages in reverse and computes each stage's adjoint
once from its consumers' (``d_a3 = f3*t1*(1 - f3)``, ``d_f2 = d_a3*w3``),
reusing the forward values; a parameter's gradient is a reduction over the
samples, written as a dot product (``grad_w3 += d_a3 @ f2``). The size of
the code grows linearly with the depth of the model.

Long batches are processed in blocks of rows, sized so that a block's
arrays stay in the CPU cache; every per-sample value of a block is computed
in place (``out=``) in one of a few preallocated buffers, so the loop
allocates nothing; reductions are accumulated per block. Functions print to
numerically stable NumPy: ``sigmoid`` never overflows, ``softplus`` is
``logaddexp``, the log of a softmax is a log-sum-exp.
"""
from __future__ import annotations

import keyword
import os
import re
import tempfile
from collections import defaultdict
from pathlib import Path

import sympy as sp
from sympy import Add, Function, Indexed, IndexedBase, Mul, Pow, S, Symbol
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE, precedence

from .derive import local_derivative
from .functions import relu, sigmoid, softplus
from .model import Model, ModelError

__all__ = ["CACHE_BUDGET", "REDUCTIONS", "CompileError", "codegen", "generate_source", "logsumexp"]

#: bytes that the arrays of one block should fit in: the block size is chosen
#: so that the buffers and the data slices of a block stay in the CPU cache
CACHE_BUDGET = 4 * 2**20

#: smallest and largest block, in rows: small blocks cost Python overhead per
#: NumPy call, large ones fall out of the cache
BLOCK_RANGE = (2**12, 2**17)

#: how the per-sample losses of a batch are combined
REDUCTIONS = ("mean", "sum")

#: name of the generated function
FUNCTION_NAME = "loss_and_grad"

# names the generated code uses for itself; model symbols are renamed around them
_RESERVED = {
    "np", "BLOCK", "DATA", "PARAMETERS", "GRADIENTS", "REDUCTION", FUNCTION_NAME,
    "loss", "lo", "m", "n", "scale", "size", "work", "sigmoid", "logsumexp", "_batch", "_scalars",
    "_describe",
    "float", "min", "range", "len", "isinstance", "dict", "tuple",
}


class CompileError(ModelError):
    """A model that cannot be compiled, or a compiled function called with wrong arguments."""


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


# -- printing -------------------------------------------------------------------

class NumPySourcePrinter(NumPyPrinter):
    """SymPy's NumPy printer, with symgrad's functions printed to stable NumPy and ``np.`` names.

    >>> from sympy import Heaviside, Max, symbols
    >>> from symgrad import relu, softplus
    >>> a, b = symbols('a b')
    >>> p = NumPySourcePrinter()
    >>> p.doprint(relu(a)), p.doprint(softplus(a)), p.doprint(Max(a, b, 0))
    ('np.maximum(a, 0.0)', 'np.logaddexp(0.0, a)', 'np.maximum(np.maximum(0, a), b)')
    >>> p.doprint(Heaviside(a, 0)), p.doprint(1/(a + b))
    ('np.heaviside(a, 0.0)', '1/(a + b)')
    """

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

    def _print_sigmoid(self, expr):
        self.helpers.add("sigmoid")
        return f"sigmoid({self._print(expr.args[0])})"

    def _print_logsumexp(self, expr):
        self.helpers.add("logsumexp")
        return f"logsumexp({', '.join(self._print(a) for a in expr.args)})"

    def _print_relu(self, expr):
        return f"np.maximum({self._print(expr.args[0])}, 0.0)"

    def _print_softplus(self, expr):
        # log(1 + e^a) = logaddexp(0, a): no overflow for large a
        return f"np.logaddexp(0.0, {self._print(expr.args[0])})"

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


# -- helpers copied into the generated module -------------------------------------

_HELPER_SOURCE = {
    "_batch": """
def _batch(data):
    \"\"\"The data as float arrays of one length (scalars are broadcast), and that length.\"\"\"
    arrays, n, first = [], None, None
    for name, value in data.items():
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"data {name} must be real numbers, not {_describe(value)}")
        array = array.astype(float, copy=False)
        if array.ndim == 1:
            if n is None:
                n, first = len(array), name
            elif len(array) != n:
                raise ValueError(f"data {name} has {len(array)} samples but {first} has {n}")
        elif array.ndim > 1:
            raise ValueError(f"data {name} must be a 1-D array (one value per sample), "
                             f"not an array of shape {array.shape}")
        arrays.append(array)
    if n == 0:
        raise ValueError(f"data {first} is empty: there are no samples")
    if n is None:
        return 1, [array.reshape(1) for array in arrays]
    return n, [array if array.ndim else np.broadcast_to(array, (n,)) for array in arrays]
""",
    "_scalars": """
def _scalars(values):
    \"\"\"The parameters as floats.\"\"\"
    out = []
    for name, value in values.items():
        if type(value) is not float:
            array = np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise TypeError(f"parameter {name} must be a real number, not {_describe(value)}")
            if array.ndim != 0:
                raise ValueError(f"parameter {name} must be a scalar, "
                                 f"not an array of shape {array.shape}")
            value = float(array)
        out.append(value)
    return out
""",
    "_describe": """
def _describe(value):
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) < 40 else text[:37] + '...'}"
""",
    "sigmoid": """
def sigmoid(a, out=None):
    \"\"\"1/(1 + e^-a); e^-a overflows to inf for a < -709, where sigmoid(a) is 0 to double precision.\"\"\"
    with np.errstate(over="ignore"):
        if out is None:
            return 1.0 / (1.0 + np.exp(-a))
        np.negative(a, out=out)
        np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)
""",
    "logsumexp": """
def logsumexp(*z, out=None):
    \"\"\"log(e^z1 + ... + e^zn), shifted by the largest argument so that it never overflows.\"\"\"
    top = z[0]
    for zi in z[1:]:
        top = np.maximum(top, zi)
    top = np.where(np.isfinite(top), top, 0.0)
    total = 0.0
    for zi in z:
        total = total + np.exp(zi - top)
    return np.add(top, np.log(total), out=out)
""",
}


# -- names ----------------------------------------------------------------------------

class _Names:
    """Unique Python identifiers for symbols, temporaries and adjoints."""

    def __init__(self):
        self.taken = set(_RESERVED)

    def fresh(self, wanted: str) -> str:
        base = re.sub(r"\W", "_", wanted) or "v"
        if base[0].isdigit():
            base = "v" + base
        name, k = base, 0
        while name in self.taken or keyword.iskeyword(name):
            k += 1
            name = f"{base}_" if k == 1 and keyword.iskeyword(base) else f"{base}_{k}"
        self.taken.add(name)
        return name

    def temporary(self) -> Symbol:
        k = 1
        while f"t{k}" in self.taken:
            k += 1
        self.taken.add(f"t{k}")
        return Symbol(f"t{k}", real=True)


def _real_symbol(symbol: Symbol, name: str) -> Symbol:
    # derivatives of |a| and max(a, b) are only tidy for real arguments
    assumptions = {k: v for k, v in symbol.assumptions0.items() if v is not None}
    assumptions["real"] = True
    try:
        return Symbol(name, **assumptions)
    except Exception:  # contradictory assumptions (an imaginary symbol): keep them
        return Symbol(name, **symbol.assumptions0)


# -- rewriting stages into stable, derivative-friendly pieces ---------------------------

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


def _reuses_itself(node) -> bool:
    # exp, sigmoid, tanh, logsumexp: the derivative contains the value, so keep it
    if not isinstance(node, (Function, Pow)) or node.is_Atom:
        return False
    return any(node.diff(s).has(node) for s in node.free_symbols)


def _canonical_sign(e: sp.Expr) -> sp.Expr:
    # (y - f3)**2 == (f3 - y)**2: name the residual the way that prints without a leading minus
    return -e if str(e).startswith("-") else e


def _split(symbol, expr, names: _Names) -> list[tuple[Symbol, sp.Expr]]:
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


# -- one block's code: NumPy calls writing into preallocated buffers --------------------------

_UNARY = {sp.exp: "np.exp", sp.log: "np.log", sp.tanh: "np.tanh", sp.Abs: "np.abs",
          sp.sign: "np.sign", sp.sin: "np.sin", sp.cos: "np.cos", sigmoid: "sigmoid"}


class _Target:
    """An array being computed: the name it is referred to by, and the buffer it lives in."""

    def __init__(self, lines: list, name: str, buffer: str):
        self.lines, self.name, self.buffer, self.started = lines, name, buffer, False

    def call(self, function: str, *args: str) -> None:
        if self.started:
            self.lines.append(f"{function}({', '.join(args)}, out={self.name})")
            return
        text = f"{function}({', '.join(args)}, out={self.buffer})"
        self.lines.append(text if self.name == self.buffer else f"{self.name} = {text}")
        self.started = True

    def update(self, operator: str, arg: str) -> None:
        self.lines.append(f"{self.name} {operator}= {arg}")


def _negative(term) -> bool:
    return bool(term.as_coeff_Mul()[0].is_negative)


class _BlockEmitter:
    """Writes a block's statements as in-place NumPy calls (``out=``) into a few reused buffers.

    No array is allocated inside the block loop: each statement's result
    takes a buffer that is free, and a buffer is freed after the last
    statement that reads its value. Per-sample values are the symbols in
    ``arrays``; every other symbol is a scalar.
    """

    def __init__(self, printer: NumPySourcePrinter, arrays: set, output: str = "L", names=None):
        self.printer, self.arrays, self.output = printer, arrays, output
        self.names = names or _Names()
        self.lines: list[str] = []
        self.free: list[str] = []
        #: every buffer, in the order they were first needed
        self.buffers: list[str] = []
        self.needs_m = False

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        self.buffers.append(self.names.fresh(f"buf{len(self.buffers)}"))
        return self.buffers[-1]

    def is_array(self, expr) -> bool:
        return bool(expr.free_symbols & self.arrays)

    def scalar(self, expr) -> str:
        return self.printer.doprint(expr)

    # -- expressions --------------------------------------------------------------------------

    def operand(self, expr, temps: list) -> str:
        """``expr`` as an argument: a name, scalar code, a nested call or a temporary buffer."""
        if not self.is_array(expr):
            return self.scalar(expr)
        if expr.is_Symbol:
            return expr.name
        buffer = self.take()
        temps.append(buffer)
        mark = len(self.lines)
        self.compute(expr, _Target(self.lines, buffer, buffer), temps)
        if len(self.lines) == mark + 1:  # one call: write it in place of its result
            return self.lines.pop()
        return buffer

    def _consume(self, expr, temps: list, use) -> None:
        """``use(code)`` emits the one line that reads ``expr``; its temporaries are free after it."""
        mark = len(temps)
        use(self.operand(expr, temps))
        self.free += temps[mark:]
        del temps[mark:]

    def compute(self, expr, target: _Target, temps: list) -> None:
        """Emit the calls that leave the array ``expr`` in ``target``."""
        if expr.is_Symbol:
            target.call("np.positive", expr.name)
        elif expr.is_Add:
            self._add(expr, target, temps)
        elif expr.is_Mul:
            self._mul(expr, target, temps)
        elif expr.is_Pow:
            self._pow(expr, target, temps)
        elif isinstance(expr, (sp.Max, sp.Min)):
            function = "np.maximum" if isinstance(expr, sp.Max) else "np.minimum"
            args = sorted(expr.args, key=lambda a: not self.is_array(a) or a.is_Symbol)
            self._unary(function, args[0], target, temps, self.operand(args[1], temps))
            for arg in args[2:]:
                self._consume(arg, temps, lambda code: target.call(function, target.name, code))
        else:
            self._function(expr, target, temps)

    def _unary(self, function: str, arg, target: _Target, temps: list, *extra: str) -> None:
        if self.is_array(arg) and not arg.is_Symbol:  # compute the argument in place first
            self.compute(arg, target, temps)
            target.call(function, target.name, *extra)
        else:
            target.call(function, self.operand(arg, temps), *extra)

    def _function(self, expr, target: _Target, temps: list) -> None:
        func, arg = type(expr), expr.args[0] if expr.args else None
        if func in _UNARY:
            if func is sigmoid:
                self.printer.helpers.add("sigmoid")
            self._unary(_UNARY[func], arg, target, temps)
        elif func is relu:
            self._unary("np.maximum", arg, target, temps, "0.0")
        elif func is softplus:  # log(1 + e^a) without overflow
            self._unary("np.logaddexp", arg, target, temps, "0.0")
        elif func is sp.Heaviside:
            at_zero = expr.args[1] if len(expr.args) > 1 else S.Half
            self._unary("np.heaviside", arg, target, temps, repr(float(at_zero)))
        elif func is logsumexp:
            self.printer.helpers.add("logsumexp")
            target.call("logsumexp", *[self.operand(a, temps) for a in expr.args])
        else:  # anything else SymPy's printer knows, computed by NumPy and copied in
            target.call("np.positive", self.scalar(expr))

    def _pow(self, expr, target: _Target, temps: list) -> None:
        base, exponent = expr.as_base_exp()
        if not self.is_array(base):
            target.call("np.power", self.scalar(base), self.operand(exponent, temps))
        elif exponent == 2:
            self._unary("np.square", base, target, temps)
        elif exponent == S.Half:
            self._unary("np.sqrt", base, target, temps)
        elif exponent == -1:
            if base.is_Symbol:
                target.call("np.divide", "1.0", base.name)
            else:
                self.compute(base, target, temps)
                target.call("np.divide", "1.0", target.name)
        else:
            self._unary("np.power", base, target, temps, self.operand(exponent, temps))

    def _mul(self, expr, target: _Target, temps: list) -> None:
        coefficient, factors = expr.as_coeff_mul()
        arrays = [f for f in factors if self.is_array(f)]
        scale = coefficient * Mul(*[f for f in factors if not self.is_array(f)])
        numerator = [f for f in arrays if not (f.is_Pow and f.exp.is_negative)]
        denominator = [f.base ** -f.exp for f in arrays if f.is_Pow and f.exp.is_negative]
        # a compound factor first: it is computed straight into the target, without a temporary
        numerator.sort(key=lambda f: f.is_Symbol)
        rest = numerator[1:]
        if not numerator:
            target.call("np.divide", self.scalar(scale), self.operand(denominator.pop(0), temps))
            scale = S.One
        elif not numerator[0].is_Symbol:
            self.compute(numerator[0], target, temps)
        elif rest:
            target.call("np.multiply", numerator[0].name, self.operand(rest.pop(0), temps))
        elif scale == -1:
            target.call("np.negative", numerator[0].name)
            scale = S.One
        else:
            target.call("np.multiply", numerator[0].name, self.scalar(scale))
            scale = S.One
        for factor in rest:
            self._consume(factor, temps, lambda code: target.update("*", code))
        for factor in denominator:
            self._consume(factor, temps, lambda code: target.update("/", code))
        if scale == -1:
            target.call("np.negative", target.name)
        elif scale != 1:
            target.update("*", self.scalar(scale))

    def _add(self, expr, target: _Target, temps: list) -> None:
        arrays = [t for t in expr.args if self.is_array(t)]
        constant = Add(*[t for t in expr.args if not self.is_array(t)])
        # added terms before subtracted ones, compound terms (computed in place) before symbols
        arrays.sort(key=lambda t: (_negative(t), t.is_Symbol))
        first, rest = arrays[0], arrays[1:]
        if _negative(first) and constant != 0:  # c - u: computed as np.subtract(c, u)
            if (-first).is_Symbol:
                target.call("np.subtract", self.scalar(constant), (-first).name)
            else:
                self.compute(-first, target, temps)
                target.call("np.subtract", self.scalar(constant), target.name)
            constant = S.Zero
        elif not first.is_Symbol or _negative(first):
            self.compute(first, target, temps)
        elif rest:
            second = rest.pop(0)
            if _negative(second):
                target.call("np.subtract", first.name, self.operand(-second, temps))
            else:
                target.call("np.add", first.name, self.operand(second, temps))
        elif constant != 0:
            target.call("np.add", first.name, self.scalar(constant))
            constant = S.Zero
        else:
            target.call("np.positive", first.name)
        for term in rest:
            if _negative(term):
                self._consume(-term, temps, lambda code: target.update("-", code))
            else:
                self._consume(term, temps, lambda code: target.update("+", code))
        if constant != 0:
            if _negative(constant):
                target.update("-", self.scalar(-constant))
            else:
                target.update("+", self.scalar(constant))

    def reduce(self, expr, temps: list) -> str:
        """Code for the sum over the block's samples of a per-sample expression.

        A product of two per-sample factors is a dot product and ``t**2`` is
        ``t @ t``; scalar factors are applied to the sum; a per-sample
        constant counts ``m`` (the block's length) times.
        """
        if expr.is_Add:
            return " + ".join(self.reduce(term, temps) for term in expr.args)
        coefficient, factors = expr.as_coeff_mul()
        arrays = [f for f in factors if self.is_array(f)]
        scale = coefficient * Mul(*[f for f in factors if not self.is_array(f)])
        if not arrays:
            self.needs_m = True
            return "m" if scale == 1 else f"m*{self._wrap(scale)}"
        if len(arrays) == 1 and arrays[0].is_Pow and arrays[0].exp == 2:
            side = self.operand(arrays[0].base, temps)
            body = f"{side} @ {side}"
        elif len(arrays) == 1:
            body = f"{self.operand(arrays[0], temps)}.sum()"
        else:
            left = self.operand(Mul(*arrays[:-1]), temps)
            body = f"{left} @ {self.operand(arrays[-1], temps)}"
        if scale == 1:
            return body
        if " @ " in body:
            body = f"({body})"
        return f"-{body}" if scale == -1 else f"{self._wrap(scale)}*{body}"

    def _wrap(self, expr) -> str:
        text = self.scalar(expr)
        return text if expr.is_Symbol or expr.is_Integer or expr.is_Float else f"({text})"

    # -- statements ----------------------------------------------------------------------------

    def emit(self, statements: list, marks=()) -> list[str]:
        """Lines for ``("assign", symbol, expr)`` and ``("reduce", accumulator, expr)`` statements.

        ``self.marks`` gets the line number where each statement listed in ``marks`` begins.
        """
        last_read = {}
        for index, (_, _, expr) in enumerate(statements):
            for symbol in expr.free_symbols:
                last_read[symbol] = index
        owner: dict = {}
        self.marks = []
        for index, (kind, name, expr) in enumerate(statements):
            if index in marks:
                self.marks.append(len(self.lines))
            temps: list[str] = []
            mark = len(self.lines)
            if kind == "reduce":
                self.lines.append(f"{name} += {self.reduce(expr, temps)}")
                comment = f"{self.output} = {expr}" if name == "loss" else None
            elif not self.is_array(expr):
                self.lines.append(f"{name} = {self.scalar(expr)}")
                self.arrays.discard(name)
                comment = None
            else:
                owner[name] = self.take()
                self.compute(expr, _Target(self.lines, str(name), owner[name]), temps)
                comment = f"{name} = {expr}"
            self.free += temps
            for symbol in [s for s in owner if last_read.get(s, -1) <= index]:
                self.free.append(owner.pop(symbol))
            self._comment(mark, comment)
        self.marks += [len(self.lines)] * (len(marks) - len(self.marks))
        return self.lines

    def _comment(self, mark: int, comment: str | None) -> None:
        if comment is None:
            return
        if len(self.lines) == mark + 1:
            self.lines[mark] += f"  # {comment}"
        elif comment.split(" = ", 1)[1] != comment.split(" = ", 1)[0]:
            self.lines.insert(mark, f"# {comment}")


# -- the generator ------------------------------------------------------------------------

class _Generator:
    """Plans and prints the generated module of one model."""

    def __init__(self, model: Model, wrt, reduction: str, block: int):
        self.model, self.reduction, self.block = model, reduction, block
        self.printer = NumPySourcePrinter()
        self.names = _Names()
        self._check_scalar_model()
        # model symbols -> real symbols named by unique identifiers
        self.real = {s: _real_symbol(s, self.names.fresh(str(s)))
                     for s in model.inputs + model.params + model.stage_symbols}
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

    # -- planning ---------------------------------------------------------------------

    def _check_scalar_model(self):
        for symbol, expr in self.model.stages:
            if expr.has(Indexed, IndexedBase, sp.Sum, sp.Product):
                raise CompileError(
                    f"stage {symbol} = {expr} is written over a data set (Sum or indexed "
                    "symbols); compile needs one sample's loss in scalar symbols, e.g. "
                    "networks.perceptron(m) rather than perceptron(indexed=True)")
        for s in self.model.inputs + self.model.params:
            if isinstance(s, IndexedBase):
                raise CompileError(f"{s} is an IndexedBase; compile needs scalar symbols")

    def _split_stages(self):
        stages = []
        for symbol, expr in self.model.stages:
            stages += _split(self.real[symbol], expr.xreplace(self.real), self.names)
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
                for v in sorted(targets, key=sp.default_sort_key):
                    if v in wanted or self.depends.get(v):
                        derivative = local_derivative(symbol, expr, v)
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

    # -- assembly ----------------------------------------------------------------------------

    def source(self) -> str:
        self.sweep()
        self.forward_pass()
        looped = self.output in self.arrays
        body = []
        if self.data:
            full = [self.names.fresh(f"{s}_data") for s in self.data] if looped else ["_"] * len(self.data)
            mapping = ", ".join(f'"{self.model.inputs[i]}": {s}' for i, s in enumerate(self.data))
            body.append(f"n, ({', '.join(full)}{',' if len(full) == 1 else ''}) = _batch({{{mapping}}})")
        else:
            body.append("n = 1")
        mapping = ", ".join(f'"{self.model.params[i]}": {s}' for i, s in enumerate(self.params))
        body.append(f"{_targets([str(p) for p in self.params])} = _scalars({{{mapping}}})")
        if self.before:
            body.append("# stages without data, computed once")
            body += self.before
        gradients = [self.gradient_names[p] for p in self.wrt]
        others = [a for a in dict.fromkeys(self.accumulators) if a not in gradients]
        accumulators = (["loss"] if looped else []) + others + gradients
        body += [f"{name} = 0.0" for name in accumulators]
        if looped:
            body += self._loop(full)
        if self.after:
            body.append("# backward through the stages without data")
            body += self.after
        if looped:
            body.append("scale = 1/n" if self.reduction == "mean" else "scale = 1.0")
        else:
            body.append("scale = 1.0" if self.reduction == "mean" else "scale = float(n)")
        body.append("return float(loss*scale), {")
        body += [f'    "{self._user_name(p)}": float({self.gradient_names[p]}*scale),' for p in self.wrt]
        body.append("}")
        return self._module(body)

    def _loop(self, full) -> list[str]:
        emitter = _BlockEmitter(self.printer, self.arrays, str(self.output), self.names)
        lines = emitter.emit(self.forward + self.backward, marks=[len(self.forward)])
        split = emitter.marks[0]
        forward, backward = lines[:split], lines[split:]
        buffers = emitter.buffers
        read = set().union(*[e.free_symbols for _, _, e in self.forward + self.backward])
        if self.block is None:
            # data slices are read once or twice per block, buffers many times: count a quarter
            self.block = block_size(len(buffers) + len(read & set(self.data)) // 4)
        loop = ["m = min(BLOCK, n - lo)"]
        if buffers:
            loop += ["if m < size:  # the last, shorter block",
                     f"    {_targets(buffers)} = work[:, :m]"]
        loop += [f"{s} = {full[self.data.index(s)]}[lo:lo + m]" for s in self.data if s in read]
        loop += ["# forward"] + forward
        if backward:
            loop += ["# backward"] + backward
        lines = []
        if buffers:
            lines += ["# every per-sample value of a block lives in one of these rows",
                      "size = min(BLOCK, n)",
                      f"work = np.empty(({len(buffers)}, size))",
                      f"{_targets(buffers)} = work"]
        lines.append("for lo in range(0, n, BLOCK):")
        return lines + ["    " + line for line in loop]

    def _user_name(self, real_symbol) -> str:
        for original, real in self.real.items():
            if real == real_symbol:
                return str(original)
        return str(real_symbol)

    def _module(self, body) -> str:
        from . import __version__

        model = self.model
        label = model.name or "a model"
        stages = "\n".join(f"    {s} = {e}" for s, e in model.stages).replace("\\", "\\\\")
        names = [str(s) for s in self.data + self.params]
        call = ", ".join(f"{a}=..." for a in names)
        reduced = "mean" if self.reduction == "mean" else "sum"
        gradients = ", ".join(self._user_name(p) for p in self.wrt)
        helpers = ["_batch", "_scalars", "_describe"] + sorted(self.printer.helpers)
        lines = [
            f'"""Loss and gradients of {label}, generated by symgrad {__version__}; needs only NumPy.',
            "",
            "The model, one stage a line:",
            "",
            stages,
            "",
            f"{FUNCTION_NAME}({call}) returns (loss, grads): the {reduced} of",
            f"{model.output} over the samples and its gradient with respect to {gradients},",
            "as floats. Data are 1-D arrays of one length (or scalars); parameters are scalars.",
            '"""',
            "import numpy as np",
            "",
            f"DATA = {tuple(str(s) for s in model.inputs)!r}",
            f"PARAMETERS = {tuple(str(s) for s in model.params)!r}",
            f"GRADIENTS = {tuple(self._user_name(p) for p in self.wrt)!r}",
            f"REDUCTION = {self.reduction!r}",
            "#: rows per block: the arrays of a block stay in the CPU cache",
            f"BLOCK = {self.block or BLOCK_RANGE[1]}",
        ]
        for helper in helpers:
            lines += ["", _HELPER_SOURCE[helper].strip("\n"), ""]
        lines += [
            "",
            f"def {FUNCTION_NAME}(*, {', '.join(names)}):",
            f'    """The {reduced} loss over the samples and its gradient; see the module docstring."""',
        ]
        lines += ["    " + line for line in body]
        return "\n".join(lines) + "\n"


def block_size(arrays: int) -> int:
    """Rows per block for a block with this many arrays: a power of two within :data:`BLOCK_RANGE`.

    >>> block_size(4), block_size(7), block_size(20), block_size(1000)
    (131072, 65536, 16384, 4096)
    """
    rows = CACHE_BUDGET // (8 * max(arrays, 1))
    low, high = BLOCK_RANGE
    return max(low, min(high, 1 << (rows.bit_length() - 1)))


def _targets(names) -> str:
    """Assignment targets for a list of names: ``a, b`` or ``(a,)``."""
    return ", ".join(names) if len(names) > 1 else f"({names[0]},)"


def _resolve(model_or_expr, wrt, inputs, reduction, block=None) -> tuple[Model, list]:
    if block is not None and (not isinstance(block, int) or block < 1):
        raise CompileError(f"block must be a positive number of rows or None, not {block!r}")
    if reduction not in REDUCTIONS:
        raise CompileError(f"unknown reduction {reduction!r} (must be one of {list(REDUCTIONS)})")
    if isinstance(model_or_expr, Model):
        if tuple(inputs):
            raise CompileError("inputs= is for a bare expression; a Model declares its own inputs")
        model = model_or_expr
    else:
        model = Model.coerce(model_or_expr, inputs=inputs)
    model.output  # one scalar output, or a ModelError saying how to get one
    if wrt is None:
        return model, list(model.params)
    items = [wrt] if isinstance(wrt, (str, sp.Basic)) else list(wrt)
    targets = []
    for item in items:
        symbol = model.symbol(item)
        if symbol not in model.params:
            role = "data (an input)" if symbol in model.inputs else "a stage"
            raise CompileError(f"cannot differentiate with respect to {item}: it is {role}; "
                               f"compiled gradients are taken with respect to parameters "
                               f"({', '.join(map(str, model.params))})")
        targets.append(symbol)
    return model, targets


def generate_source(model_or_expr, wrt=None, inputs=(), reduction: str = "mean",
                    block: int | None = None) -> str:
    """The Python source of a standalone module computing a model's loss and gradients with NumPy.

    >>> from symgrad import losses, networks
    >>> source = generate_source(networks.linear(loss=losses.squared_error))
    >>> print(source[source.index("def loss_and_grad"):].rstrip())
    def loss_and_grad(*, x, y, b, w):
        \"\"\"The mean loss over the samples and its gradient; see the module docstring.\"\"\"
        n, (x_data, y_data) = _batch({"x": x, "y": y})
        b, w = _scalars({"b": b, "w": w})
        loss = 0.0
        grad_b = 0.0
        grad_w = 0.0
        # every per-sample value of a block lives in one of these rows
        size = min(BLOCK, n)
        work = np.empty((2, size))
        buf0, buf1 = work
        for lo in range(0, n, BLOCK):
            m = min(BLOCK, n - lo)
            if m < size:  # the last, shorter block
                buf0, buf1 = work[:, :m]
            x = x_data[lo:lo + m]
            y = y_data[lo:lo + m]
            # forward
            # yhat = b + w*x
            yhat = np.multiply(x, w, out=buf0)
            yhat += b
            t1 = np.subtract(y, yhat, out=buf1)  # t1 = y - yhat
            loss += t1 @ t1  # L = t1**2
            # backward
            grad_b += -2*t1.sum()
            grad_w += -2*(t1 @ x)
        scale = 1/n
        return float(loss*scale), {
            "b": float(grad_b*scale),
            "w": float(grad_w*scale),
        }
    """
    model, targets = _resolve(model_or_expr, wrt, inputs, reduction, block)
    return _Generator(model, targets, reduction, block).source()


def write_atomically(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: never a half-written file."""
    path = Path(path)
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent or ".",
                                         prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        try:
            os.unlink(handle.name)
        except FileNotFoundError:
            pass
        raise
    return path


def codegen(model_or_expr, path, wrt=None, inputs=(), reduction: str = "mean") -> Path:
    """Write a standalone Python module (needing only NumPy) with ``loss_and_grad`` for the model.

    >>> import os, tempfile
    >>> from symgrad import networks, losses
    >>> path = os.path.join(tempfile.mkdtemp(), "linear_mse.py")
    >>> codegen(networks.linear(loss=losses.squared_error), path).name
    'linear_mse.py'
    >>> namespace = {}
    >>> from pathlib import Path
    >>> exec(Path(path).read_text(), namespace)
    >>> namespace["loss_and_grad"](x=[1.0, 2.0], y=[3.0, 5.0], w=2.0, b=1.0)
    (0.0, {'b': 0.0, 'w': 0.0})
    """
    return write_atomically(path, generate_source(model_or_expr, wrt=wrt, inputs=inputs,
                                                  reduction=reduction))
