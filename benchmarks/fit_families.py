"""Benchmarks of ``mixstat.fit_mixture``.

1. Batched: ``B`` independent 1-D Normal fits of ``N`` points, ``K = 3``, in one call, beside a
   loop of scikit-learn ``GaussianMixture`` fits (default options: k-means initialisation,
   ``tol=1e-3``, ``max_iter=100``).  The scikit-learn loop is timed on a subset of the fits and
   scaled to ``B`` (printed as such).  Target: at least 100x.
2. Streaming: a MultivariateNormal fit (``D = 2``, ``K = 3``, full covariances) of ``M`` points
   read from a memory-mapped ``.npy`` file in /tmp, in a child process whose peak RSS is
   reported.  Target: at most 300 MB.

User and system CPU time are reported beside wall time (the machine may be shared: see
``os.getloadavg`` in the output).

    python benchmarks/fit_families.py            # B = 1e4, N = 1e3; M = 1e8
    python benchmarks/fit_families.py --quick    # B = 1e3, N = 1e3; M = 1e7
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np


def _times():
    t = os.times()
    return time.perf_counter(), t.user + t.children_user, t.system + t.children_system


def _delta(t0):
    t1 = _times()
    return {"wall_s": t1[0] - t0[0], "user_s": t1[1] - t0[1], "sys_s": t1[2] - t0[2]}


def _batched_data(B, N, seed=0):
    g = np.random.default_rng(seed)
    loc = np.sort(g.uniform(-6, 6, (B, 3)), axis=1)
    lab = g.integers(0, 3, (B, N))
    x = np.take_along_axis(loc, lab, axis=1) + g.normal(0, 0.7, (B, N))
    return x


def batched(B, N, n_sklearn):
    import mixstat
    from mixstat.distributions import Normal

    x = _batched_data(B, N)
    mixstat.fit_mixture(x[:2, :100], Normal, 3, rng=0)  # compile / load the kernel first
    t0 = _times()
    fit = mixstat.fit_mixture(x, Normal, 3, rng=0)
    ours = _delta(t0)
    out = {
        "B": B,
        "N": N,
        "K": 3,
        "mixstat": ours,
        "mixstat_mean_iter": float(np.mean(fit.n_iter)),
        "mixstat_converged": float(np.mean(fit.converged)),
    }
    try:
        from sklearn.mixture import GaussianMixture
    except ImportError:
        out["sklearn"] = None
        return out
    sub = min(n_sklearn, B)
    t0 = _times()
    iters = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(sub):
            gm = GaussianMixture(3, random_state=b).fit(x[b][:, None])
            iters.append(gm.n_iter_)
    sk = _delta(t0)
    scale = B / sub
    out["sklearn_subset"] = sub
    out["sklearn_subset_times"] = sk
    out["sklearn_scaled"] = {k: v * scale for k, v in sk.items()}
    out["sklearn_mean_iter"] = float(np.mean(iters))
    out["speedup_wall"] = out["sklearn_scaled"]["wall_s"] / ours["wall_s"]
    out["speedup_cpu"] = (out["sklearn_scaled"]["user_s"] + out["sklearn_scaled"]["sys_s"]) / (
        ours["user_s"] + ours["sys_s"]
    )
    return out


def _write_npy(path, M, D=2, seed=1):
    """``M`` points of a 3-component 2-D mixture, written in chunks (bounded memory)."""
    g = np.random.default_rng(seed)
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(M, D))
    centres = np.array([[0.0, 0.0], [4.0, 4.0], [-4.0, 3.0]])
    step = 1 << 22
    for lo in range(0, M, step):
        n = min(step, M - lo)
        lab = g.integers(0, 3, n)
        mm[lo : lo + n] = centres[lab] + g.normal(0, 1, (n, D))
        mm.flush()
    del mm


def _peak_rss_mb():
    """This process's peak resident set size: ``VmHWM`` of /proc/self/status where there is one
    (``ru_maxrss`` after fork + exec also counts the parent's peak at the fork, on Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _stream_child(path, max_iter):
    import mixstat
    from mixstat.distributions import MultivariateNormal

    x = np.load(path, mmap_mode="r")
    mixstat.fit_mixture(np.asarray(x[:1000]), MultivariateNormal, 3, rng=0, max_iter=2)  # compile first
    t0 = _times()
    fit = mixstat.fit_mixture(x, MultivariateNormal, 3, rng=0, max_iter=max_iter)
    d = _delta(t0)
    d["n_iter"] = int(fit.n_iter)
    d["converged"] = bool(fit.converged)
    d["peak_rss_mb"] = _peak_rss_mb()
    d["means"] = np.round(fit.distribution.component_distribution.loc, 3).tolist()
    print(json.dumps(d))


def streaming(M, max_iter, keep):
    path = os.path.join(tempfile.gettempdir(), f"mixstat_fit_stream_{M}.npy")
    if not os.path.exists(path):
        t = time.perf_counter()
        _write_npy(path, M)
        print(f"  wrote {path} ({os.path.getsize(path) / 1e9:.2f} GB) in {time.perf_counter() - t:.1f} s")
    try:
        t0 = _times()
        r = subprocess.run(
            [sys.executable, __file__, "--stream-child", path, "--max-iter", str(max_iter)],
            check=True,
            capture_output=True,
            text=True,
        )
        out = json.loads(r.stdout.strip().splitlines()[-1])
        out["child_total"] = _delta(t0)
        out["M"] = M
        out["file_gb"] = os.path.getsize(path) / 1e9
        return out
    finally:
        if not keep:
            os.remove(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="B = 1e3 batched fits, 1e7 streamed points")
    ap.add_argument("--max-iter", type=int, default=100, help="EM iterations at most in the streaming fit")
    ap.add_argument("--sklearn-subset", type=int, default=200, help="scikit-learn fits actually timed")
    ap.add_argument("--keep", action="store_true", help="keep the .npy file in /tmp")
    ap.add_argument("--skip-stream", action="store_true")
    ap.add_argument("--stream-child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stream_child:
        _stream_child(a.stream_child, a.max_iter)
        return
    B, M = (1000, 10**7) if a.quick else (10**4, 10**8)
    import numba

    print(f"load average {os.getloadavg()}, numba threads {numba.config.NUMBA_NUM_THREADS}, cpus {os.cpu_count()}")
    r = batched(B, 1000, a.sklearn_subset)
    print("batched:", json.dumps(r, indent=1))
    if r.get("speedup_wall"):
        print(
            f"  speedup vs scikit-learn loop (scaled from {r['sklearn_subset']} fits): "
            f"{r['speedup_wall']:.0f}x wall, {r['speedup_cpu']:.0f}x CPU (target >= 100x)"
        )
    if not a.skip_stream:
        s = streaming(M, a.max_iter, a.keep)
        print("streaming:", json.dumps(s, indent=1))
        print(f"  peak RSS {s['peak_rss_mb']:.0f} MB (target <= 300 MB) for a {s['file_gb']:.2f} GB file")


if __name__ == "__main__":
    main()
