"""Time the compiled loss and gradients of an MLP [784, 128, 10] against hand-written NumPy backprop and PyTorch.

Run from the repository root:

    python3 benchmarks/bench_mlp.py               # batch of 10^4 random samples, float64
    python3 benchmarks/bench_mlp.py --batch 1000 --dtype float32

``symgrad compiled fused`` is ``compile(model, backend="fused")`` (when numba
is installed): the same BLAS products, each layer's bias + activation and
each delta's ``⊙ σ'`` + bias gradient in one numba pass; its compile time (or
the time to load it from numba's disk cache) is printed.

The network is the lectures' classifier: ``softmax(W2 σ(W1 x + b1) + b2)``
with cross-entropy (the mean over the batch). Each contender computes the
loss and the gradients of all four parameters; its result is first checked
against the hand-written NumPy code, then every contender is timed in
interleaved rounds and its best time printed with its ratio to the
hand-written code, all measured in this one run. PyTorch (eager autograd,
CPU, its default threads) runs when it is installed, and is skipped with a
message when it is not.
"""
from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from symgrad import compile as compile_model  # noqa: E402
from symgrad.compiler.fused import available as fused_available  # noqa: E402
from symgrad.networks import mlp  # noqa: E402

SIZES = [784, 128, 10]
TARGET = 1.5  # the compiled code should stay within this factor of the hand-written code


def by_hand(X, Y, W1, b1, W2, b2):
    """Backprop as a person writes it in NumPy: cache the forward pass, then the deltas."""
    n = X.shape[0]
    H1 = 1.0 / (1.0 + np.exp(-(X @ W1.T + b1)))
    Z2 = H1 @ W2.T + b2
    Z2 -= Z2.max(axis=1, keepdims=True)
    log_p = Z2 - np.log(np.exp(Z2).sum(axis=1, keepdims=True))
    P = np.exp(log_p)
    loss = -np.sum(Y * log_p) / n
    D2 = (P - Y) / n
    D1 = (D2 @ W2) * H1 * (1.0 - H1)
    return loss, {"W1": D1.T @ X, "b1": D1.sum(axis=0), "W2": D2.T @ H1, "b2": D2.sum(axis=0)}


def torch_contender(values: dict, dtype: str):
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed: skipped (pip install torch to compare)"
    tdtype = getattr(torch, dtype)
    X, Y = (torch.tensor(values[k], dtype=tdtype) for k in ("X", "Y"))
    params = {k: torch.tensor(values[k], dtype=tdtype, requires_grad=True) for k in ("W1", "b1", "W2", "b2")}

    def run():
        for p in params.values():
            p.grad = None
        H1 = torch.sigmoid(X @ params["W1"].T + params["b1"])
        Z2 = H1 @ params["W2"].T + params["b2"]
        loss = -(Y * torch.log_softmax(Z2, dim=1)).sum() / X.shape[0]
        loss.backward()
        return float(loss.detach()), {k: p.grad.numpy() for k, p in params.items()}

    return run, f"PyTorch {torch.__version__} eager autograd, CPU, {torch.get_num_threads()} threads"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=10_000, help="samples per batch (default 10^4)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (default 7)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    dtype = np.dtype(args.dtype)
    values = {
        "X": rng.random((args.batch, SIZES[0])).astype(dtype),
        "Y": np.eye(SIZES[2], dtype=dtype)[rng.integers(0, SIZES[2], args.batch)],
        "W1": (rng.normal(size=(SIZES[1], SIZES[0])) / np.sqrt(SIZES[0])).astype(dtype),
        "b1": np.zeros(SIZES[1], dtype=dtype),
        "W2": (rng.normal(size=(SIZES[2], SIZES[1])) / np.sqrt(SIZES[1])).astype(dtype),
        "b2": np.zeros(SIZES[2], dtype=dtype),
    }
    model = mlp(SIZES, "sigmoid", output="softmax", loss="cross_entropy", batch=True)
    compiled = compile_model(model)
    contenders = {
        "hand-written NumPy": (lambda: by_hand(**values), "forward cached, deltas by hand"),
        "symgrad compiled": (lambda: compiled(values), "generated from the layer rules"),
    }
    if fused_available():
        fused = compile_model(model, backend="fused")
        contenders["symgrad compiled fused"] = (lambda: fused(values), "numba kernels around the BLAS products")
        print(f"(fused backend compiled or loaded from cache in {fused.compile_seconds:.2f} s)")
    else:
        print("(numba is not installed: the fused backend is skipped; pip install symgrad[fast])")
    run, note = torch_contender(values, args.dtype)
    if run is None:
        print(note)
    else:
        contenders["PyTorch"] = (run, note)

    reference_loss, reference = by_hand(**values)
    tolerance = 1e-10 if dtype == np.float64 else 1e-4
    for name, (function, _) in contenders.items():
        loss, grads = function()
        errors = [abs(loss - reference_loss)] + [
            float(np.max(np.abs(np.asarray(grads[k]) - reference[k]))) / max(1.0, float(np.max(np.abs(reference[k]))))
            for k in reference]
        if max(errors) > tolerance:
            print(f"{name} disagrees with the hand-written gradients (largest error {max(errors):.2e})")
            return 1

    best = {name: float("inf") for name in contenders}
    for _ in range(args.rounds):  # interleaved, so a slow moment of the machine hits everyone
        for name, (function, _) in contenders.items():
            best[name] = min(best[name], min(timeit.repeat(function, number=1, repeat=3)))

    base = best["hand-written NumPy"]
    print(f"MLP {SIZES}, sigmoid hidden layer, softmax + cross-entropy; batch {args.batch} × {SIZES[0]}, "
          f"{args.dtype}; loss + gradients of W1, b1, W2, b2; best of {args.rounds}×3")
    print(f"{'contender':<24}{'time (ms)':>11}{'ratio':>9}   notes")
    for name, (_, note) in contenders.items():
        print(f"{name:<24}{best[name] * 1e3:>11.2f}{best[name] / base:>8.2f}x   {note}")
    ratio = best["symgrad compiled"] / base
    verdict = "within" if ratio <= TARGET else "NOT within"
    print(f"symgrad compiled is {verdict} the {TARGET}x target of hand-written NumPy ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
