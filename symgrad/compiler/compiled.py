"""Compiled loss-and-gradient functions: a model's generated NumPy source, loaded as a callable."""
from __future__ import annotations

import inspect
import keyword
import warnings

from . import array_api, arrays, fused
from .loader import load_function
from .names import FUNCTION_NAME
from ..errors import ArgumentError, CompileError
from .standalone import build, resolve

__all__ = ["BACKENDS", "compile", "CompiledGradient", "ArgumentError", "FusedUnavailableWarning"]

#: the code a scalar model compiles to: blocked NumPy, one numba loop, or the loop when numba is there
BACKENDS = ("numpy", "fused", "auto")


class FusedUnavailableWarning(UserWarning):
    """``backend="auto"`` used the NumPy code: numba is not installed, or the model has no per-sample form."""

class CompiledGradient:
    """A model's loss and gradients as one fast NumPy function: ``loss, grads = f(x=..., w=...)``.

    Call it with keyword arguments named like the model's symbols (or one
    dict of them): data as 1-D arrays of one length (scalars are broadcast),
    parameters as scalars. It returns the loss of the batch, reduced as
    ``reduction`` says (the mean by default), and a dict of the gradients of
    that loss, keyed by parameter name. ``source`` is the generated Python
    source; tracebacks show its lines.
    """

    def __init__(self, model, wrt, reduction: str, source: str, identifiers: dict[str, str],
                 function=None, backend: str = "numpy", compile_seconds: float = 0.0):
        self.model = model
        #: names of the parameters the gradients are taken with respect to
        self.wrt: tuple[str, ...] = tuple(str(p) for p in wrt)
        self.inputs: tuple[str, ...] = tuple(str(s) for s in model.inputs)
        self.params: tuple[str, ...] = tuple(str(s) for s in model.params)
        self.reduction = reduction
        #: the generated module's Python source (see :func:`symgrad.codegen`)
        self.source = source
        self._identifiers = identifiers
        self._direct = all(name == identifier for name, identifier in identifiers.items())
        #: ``"numpy"`` (blocked NumPy calls) or ``"fused"`` (one numba loop over the samples)
        self.backend = backend
        #: seconds the first compile took: numba generating machine code, or loading it from the disk cache
        self.compile_seconds = compile_seconds
        self._function = function or load_function(source, FUNCTION_NAME, model.name or 'model')
        #: what the generated code raises for a Dask (or another library's) array
        self._foreign = self._function.__globals__.get("ForeignArray", ())
        self._block = None
        self._summed: CompiledGradient | None = None  # the sum-reduced twin, for chunked data
        self._xp = None  # the array-API function
        self.__signature__ = inspect.Signature(
            [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY)
             for name in self.inputs + self.params
             if name.isidentifier() and not keyword.iskeyword(name)])

    def _arguments(self, values: dict) -> dict:
        unknown = [name for name in values if name not in self._identifiers]
        if unknown:
            raise ArgumentError(
                f"unknown argument {unknown[0]!r}: the model has data "
                f"{', '.join(self.inputs) or '(none)'} and parameters {', '.join(self.params)}")
        missing = [name for name in self._identifiers if name not in values]
        if missing:
            role = "data" if missing[0] in self.inputs else "parameter"
            raise ArgumentError(f"missing argument {missing[0]!r} ({role}); "
                                f"pass all of {', '.join(self._identifiers)}")
        return {self._identifiers[name]: value for name, value in values.items()}

    def __call__(self, values: dict | None = None, /, **kwargs):
        if values is None and self._direct:
            try:
                return self._function(**kwargs)  # the common case: the keywords are the function's own
            except TypeError:
                # a missing or unknown keyword (its error is written below), a Dask or array-API array, or
                # wrong data, which raises its own error again below: no chained traceback either way
                pass
        if values is not None:
            if not isinstance(values, dict):
                raise ArgumentError(f"pass the values as keyword arguments or one dict, not {values!r}")
            values = {str(k): v for k, v in values.items()}
            duplicated = set(values) & set(kwargs)
            if duplicated:
                raise ArgumentError(f"argument {sorted(duplicated)[0]!r} given twice")
            kwargs = {**values, **kwargs}
        try:
            return self._function(**self._arguments(kwargs))
        except self._foreign:
            pass
        return self._other_arrays(kwargs)

    def _other_arrays(self, values: dict):
        """Dask data: summed chunk by chunk (:mod:`.arrays`); array-API data: on their namespace (:mod:`.array_api`)."""
        if not any(arrays.is_dask(values[name]) for name in self.inputs):
            return array_api.array_api_loss_and_grad(self, values)
        if self._summed is None:
            self._summed = compile(self.model, wrt=self.wrt, reduction="sum", block=self._block,
                                   backend=self.backend)
        return arrays.chunked_loss_and_grad(self, self._summed, values)

    def _xp_function(self):
        """The whole-array function on an array-API namespace, generated when first needed."""
        if self._xp is None:
            self._xp = array_api.xp_function(self.model, self.wrt, self.reduction)
        return self._xp

    def __reduce__(self):
        # to a Dask worker in another process: compiled again there (numba's code comes from the disk cache)
        return _rebuild, (self.source, self.model, self.wrt, self.reduction, self._block, self.backend)

    def __repr__(self) -> str:
        name = self.model.name or "model"
        return (f"<CompiledGradient of {name} ({self.backend}): {self.reduction} loss over data "
                f"({', '.join(self.inputs)}), gradients for ({', '.join(self.wrt)})>")


def compile(model_or_expr, wrt=None, inputs=(), reduction: str = "mean",
            block: int | None = None, backend: str = "numpy") -> CompiledGradient:
    """Compile a model's loss and gradients into one vectorised NumPy function.

    ``wrt`` chooses the parameters (all by default); ``inputs`` says which
    symbols of a bare expression are data; ``reduction`` is ``"mean"`` or
    ``"sum"`` over the samples. The code comes from stage-by-stage reverse
    mode, so each stage and each adjoint is computed once and the code grows
    linearly with depth. Long batches run in blocks of ``block`` rows (by
    default as many as keep a block's arrays in the CPU cache), computed in
    place in a few preallocated buffers.

    ``backend="fused"`` compiles the same steps with numba into one loop
    over the samples, on every core (``pip install symgrad[fast]``);
    ``"auto"`` does so when numba is installed and otherwise uses the NumPy
    code with a :class:`FusedUnavailableWarning`.

    >>> import numpy as np
    >>> from symgrad import losses, networks
    >>> f = compile(networks.linear(loss=losses.squared_error))
    >>> x = np.array([1.0, 2.0, 3.0, 4.0])
    >>> f(x=x, y=2*x + 1, w=1.0, b=0.0)
    (13.5, {'b': -7.0, 'w': -20.0})
    >>> f(x=2.0, y=5.0, w=1.0, b=0.0)  # one sample
    (9.0, {'b': -6.0, 'w': -12.0})
    >>> f(x=2.0, y=5.0, w=1.0)
    Traceback (most recent call last):
    ...
    symgrad.errors.ArgumentError: missing argument 'b' (parameter); pass all of x, y, b, w
    """
    if backend not in BACKENDS:
        raise CompileError(f"unknown backend {backend!r} (must be one of {list(BACKENDS)})")
    model, targets = resolve(model_or_expr, wrt, inputs, reduction, block)
    steps, source = build(model, targets, reduction, block)
    identifiers = {str(s): str(steps.real[s]) for s in model.inputs + model.params}
    if backend != "numpy":
        compiled = _fused(model, targets, reduction, identifiers, steps, required=backend == "fused")
        if compiled is not None:
            return compiled
    compiled = CompiledGradient(model, targets, reduction, source, identifiers)
    compiled._block = block
    return compiled


#: functions compiled again after unpickling, by their source: a Dask worker unpickles one per task
_REBUILT: dict[str, CompiledGradient] = {}


def _rebuild(source, model, wrt, reduction, block, backend) -> CompiledGradient:
    function = _REBUILT.get(source)
    if function is None:
        function = _REBUILT[source] = compile(model, wrt=wrt, reduction=reduction, block=block, backend=backend)
    return function


def _fused(model, targets, reduction, identifiers, steps, required: bool) -> CompiledGradient | None:
    """The fused version, or None (with a warning) when ``auto`` cannot have it; ``fused`` raises instead."""
    if not fused.available():
        if required:
            raise CompileError("backend='fused' needs numba: pip install symgrad[fast]")
        warnings.warn("numba is not installed (pip install symgrad[fast]): compiled to NumPy code",
                      FusedUnavailableWarning, stacklevel=3)
        return None
    try:
        source = fused.fused_source(steps, reduction)
        function, seconds, _ = fused.load_fused(source)
    except Exception as error:  # CompileError, or numba failing to type or compile the loop
        if required:
            if isinstance(error, CompileError):
                raise
            raise CompileError(f"numba could not compile the fused loop ({type(error).__name__}: "
                               f"{str(error).splitlines()[0] if str(error) else ''}); use backend='numpy'") from error
        warnings.warn(f"{str(error).splitlines()[0]}: compiled to NumPy code", FusedUnavailableWarning,
                      stacklevel=3)
        return None
    return CompiledGradient(model, targets, reduction, source, identifiers, function=function,
                            backend="fused", compile_seconds=seconds)
