"""Gaussian mixture EM: mixstat.mixture.GaussianMixture beside scikit-learn, in one process.

Rows (float64, both started from the same explicit weights, means and precisions):

* per EM iteration: one E-step and one M-step (mixstat: ``gaussian_estep`` +
  ``gaussian_mstep``; scikit-learn: its estimator's ``_e_step`` + ``_m_step``),
  the median of a few;
* whole fit: ``fit(X)`` with ``max_iter`` fixed and ``tol=0``, wall time and the
  process's user and system time;

for full covariances (N = 1e6, D = 8, K = 16; target 30x scikit-learn per
iteration), diagonal ones (same sizes; 20x) and 1-D data (N = 1e7, K = 8; 30x),
and the peak memory of a fit beyond its input at N = 1e7, D = 2, K = 64 (peak
RSS in a fresh subprocess less the RSS before ``fit``; target 1.2x the input's
bytes).  ``--quick`` divides every N by 10 (memory: by 4).

Beside scikit-learn, pomegranate (1.x, on torch: ``GeneralMixtureModel`` of ``Normal``
components started from the same parameters; one iteration = ``summarize`` +
``from_summaries``, its own streaming EM step), where it is installed; its first
iteration's weights and means are checked against mixstat's before it is timed.

Usage: ``python benchmarks/fit.py [--quick] [--iters 5] [--no-sklearn] [--no-pomegranate]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

CASES = [
    # name, N, D, K, covariance_type, target (x scikit-learn per iteration)
    ("full", 1_000_000, 8, 16, "full", 30.0),
    ("diag", 1_000_000, 8, 16, "diag", 20.0),
    ("1-D", 10_000_000, 1, 8, "full", 30.0),
]


def _data(N, D, K, seed=0):
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.normal(size=(K, D))
    X = rng.normal(size=(N, D))
    X += centres[rng.integers(0, K, N)]
    return X, centres


def _inits(X, centres, ct, seed=1):
    rng = np.random.default_rng(seed)
    K, D = centres.shape
    P = {"full": np.stack([np.eye(D)] * K), "tied": np.eye(D), "diag": np.ones((K, D)), "spherical": np.ones(K)}[ct]
    return dict(weights_init=np.full(K, 1.0 / K), means_init=centres + 0.3 * rng.normal(size=(K, D)), precisions_init=P)


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def _timed(fn):
    u0, s0 = _cpu()
    t0 = time.perf_counter()
    out = fn()
    t = time.perf_counter() - t0
    u1, s1 = _cpu()
    return out, t, u1 - u0, s1 - s0


def _per_iter_mixstat(X, gm, iters):
    ts, cs = [], []
    c = X[:1000].mean(axis=0)  # the centre of tied statistics (unused by the other types)
    for _ in range(iters):
        u0, s0 = _cpu()
        t0 = time.perf_counter()
        _, stats = gm._estep(X, None, c)  # gaussian_estep, one fused pass
        gm._mstep(stats)  # gaussian_mstep
        ts.append(time.perf_counter() - t0)
        u1, s1 = _cpu()
        cs.append(u1 - u0 + s1 - s0)
    return statistics.median(ts), statistics.median(cs)


def _per_iter_sklearn(X, sk, iters):
    ts, cs = [], []
    for _ in range(iters):
        u0, s0 = _cpu()
        t0 = time.perf_counter()
        _, log_resp = sk._e_step(X)
        sk._m_step(X, log_resp)
        ts.append(time.perf_counter() - t0)
        u1, s1 = _cpu()
        cs.append(u1 - u0 + s1 - s0)
    return statistics.median(ts), statistics.median(cs)


def _pomegranate(X, kw, ct, max_iter):
    """pomegranate's GeneralMixtureModel from the same weights, means and precisions (float64
    torch tensors), or None where pomegranate is not installed."""
    try:
        import torch
        from pomegranate.distributions import Normal as PgNormal
        from pomegranate.gmm import GeneralMixtureModel
    except ImportError:
        return None, None
    prec = kw["precisions_init"]
    covs = np.linalg.inv(prec) if ct == "full" else 1.0 / prec
    dists = [
        PgNormal(means=torch.tensor(kw["means_init"][k]), covs=torch.tensor(covs[k]), covariance_type=ct)
        for k in range(len(covs))
    ]
    model = GeneralMixtureModel(dists, priors=torch.tensor(kw["weights_init"]), max_iter=max_iter, tol=0.0)
    return model, torch.from_numpy(X)


def _per_iter_pomegranate(model, Xt, iters):
    ts, cs = [], []
    for _ in range(iters):
        u0, s0 = _cpu()
        t0 = time.perf_counter()
        model.summarize(Xt)
        model.from_summaries()
        ts.append(time.perf_counter() - t0)
        u1, s1 = _cpu()
        cs.append(u1 - u0 + s1 - s0)
    return statistics.median(ts), statistics.median(cs)


def run_case(name, N, D, K, ct, target, iters, fit_iters, with_sklearn, with_pomegranate=True):
    from mixstat.mixture import GaussianMixture

    X, centres = _data(N, D, K)
    kw = dict(n_components=K, covariance_type=ct, tol=0.0, **_inits(X, centres, ct))
    row = {"case": name, "N": N, "D": D, "K": K, "covariance_type": ct, "target": target}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GaussianMixture(max_iter=1, **kw).fit(X[:5000])  # compile / load the kernels
        gm = GaussianMixture(max_iter=1, **kw).fit(X)
        row["mixstat_iter_s"], row["mixstat_iter_cpu_s"] = _per_iter_mixstat(X, gm, iters)
        fitted, t, u, s = _timed(lambda: GaussianMixture(max_iter=fit_iters, **kw).fit(X))
        row.update(
            mixstat_fit_s=t,
            mixstat_fit_user_s=u,
            mixstat_fit_sys_s=s,
            fit_iters=fit_iters,
            mixstat_lower_bound=fitted.lower_bound_,
        )
        if with_sklearn:
            from sklearn.mixture import GaussianMixture as SkGM

            sk = SkGM(max_iter=1, **kw).fit(X)
            row["sklearn_iter_s"], row["sklearn_iter_cpu_s"] = _per_iter_sklearn(X, sk, max(2, iters // 2))
            ref, t, u, s = _timed(lambda: SkGM(max_iter=fit_iters, **kw).fit(X))
            row.update(sklearn_fit_s=t, sklearn_fit_user_s=u, sklearn_fit_sys_s=s, sklearn_lower_bound=ref.lower_bound_)
            row["iter_ratio"] = row["sklearn_iter_s"] / row["mixstat_iter_s"]
            row["iter_cpu_ratio"] = row["sklearn_iter_cpu_s"] / row["mixstat_iter_cpu_s"]
            row["fit_ratio"] = row["sklearn_fit_s"] / row["mixstat_fit_s"]
            row["lower_bound_rel_diff"] = abs(fitted.lower_bound_ - ref.lower_bound_) / abs(ref.lower_bound_)
        if with_pomegranate:
            one, Xt = _pomegranate(X, kw, ct, 1)
            if one is not None:
                # cross-check: one pomegranate iteration against one of mixstat's, same start
                one.summarize(Xt)
                one.from_summaries()
                gm1 = GaussianMixture(max_iter=1, **kw).fit(X)
                pg_w = one.priors.detach().numpy()
                pg_m = np.stack([d.means.detach().numpy() for d in one.distributions])
                if not (
                    np.allclose(pg_w, gm1.weights_, rtol=1e-6) and np.allclose(pg_m, gm1.means_, rtol=1e-6, atol=1e-9)
                ):
                    raise RuntimeError(f"{name}: pomegranate's first iteration differs from mixstat's")
                model, Xt = _pomegranate(X, kw, ct, 1)
                row["pomegranate_iter_s"], row["pomegranate_iter_cpu_s"] = _per_iter_pomegranate(
                    model, Xt, max(2, iters // 2)
                )
                model, Xt = _pomegranate(X, kw, ct, fit_iters)
                _, t, u, s = _timed(lambda: model.fit(Xt))
                row.update(pomegranate_fit_s=t, pomegranate_fit_user_s=u, pomegranate_fit_sys_s=s)
                row["pomegranate_iter_ratio"] = row["pomegranate_iter_s"] / row["mixstat_iter_s"]
                row["pomegranate_fit_ratio"] = row["pomegranate_fit_s"] / row["mixstat_fit_s"]
    return row


_MEM_SCRIPT = r"""
import json, resource, sys, time, warnings
import numpy as np
from mixstat.mixture import GaussianMixture
N, D, K, iters = map(int, sys.argv[1:5])
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()
rng = np.random.default_rng(0)
warnings.simplefilter("ignore")
GaussianMixture(K, init_params="random_from_data", max_iter=2, random_state=0).fit(rng.normal(size=(20000, D)))
X = rng.normal(size=(N, D))
C = 4.0 * rng.normal(size=(K, D))
for a in range(0, N, 1 << 16):  # in place, no N-sized temporaries
    X[a:a + (1 << 16)] += C[rng.integers(0, K, min(N - a, 1 << 16))]
def hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current RSS
    f.write("5")
before = rss()
t0 = time.perf_counter()
gm = GaussianMixture(K, init_params="random_from_data", max_iter=iters, tol=0, random_state=0).fit(X)
t = time.perf_counter() - t0
peak = hwm()
print(json.dumps(dict(N=N, D=D, K=K, input_bytes=X.nbytes, rss_before=before, peak=peak,
                      extra=peak - before, fit_s=t, iters=iters)))
"""


def run_memory(N, D, K, iters):
    p = subprocess.run(
        [sys.executable, "-c", _MEM_SCRIPT, str(N), str(D), str(K), str(iters)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if p.returncode:
        raise RuntimeError(p.stderr)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["ratio"] = r["extra"] / r["input_bytes"]
    return r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N / 10 (memory: N / 4)")
    ap.add_argument("--iters", type=int, default=5, help="EM iterations timed per row (median)")
    ap.add_argument("--fit-iters", type=int, default=10, help="max_iter of the whole-fit rows")
    ap.add_argument("--no-sklearn", action="store_true", help="without scikit-learn")
    ap.add_argument("--no-pomegranate", action="store_true", help="without pomegranate")
    ap.add_argument("--json", help="write the rows here")
    a = ap.parse_args(argv)
    import numba

    print(
        f"# {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), numpy {np.__version__}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    rows = []
    for name, N, D, K, ct, target in CASES:
        n = N // 10 if a.quick else N
        r = run_case(name, n, D, K, ct, target, a.iters, a.fit_iters, not a.no_sklearn, not a.no_pomegranate)
        rows.append(r)
        line = (
            f"{name:5s} N={n:.0e} D={D} K={K}: mixstat {r['mixstat_iter_s'] * 1e3:8.1f} ms/iter "
            f"(CPU {r['mixstat_iter_cpu_s'] * 1e3:.0f} ms), "
            f"fit({a.fit_iters}) {r['mixstat_fit_s']:.2f} s (user {r['mixstat_fit_user_s']:.2f} s, "
            f"sys {r['mixstat_fit_sys_s']:.2f} s)"
        )
        if "sklearn_iter_s" in r:
            ok = "met" if r["iter_ratio"] >= target else "MISSED"
            line += (
                f" | sklearn {r['sklearn_iter_s'] * 1e3:8.1f} ms/iter "
                f"(CPU {r['sklearn_iter_cpu_s'] * 1e3:.0f} ms), "
                f"fit {r['sklearn_fit_s']:.2f} s "
                f"(user {r['sklearn_fit_user_s']:.2f} s, sys {r['sklearn_fit_sys_s']:.2f} s) | "
                f"{r['iter_ratio']:.1f}x per iter (target {target:.0f}x: {ok}; "
                f"CPU time {r['iter_cpu_ratio']:.1f}x), "
                f"{r['fit_ratio']:.1f}x fit; "
                f"lower bounds differ by {r['lower_bound_rel_diff']:.1e}"
            )
        if "pomegranate_iter_s" in r:
            line += (
                f" | pomegranate {r['pomegranate_iter_s'] * 1e3:8.1f} ms/iter "
                f"(CPU {r['pomegranate_iter_cpu_s'] * 1e3:.0f} ms), fit {r['pomegranate_fit_s']:.2f} s "
                f"(user {r['pomegranate_fit_user_s']:.2f} s, sys {r['pomegranate_fit_sys_s']:.2f} s) | "
                f"{r['pomegranate_iter_ratio']:.1f}x per iter, {r['pomegranate_fit_ratio']:.1f}x fit"
            )
        print(line, flush=True)
    mN = 10_000_000 // 4 if a.quick else 10_000_000
    m = run_memory(mN, 2, 64, 3)
    rows.append(dict(case="memory", **m))
    print(
        f"memory N={mN:.0e} D=2 K=64: input {m['input_bytes'] / 2**20:.0f} MiB, peak beyond input "
        f"{m['extra'] / 2**20:.0f} MiB = {m['ratio']:.2f}x the input (target 1.2x: "
        f"{'met' if m['ratio'] <= 1.2 else 'MISSED'}), fit of {m['iters']} iterations {m['fit_s']:.2f} s"
    )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
