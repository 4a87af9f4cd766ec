"""Peak resident memory of W1 (mixture log_prob) in a process of its own.

    python benchmarks/memory.py --n 100000000 --k 64 [--dtype float64]

prints one JSON line: the peak RSS of the process, its RSS before the input
was made (interpreter, NumPy, numba and the loaded kernel), and the bytes of
input plus output.  ``measure()`` runs it in a subprocess for compare.py.

The peak is ``VmHWM`` from ``/proc/self/status`` (the high-water mark of this
process's own address space).  ``resource.getrusage(...).ru_maxrss`` is
reported too, but on Linux it carries over the parent's RSS at the fork, so
when a large parent (compare.py, with torch and JAX and its data loaded)
starts this, ``ru_maxrss`` is the parent's size, not this run's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _rss_now():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss():
    """``VmHWM`` in bytes, or ``ru_maxrss`` where there is no /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _run(n, k, dtype):
    import numpy as np

    sys.path.insert(0, HERE)
    from workloads import mix1d, mixstat_mix1d

    p = mix1d(1000, K=k, dtype=dtype)
    d = mixstat_mix1d(p)
    d.log_prob(p.x)  # kernel compiled or loaded from the cache
    base = _rss_now()
    x = np.empty(n, dtype=dtype)  # input, filled in place: no temporaries
    rng = np.random.default_rng(1)
    step = 1 << 20
    for i in range(0, n, step):
        x[i : i + step] = rng.normal(0, 4, min(step, n - i))
    t = time.perf_counter()
    out = d.log_prob(x)
    elapsed = time.perf_counter() - t
    peak = _peak_rss()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {
        "n": n,
        "k": k,
        "dtype": str(np.dtype(dtype)),
        "peak_rss": peak,
        "ru_maxrss": maxrss,
        "base_rss": base,
        "in_out_bytes": x.nbytes + out.nbytes,
        "time_s": elapsed,
        "finite": bool(np.isfinite(out[:: max(1, n // 1000)]).all()),
    }


def measure(n, k, dtype="float64", timeout=1800):
    """Run this file in a fresh interpreter and return its JSON result."""
    r = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--n", str(n), "--k", str(k), "--dtype", dtype],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if r.returncode != 0:
        raise RuntimeError(f"memory run failed (exit {r.returncode}): {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**8)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--dtype", default="float64")
    a = ap.parse_args(argv)
    print(json.dumps(_run(a.n, a.k, a.dtype)))


if __name__ == "__main__":
    main()
