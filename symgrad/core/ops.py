"""The one table of operations: every view of an op (SymPy, NumPy, backward, label, LaTeX, code, names) in one entry.

Every consumer reads this table: the graph engine runs ``forward`` and
``backward``, the renderer draws ``label``, the printers use ``latex`` and
``text``, the code generators call ``numpy`` (and copy its helper's
source), the matrix expressions take their element-wise functions from it
and the parser its function names. Adding an operation is one :class:`Op`
entry in :data:`OPS` (at run time: :mod:`symgrad.extend`); as JAX defines
``exp_p`` and registers its rules on adjacent lines, each entry here holds
its own forms.

An activation's SymPy function class is generated from its entry
(:func:`activation_function`): a definition formula, for values and
rewriting, and a hand-written derivative, so that ``diff`` reads as the
lectures write it (``σ(a)(1 - σ(a))``). What can be derived is computed,
not retyped: :func:`derivative_forms` finds ``f'`` written with the output
``h = f(z)`` (``h(1 - h)`` for sigmoid, ``1 - h²`` for tanh) by substituting
``f(z) → h``.

The ``backward`` rules are written by hand, independently of SymPy's ``diff``:
agreement between the two is the evidence that both are right (the tests
check every entry against ``sympy.diff`` and against finite differences).

Conventions at non-differentiable points, shared with the symbolic side:

* ``relu'(0) = 0`` (``Heaviside(a, 0)``), ``leaky_relu'(0) = 0.01``,
* ``abs'(0) = 0`` (``sign(0) = 0``),
* ``max`` and ``min`` at a tie give each tied argument half the gradient
  (SymPy's ``Heaviside(0) = 1/2``), as PyTorch's ``maximum`` does.
"""
from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import reduce

import numpy as np
import sympy as sp
from sympy import Function, Heaviside, Piecewise, S
from sympy.codegen.cfunctions import expm1
from sympy.core.evalf import prec_to_dps
from sympy.printing.pretty.stringpict import prettyForm

__all__ = [
    "Op", "OPS", "MATRIX_OPS", "op", "op_for_function", "register", "unregister", "activation_entry", "activation_function", "OpFunctionBase",
    "derivative_forms", "ELEMENTWISE", "ACTIVATIONS", "SPELLINGS", "numpy_call", "helper_sources",
    "sigmoid", "relu", "softplus", "leaky_relu", "elu", "gelu", "softmax", "log_softmax",
]

#: the argument and the output of an element-wise function in :func:`derivative_forms`
Z, H = sp.Symbol("z", real=True), sp.Symbol("h", real=True)


@dataclass(frozen=True)
class Op:
    """One operation, described once for every view of a model."""

    name: str
    #: symbol drawn in a graph's operation node
    label: str
    #: number of arguments; ``None`` for n-ary operations (two or more)
    arity: int | None
    #: build the SymPy form from SymPy arguments
    sympy: Callable[..., object]
    #: LaTeX of the operation applied to already-typeset arguments
    latex: Callable[..., str]
    #: numeric forward pass on floats or NumPy arrays
    forward: Callable[..., np.ndarray]
    #: ``backward(g, out, *args)``: the gradient reaching each argument when
    #: ``g`` reaches the output; ``out`` is the cached forward value
    backward: Callable[..., tuple]
    #: where the operation is defined: "real", "positive" (first argument) or
    #: "nonzero" (last argument); used to draw test points
    domain: str = "real"
    #: the SymPy function class this op corresponds to, for ops that are one
    sympy_function: type | None = None
    #: how formulas name a function in text (``σ``, ``ReLU``); the op's name when not given
    text: str = ""
    #: LaTeX of a function's name alone (``\sigma``), for ``σ'(z)`` in matrix formulas
    latex_name: str = ""
    #: "activation" (a layer's non-linearity), "elementwise" (a function applied entry by entry, such as
    #: log) or "" (neither)
    kind: str = ""
    #: generated code's call: ``numpy(arg, *numpy_args)``, accepting ``out=`` (a ufunc or a helper)
    numpy: str = ""
    numpy_args: tuple = ()
    #: helper functions generated code needs, ``(name, source)``: the source defines ``name(a, out=None)``
    helpers: tuple = ()
    #: the names a user may type for it (the parser's vocabulary)
    spellings: tuple = ()
    #: short name of a per-sample value in abbreviated sums (``sigma`` for σ_i)
    short: str = ""
    #: ``f'`` written with the output ``h`` (a SymPy function of ``h``), for a function whose derivative
    #: cannot be rewritten so by substituting ``f(z) → h`` (ReLU: ``H(h)``); checked by the tests
    output_derivative: Callable | None = None
    #: a fused op (one stable step for a composition the slides draw in several, such as log(1 - σ(z))): the
    #: op whose value the slides' form reads (``sigmoid``, ``softmax``)
    reads: str = ""
    #: ``read_backward(g, p, *args)`` of a fused op: the gradient the slides' form sends to that value ``p``,
    #: shown on a stage that holds it (the op's own ``backward`` sends the gradient on to its arguments)
    read_backward: Callable | None = None

    @property
    def elementwise(self) -> bool:
        """Whether this is a one-argument real function applied entry by entry (activations, exp, log)."""
        return self.kind in ("activation", "elementwise")

    @property
    def name_text(self) -> str:
        return self.text or self.name

    def __repr__(self) -> str:
        return f"Op({self.name!r}, label={self.label!r})"


# -- generated SymPy functions ----------------------------------------------------------------

class OpFunctionBase(Function):
    """Base of the SymPy function classes generated from the table's activations (:func:`activation_function`)."""

    nargs = 1
    #: filled in by :func:`activation_function`
    _definition: Callable = staticmethod(lambda a: None)
    _derivative: Callable = staticmethod(lambda a: None)
    _latex_name = ""
    _pretty_name = ""
    _sign = "real"

    @classmethod
    def class_key(cls):
        # sort before sums when printing a product, so σ'(a) reads σ(a)*(1 - σ(a)) as on the slides
        return 2, 5, cls.__name__

    @classmethod
    def eval(cls, a):
        # a value that collapses to a number (σ(0) = 1/2, a float) or to the argument (relu of a
        # nonnegative symbol) is returned; otherwise the function stays unevaluated, as written
        if a.is_number or a.is_extended_nonnegative or a.is_extended_nonpositive:
            value = sp.sympify(cls._definition(a))
            if value.is_Number or value == a:
                return value
        return None

    def fdiff(self, argindex=1):
        return self._derivative(self.args[0])

    def _eval_rewrite(self, rule, args, **hints):
        # rewriting into anything (exp, Max, tanh) gives the defining formula
        return self._definition(*args)

    def _eval_evalf(self, prec):
        if self.args[0].is_number:
            return sp.sympify(self._definition(self.args[0])).evalf(prec_to_dps(prec))
        return None

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return True if self._sign == "positive" and self.args[0].is_extended_real else None

    def _eval_is_nonnegative(self):
        return True if self._sign in ("positive", "nonnegative") and self.args[0].is_extended_real else None

    def _latex(self, printer, exp=None):
        body = rf"{self._latex_name}\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"

    def _pretty(self, printer):
        arg = printer._print(self.args[0])
        return prettyForm(*prettyForm(self._pretty_name).right(prettyForm(*arg.parens())))


def activation_function(name: str, definition: Callable, derivative: Callable, *, latex_name: str = "",
                        text: str = "", sign: str = "real", forward: Callable | None = None,
                        doc: str = "") -> type:
    """A SymPy function class for a one-argument activation, from its definition and its derivative.

    ``definition(z)`` is the formula (used for values, ``evalf`` and
    ``rewrite``); ``derivative(z)`` the hand-written ``f'(z)``, which
    ``diff`` returns; ``sign`` is "positive", "nonnegative" or "real".

    >>> square_plus = activation_function("square_plus", lambda z: (z + sp.sqrt(z**2 + 4)) / 2,
    ...                                   lambda z: (1 + z / sp.sqrt(z**2 + 4)) / 2, sign="positive")
    >>> a = sp.Symbol('a')
    >>> square_plus(a).diff(a), square_plus(0), square_plus(a).is_positive
    (a/(2*sqrt(a**2 + 4)) + 1/2, 1, None)
    """
    namespace = {
        "_definition": staticmethod(definition), "_derivative": staticmethod(derivative),
        "_latex_name": latex_name or rf"\operatorname{{{name}}}", "_pretty_name": text or name,
        "_sign": sign, "__doc__": doc or f"The activation {name}, generated from symgrad's op table.",
        "__module__": __name__,
    }
    if forward is not None:
        namespace["_imp_"] = staticmethod(forward)  # lambdify calls the NumPy forward
    return type(name, (OpFunctionBase,), namespace)


# -- NumPy forms: each a plain function, copied as source into generated code ------------------

def _np_sigmoid(a, out=None):
    """1/(1 + e^-a); e^-a overflows to inf for a < -709, where sigmoid(a) is 0 to double precision."""
    with np.errstate(over="ignore"):
        if out is None:
            return 1.0 / (1.0 + np.exp(-a))
        np.negative(a, out=out)
        np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


def _np_leaky_relu(a, out=None):
    """a for a > 0, 0.01 a otherwise: the larger of the two, since the slope is below 1."""
    a = np.asarray(a, dtype=float)
    return np.maximum(a, 0.01 * a, out=out)


def _np_elu(a, out=None):
    """a for a > 0, e^a - 1 otherwise (α = 1); e^a of min(a, 0), which never overflows."""
    a = np.asarray(a, dtype=float)
    value = np.where(a > 0, a, np.expm1(np.minimum(a, 0.0)))
    if out is None:
        return value
    np.copyto(out, value)
    return out


def _np_gelu(a, out=None):
    """0.5 a (1 + tanh(√(2/π)(a + 0.044715 a³))); a³ may overflow to ±inf, where tanh is ±1 anyway."""
    a = np.asarray(a, dtype=float)
    with np.errstate(over="ignore"):
        inner = np.tanh(0.7978845608028654 * (a + 0.044715 * (a * a * a)))
    inner += 1.0
    inner *= 0.5
    return np.multiply(a, inner, out=out)


def _helper(function: Callable, name: str) -> tuple[str, str]:
    """``(name, source)`` of a NumPy function defined at module level, renamed to ``name``."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        raise ValueError(f"the NumPy forward of {name!r} must be a function defined in a file (its source "
                         "is copied into generated code), or give numpy= the name of a NumPy ufunc") from None
    head, rest = source.split("(", 1)
    if not head.startswith("def "):
        raise ValueError(f"the NumPy forward of {name!r} must be written with def, not a lambda")
    return name, f"def {name}({rest}"


# -- backward rules ------------------------------------------------------------------------

def _tie_backward(better):
    # each argument gets g * H(a_i - best(others)) for max (H(b - a_i) for min), with H(0) = 1/2 as in SymPy
    def backward(g, out, *args):
        grads = []
        for i, a in enumerate(args):
            others = reduce(better, [b for j, b in enumerate(args) if j != i])
            wins = np.asarray(better(a, others) == a) & np.asarray(a != others)
            grads.append(g * np.where(wins, 1.0, np.where(a == others, 0.5, 0.0)))
        return tuple(grads)
    return backward


def _mul_backward(g, out, *args):
    # product of the other factors; not out / a_i, which fails where a_i = 0
    return tuple(
        g * reduce(np.multiply, [b for j, b in enumerate(args) if j != i], 1.0)
        for i in range(len(args))
    )


def _gelu_backward(g, out, a):
    # with t = tanh(u), u = c(a + k a³): gelu' = (1 + t)/2 + a (1 - t²) c (1 + 3k a²) / 2; beyond |a| = 100
    # t is ±1 exactly, so a is clipped there and a³ cannot overflow
    a = np.clip(a, -100.0, 100.0)
    c, k = 0.7978845608028654, 0.044715
    t = np.tanh(c * (a + k * a**3))
    return (g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * c * (1 + 3 * k * a * a)),)


def _softmax_forward(z):
    z = np.asarray(z, dtype=float)
    shifted = np.exp(z - z.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _softmax_backward(g, out, z):
    # Jacobian-vector product of softmax: p * (g - <g, p>)
    return (out * (g - np.sum(g * out, axis=-1, keepdims=True)),)


def _matmul_backward(g, out, a, b):
    # C = A B: dA = dC Bᵀ, dB = Aᵀ dC; a 1-D right factor is a column, a 1-D left factor a row
    a, b = np.asarray(a), np.asarray(b)
    left = a if a.ndim == 2 else a.reshape(1, -1)
    right = b if b.ndim == 2 else b.reshape(-1, 1)
    upstream = np.reshape(g, (left.shape[0], right.shape[1]))
    return (upstream @ right.T).reshape(a.shape), (left.T @ upstream).reshape(b.shape)


def _samples(p) -> int:
    # the class axis is the last: a 1-D vector is one sample, the rows of a matrix are samples
    return max(1, np.size(p) // np.shape(p)[-1]) if np.ndim(p) else 1


def _cross_entropy_forward(y, p):
    return -np.sum(np.asarray(y) * np.log(p)) / _samples(p)


def _cross_entropy_backward(g, out, y, p):
    scale = g / _samples(p)
    return -scale * np.log(p), -scale * np.asarray(y) / p


def _binary_cross_entropy_forward(y, p):
    # -Σ [y log p + (1 - y) log(1 - p)], the mean over the samples (rows)
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    return -np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)) / _samples(p)


def _binary_cross_entropy_backward(g, out, y, p):
    # dL/dp = -(y/p - (1 - y)/(1 - p)) = (p - y)/(p(1 - p)); dL/dy = -(log p - log(1 - p))
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    scale = g / _samples(p)
    return -scale * (np.log(p) - np.log1p(-p)), scale * (p - y) / (p * (1 - p))


def _half_squared_error_forward(y, yhat):
    residual = np.asarray(yhat) - y
    return 0.5 * np.sum(residual * residual) / _samples(yhat)


def _half_squared_error_backward(g, out, y, yhat):
    residual = (np.asarray(yhat) - y) * (g / _samples(yhat))
    return -residual, residual


# -- fused ops: the stable forms the compiled code uses (log-sigmoid, softplus, logaddexp) --------------
# Each computes a composition the slides draw in steps from the argument of its inner function, so that a
# saturated sigmoid or softmax (σ(40) = 1 to double precision) never reaches a log; the graph engine draws
# the fused node with the slides' label, log(1 − σ).

def _log_sigmoid_forward(a):
    # log σ(a) = -log(1 + e^-a) = -softplus(-a)
    return -np.logaddexp(0.0, np.negative(a))


def _log_sigmoid_backward(g, out, a):
    # d/da log σ(a) = σ'(a)/σ(a) = 1 - σ(a) = σ(-a)
    return (g * _np_sigmoid(np.negative(a)),)


def _log_one_minus_sigmoid_forward(a):
    # log(1 - σ(a)) = log σ(-a) = -softplus(a)
    return -np.logaddexp(0.0, a)


def _log_one_minus_sigmoid_backward(g, out, a):
    # d/da log(1 - σ(a)) = -σ'(a)/(1 - σ(a)) = -σ(a)
    return (-g * _np_sigmoid(a),)


def _ratio(numerator, denominator):
    """numerator/denominator, 0 where the numerator is 0 (a target of 0 reads nothing of a p that is 0)."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, dtype=float),
                                                 np.asarray(denominator, dtype=float))
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape), where=numerator != 0)


def _logsumexp_forward(*a):
    # log Σ e^(a_i) = m + log1p(Σ' e^(a_i - m)), m = max a_i and Σ' over all but one largest term (which is
    # e^0 = 1): no overflow, and log1p keeps log(1 + 1e-17) from rounding to 0
    largest, rest = _shifted_log_sum_exp(np.stack(np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in a]),
                                                  axis=-1))
    return (largest + rest)[..., 0]


def _shifted_log_sum_exp(z):
    """``(m, log Σ e^(z - m))`` along the last axis (kept), with ``m`` the largest entry (see above)."""
    top = np.argmax(z, axis=-1)[..., None]
    largest = np.take_along_axis(z, top, axis=-1)
    terms = np.exp(z - largest)
    np.put_along_axis(terms, top, 0.0, axis=-1)
    return largest, np.log1p(terms.sum(axis=-1, keepdims=True))


def _logsumexp_backward(g, out, *a):
    # d/da_i log Σ e^(a_j) = e^(a_i) / Σ e^(a_j) = e^(a_i - out): the softmax
    return tuple(g * np.exp(np.subtract(x, out)) for x in a)


def _log_softmax(z):
    # log p = z - logsumexp(z), row by row (accurate where p is near 1 too: see _logsumexp_forward)
    # (z - m) - log1p(rest), not z - (m + log1p(rest)), where m + 1e-17 would round to m
    z = np.asarray(z, dtype=float)
    largest, rest = _shifted_log_sum_exp(z)
    return (z - largest) - rest


def _softmax_cross_entropy_forward(y, z):
    # -Σ y ⊙ log softmax(z), with log softmax(z) = z - logsumexp(z) row by row; the mean over the rows
    return -np.sum(np.asarray(y, dtype=float) * _log_softmax(z)) / _samples(z)


def _softmax_cross_entropy_backward(g, out, y, z):
    # dL/dy = -log p; dL/dz = p Σ_j y_j - y (= p - y for a one-hot target), p = softmax(z), written
    # p (Σ_j y_j - y) - y (1 - p) with 1 - p = -expm1(log p): no cancellation where p rounds to 1
    y, log_p = np.asarray(y, dtype=float), _log_softmax(z)
    scale = g / _samples(z)
    delta = np.exp(log_p) * (y.sum(axis=-1, keepdims=True) - y) + y * np.expm1(log_p)
    return -scale * log_p, scale * delta


def _softmax_cross_entropy_read(g, p, y, z):
    # the slides' CE(y, p) sends -y/p to p
    return -(g / _samples(z)) * _ratio(y, p)


def _sigmoid_binary_cross_entropy_forward(y, z):
    # -[y log σ(z) + (1 - y) log(1 - σ(z))] = softplus(z) - y z, summed, the mean over the rows
    y, z = np.asarray(y, dtype=float), np.asarray(z, dtype=float)
    return np.sum(np.logaddexp(0.0, z) - y * z) / _samples(z)


def _sigmoid_binary_cross_entropy_backward(g, out, y, z):
    # dL/dy = -(log σ(z) - log(1 - σ(z))) = -z; dL/dz = σ(z) - y, written (1 - y) σ(z) - y σ(-z): no
    # cancellation where σ(z) rounds to y
    y, z = np.asarray(y, dtype=float), np.asarray(z, dtype=float)
    scale = g / _samples(z)
    return -scale * z, scale * ((1 - y) * _np_sigmoid(z) - y * _np_sigmoid(-z))


def _sigmoid_binary_cross_entropy_read(g, p, y, z):
    # the slides' BCE(y, p) sends (1 - y)/(1 - p) - y/p to p, with 1 - p = σ(-z) (no cancellation)
    y, z = np.asarray(y, dtype=float), np.asarray(z, dtype=float)
    return (g / _samples(z)) * (_ratio(1 - y, _np_sigmoid(-z)) - _ratio(y, _np_sigmoid(z)))


#: the matrix expression classes by name: symgrad.core.expressions, which sits above this table and
#: reads it, registers them here, so the table names them without importing upwards
MATRIX_EXPRESSIONS: dict[str, type] = {}


def _matrix(name):
    # the SymPy form of a matrix op: its expression class, looked up when the op is used
    def build(*args):
        return MATRIX_EXPRESSIONS[name](*args)
    return build


def _fused_loss(loss: str, inner: str):
    # CE(y, softmax(z)) and BCE(y, σ(z)) as matrix expressions (looked up when used, as :func:`_matrix`)
    def build(y, z):
        p = MATRIX_EXPRESSIONS["Softmax"](z) if inner == "softmax" else MATRIX_EXPRESSIONS["Elementwise"](inner, z)
        return MATRIX_EXPRESSIONS[loss](y, p)
    return build


def _paren(s: str) -> str:
    return rf"\left({s}\right)"


def _call_latex(name_latex: str) -> Callable[[str], str]:
    return lambda a: rf"{name_latex}{_paren(a)}"


def softmax(scores) -> list[sp.Expr]:
    r"""The softmax of a list of scores, component by component: :math:`e^{z_i} / \sum_j e^{z_j}`.

    >>> from sympy import symbols
    >>> softmax(symbols('z1 z2'))
    [exp(z1)/(exp(z1) + exp(z2)), exp(z2)/(exp(z1) + exp(z2))]
    """
    scores = [sp.sympify(z, strict=True) for z in scores]
    if not scores:
        raise ValueError("softmax needs at least one score")
    total = sp.Add(*[sp.exp(z) for z in scores])
    return [sp.exp(z) / total for z in scores]


def log_softmax(scores) -> list[sp.Expr]:
    r"""The log of the softmax, :math:`z_i - \log \sum_j e^{z_j}`, the form cross-entropy should use.

    >>> from sympy import symbols
    >>> log_softmax(symbols('z1 z2'))
    [z1 - log(exp(z1) + exp(z2)), z2 - log(exp(z1) + exp(z2))]
    """
    scores = [sp.sympify(z, strict=True) for z in scores]
    if not scores:
        raise ValueError("log_softmax needs at least one score")
    lse = sp.log(sp.Add(*[sp.exp(z) for z in scores]))
    return [z - lse for z in scores]


# -- the activations: one entry each -----------------------------------------------------------

def activation_entry(name: str, label: str, latex_name: str, definition, derivative, forward, backward, *,
                text: str = "", sign: str = "real", doc: str = "", numpy: str = "", numpy_args: tuple = (),
                spellings: tuple = (), short: str = "", output_derivative=None) -> Op:
    """The entry of an activation whose SymPy class is generated from its definition and derivative."""
    function = activation_function(name, definition, derivative, latex_name=latex_name, text=text or label,
                                   sign=sign, forward=forward, doc=doc)
    helpers = () if numpy else (_helper(forward, name),)
    return Op(name, label, 1, function, _call_latex(latex_name), forward, backward, sympy_function=function,
              text=text or label, latex_name=latex_name, kind="activation", numpy=numpy or name,
              numpy_args=numpy_args, helpers=helpers, spellings=spellings or (name,), short=short,
              output_derivative=output_derivative)


_SIGMOID = activation_entry(
    "sigmoid", "σ", r"\sigma",
    lambda a: 1 / (1 + sp.exp(-a)),
    # σ' = σ(1 - σ), in terms of σ itself, as the lectures write it
    lambda a: sigmoid(a) * (1 - sigmoid(a)),
    # σ'(a) = σ(a) σ(-a): no cancellation in 1 - σ(a) where σ saturates
    _np_sigmoid, lambda g, out, a: (g * out * _np_sigmoid(-a),), sign="positive", short="sigma",
    doc=r"""The logistic sigmoid :math:`\sigma(a) = 1/(1 + e^{-a})`.

    Its derivative is written with itself, as the lectures write it:

    >>> from sympy import Symbol, diff
    >>> a = Symbol('a')
    >>> diff(sigmoid(a), a)
    sigmoid(a)*(1 - sigmoid(a))
    >>> sigmoid(0)
    1/2
    """)
sigmoid = _SIGMOID.sympy_function

_RELU = activation_entry(
    "relu", "ReLU", r"\operatorname{ReLU}",
    lambda a: sp.Max(0, a),
    lambda a: Heaviside(a, 0),
    lambda a: np.maximum(a, 0.0), lambda g, out, a: (g * (np.asarray(a) > 0),),
    numpy="np.maximum", numpy_args=("0.0",), spellings=("relu", "ReLU"), sign="nonnegative", short="r",
    # h > 0 exactly where z > 0
    output_derivative=lambda h: Heaviside(h, 0),
    doc=r"""The rectifier :math:`\mathrm{ReLU}(a) = \max(0, a)`.

    Its derivative is the Heaviside step with the value **0 at a = 0**
    (``Heaviside(a, 0)``), the convention of PyTorch and of symgrad's graph
    engine: the gradient through a unit that is exactly at the kink is dropped.

    >>> from sympy import Symbol, diff
    >>> a = Symbol('a')
    >>> diff(relu(a), a)
    Heaviside(a, 0)
    >>> relu(-2), relu(3)
    (0, 3)
    """)
relu = _RELU.sympy_function

_SOFTPLUS = activation_entry(
    "softplus", "softplus", r"\operatorname{softplus}",
    lambda a: sp.log(1 + sp.exp(a)),
    lambda a: sigmoid(a),
    lambda a: np.logaddexp(0.0, a), lambda g, out, a: (g * _np_sigmoid(a),),
    numpy="np.logaddexp", numpy_args=("0.0",), sign="positive", short="s",
    # σ(z) = 1 - e^{-softplus(z)}, with expm1 for accuracy where h is small
    output_derivative=lambda h: -expm1(-h),
    doc=r"""The smooth rectifier :math:`\mathrm{softplus}(a) = \log(1 + e^{a})`, whose derivative is σ.

    >>> from sympy import Symbol, diff
    >>> a = Symbol('a')
    >>> diff(softplus(a), a)
    sigmoid(a)
    """)
softplus = _SOFTPLUS.sympy_function

_LEAKY_RELU = activation_entry(
    "leaky_relu", "LReLU", r"\operatorname{LReLU}",
    lambda a: sp.Max(0, a) + sp.Min(0, a) / 100,
    lambda a: Piecewise((1, a > 0), (S(1) / 100, True)),
    _np_leaky_relu, lambda g, out, a: (g * np.where(np.asarray(a) > 0, 1.0, 0.01),),
    output_derivative=lambda h: Piecewise((1, h > 0), (S(1) / 100, True)),
    doc=r"""The leaky rectifier :math:`\max(0, a) + 0.01 \min(0, a)` (slope 0.01 below 0; 0.01 at a = 0).

    >>> from sympy import Symbol, diff
    >>> a = Symbol('a')
    >>> diff(leaky_relu(a), a)
    Piecewise((1, a > 0), (1/100, True))
    >>> leaky_relu(-2), leaky_relu(3)
    (-1/50, 3)
    """)
leaky_relu = _LEAKY_RELU.sympy_function

_ELU = activation_entry(
    "elu", "ELU", r"\operatorname{ELU}",
    lambda a: Piecewise((a, a > 0), (sp.exp(a) - 1, True)),
    lambda a: Piecewise((1, a > 0), (sp.exp(a), True)),
    _np_elu, lambda g, out, a: (g * np.where(np.asarray(a) > 0, 1.0, np.exp(np.minimum(a, 0.0))),),
    # e^z = h + 1 where z <= 0
    output_derivative=lambda h: Piecewise((1, h > 0), (h + 1, True)),
    doc=r"""The exponential linear unit (α = 1): :math:`a` for :math:`a > 0`, :math:`e^{a} - 1` otherwise.

    >>> from sympy import Symbol, diff
    >>> a = Symbol('a')
    >>> diff(elu(a), a)
    Piecewise((1, a > 0), (exp(a), True))
    """)
elu = _ELU.sympy_function


def _gelu_derivative(a):
    # with t = tanh(u), u = c(a + k a³), c = √(2/π): gelu' = (1 + t)/2 + a (1 - t²) c (1 + 3k a²)/2
    c, k = sp.sqrt(2 / sp.pi), sp.Rational(44715, 10**6)
    t = sp.tanh(c * (a + k * a**3))
    return (1 + t) / 2 + a * (1 - t**2) * c * (1 + 3 * k * a**2) / 2


_GELU = activation_entry(
    "gelu", "GELU", r"\operatorname{GELU}",
    lambda a: a * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (a + sp.Rational(44715, 10**6) * a**3))) / 2,
    _gelu_derivative,
    _np_gelu, _gelu_backward,
    doc=r"""GELU in its tanh approximation, :math:`\tfrac12 a (1 + \tanh(\sqrt{2/\pi}(a + 0.044715 a^3)))`.

    >>> from sympy import Symbol, diff
    >>> a = Symbol('a')
    >>> gelu(0), diff(gelu(a), a).subs(a, 0)
    (0, 1/2)
    """)
gelu = _GELU.sympy_function


_TABLE = [
    Op("add", "+", None, lambda *a: sp.Add(*a), lambda *a: " + ".join(a),
       lambda *a: reduce(np.add, a), lambda g, out, *a: tuple(g for _ in a)),
    Op("sub", "−", 2, lambda a, b: a - b, lambda a, b: f"{a} - {b}",
       np.subtract, lambda g, out, a, b: (g, -g)),
    Op("mul", "×", None, lambda *a: sp.Mul(*a), lambda *a: r" \cdot ".join(a),
       lambda *a: reduce(np.multiply, a), _mul_backward),
    Op("neg", "−", 1, lambda a: -a, lambda a: f"-{a}",
       np.negative, lambda g, out, a: (-g,)),
    Op("div", "÷", 2, lambda a, b: a / b, lambda a, b: rf"\frac{{{a}}}{{{b}}}",
       np.divide, lambda g, out, a, b: (g / b, -g * out / b), domain="nonzero"),
    Op("pow", "^", 2, lambda a, p: a**p, lambda a, p: f"{{{a}}}^{{{p}}}",
       np.power, lambda g, out, a, p: (g * p * np.power(a, p - 1), g * out * np.log(a)),
       domain="positive", sympy_function=sp.Pow),
    Op("square", "^2", 1, lambda a: a**2, lambda a: f"{{{a}}}^{{2}}",
       np.square, lambda g, out, a: (2 * g * a,)),
    Op("exp", "exp", 1, sp.exp, lambda a: rf"e^{{{a}}}",
       np.exp, lambda g, out, a: (g * out,), sympy_function=sp.exp,
       latex_name=r"\exp", kind="elementwise", numpy="np.exp", spellings=("exp",)),
    Op("log", "log", 1, sp.log, _call_latex(r"\log"),
       np.log, lambda g, out, a: (g / a,), domain="positive", sympy_function=sp.log,
       latex_name=r"\log", kind="elementwise", numpy="np.log", spellings=("log", "ln")),
    Op("abs", "|·|", 1, sp.Abs, lambda a: rf"\left|{a}\right|",
       np.abs, lambda g, out, a: (g * np.sign(a),), sympy_function=sp.Abs, numpy="np.abs", spellings=("abs",)),
    Op("max", "max", None, lambda *a: sp.Max(*a), lambda *a: rf"\max{_paren(', '.join(a))}",
       lambda *a: reduce(np.maximum, a), _tie_backward(np.maximum), sympy_function=sp.Max, spellings=("max",)),
    Op("min", "min", None, lambda *a: sp.Min(*a), lambda *a: rf"\min{_paren(', '.join(a))}",
       lambda *a: reduce(np.minimum, a), _tie_backward(np.minimum), sympy_function=sp.Min, spellings=("min",)),
    _SIGMOID,
    _RELU,
    Op("tanh", "tanh", 1, sp.tanh, _call_latex(r"\tanh"),
       np.tanh, lambda g, out, a: (g * (1 - out * out),), sympy_function=sp.tanh,
       latex_name=r"\tanh", kind="activation", numpy="np.tanh", spellings=("tanh",), short="t"),
    _SOFTPLUS,
    _LEAKY_RELU,
    _ELU,
    _GELU,
    # -- fused ops (see above): drawn with the slides' labels, computed without a saturated σ or softmax --
    Op("log_sigmoid", "log σ", 1, lambda a: sp.log(sigmoid(a)), lambda a: rf"\log \sigma{_paren(a)}",
       _log_sigmoid_forward, _log_sigmoid_backward, reads="sigmoid",
       read_backward=lambda g, p, a: g * (1.0 + np.exp(np.negative(a)))),  # d log p/dp = 1/p = 1 + e^-a
    Op("log_one_minus_sigmoid", "log(1 − σ)", 1, lambda a: sp.log(1 - sigmoid(a)),
       lambda a: r"\log" + _paren(r"1 - \sigma" + _paren(a)),
       _log_one_minus_sigmoid_forward, _log_one_minus_sigmoid_backward, reads="sigmoid",
       read_backward=lambda g, p, a: -g * (1.0 + np.exp(a))),  # d log(1 - p)/dp = -1/(1 - p) = -(1 + e^a)
    Op("logsumexp", "log Σ exp", None, lambda *a: sp.log(sp.Add(*[sp.exp(x) for x in a])),
       lambda *a: rf"\log{_paren(' + '.join(f'e^{{{x}}}' for x in a))}",
       _logsumexp_forward, _logsumexp_backward),
    Op("softmax", "softmax", 1, softmax, lambda z: rf"\operatorname{{softmax}}{_paren(z)}",
       _softmax_forward, _softmax_backward),
    # -- matrices: the class axis is the last, so a batch's rows are its samples ------------------
    Op("matmul", "@", 2, lambda a, b: a * b, lambda a, b: f"{a} {b}", np.matmul, _matmul_backward),
    Op("transpose", "ᵀ", 1, sp.transpose, lambda a: f"{{{a}}}^{{T}}",
       np.transpose, lambda g, out, a: (np.transpose(g),)),
    Op("cross_entropy", "CE", 2, _matrix("CrossEntropy"),
       lambda y, p: rf"\operatorname{{CE}}{_paren(f'{y}, {p}')}",
       _cross_entropy_forward, _cross_entropy_backward),
    Op("binary_cross_entropy", "BCE", 2, _matrix("BinaryCrossEntropy"),
       lambda y, p: rf"\operatorname{{BCE}}{_paren(f'{y}, {p}')}",
       _binary_cross_entropy_forward, _binary_cross_entropy_backward),
    Op("half_squared_error", "½‖·‖²", 2, _matrix("HalfSquaredError"),
       lambda y, yhat: rf"\tfrac{{1}}{{2}}\left\lVert {yhat} - {y}\right\rVert^{{2}}",
       _half_squared_error_forward, _half_squared_error_backward),
    Op("softmax_cross_entropy", "CE∘softmax", 2, _fused_loss("CrossEntropy", "softmax"),
       lambda y, z: r"\operatorname{CE}" + _paren(f"{y}, " + r"\operatorname{softmax}" + _paren(z)),
       _softmax_cross_entropy_forward, _softmax_cross_entropy_backward, reads="softmax",
       read_backward=_softmax_cross_entropy_read),
    Op("sigmoid_binary_cross_entropy", "BCE∘σ", 2, _fused_loss("BinaryCrossEntropy", "sigmoid"),
       lambda y, z: r"\operatorname{BCE}" + _paren(f"{y}, " + r"\sigma" + _paren(z)),
       _sigmoid_binary_cross_entropy_forward, _sigmoid_binary_cross_entropy_backward, reads="sigmoid",
       read_backward=_sigmoid_binary_cross_entropy_read),
    Op("squared_norm", "‖·‖²", 1, _matrix("SquaredNorm"), lambda a: rf"\left\lVert {a}\right\rVert^{{2}}",
       lambda a: np.sum(np.square(a)), lambda g, out, a: (2 * g * np.asarray(a),)),
]

#: the operations on matrices (their arguments are not scalars)
MATRIX_OPS = frozenset({"matmul", "transpose", "cross_entropy", "binary_cross_entropy", "half_squared_error",
                        "squared_norm", "softmax_cross_entropy", "sigmoid_binary_cross_entropy"})

#: every operation by name, in table order (:func:`register` adds to it)
OPS: dict[str, Op] = {}
_BY_FUNCTION: dict = {}
#: f' in terms of the input and of the output, by op name, computed once (see :func:`derivative_forms`)
_DERIVATIVES: dict = {}


def register(entry: Op, replace: bool = False) -> Op:
    """Add an operation to the table, for every view at once (see :mod:`symgrad.extend`).

    >>> register(OPS["sigmoid"])
    Traceback (most recent call last):
    ...
    ValueError: an operation named 'sigmoid' is already in the table (give replace=True to replace it)
    """
    if not isinstance(entry, Op):
        raise TypeError(f"register takes an Op, not {type(entry).__name__}")
    if not entry.name.isidentifier():
        raise ValueError(f"an operation's name must be an identifier, not {entry.name!r}")
    if entry.name in OPS and not replace:
        raise ValueError(f"an operation named {entry.name!r} is already in the table "
                         "(give replace=True to replace it)")
    taken = {s: n for s, n in SPELLINGS.items() if n != entry.name}
    clash = [s for s in entry.spellings if s in taken]
    if clash:
        raise ValueError(f"{entry.name!r}: the name {clash[0]!r} already means {taken[clash[0]]!r}")
    if entry.elementwise and entry.arity != 1:
        raise ValueError(f"{entry.name!r}: an element-wise function takes one argument, not {entry.arity}")
    old = OPS.get(entry.name)
    if old is not None and old.sympy_function is not None:
        _BY_FUNCTION.pop(old.sympy_function, None)
    OPS[entry.name] = entry
    if entry.sympy_function is not None:
        _BY_FUNCTION[entry.sympy_function] = entry
    _DERIVATIVES.pop(entry.name, None)
    return entry


class _Selection(Mapping):
    """A live, read-only view of part of the table: it sees operations registered later."""

    def __init__(self, items: Callable[[], Iterator[tuple[str, object]]], what: str):
        self._items, self._what = items, what

    def __getitem__(self, key):
        for name, value in self._items():
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self):
        return (name for name, _ in self._items())

    def __len__(self) -> int:
        return sum(1 for _ in self._items())

    def __repr__(self) -> str:
        return f"<{self._what}: {', '.join(self)}>"


#: the element-wise functions (activations, exp, log) by name: their SymPy function
ELEMENTWISE: Mapping = _Selection(
    lambda: ((o.name, o.sympy_function) for o in OPS.values() if o.elementwise), "element-wise functions")
#: the layer activations by name: their SymPy function
ACTIVATIONS: Mapping = _Selection(
    lambda: ((o.name, o.sympy_function) for o in OPS.values() if o.kind == "activation"), "activations")
#: every name a user may type for a function, mapped to its operation's name
SPELLINGS: Mapping = _Selection(
    lambda: ((s, o.name) for o in OPS.values() for s in o.spellings), "function names")


def op(name: str) -> Op:
    """The table entry of an operation, with an error that lists the known ones.

    >>> op("sigmoid").label
    'σ'
    """
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown operation {name!r} (must be one of {sorted(OPS)})") from None


def op_for_function(func: type) -> Op | None:
    """The table entry for a SymPy function class such as ``sympy.exp`` or ``sigmoid``, if any."""
    return _BY_FUNCTION.get(func)


def derivative_forms(name: str) -> tuple[sp.Expr, sp.Expr | None]:
    """``f'`` of an element-wise function: written with its input :data:`Z`, and with its output :data:`H`.

    The output form is found by substituting ``f(z) → h`` in the derivative,
    accepted when ``z`` no longer occurs; else the entry's hand-written
    ``output_derivative``; else ``None`` (only the input form exists).

    >>> derivative_forms("sigmoid")
    (sigmoid(z)*(1 - sigmoid(z)), h*(1 - h))
    >>> derivative_forms("tanh")[1], derivative_forms("exp")[1], derivative_forms("gelu")[1]
    (1 - h**2, h, None)
    """
    if name not in _DERIVATIVES:
        entry = op(name)
        if not entry.elementwise:
            raise ValueError(f"{name!r} is not an element-wise function")
        value = entry.sympy(Z)
        derivative = sp.diff(value, Z)
        output = derivative.xreplace({value: H})
        if Z in output.free_symbols:
            output = entry.output_derivative(H) if entry.output_derivative else None
        _DERIVATIVES[name] = (derivative, output)
    return _DERIVATIVES[name]


def numpy_call(entry: Op, argument: str, out: str | None = None) -> str:
    """Generated code applying an element-wise op: ``np.tanh(Z1)``, or in place with ``out``.

    >>> numpy_call(OPS["relu"], "Z1", out="Z1")
    'np.maximum(Z1, 0.0, out=Z1)'
    """
    if not entry.numpy:
        raise ValueError(f"{entry.name!r} has no NumPy form for generated code")
    args = [argument, *entry.numpy_args] + ([f"out={out}"] if out else [])
    return f"{entry.numpy}({', '.join(args)})"


def helper_sources() -> dict[str, str]:
    """The source of every helper function of generated code, by name (``sigmoid``, ``gelu``, ...)."""
    return {name: source for entry in OPS.values() for name, source in entry.helpers}


def unregister(name: str) -> Op:
    """Remove an operation added with :func:`register` (a built-in one cannot be removed)."""
    if name in _BUILTIN:
        raise ValueError(f"{name!r} is a built-in operation and cannot be removed")
    entry = op(name)
    del OPS[name]
    if entry.sympy_function is not None:
        _BY_FUNCTION.pop(entry.sympy_function, None)
    _DERIVATIVES.pop(name, None)
    return entry


for _entry in _TABLE:
    register(_entry)
del _entry
#: the operations symgrad itself defines
_BUILTIN = frozenset(OPS)
