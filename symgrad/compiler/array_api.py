"""A scalar model's loss and gradients on any array-API namespace (CuPy, PyTorch, ...): whole-array code.

The NumPy code computes in place (``out=``) in preallocated buffers and
reduces with ``@``, which the array API standard does not have; here the
same steps (:class:`~symgrad.compiler.steps.Steps`) are printed as
whole-array expressions on a namespace ``xp`` (``t1 = y - yhat``,
``grad_w = grad_w + xp.sum(-2*t1*x)``), so a GPU user's arrays stay on
their device. The namespace comes from ``array_api_compat``.

Limits: scalar models only (a matrix model's arrays are NumPy's); the
batch is computed whole (no blocks), so it must fit in the device's
memory; ``sigmoid(a)`` is ``1/(1 + e^-max(a, -709))``, which for
``a < -709`` gives 1.2e-308 where the NumPy code gives ``e^a`` (both are 0
next to any other number): the array API has no way to silence an
overflow warning as ``np.errstate`` does.
"""
from __future__ import annotations

import importlib
import re

import numpy as np

from ..core.ops import op_for_function
from ..errors import ArgumentError, CompileError
from .arrays import samples
from .fused import FusedPrinter, _UFUNCS
from .loader import load_function
from .standalone import resolve
from .steps import Steps

__all__ = ["XpPrinter", "xp_source", "xp_function", "array_api_loss_and_grad", "is_foreign_array"]

_NP = re.compile(r"\bnp\.")

# the helpers the printed code may call, written on the namespace xp
_XP_HELPERS = {
    "sigmoid": '''
def sigmoid(xp, a):
    """1/(1 + e^-a), with a held above -709 so that e^-a stays finite (sigmoid is below 1.2e-308 there)."""
    return 1.0 / (1.0 + xp.exp(-xp.maximum(a, -709.0)))
''',
    "leaky_relu": '''
def leaky_relu(xp, a):
    return xp.maximum(a, 0.01 * a)
''',
    "elu": '''
def elu(xp, a):
    return xp.where(a > 0, a, xp.expm1(xp.minimum(a, 0.0)))
''',
    "gelu": '''
def gelu(xp, a):
    b = xp.clip(a, -1e100, 1e100)  # a**3 stays finite; tanh is ±1 long before
    return a * (0.5 * (xp.tanh(0.7978845608028654 * (b + 0.044715 * (b * b * b))) + 1.0))
''',
    "logsumexp": '''
def logsumexp(xp, *z):
    """m + log1p(sum of e^(zi - m) over all but one largest zi), m = max zi: as the NumPy helper."""
    top = z[0]
    for zi in z[1:]:
        top = xp.maximum(top, zi)
    shift = xp.where(xp.isfinite(top), top, 0.0)
    rest, skipped = 0.0, xp.zeros_like(top, dtype=xp.bool)
    for zi in z:
        largest = xp.logical_and(zi == top, xp.logical_not(skipped))
        rest = rest + xp.where(largest, 0.0, xp.exp(zi - shift))
        skipped = xp.logical_or(skipped, largest)
    return top + xp.log1p(rest)
''',
    "_heaviside": '''
def _heaviside(xp, a, at_zero):
    one = xp.ones_like(a)
    return xp.where(xp.isnan(a), a, xp.where(a > 0, one, xp.where(a < 0, 0.0 * one, at_zero * one)))
''',
}


class XpPrinter(FusedPrinter):
    """Prints the steps as whole-array expressions on the namespace ``xp``."""

    def doprint(self, expr, assign_to=None):
        return _NP.sub("xp.", super().doprint(expr, assign_to))

    def _print_OpFunctionBase(self, expr):
        entry = op_for_function(type(expr))
        helpers = [name for name, _ in entry.helpers]
        if any(name not in _XP_HELPERS for name in helpers) or (not helpers and entry.numpy not in _UFUNCS):
            raise CompileError(f"the array-API code has no form of {entry.name}; use NumPy arrays")
        self.helpers.update(helpers)
        args = ", ".join([self._print(expr.args[0]), *entry.numpy_args])
        return f"{entry.numpy}(xp, {args})" if helpers else f"{entry.numpy}({args})"

    def _print_exp(self, expr):
        return f"xp.exp({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        return super()._print_Heaviside(expr).replace("_heaviside(", "_heaviside(xp, ", 1)

    def _print_logsumexp(self, expr):
        self.helpers.add("logsumexp")
        return f"logsumexp(xp, {', '.join(self._print(a) for a in expr.args)})"


def _floats(line: str) -> list[str]:
    """A scalar line of the NumPy code, and its targets made Python floats (an np.float64 would meet xp arrays)."""
    targets = line.split(" = ")[:-1] if " += " not in line else []
    return [line] + [f"{t} = float({t})" for t in targets]


def xp_source(steps: Steps, reduction: str) -> str:
    """The source of ``loss_and_grad_xp(xp, n, *data, *params)``: the steps on whole arrays of namespace ``xp``."""
    if steps.output not in steps.arrays or not steps.data:
        raise CompileError("the array-API code is for a loss over data samples")
    printer = XpPrinter()
    gradients = [steps.gradient_names[p] for p in steps.wrt]
    accumulators = ["loss"] + [a for a in dict.fromkeys(steps.accumulators) if a not in gradients] + gradients
    body = [line for before in steps.before for line in _floats(before)]
    body += [f"{a} = 0.0" for a in accumulators]
    for kind, symbol, expr in steps.forward + steps.backward:
        code = printer.doprint(expr)
        if kind == "assign":
            body.append(f"{symbol} = {code}")
        elif expr.free_symbols & steps.arrays:
            body.append(f"{symbol} = {symbol} + float(xp.sum({code}))")
        else:  # the same number for every sample
            body.append(f"{symbol} = {symbol} + n*({code})")
    body += steps.after
    body.append("scale = 1/n" if reduction == "mean" else "scale = 1.0")
    body.append(f"return float(loss*scale), [{', '.join(f'float({g}*scale)' for g in gradients)}]")
    arguments = [str(s) for s in steps.data + steps.params]
    lines = ["import numpy as np", ""]
    for helper in sorted(printer.helpers):
        lines += [_XP_HELPERS[helper].strip("\n"), "", ""]
    lines += [f"def loss_and_grad_xp(xp, n, {', '.join(arguments)}):"]
    lines += ["    " + line for line in body]
    return "\n".join(lines) + "\n"


def xp_function(model, wrt, reduction: str):
    """The array-API function of a model, for the parameters named ``wrt``."""
    model, targets = resolve(model, list(wrt), (), reduction)
    return load_function(xp_source(Steps(model, targets), reduction), "loss_and_grad_xp",
                         f"{model.name or 'model'} (array API)")


def is_foreign_array(value) -> bool:
    """An array of another library that speaks the array API (not NumPy's own).

    >>> is_foreign_array(np.ones(2)), is_foreign_array(1.0)
    (False, False)
    """
    return hasattr(value, "__array_namespace__") and not isinstance(value, (np.ndarray, np.generic))


def _data_array(xp, name: str, value, n: int, device):
    if not is_foreign_array(value):
        value = np.asarray(value)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"data {name} must be real numbers, not an array of {value.dtype}")
        value = xp.asarray(value.astype(float), device=device)
    elif not xp.isdtype(value.dtype, "real floating"):
        if not xp.isdtype(value.dtype, ("integral", "bool")):
            raise TypeError(f"data {name} must be real numbers, not an array of {value.dtype}")
        value = xp.astype(value, xp.float64)
    return value if value.shape == (n,) else xp.broadcast_to(value, (n,))


def array_api_loss_and_grad(function, values: dict):
    """``function``'s loss and gradients on the array-API arrays among its data (kept on their device)."""
    compat = importlib.import_module("array_api_compat")
    data = {name: values[name] for name in function.inputs}
    foreign = [value for value in data.values() if is_foreign_array(value)]
    xp = compat.array_namespace(*foreign)
    device = compat.device(foreign[0])
    n = samples(data) or 1
    arrays = [_data_array(xp, name, value, n, device) for name, value in data.items()]
    params = []
    for name in function.params:
        value = values[name]
        if tuple(getattr(value, "shape", ())) != ():
            raise ValueError(f"parameter {name} must be a scalar, not an array of shape {tuple(value.shape)}")
        try:
            params.append(float(value))
        except (TypeError, ValueError):
            raise ArgumentError(f"parameter {name} must be a real number, not {value!r}") from None
    loss, grads = function._xp_function()(xp, n, *arrays, *params)
    return loss, dict(zip(function.wrt, grads))
