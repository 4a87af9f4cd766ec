"""Posterior over the components of a K = 16 Normal mixture: speed of ``posterior_mode`` beside
``log_prob``, and the peak memory of ``posterior_marginal`` beside its ``(N, K)`` output.

    python benchmarks/posterior.py [--n 10000000] [--k 16] [--repeats 5] [--dtype float64]

Targets: ``posterior_mode`` within 1.3x of ``log_prob``'s time; ``posterior_marginal``'s peak
memory at most 1.1x its output.

Times: the best of ``--repeats`` interleaved calls on the same values (kernels compiled or
loaded first), with the share of the CPUs that other processes used meanwhile.  Memory: in a
process of its own (``--memory``), the growth of the high-water mark of the resident set
(``VmHWM``) over the resident set just before the call (values made, kernels loaded), and the
peak of the NumPy allocations traced by ``tracemalloc`` during the call, each divided by the
bytes of the output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def mixture(k, dtype):
    from mixstat.distributions import Categorical, MixtureSameFamily, Normal

    rng = np.random.default_rng(0)
    return MixtureSameFamily(
        Categorical(probs=rng.dirichlet(np.ones(k)).astype(dtype)),
        Normal(rng.normal(size=k).astype(dtype) * 3, rng.uniform(0.5, 2.0, k).astype(dtype)),
    )


def _rss_now():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory(n, k, dtype):
    """One process: peak memory of posterior_marginal over its output (JSON line)."""
    import tracemalloc

    d = mixture(k, dtype)
    x = d.sample((n,), rng=1)
    d.posterior_marginal(x[:100])  # kernels compiled or loaded
    reset = _reset_peak()
    before = _rss_now()
    tracemalloc.start()
    post = d.posterior_marginal(x)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = _peak_rss()
    out = post.logits.nbytes
    return {
        "n": n,
        "k": k,
        "dtype": dtype,
        "output_bytes": out,
        "rss_growth_bytes": peak - before,
        "rss_ratio": round((peak - before) / out, 4),
        "hwm_reset": reset,
        "traced_peak_bytes": traced,
        "traced_ratio": round(traced / out, 4),
    }


def speed(n, k, dtype, repeats):
    sys.path.insert(0, HERE)
    from common import CpuMonitor

    d = mixture(k, dtype)
    x = d.sample((n,), rng=1)
    fns = {"log_prob": d.log_prob, "posterior_mode": d.posterior_mode, "posterior_marginal": d.posterior_marginal}
    for f in fns.values():
        f(x[:1000])  # compiled or loaded
    best = {name: float("inf") for name in fns}
    mon = CpuMonitor()
    for _ in range(repeats):
        for name, f in fns.items():
            t0 = time.perf_counter()
            r = f(x)
            best[name] = min(best[name], time.perf_counter() - t0)
            del r
    busy = mon.other_fraction()
    # the two agree with each other: the mode is the argmax of the log-responsibilities
    lg = d.posterior_marginal(x[:100_000]).logits
    agree = float((d.posterior_mode(x[:100_000]) == np.argmax(lg, -1)).mean())
    return {
        "n": n,
        "k": k,
        "dtype": dtype,
        "seconds": {a: round(b, 4) for a, b in best.items()},
        "ns_per_point": {a: round(b / n * 1e9, 2) for a, b in best.items()},
        "mode_over_log_prob": round(best["posterior_mode"] / best["log_prob"], 3),
        "marginal_over_log_prob": round(best["posterior_marginal"] / best["log_prob"], 3),
        "mode_agrees_with_argmax": agree,
        "other_cpu_share": None if busy is None else round(busy, 3),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    ap.add_argument("--memory", action="store_true", help="only the memory measurement (one process)")
    a = ap.parse_args(argv)
    if a.memory:
        print(json.dumps(memory(a.n, a.k, a.dtype)))
        return
    s = speed(a.n, a.k, a.dtype, a.repeats)
    r = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--memory", "--n", str(a.n), "--k", str(a.k), "--dtype", a.dtype],
        capture_output=True,
        text=True,
        check=True,
    )
    m = json.loads(r.stdout.strip().splitlines()[-1])
    print(json.dumps({"speed": s, "memory": m}))
    sec = s["seconds"]
    print(
        f"N={a.n:.0e} K={a.k} {a.dtype}: log_prob {sec['log_prob']:.3f} s, posterior_mode "
        f"{sec['posterior_mode']:.3f} s ({s['mode_over_log_prob']:.2f}x; target <= 1.3x), "
        f"posterior_marginal {sec['posterior_marginal']:.3f} s ({s['marginal_over_log_prob']:.1f}x)"
    )
    print(
        f"posterior_marginal peak memory / output ({m['output_bytes'] / 2**20:.0f} MiB): "
        f"RSS {m['rss_ratio']:.3f}x, traced NumPy allocations {m['traced_ratio']:.3f}x (target <= 1.1x)"
        + ("" if m["hwm_reset"] else "; VmHWM could not be reset: the RSS figure includes the input")
    )
    if s["other_cpu_share"] is not None and s["other_cpu_share"] > 0.05:
        print(f"note: other processes used {100 * s['other_cpu_share']:.0f}% of the CPUs meanwhile")


if __name__ == "__main__":
    main()
