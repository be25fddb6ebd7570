"""The fused backend: a scalar model's steps as one numba loop over the samples, forward, backward and sums in registers.

The NumPy backend writes every stage of a block to a buffer and reads it
back; here each sample's stages, adjoints and gradient contributions are
computed one after the other in registers, and the gradient sums are
``prange`` reductions, so the batch is read from memory once. The loop is
the same list of steps (:class:`~symgrad.compiler.steps.Steps`) the NumPy
code comes from, printed per sample, with the same overflow-free forms
(sigmoid ``1/(1 + e^-a)`` whose ``e^-a`` may be inf, softplus as
``logaddexp``, log-sum-exp shifted by its largest argument).

``fastmath`` is given only the flags that cannot change a NaN/inf test or a
result by more than rounding: reassociation (so the sums vectorise; each
thread sums its own share, as NumPy's pairwise sum does not), contraction
to fused multiply-add, reciprocals and signed zeros. ``nnan``/``ninf``
(which would let LLVM delete the overflow handling) and ``afn`` (cheaper,
less accurate exp/log) are never set.

The module is written to a file in the cache directory, named by the hash
of its source, and numba caches its machine code next to it
(``cache=True``): a second process loading the same model skips the
compile. Two kernels are compiled, one serial (a batch smaller than
:data:`PARALLEL_FROM` costs less than starting the threads) and one
parallel.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import time
from pathlib import Path

import sympy as sp

from .._version import __version__
from ..core.ops import op_for_function
from ..errors import CompileError
from .helpers import HELPER_SOURCE
from .names import FUNCTION_NAME, safe_text
from .printer import NumPySourcePrinter
from .standalone import _formula_text, argument_lines
from .steps import Steps

__all__ = ["FASTMATH", "WIDE_VECTORS", "available", "PARALLEL_FROM", "FusedPrinter", "cache_dir", "fused_source", "load_fused"]

#: the fastmath flags: none that assumes no NaN/inf or approximates exp/log
FASTMATH = frozenset({"reassoc", "contract", "arcp", "nsz"})

#: the flags of the exp helper: no reassociation (it would undo its rounding and its two-part ln 2)
EXACT = frozenset({"contract", "arcp", "nsz"})

#: batches of at least this many samples run on every core; smaller ones in one thread
PARALLEL_FROM = 2**14

# per-sample (scalar) versions of the helpers the NumPy code calls; same formulas, same overflow handling
_SCALAR_HELPERS = {
    "sigmoid": '''
@_numba.njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _sigmoid(a):
    """1/(1 + e^-a); e^-a is inf for a < -709, where sigmoid(a) is 0 to double precision."""
    return 1.0 / (1.0 + _exp(-a))
''',
    "_exp": '''
@_intrinsic
def _from_bits(typingctx, bits):
    """The float64 whose bits are the int64 ``bits`` (a bit cast, as C's memcpy)."""
    return _types.float64(_types.int64), lambda context, builder, signature, args: builder.bitcast(
        args[0], _ir.DoubleType())


@_intrinsic
def _to_bits(typingctx, value):
    """The int64 whose bits are the float64 ``value``."""
    return _types.int64(_types.float64), lambda context, builder, signature, args: builder.bitcast(
        args[0], _ir.IntType(64))


_ROUND = 6755399441055744.0  # 1.5·2^52: adding it rounds to an integer, which lands in the low bits


@_numba.njit(cache=True, error_model="numpy", fastmath=EXACT)
def _exp(a):
    """e^a = 2^k·e^r, k = round(a/ln 2), r = a - k ln 2 in two parts (Cody-Waite), |r| <= ln2/2;
    e^r by its Chebyshev interpolant of degree 11 on that interval (within 5e-18 relative: two
    multiply-adds fewer than the Taylor polynomial as exact; the coefficients are mpmath's
    chebyfit(exp, [-ln2/2, ln2/2], 12) at 50 digits, rounded), 2^k built in the exponent bits (in two
    halves, so that subnormal results come out right). No library call, no branch: LLVM vectorises it,
    where numba's np.exp is a scalar libm call. a is clamped to [-746, 710] first, where the product
    overflows to inf (above 709.78) and underflows to 0 (below -745.13) with no test of its own; NaN kept.
    Compiled without reassociation, which would cancel the rounding trick and the two-part ln 2."""
    c = min(max(a, -746.0), 710.0)
    shifted = c * 1.4426950408889634 + _ROUND
    k = shifted - _ROUND
    r = (c - k * 0.6931471803691238) - k * 1.9082149292705877e-10
    p = 2.5110037605963777e-08
    p = p * r + 2.763263963904103e-07
    p = p * r + 2.755724091857897e-06
    p = p * r + 2.4801485482328494e-05
    p = p * r + 0.00019841269890047113
    p = p * r + 0.0013888888952314775
    p = p * r + 0.008333333333319601
    p = p * r + 0.0416666666664881
    p = p * r + 0.1666666666666668
    p = p * r + 0.5000000000000019
    p = p * r + 1.0
    p = p * r + 1.0
    ki = _to_bits(shifted) - _to_bits(_ROUND)
    half = ki >> 1
    value = p * _from_bits((half + 1023) << 52) * _from_bits((ki - half + 1023) << 52)
    return a if a != a else value
''',
    "leaky_relu": '''
@_numba.njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _leaky_relu(a):
    return max(a, 0.01 * a)
''',
    "elu": '''
@_numba.njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _elu(a):
    return a if a > 0 else np.expm1(min(a, 0.0))
''',
    "gelu": '''
@_numba.njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _gelu(a):
    return a * (0.5 * (np.tanh(0.7978845608028654 * (a + 0.044715 * (a * a * a))) + 1.0))
''',
    "logsumexp": '''
@_numba.njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _logsumexp(*z):
    """m + log1p(sum of e^(zi - m) over all but one largest zi), m = max zi: as the NumPy helper."""
    top = z[0]
    for zi in z:
        top = max(top, zi)
    shift = top if np.isfinite(top) else 0.0
    rest, skipped = 0.0, False
    for zi in z:
        if zi == top and not skipped:
            skipped = True
        else:
            rest += np.exp(zi - shift)
    return top + np.log1p(rest)
''',
    "_heaviside": '''
@_numba.njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _heaviside(a, at_zero):
    if np.isnan(a):
        return a
    return 0.0 if a < 0 else (1.0 if a > 0 else at_zero)
''',
}

#: an intrinsic each kernel's loop calls: LLVM's own choice for AVX-512 CPUs is 256-bit vectors, and the
#: loops here (an exp's polynomial, the divisions of sigmoids) run 1.5x faster in 512-bit registers
WIDE_VECTORS = '''
@_intrinsic
def _wide_vectors(typingctx):
    """Marks the function whose loop calls it "prefer-vector-width"="512" (clang's -mprefer-vector-width=512),
    so that LLVM vectorises it in 512-bit registers where the CPU has them; elsewhere the mark does nothing.
    llvmlite's attribute set takes flags only, so this key-value attribute is added past its check."""
    def codegen(context, builder, signature, args):
        try:
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        except TypeError:  # an llvmlite whose attribute set is no set: LLVM's own vector width, as before
            pass
        return context.get_dummy_value()
    return _types.none(), codegen
'''

_CONTIGUOUS = '''
def _contiguous(arrays):
    """The data arrays as the kernels take them: C-contiguous (a broadcast scalar or a strided view is copied)."""
    for array in arrays:
        if not array.flags.c_contiguous:
            return [np.ascontiguousarray(a) for a in arrays]
    return arrays
'''

# the NumPy ufuncs the printer may write that numba computes on one float
_UFUNCS = frozenset({"np.exp", "np.log", "np.log1p", "np.expm1", "np.tanh", "np.abs", "np.sign", "np.sqrt",
                     "np.maximum", "np.minimum", "np.logaddexp", "np.sin", "np.cos", "np.power"})


def _private_call(code: str, helpers: set) -> str:
    """``sigmoid(z)`` as ``_sigmoid(z)`` when it calls a helper; ``np.tanh(z)`` and ``_exp(z)`` stay as they are."""
    name = code.split("(", 1)[0]
    return f"_{code}" if name in helpers and not name.startswith("_") else code


def available() -> bool:
    """Whether numba is installed (``pip install symgrad[fast]``), without importing it."""
    return importlib.util.find_spec("numba") is not None


class FusedPrinter(NumPySourcePrinter):
    """Prints one sample's expression for the numba loop; refuses what has no per-sample numba form.

    A per-element helper is defined and called under a private name (``_sigmoid``, not the NumPy code's
    ``sigmoid(a, out=None)``), so that a matrix model's kernels and its NumPy code can share one module.
    """

    def _print_logsumexp(self, expr):
        return _private_call(super()._print_logsumexp(expr), self.helpers)

    def _print_exp(self, expr):
        self.helpers.add("_exp")
        return f"_exp({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        self.helpers.add("_heaviside")
        return f"_heaviside({self._print(expr.args[0])}, {float(at_zero)!r})"

    def _print_OpFunctionBase(self, expr):
        entry = op_for_function(type(expr))
        helpers = [name for name, _ in entry.helpers]
        if any(name not in _SCALAR_HELPERS for name in helpers) or (not helpers and entry.numpy not in _UFUNCS):
            raise CompileError(f"the fused backend has no per-sample form of {entry.name}; "
                               "use backend='numpy'")
        if entry.numpy == "np.exp":
            return self._print_exp(expr)
        if "sigmoid" in helpers:
            self.helpers.add("_exp")
        return _private_call(super()._print_OpFunctionBase(expr), self.helpers)

    def _print_Piecewise(self, expr):
        raise CompileError("the fused backend has no per-sample form of a Piecewise; use backend='numpy'")


def cache_dir() -> Path:
    """Where generated fused modules and numba's machine code for them are kept.

    ``SYMGRAD_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/symgrad`` (``~/.cache/symgrad``).

    >>> cache_dir().name in ("symgrad", os.environ.get("SYMGRAD_CACHE_DIR", "symgrad").rsplit("/", 1)[-1])
    True
    """
    chosen = os.environ.get("SYMGRAD_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "symgrad"


def _loop_scalars(steps: Steps) -> list[str]:
    """The scalars the loop reads: parameters and stages without data, passed to the kernel."""
    statements = steps.forward + steps.backward
    free = set().union(*[e.free_symbols for _, _, e in statements]) if statements else set()
    assigned = {s for kind, s, _ in statements if kind == "assign"}
    return sorted(str(s) for s in free - set(steps.data) - assigned)


def _kernel(name: str, steps: Steps, printer: FusedPrinter, full: list[str], scalars: list[str],
            accumulators: list[str], parallel: bool) -> list[str]:
    read = set().union(*[e.free_symbols for _, _, e in steps.forward + steps.backward])
    options = "cache=True, error_model='numpy', fastmath=FASTMATH" + (", parallel=True" if parallel else "")
    lines = [f"@_numba.njit({options})",
             f"def {name}({', '.join(full + scalars)}):",
             f"    _n = {full[0]}.shape[0]"]
    lines += [f"    {a} = 0.0" for a in accumulators]
    lines.append(f"    for _i in {'_numba.prange' if parallel else 'range'}(_n):")
    lines.append("        _wide_vectors()")
    lines += [f"        {s} = {whole}[_i]" for s, whole in zip(steps.data, full) if s in read]
    for kind, symbol, expr in steps.forward + steps.backward:
        operator = "+=" if kind == "reduce" else "="
        lines.append(f"        {symbol} {operator} {printer.doprint(expr)}")
    lines.append(f"    return {', '.join(accumulators)}{',' if len(accumulators) == 1 else ''}")
    return lines


def fused_source(steps: Steps, reduction: str) -> str:
    """The source of the numba module computing a model's loss and gradients in one loop over the samples.

    Raises CompileError if the model has no data (nothing to loop over) or a part with no per-sample form.
    """
    if steps.output not in steps.arrays or not steps.data:
        raise CompileError("the fused backend loops over samples, and this model's loss does not depend on data; "
                           "use backend='numpy'")
    printer = FusedPrinter()
    full = [steps.names.fresh(f"{s}_data") for s in steps.data]
    scalars = _loop_scalars(steps)
    gradients = [steps.gradient_names[p] for p in steps.wrt]
    others = [a for a in dict.fromkeys(steps.accumulators) if a not in gradients]
    accumulators = ["loss"] + others + gradients
    serial = _kernel("_serial_kernel", steps, printer, full, scalars, accumulators, parallel=False)
    parallel = _kernel("_parallel_kernel", steps, printer, full, scalars, accumulators, parallel=True)
    helpers = sorted(printer.helpers)
    # the statements outside the loop (stages without data, sums after it) are NumPy code, calling the NumPy helpers
    own = ("_batch", "_scalars", "_describe")
    outside = sorted(set(steps.printer.helpers) - set(own))
    for helper in helpers:
        if helper not in _SCALAR_HELPERS:
            raise CompileError(f"the fused backend has no per-sample form of {helper}; use backend='numpy'")
    model = steps.model
    names = [str(s) for s in steps.data + steps.params]
    body = argument_lines(steps, full) + [f"({', '.join(full)},) = _contiguous(({', '.join(full)},))"]
    body += steps.before
    # numba's default thread pool takes one parallel launch at a time: other threads (Dask's) run serially
    body.append("kernel = (_parallel_kernel if n >= PARALLEL_FROM and threading.current_thread() is _MAIN\n"
                "          else _serial_kernel)")
    body.append(f"{', '.join(accumulators)}, = kernel({', '.join(full + scalars)})")
    body += steps.after
    body.append("scale = 1/n" if reduction == "mean" else "scale = 1.0")
    body.append("return float(loss*scale), {")
    body += [f"    {steps.user_name(p)!r}: float({steps.gradient_names[p]}*scale)," for p in steps.wrt]
    body.append("}")
    stages = "\n".join(f"    {safe_text(s)} = {_formula_text(e)}" for s, e in model.stages)
    lines = [f'"""Loss and gradients of {safe_text(model.name or "a model")}, generated by symgrad {__version__} '
             "for numba: one loop over the samples.",
             "", "The model, one stage a line:", "", stages, '"""',
             "import threading", "", "import numpy as np", "import numba as _numba",
             "from llvmlite import ir as _ir", "from numba.core import types as _types",
             "from numba.extending import intrinsic as _intrinsic", "",
             "FASTMATH = {" + ", ".join(map(repr, sorted(FASTMATH))) + "}",
             "EXACT = {" + ", ".join(map(repr, sorted(EXACT))) + "}", f"PARALLEL_FROM = {PARALLEL_FROM}",
             "#: the kernels' first arguments are this many data arrays", f"ARRAYS = {len(full)}",
             "_MAIN = threading.main_thread()"]
    for helper in (*own, *outside):
        lines += ["", HELPER_SOURCE[helper].strip("\n"), ""]
    lines += ["", _CONTIGUOUS.strip("\n"), "", "", WIDE_VECTORS.strip("\n"), ""]
    for helper in sorted(helpers, key=lambda name: name != "_exp"):  # the others call _exp
        lines += ["", _SCALAR_HELPERS[helper].strip("\n"), ""]
    lines += ["", *serial, "", "", *parallel, "", "",
              f"def {FUNCTION_NAME}(*, {', '.join(names)}):",
              f'    """The {reduction} loss over the samples and its gradient."""']
    lines += ["    " + line for line in body]
    return "\n".join(lines) + "\n"


def _module_path(source: str) -> Path:
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    return cache_dir() / f"symgrad_fused_{digest}.py"


def load_fused(source: str):
    """Write the module to the cache directory (once: its name is its hash) and import it; ``(function, seconds)``.

    The seconds are what importing took: numba compiling the kernels, or
    loading their machine code from its cache.
    """
    path = _module_path(source)
    if not path.exists():  # an unchanged file keeps numba's cache valid (it checks the file's time stamp)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(source, encoding="utf-8")
        os.replace(temporary, path)
    name = path.stem
    start = time.perf_counter()
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    _compile_now(module)
    return getattr(module, FUNCTION_NAME), time.perf_counter() - start, module


def _compile_now(module) -> None:
    """Compile (or load from the cache) both kernels for C-contiguous float64 arrays and float scalars."""
    for kernel in (module._serial_kernel, module._parallel_kernel):
        if not kernel.signatures:
            count = kernel.py_func.__code__.co_argcount
            types = ["float64[::1]"] * module.ARRAYS + ["float64"] * (count - module.ARRAYS)
            kernel.compile(f"({', '.join(types)},)")
