"""Compiled gradients over arrays that are not in memory as NumPy's: Dask arrays, summed chunk by chunk.

A model's loss over a batch is a sum (or mean) over its samples, and so is
each gradient: over a Dask array chunked along the sample axis, the
compiled function runs once per chunk with ``reduction="sum"`` (as a Dask
task, where the chunk is), each task returning the vector of its sums
``(loss, grad_1, ..., grad_k)``; the vectors are added in a tree
(:func:`dask.array.sum` with ``split_every``) and the mean divides by the
total number of samples. Each chunk is read once and never held twice; the
graph runs on Dask's scheduler of the moment (threads, or a
``dask.distributed`` cluster).
"""
from __future__ import annotations

import importlib
import math

import numpy as np

from ..errors import ArgumentError

__all__ = ["is_dask", "samples", "chunked_loss_and_grad", "take_batch", "SPLIT_EVERY"]

#: how many chunk results one task of the tree sum adds
SPLIT_EVERY = 16


def is_dask(value) -> bool:
    """Whether ``value`` is a Dask collection (checked without importing Dask).

    >>> is_dask(np.ones(3)), is_dask(2.0)
    (False, False)
    """
    return hasattr(type(value), "__dask_graph__")


def _dask_array():
    """``dask.array``, imported on first use: ``import symgrad`` does not need Dask."""
    try:
        return importlib.import_module("dask.array")
    except ImportError as error:  # pragma: no cover - a Dask array was passed, so Dask is there
        raise ImportError("Dask arrays need dask: pip install symgrad[scale]") from error


def samples(data: dict) -> int | None:
    """The common number of samples of the 1-D data (NumPy, Dask or array-API arrays); ``None`` if all are scalars.

    A clear error for data of two dimensions, of different lengths, empty, or (Dask) of unknown chunk sizes.
    """
    n, first = None, None
    for name, value in data.items():
        shape = tuple(value.shape) if hasattr(value, "shape") and not isinstance(value, np.ndarray) \
            else np.shape(value)
        if len(shape) > 1:
            raise ValueError(f"data {name} must be a 1-D array (one value per sample), "
                             f"not an array of shape {shape}")
        if len(shape) == 1:
            if math.isnan(shape[0]):
                raise ValueError(f"data {name} has chunks of unknown size: call compute_chunk_sizes() first")
            if n is None:
                n, first = shape[0], name
            elif shape[0] != n:
                raise ValueError(f"data {name} has {shape[0]} samples but {first} has {n}")
    if n == 0:
        raise ValueError(f"data {first} is empty: there are no samples")
    return n


def _block_sums(summed, names: tuple, scalars: dict, *blocks) -> np.ndarray:
    """One chunk's loss and gradient sums, as a vector ``(loss, grad_1, ..., grad_k)``."""
    loss, grads = summed(**dict(zip(names, blocks)), **scalars)
    return np.array([[loss, *grads.values()]])


def chunked_loss_and_grad(function, summed, values: dict):
    """``function``'s loss and gradients over Dask data: one task per chunk, then a tree sum.

    ``summed`` is the same model compiled with ``reduction="sum"`` and the
    same backend; ``values`` are the data and parameters by name.
    """
    da = _dask_array()
    data = {name: values[name] for name in function.inputs}
    scalars = {name: values[name] for name in function.params}
    for name, value in scalars.items():
        if is_dask(value):
            raise ArgumentError(f"parameter {name} is a Dask array; parameters are numbers")
    n = samples(data)
    reference = next(value for value in data.values() if is_dask(value))
    chunks = reference.chunks[0]
    per_sample = {name: value for name, value in data.items() if np.ndim(value) == 1 or is_dask(value)}
    constant = {name: value for name, value in data.items() if name not in per_sample}
    # every per-sample array in the same chunks as the first Dask one
    aligned = [value.rechunk((chunks,)) if is_dask(value) else da.from_array(np.asarray(value), chunks=(chunks,))
               for value in per_sample.values()]
    width = 1 + len(function.wrt)
    # one row of sums per chunk: a (chunks × (1 + gradients)) array, added up the rows in a tree
    parts = da.map_blocks(_block_sums, summed, tuple(per_sample), {**scalars, **constant}, *aligned,
                          new_axis=1, chunks=((1,) * len(chunks), (width,)), dtype=float,
                          meta=np.empty((0, 0)))
    total = parts.sum(axis=0, split_every=SPLIT_EVERY).compute()
    scale = 1.0 / n if function.reduction == "mean" else 1.0
    loss, *grads = (float(value * scale) for value in total)
    return loss, dict(zip(function.wrt, grads))


def take_batch(data: dict, index) -> dict:
    """The samples ``index`` (a slice or integer positions) of each array, Dask ones computed to NumPy together.

    A mini-batch is small: it is read from its chunks in one ``dask.compute``
    and then runs on the in-memory code. Integer positions are sorted first
    (a batch's loss and gradient do not depend on the order of its samples,
    and Dask reads sorted positions chunk by chunk).

    >>> take_batch({"x": np.arange(5.0), "y": 2.0}, np.array([3, 1]))
    {'x': array([1., 3.]), 'y': 2.0}
    """
    if not isinstance(index, slice):
        index = np.sort(index)
    batch = {name: value[index] if np.ndim(value) or is_dask(value) else value for name, value in data.items()}
    lazy = [name for name, value in batch.items() if is_dask(value)]
    if lazy:
        computed = importlib.import_module("dask").compute(*[batch[name] for name in lazy])
        batch.update(zip(lazy, computed))
    return batch
