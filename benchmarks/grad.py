"""The score of a K = 16 Normal mixture (``mixstat.score``, one ``log_prob_grad`` pass) beside
``log_prob`` in the same run; and the full gradient (value, logits, locs, scales) beside both.

    python benchmarks/grad.py [--n 10000000] [--k 16] [--repeats 5] [--dtype float64]

Target: the score within 1.5x of ``log_prob``'s time.

Times: the best of ``--repeats`` interleaved calls on the same values (kernels compiled or
loaded first), with the share of the CPUs that other processes used meanwhile.  The score is
checked against the responsibility-weighted slopes from ``posterior_marginal`` on a slice.
"""

from __future__ import annotations

import argparse
import json
import os
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


def speed(n, k, dtype, repeats):
    sys.path.insert(0, HERE)
    from common import CpuMonitor

    import mixstat

    d = mixture(k, dtype)
    x = d.sample((n,), rng=1)
    fns = {
        "log_prob": d.log_prob,
        "score": lambda v: mixstat.score(d, v),
        "all_gradients": lambda v: d.log_prob_grad(v, wrt=("value", "logits", "loc", "scale")),
    }
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
    # cross-check on a slice: the score is sum_k r_k(x) * -(x - loc_k) / scale_k**2
    xs = x[:100_000].astype(np.float64)
    c = d.component_distribution
    r = d.posterior_marginal(xs).probs.astype(np.float64)
    ref = (r * -(xs[:, None] - c.loc.astype(np.float64)) / c.scale.astype(np.float64) ** 2).sum(-1)
    err = float(np.max(np.abs(mixstat.score(d, xs) - ref) / (1.0 + np.abs(ref))))
    return {
        "n": n,
        "k": k,
        "dtype": dtype,
        "seconds": {a: round(b, 4) for a, b in best.items()},
        "ns_per_point": {a: round(b / n * 1e9, 2) for a, b in best.items()},
        "score_over_log_prob": round(best["score"] / best["log_prob"], 3),
        "all_over_log_prob": round(best["all_gradients"] / best["log_prob"], 3),
        "score_max_rel_error": err,
        "other_cpu_share": None if busy is None else round(busy, 3),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    a = ap.parse_args(argv)
    s = speed(a.n, a.k, a.dtype, a.repeats)
    print(json.dumps(s))
    sec = s["seconds"]
    print(
        f"N={a.n:.0e} K={a.k} {a.dtype}: log_prob {sec['log_prob']:.3f} s, score {sec['score']:.3f} s "
        f"({s['score_over_log_prob']:.2f}x; target <= 1.5x), value + logits + loc + scale gradients "
        f"{sec['all_gradients']:.3f} s ({s['all_over_log_prob']:.2f}x)"
    )
    if s["other_cpu_share"] is not None and s["other_cpu_share"] > 0.05:
        print(f"note: other processes used {100 * s['other_cpu_share']:.0f}% of the CPUs meanwhile")


if __name__ == "__main__":
    main()
