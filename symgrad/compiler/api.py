"""The public compile and codegen: one entry point for scalar and matrix models alike."""
from __future__ import annotations

import warnings
from pathlib import Path

from .._tools import write_file
from ..core.matrix_model import MatrixModel
from . import compiled, fused, standalone
from .matrix import compile_model, module_source

__all__ = ["compile", "codegen"]


def _matrix_options(wrt, inputs, reduction, block) -> None:
    # a matrix model's compiled batch is always the mean over its rows, for every parameter
    given = [name for name, value, default in (("wrt", wrt, None), ("inputs", inputs, ()),
                                               ("reduction", reduction, "mean"), ("block", block, None))
             if value != default]
    if given:
        raise standalone.CompileError(
            f"{given[0]}= is for scalar models; a matrix model compiles the mean loss over its batch "
            "and the gradients of all its parameters")


def compile(model_or_expr, wrt=None, inputs=(), reduction: str = "mean", block: int | None = None,
            backend: str = "numpy"):
    """Compile a model's loss and gradients into one NumPy function: ``loss, grads = f(**values)``.

    A scalar model or expression gives a :class:`~symgrad.CompiledGradient`
    (data as 1-D arrays of samples; see :func:`symgrad.compiler.compiled.compile`
    for ``wrt``, ``inputs``, ``reduction``, ``block`` and ``backend``: ``"numpy"``,
    ``"fused"`` for one numba loop over the samples, ``"auto"`` for fused when
    numba is installed). A matrix model
    (:func:`symgrad.networks.mlp`, ...) gives a compiled batch whose data are
    matrices with the samples as rows; its ``backend="fused"`` keeps the
    BLAS matrix products and does each layer's bias and activation, and each
    delta's ``⊙ f'`` and bias gradient, in one numba pass.

    >>> from symgrad import networks
    >>> f = compile(networks.mlp([2, 1], loss="squared_error"))   # linear regression, one output
    >>> loss, grads = f(X=[[1.0, 0.0], [0.0, 1.0]], Y=[[1.0], [2.0]], W1=[[1.0, 1.0]], b1=[0.0])
    >>> loss          # residuals (0, -1): ½·(0² + 1²)/2
    0.25
    >>> grads         # residuals·X / 2 and their mean
    {'W1': array([[ 0. , -0.5]]), 'b1': array([-0.5])}
    """
    if isinstance(model_or_expr, MatrixModel):
        _matrix_options(wrt, inputs, reduction, block)
        return compile_model(model_or_expr, fused=_matrix_fused(backend))
    return compiled.compile(model_or_expr, wrt=wrt, inputs=inputs, reduction=reduction, block=block,
                            backend=backend)


def _matrix_fused(backend: str) -> bool:
    """Whether a matrix model gets numba kernels around its BLAS products: as a scalar model gets its loop."""
    if backend not in compiled.BACKENDS:
        raise standalone.CompileError(f"unknown backend {backend!r} (must be one of {list(compiled.BACKENDS)})")
    if backend == "numpy" or fused.available():
        return backend != "numpy"
    if backend == "fused":
        raise standalone.CompileError("backend='fused' needs numba: pip install symgrad[fast]")
    warnings.warn("numba is not installed (pip install symgrad[fast]): compiled to NumPy code",
                  compiled.FusedUnavailableWarning, stacklevel=3)
    return False


def codegen(model_or_expr, path, wrt=None, inputs=(), reduction: str = "mean", backend: str = "numpy") -> Path:
    """Write a standalone Python module with ``loss_and_grad`` for the model; it needs NumPy, not symgrad.

    ``backend="fused"`` writes the function ``compile(..., backend="fused")``
    runs, with its numba code in the module (which then needs numba too);
    ``"auto"`` does so when numba is installed, else writes the NumPy module
    with a :class:`~symgrad.compiler.FusedUnavailableWarning`.

    For a matrix model the module's ``loss_and_grad`` takes the batch and
    the parameters as arrays, by position or by name, in their declared
    shapes (a bias may be 1-D), as the compiled function's source does
    (:attr:`CompiledModel.source`); the fused module holds the numba kernels
    around the matrix products and its docstring lists the arguments.
    """
    if isinstance(model_or_expr, MatrixModel):
        _matrix_options(wrt, inputs, reduction, None)
        return write_file(path, module_source(model_or_expr, fused=_matrix_fused(backend)))
    if backend == "numpy":
        return standalone.codegen(model_or_expr, path, wrt=wrt, inputs=inputs, reduction=reduction)
    function = compiled.compile(model_or_expr, wrt=wrt, inputs=inputs, reduction=reduction, backend=backend)
    return write_file(path, function.source)
