"""Loss and gradient over a Dask array larger than memory, on a LocalCluster, against the in-memory fused backend.

Run from the repository root (numba, dask and distributed installed:
``pip install symgrad[fast,scale]``):

    python3 benchmarks/bench_scale.py                        # 10^8 samples, chunks of 4*10^6, 2 workers
    python3 benchmarks/bench_scale.py --samples 20000000     # a smaller run

The model is chain(3, sigmoid) with half squared error. Its 10^8 samples of
x and y (1.6 GB) never exist whole: each chunk is generated in the task
that uses it, from its position in the array, and freed when that task has
summed its loss and gradients (Dask fuses "generate the chunk" and "one
compiled call on it" into one task; a tree sum adds the chunks' results).

The data come from a quasi-random sequence computed in one numba loop (the
R2 sequence: sample i has u = frac(0.5 + i·α), x = 6u - 3 and y = frac(0.5 +
i·β), for the plastic number's α = 1/g, β = 1/g²), because generating the
data is not what is measured: NumPy's own generator spends 14–19 ns on a
normal number, two to three times what the loss and gradient of a sample cost on
one core, and a pass over its output measures the generator. That pass is
timed too (``--numpy-samples``, x ~ N(0, 1) and y ~ U(0, 1) from
``dask.array.random``), and so is generating each source's data alone.

Each worker's malloc keeps the memory a chunk freed for the next chunk
(``--malloc keep``: one arena, arrays of up to 32 MiB from the heap, no
trimming; chunks of ``--chunk`` 4·10^6 samples are 32 MB arrays, under that
limit). Dask's own setting (``--malloc dask``: MALLOC_TRIM_THRESHOLD_ = 64
KiB, chosen so that a long-lived worker's memory returns to the system)
hands each freed chunk back to the kernel, and a new chunk's pages are then
faulted in and zeroed again: making a chunk then took 3 ns a sample in a
worker, against 1 ns with its memory kept.

Printed, all measured in the same run: samples per second of the in-memory
fused backend on ``--memory-samples`` samples (all cores, data made before
the timing), of the Dask pass, and the pass as a share of the in-memory
throughput (both on the same cores: ``--workers`` worker processes of one
thread each). The chunked result is first checked against the in-memory one
on the same data.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import distributed  # noqa: E402
import numba  # noqa: E402

import symgrad  # noqa: E402
from symgrad import losses, networks  # noqa: E402

PARAMS = {"b": 0.1, "w1": 0.8, "w2": -1.2, "w3": 1.5}
#: environment of the worker processes for ``--malloc keep``: freed chunks stay in the process for the next one
KEEP_FREED_MEMORY = {"MALLOC_ARENA_MAX": 1, "MALLOC_MMAP_THRESHOLD_": 2**25, "MALLOC_TRIM_THRESHOLD_": 2**30}
ALPHA, BETA = 0.7548776662466927, 0.5698402909980532  # 1/g and 1/g² for the plastic number g (g³ = g + 1)


@numba.njit(error_model="numpy")
def _r2(start, step, scale, shift, out):
    """out[i] = scale·frac(0.5 + (start + i)·step) + shift: one coordinate of the R2 sequence."""
    for i in range(out.shape[0]):
        v = (start + i) * step + 0.5
        out[i] = scale * (v - np.floor(v)) + shift
    return out


def _sequence(step, scale, shift, block_info=None):
    """One chunk of the sequence, from the chunk's position in the whole array."""
    (start, stop), = block_info[None]["array-location"]
    return _r2(start, step, scale, shift, np.empty(stop - start))


def synthetic(samples: int, chunk: int):
    """x and y as Dask arrays whose chunks are computed where they are used (never stored)."""
    chunks = ((chunk,) * (samples // chunk) + ((samples % chunk,) if samples % chunk else ()),)
    made = [da.map_blocks(_sequence, step, scale, shift, chunks=chunks, dtype=float, meta=np.empty(0))
            for step, scale, shift in ((ALPHA, 6.0, -3.0), (BETA, 1.0, 0.0))]
    return tuple(made)


def in_memory(samples: int):
    """The same x and y as NumPy arrays."""
    return (_r2(0, ALPHA, 6.0, -3.0, np.empty(samples)), _r2(0, BETA, 1.0, 0.0, np.empty(samples)))


def numpy_random(samples: int, chunk: int, seed: int):
    """x ~ N(0, 1) and y ~ U(0, 1) from NumPy's generator, chunk by chunk (dask.array.random)."""
    rng = da.random.default_rng(seed)
    return rng.standard_normal(samples, chunks=chunk), rng.random(samples, chunks=chunk)


def best(function, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10**8, help="samples of the Dask array")
    parser.add_argument("--chunk", type=int, default=4 * 10**6, help="samples per chunk")
    parser.add_argument("--memory-samples", type=int, default=10**7, help="samples of the in-memory run")
    parser.add_argument("--numpy-samples", type=int, default=2 * 10**7,
                        help="samples of the pass over NumPy's random numbers (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the LocalCluster")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds (best is kept)")
    parser.add_argument("--malloc", choices=["keep", "dask"], default="keep",
                        help="keep: the workers' malloc keeps freed chunks' memory; dask: Dask's setting, "
                             "which returns it to the system")
    args = parser.parse_args(argv)
    if min(args.samples, args.chunk, args.memory_samples, args.workers, args.rounds) < 1:
        parser.error("sizes, workers and rounds must be positive")
    model = networks.chain(3, loss=losses.half_squared_error)
    fused = symgrad.compile(model, backend="fused")
    print(f"symgrad {symgrad.__version__}, dask {dask.__version__}, distributed {distributed.__version__}, "
          f"numba {numba.__version__}; chain(3, sigmoid), half squared error; best of {args.rounds}; "
          f"workers' malloc: {args.malloc}")

    x, y = in_memory(args.memory_samples)
    fused(x=x, y=y, **PARAMS)
    memory = best(lambda: fused(x=x, y=y, **PARAMS), args.rounds)
    rows = [(f"in memory, fused, {args.memory_samples:.0e} samples, all cores", args.memory_samples, memory)]

    if args.malloc == "keep":
        dask.config.set({f"distributed.nanny.pre-spawn-environ.{name}": value
                         for name, value in KEEP_FREED_MEMORY.items()})
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        check = min(args.samples, args.memory_samples)
        small_x, small_y = synthetic(check, max(1, check // 7))
        chunked, whole = fused(x=small_x, y=small_y, **PARAMS), fused(x=x[:check], y=y[:check], **PARAMS)
        if not (np.isclose(chunked[0], whole[0], rtol=1e-12)
                and all(np.isclose(chunked[1][k], whole[1][k], rtol=1e-10) for k in PARAMS)):
            raise SystemExit(f"chunked {chunked} disagrees with in-memory {whole}")

        big_x, big_y = synthetic(args.samples, args.chunk)
        label = f"Dask, {args.workers} workers, fused, {args.samples:.0e} samples made in chunks of {args.chunk:.0e}"
        rows.append((label, args.samples, best(lambda: fused(x=big_x, y=big_y, **PARAMS), args.rounds)))
        rows.append(("  of which: making the data alone (x.sum(), y.sum())", args.samples,
                     best(lambda: dask.compute(big_x.sum(), big_y.sum()), args.rounds)))
        if args.numpy_samples:
            random_x, random_y = numpy_random(args.numpy_samples, args.chunk, seed=2)
            rows.append((f"the same over NumPy random numbers, {args.numpy_samples:.0e} samples",
                         args.numpy_samples, best(lambda: fused(x=random_x, y=random_y, **PARAMS), args.rounds)))
            rows.append(("  of which: generating them alone", args.numpy_samples,
                         best(lambda: dask.compute(random_x.sum(), random_y.sum()), args.rounds)))

    memory_rate = args.memory_samples / memory
    print(f"\n  {'pass':84s} {'time':>9s} {'samples/s':>12s} {'of memory':>10s}")
    for label, samples, seconds in rows:
        print(f"  {label:84s} {seconds:8.3f}s {samples / seconds:12.3e} {samples / seconds / memory_rate:9.0%}")
    print(f"\n  the Dask pass over {args.samples:.0e} samples runs at "
          f"{args.samples / rows[1][2] / memory_rate:.0%} of the in-memory throughput on the same "
          f"{args.workers} cores (target: at least 50%)")


if __name__ == "__main__":
    main()
