"""The public compile and codegen: one entry point for scalar and matrix models alike."""
from __future__ import annotations

from pathlib import Path

from .._tools import write_file
from ..core.matrix_model import MatrixModel
from . import compiled, standalone
from .matrix import CompiledModel, compile_model

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


def compile(model_or_expr, wrt=None, inputs=(), reduction: str = "mean", block: int | None = None):
    """Compile a model's loss and gradients into one NumPy function: ``loss, grads = f(**values)``.

    A scalar model or expression gives a :class:`~symgrad.CompiledGradient`
    (data as 1-D arrays of samples; see :func:`symgrad.compiler.compiled.compile`
    for ``wrt``, ``inputs``, ``reduction`` and ``block``). A matrix model
    (:func:`symgrad.networks.mlp`, ...) gives a compiled batch whose data are
    matrices with the samples as rows.

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
        return compile_model(model_or_expr)
    return compiled.compile(model_or_expr, wrt=wrt, inputs=inputs, reduction=reduction, block=block)


def codegen(model_or_expr, path, wrt=None, inputs=(), reduction: str = "mean") -> Path:
    """Write a standalone Python module (needing only NumPy) with ``loss_and_grad`` for the model.

    For a matrix model the module's ``loss_and_grad`` takes the batch and
    the parameters as keyword arrays (biases 1-D), as the compiled function's
    source does (:attr:`CompiledModel.source`).
    """
    if isinstance(model_or_expr, MatrixModel):
        _matrix_options(wrt, inputs, reduction, None)
        function: CompiledModel = compile_model(model_or_expr)
        return write_file(path, function.source)
    return standalone.codegen(model_or_expr, path, wrt=wrt, inputs=inputs, reduction=reduction)
