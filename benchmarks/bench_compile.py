"""Time compiled loss-and-gradient functions against hand-written NumPy, naive lambdify, PyTorch and JAX.

Run from the repository root:

    python3 benchmarks/bench_compile.py            # N = 10^3, 10^5, 10^6
    python3 benchmarks/bench_compile.py --quick    # N = 10^3, 10^5 only

For each model and batch size it prints the best time of one loss+gradient
evaluation (mean loss and its gradient with respect to every parameter) and
its ratio to the hand-written NumPy code, all measured in the same run, in
interleaved rounds. Every contender's result is first checked against the
hand-written one. ``symgrad.compile`` runs with both backends (the fused
one when numba is installed; its compile time, or the time to load it from
the disk cache, is printed). PyTorch (eager, CPU, default threads) and JAX
(jit, CPU, float64, data copied to JAX once outside the timing) run when
installed, in the same interleaved rounds: every timing starts after a
rest (``--pause``, 0.2 s), long enough for the thread pools of the
contender before it to go to sleep: OpenBLAS's threads (the hand-written
code's dot products) spin for about 0.1 s after a call, as PyTorch's and
XLA's do for less, and numba's threads timed against them ran at half
speed. No contender is timed against another's spinning threads. Each
model ends with the fused backend's lead over JAX and PyTorch (their time
over its time, a ratio measured head to head). The "machine limit" row is
the time to read every input once (one BLAS dot product per input array), and for
chain(3) that plus three NumPy ``exp`` over the batch (into a preallocated
array): what NumPy's own kernels need just to touch the data.
"""
from __future__ import annotations

import argparse
import sys
import time
import timeit
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import symgrad  # noqa: E402
from symgrad import losses, networks  # noqa: E402
from symgrad.compiler.compiled import compile as compile_gradient  # noqa: E402
from symgrad.compiler.fused import available as fused_available  # noqa: E402

FEATURES = 16


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# -- hand-written NumPy: forward with cached intermediates, backward by hand ----------------

def mse_by_hand(x, y, w, b):
    n = len(x)
    r = w * x + b - y
    return r @ r / n, {"b": 2 * r.sum() / n, "w": 2 * (r @ x) / n}


def perceptron_by_hand(xs, y, ws):
    n = len(y)
    a = ws[0] * xs[0]
    for w, x in zip(ws[1:], xs[1:]):
        a += w * x
    f = _sigmoid(a)
    r = f - y
    d_a = r * f * (1 - f) * (2 / n)
    return r @ r / n, [d_a @ x for x in xs]


def chain3_by_hand(x, y, b, w1, w2, w3):
    n = len(x)
    f1 = _sigmoid(w1 * x + b)
    f2 = _sigmoid(w2 * f1)
    f3 = _sigmoid(w3 * f2)
    r = f3 - y
    d_a3 = r * f3 * (1 - f3)
    d_a2 = d_a3 * w3 * f2 * (1 - f2)
    d_a1 = d_a2 * w2 * f1 * (1 - f1)
    grads = {"b": d_a1.sum() / n, "w1": d_a1 @ x / n, "w2": d_a2 @ f1 / n, "w3": d_a3 @ f2 / n}
    return 0.5 * (r @ r) / n, grads


# -- the machine's limit: read the inputs once (and, for chain(3), three exponentials) -------

def machine_limit(kind, data):
    arrays = list(data.values())
    if kind != "chain3":
        return lambda: [a @ a for a in arrays]  # BLAS ddot: the fastest way NumPy reads an array
    out = np.empty_like(data["x"])

    def three_exps():
        np.exp(data["x"], out=out)
        np.exp(data["x"], out=out)
        np.exp(data["x"], out=out)
        return [a @ a for a in arrays]

    return three_exps


# -- naive: sympy.diff of the closed form, lambdify without CSE ---------------------------------

def naive(model):
    closed = model.closed_form()
    params = list(model.params)
    exprs = [closed] + [sp.diff(closed, p) for p in params]
    args = list(model.inputs) + params
    function = sp.lambdify(args, exprs, modules=[{"sigmoid": _sigmoid}, "numpy"], cse=False)
    names = [str(p) for p in params]

    def evaluate(**values):
        out = function(*[values[str(a)] for a in args])
        return float(np.mean(out[0])), {k: float(np.mean(g)) for k, g in zip(names, out[1:])}

    return evaluate


# -- PyTorch and JAX, when installed ------------------------------------------------------------

def torch_version(kind):
    try:
        import torch
    except ImportError:
        return None

    def run(data, params):
        t = {k: torch.from_numpy(v) for k, v in data.items()}  # no copy
        p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
        if kind == "mse":
            r = p["w"] * t["x"] + p["b"] - t["y"]
            loss = (r * r).mean()
        elif kind == "perceptron":
            a = sum(p[f"w{k}"] * t[f"x{k}"] for k in range(1, FEATURES + 1))
            loss = ((torch.sigmoid(a) - t["y"]) ** 2).mean()
        else:
            f = torch.sigmoid(p["w1"] * t["x"] + p["b"])
            f = torch.sigmoid(p["w3"] * torch.sigmoid(p["w2"] * f))
            loss = 0.5 * ((f - t["y"]) ** 2).mean()
        loss.backward()
        return float(loss.detach()), {k: float(v.grad) for k, v in p.items()}

    return run


def jax_version(kind):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def loss(params, data):
        if kind == "mse":
            r = params["w"] * data["x"] + params["b"] - data["y"]
            return jnp.mean(r * r)
        if kind == "perceptron":
            a = sum(params[f"w{k}"] * data[f"x{k}"] for k in range(1, FEATURES + 1))
            return jnp.mean((jax.nn.sigmoid(a) - data["y"]) ** 2)
        f = jax.nn.sigmoid(params["w1"] * data["x"] + params["b"])
        f = jax.nn.sigmoid(params["w3"] * jax.nn.sigmoid(params["w2"] * f))
        return 0.5 * jnp.mean((f - data["y"]) ** 2)

    compiled = jax.jit(jax.value_and_grad(loss))
    on_device = {}

    def run(data, params):
        if id(data) not in on_device:  # copy the data to JAX once, outside the timing
            on_device.clear()
            on_device[id(data)] = {k: jnp.asarray(v) for k, v in data.items()}
        value, grads = compiled(params, on_device[id(data)])
        value.block_until_ready()
        return float(value), {k: float(v) for k, v in grads.items()}

    return run


# -- the cases ------------------------------------------------------------------------------------

def cases(n, rng):
    x = rng.normal(size=n)
    yield ("MSE of w*x + b", "mse", networks.linear(loss=losses.squared_error),
           {"x": x, "y": 3 * x + 1 + rng.normal(size=n)}, {"w": 0.5, "b": -0.2},
           lambda d, p: mse_by_hand(d["x"], d["y"], p["w"], p["b"]))
    xs = {f"x{k}": rng.normal(size=n) for k in range(1, FEATURES + 1)}
    ws = {f"w{k}": rng.normal() / 4 for k in range(1, FEATURES + 1)}

    def perceptron(d, p):
        keys = range(1, FEATURES + 1)
        value, grads = perceptron_by_hand([d[f"x{k}"] for k in keys], d["y"], [p[f"w{k}"] for k in keys])
        return value, {f"w{k}": g for k, g in zip(keys, grads)}

    yield (f"sigmoid perceptron, {FEATURES} features", "perceptron",
           networks.perceptron(FEATURES, loss=losses.squared_error),
           {**xs, "y": (rng.random(n) < 0.5).astype(float)}, ws, perceptron)
    yield ("chain(3, sigmoid), half squared error", "chain3",
           networks.chain(3, loss=losses.half_squared_error),
           {"x": x, "y": rng.random(n)}, {"b": 0.1, "w1": 0.8, "w2": -1.2, "w3": 1.5},
           lambda d, p: chain3_by_hand(d["x"], d["y"], **p))


def best_times(functions, n, rounds, pause) -> list[float]:
    """Best time per call of each function, measured in interleaved rounds.

    Interleaving gives every contender the same share of a noisy machine's
    good and bad moments; the pause before each timing lets the thread
    pools of the contender before it stop spinning.
    """
    number = max(1, int(2e5 // n))
    best = [float("inf")] * len(functions)
    for _ in range(rounds):
        for i, function in enumerate(functions):
            time.sleep(pause)
            best[i] = min(best[i], timeit.timeit(function, number=number) / number)
    return best


def check(name, result, reference):
    value, grads = result
    ref_value, ref_grads = reference
    ok = np.isclose(value, ref_value, rtol=1e-9) and all(
        np.isclose(grads[k], ref_grads[k], rtol=1e-7, atol=1e-12) for k in ref_grads)
    if not ok:
        raise SystemExit(f"{name} disagrees with the hand-written code: {result} vs {reference}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip N = 10^6")
    parser.add_argument("--sizes", type=int, nargs="*", help="batch sizes (default 10^3 10^5 10^6)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds (best is kept)")
    parser.add_argument("--pause", type=float, default=0.2,
                        help="seconds of rest before each timing, for the last contender's threads to sleep")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([10**3, 10**5] if args.quick else [10**3, 10**5, 10**6])
    rng = np.random.default_rng(0)
    print(f"symgrad {symgrad.__version__}, NumPy {np.__version__}, SymPy {sp.__version__}; "
          f"best of {args.rounds} interleaved rounds, time per loss+gradient evaluation; "
          "ratio = time / hand-written NumPy time")
    extras = [("PyTorch CPU", torch_version), ("JAX", jax_version)]
    for label, make in extras:
        if make("mse") is None:
            print(f"({label} is not installed: skipped)")
    if not fused_available():
        print("(numba is not installed: the fused backend is skipped; pip install symgrad[fast])")
    for n in sizes:
        print(f"\nN = {n:,}")
        print(f"  {'model':40s} {'contender':24s} {'time':>12s} {'ratio':>7s}")
        for title, kind, model, data, params, by_hand in cases(n, rng):
            reference = by_hand(data, params)
            compiled = compile_gradient(model)
            contenders = [("hand-written NumPy", lambda: by_hand(data, params)),
                          ("symgrad.compile", lambda: compiled(**data, **params))]
            if fused_available():
                fused = compile_gradient(model, backend="fused")
                if n == sizes[0]:
                    print(f"  ({title}: fused backend compiled or loaded from cache in {fused.compile_seconds:.2f} s)")
                contenders.append(("symgrad.compile fused", lambda fused=fused: fused(**data, **params)))
            naive_function = naive(model)
            contenders.append(("naive diff + lambdify", lambda: naive_function(**data, **params)))
            for label, make in extras:
                run = make(kind)
                if run is not None:
                    run(data, params)  # warm up (JIT)
                    contenders.append((label, lambda run=run: run(data, params)))
            for label, function in contenders:
                check(f"{label} ({title}, N={n})", function(), reference)
            contenders.append(("machine limit", machine_limit(kind, data)))
            times = best_times([function for _, function in contenders], n, args.rounds, args.pause)
            for (label, _), seconds in zip(contenders, times):
                print(f"  {title:40s} {label:24s} {seconds * 1e6:10.1f}µs {seconds / times[0]:6.2f}x")
            timing = dict((label, seconds) for (label, _), seconds in zip(contenders, times))
            fused_time = timing.get("symgrad.compile fused")
            if fused_time:
                print(f"  {'':40s} {'fused / machine limit':24s} {fused_time / timing['machine limit']:18.2f}x")
                for label, _ in extras:
                    if label in timing:
                        print(f"  {'':40s} {'lead over ' + label:24s} {timing[label] / fused_time:18.2f}x")

if __name__ == "__main__":
    main()
