"""Every component family's mixture beside the Normal mixture, torch, SciPy and numba-stats, in one process.

    python benchmarks/families.py [--n N] [--k K] [--repeats R] [--only a,b] [--json PATH] [--markdown PATH]

For each univariate family (continuous and discrete) of ``mixstat.kernels.registry`` (float64, 2 threads):

``log_prob``
    a K = 16 mixture at N = 1e7 points: ns per (point, component), the ratio
    to the Normal mixture's in the same run (target <= 2x), and torch's
    ``MixtureSameFamily`` of the same family on the same data (target: torch
    >= 30x slower), where torch has the family.
``sample``
    N draws of the same mixture: ns per draw and the ratio to the Normal
    mixture's (targets <= 3x for transform samplers, <= 6x for rejection
    samplers: Gamma, Beta, StudentT, VonMises).
``single``
    one distribution's log_prob at N points beside numba-stats' ``logpdf``
    (target: numba-stats >= 2x slower) and SciPy's, where they have the family.

Every peer's values are checked against mixstat's (a mismatch aborts the row
and makes the exit status 1) before anything is timed; each figure is the
median of timed repeats after a warm-up call, with the user and system CPU
time of the repeats.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mixstat import distributions as D
from mixstat.kernels import registry

REJECTION = {"gamma", "beta", "studentt", "vonmises", "poisson", "binomial", "negative_binomial"}


def params(name, K, rng):
    """mixstat constructor kwargs, a point generator and the peers' constructors for family ``name``."""
    u = lambda a, b: rng.uniform(a, b, K)  # noqa: E731
    spec = {
        "normal": dict(loc=u(-20, 20), scale=u(0.5, 2)),
        "exponential": dict(rate=u(0.5, 2)),
        "lognormal": dict(loc=u(-1, 1), scale=u(0.3, 1)),
        "halfnormal": dict(scale=u(0.5, 2)),
        "laplace": dict(loc=u(-20, 20), scale=u(0.5, 2)),
        "studentt": dict(df=u(2, 10), loc=u(-20, 20), scale=u(0.5, 2)),
        "cauchy": dict(loc=u(-20, 20), scale=u(0.5, 2)),
        "gumbel": dict(loc=u(-20, 20), scale=u(0.5, 2)),
        "gamma": dict(concentration=u(1, 5), rate=u(0.5, 2)),
        "beta": dict(concentration1=u(1, 5), concentration0=u(1, 5)),
        "uniform": dict(low=u(-20, 0), high=u(1, 20)),
        "weibull": dict(scale=u(0.5, 2), concentration=u(1, 3)),
        "vonmises": dict(loc=u(-3, 3), concentration=u(0.5, 5)),
        # discrete families (issue 11)
        "poisson": dict(rate=u(0.5, 40)),
        "bernoulli": dict(probs=u(0.05, 0.95)),
        "binomial": dict(total_count=np.round(u(5, 50)), probs=u(0.05, 0.95)),
        "negative_binomial": dict(total_count=u(1, 10), probs=u(0.1, 0.9)),
        "geometric": dict(probs=u(0.05, 0.95)),
    }
    return spec.get(name)


CLASS = {
    "normal": "Normal",
    "exponential": "Exponential",
    "lognormal": "LogNormal",
    "halfnormal": "HalfNormal",
    "laplace": "Laplace",
    "studentt": "StudentT",
    "cauchy": "Cauchy",
    "gumbel": "Gumbel",
    "gamma": "Gamma",
    "beta": "Beta",
    "uniform": "Uniform",
    "weibull": "Weibull",
    "vonmises": "VonMises",
    "poisson": "Poisson",
    "bernoulli": "Bernoulli",
    "binomial": "Binomial",
    "negative_binomial": "NegativeBinomial",
    "geometric": "Geometric",
}


def torch_component(name, p):
    try:
        import torch
        import torch.distributions as td
    except ImportError:
        return None
    t = {k: torch.as_tensor(v) for k, v in p.items()}
    td.Distribution.set_default_validate_args(False)  # out-of-support points give -inf, as in mixstat
    make = {
        "normal": lambda: td.Normal(t["loc"], t["scale"]),
        "exponential": lambda: td.Exponential(t["rate"]),
        "lognormal": lambda: td.LogNormal(t["loc"], t["scale"]),
        "halfnormal": lambda: td.HalfNormal(t["scale"]),
        "laplace": lambda: td.Laplace(t["loc"], t["scale"]),
        "studentt": lambda: td.StudentT(t["df"], t["loc"], t["scale"]),
        "cauchy": lambda: td.Cauchy(t["loc"], t["scale"]),
        "gumbel": lambda: td.Gumbel(t["loc"], t["scale"]),
        "gamma": lambda: td.Gamma(t["concentration"], t["rate"]),
        "beta": lambda: td.Beta(t["concentration1"], t["concentration0"]),
        "uniform": lambda: td.Uniform(t["low"], t["high"]),
        "weibull": lambda: td.Weibull(t["scale"], t["concentration"]),
        "vonmises": lambda: td.VonMises(t["loc"], t["concentration"]),
        "poisson": lambda: td.Poisson(t["rate"]),
        "bernoulli": lambda: td.Bernoulli(probs=t["probs"]),
        "binomial": lambda: td.Binomial(t["total_count"], probs=t["probs"]),
        "negative_binomial": lambda: td.NegativeBinomial(t["total_count"], probs=t["probs"]),
        "geometric": lambda: td.Geometric(probs=t["probs"]),
    }.get(name)
    return None if make is None else make()


def numba_stats_logpdf(name, p):
    """``f(x)`` of one distribution (component 0's parameters) with numba-stats, or None."""
    try:
        import numba_stats as ns  # noqa: F401
        from numba_stats import binom, expon, gamma, laplace, lognorm, norm, poisson, t, uniform
    except ImportError:
        return None
    q = {k: float(v[0]) for k, v in p.items()}
    return {
        "normal": lambda x: norm.logpdf(x, q["loc"], q["scale"]),
        "exponential": lambda x: expon.logpdf(x, 0.0, 1.0 / q["rate"]),
        "lognormal": lambda x: lognorm.logpdf(x, q["scale"], 0.0, np.exp(q["loc"])),
        "laplace": lambda x: laplace.logpdf(x, q["loc"], q["scale"]),
        "studentt": lambda x: t.logpdf(x, q["df"], q["loc"], q["scale"]),
        "gamma": lambda x: gamma.logpdf(x, q["concentration"], 0.0, 1.0 / q["rate"]),
        "uniform": lambda x: uniform.logpdf(x, q["low"], q["high"] - q["low"]),
        "poisson": lambda x: poisson.logpmf(x, q["rate"]),
        # numba-stats takes n as an array of the points' length (its fill is timed with it)
        "binomial": lambda x: binom.logpmf(x, np.full_like(x, q["total_count"]), q["probs"]),
    }.get(name)


def timed(fn, repeats):
    fn()  # warm-up: compile or load caches
    times, cpu = [], []
    for _ in range(repeats):
        t0 = os.times()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        t1 = os.times()
        cpu.append((t1.user - t0.user, t1.system - t0.system))
    i = int(np.argsort(times)[len(times) // 2])
    return times[i], cpu[i]


def check(got, want, what, rtol=1e-9):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    ok = np.isclose(got, want, rtol=rtol, atol=rtol, equal_nan=True)
    if not ok.all():
        i = int(np.argmin(ok))
        raise AssertionError(f"{what}: {got.reshape(-1)[i]} vs {want.reshape(-1)[i]} ({(~ok).sum()} differ)")


def run(args):
    rng = np.random.default_rng(7)
    K, N = args.k, args.n
    names = ["normal"] + [f.name for f in registry.FAMILIES if f.univariate and f.name not in ("normal", "categorical")]
    if args.only:
        names = ["normal"] + [n for n in args.only.split(",") if n != "normal"]
    rows = []
    failures = 0
    w = rng.uniform(0.5, 1.5, K)
    base = {}
    for name in names:
        p = params(name, K, rng)
        if p is None or not hasattr(D, CLASS.get(name, "")):
            print(f"{name}: no benchmark parameters or no class; skipped")
            continue
        cls = getattr(D, CLASS[name])
        mix = D.MixtureSameFamily(D.Categorical(probs=w), cls(**p))
        x = np.asarray(mix.sample((N,), rng=1), dtype=np.float64)
        row = {"family": name}
        t, (us, sy) = timed(lambda: mix.log_prob(x), args.repeats)
        row.update(lp_s=t, lp_ns=t / (N * K) * 1e9, lp_user=us, lp_sys=sy)
        t, (us, sy) = timed(lambda: mix.sample((N,), rng=2), args.repeats)
        row.update(sm_s=t, sm_ns=t / N * 1e9, sm_user=us, sm_sys=sy)
        if name == "normal":
            base = row
        row["lp_vs_normal"] = row["lp_ns"] / base["lp_ns"]
        row["sm_vs_normal"] = row["sm_ns"] / base["sm_ns"]
        row["sm_target"] = 6.0 if name in REJECTION else 3.0
        # torch's MixtureSameFamily on the same data
        tc = torch_component(name, p)
        if tc is not None:
            import torch
            import torch.distributions as td

            torch.set_num_threads(os.cpu_count() or 1)
            tm = td.MixtureSameFamily(td.Categorical(probs=torch.as_tensor(w)), tc, validate_args=False)
            xt = torch.as_tensor(x)
            try:
                with torch.no_grad():
                    check(tm.log_prob(xt[:10000]).numpy(), mix.log_prob(x[:10000]), f"{name}: torch log_prob")
                    t, _ = timed(lambda: tm.log_prob(xt), max(1, args.repeats // 2))
                row["torch_lp_s"] = t
                row["torch_ratio"] = t / row["lp_s"]
            except AssertionError as exc:
                print("CROSS-CHECK FAILED", exc)
                failures += 1
        # one distribution beside numba-stats and SciPy
        one = cls(**{k: np.float64(v[0]) for k, v in p.items()})
        x1 = x.copy()
        f = numba_stats_logpdf(name, p)
        t, _ = timed(lambda: one.log_prob(x1), args.repeats)
        row["single_s"] = t
        if f is not None:
            try:
                check(f(x1[:10000]), one.log_prob(x1[:10000]), f"{name}: numba-stats logpdf", rtol=1e-7)
                t, _ = timed(lambda: f(x1), args.repeats)
                row["numba_stats_s"] = t
                row["numba_stats_ratio"] = t / row["single_s"]
            except AssertionError as exc:
                print("CROSS-CHECK FAILED", exc)
                failures += 1
        rows.append(row)
        print(_line(row), flush=True)
    return rows, failures


def _fmt(v, f="{:.2f}"):
    return "—" if v is None else f.format(v)


def _line(r):
    return (
        f"{r['family']:12s} log_prob {r['lp_ns']:.2f} ns/pk ({_fmt(r['lp_vs_normal'])}x Normal; "
        f"torch {_fmt(r.get('torch_ratio'), '{:.1f}')}x slower)  sample {r['sm_ns']:.1f} ns/draw "
        f"({_fmt(r['sm_vs_normal'])}x Normal, target <= {r['sm_target']:.0f}x)  single vs numba-stats "
        f"{_fmt(r.get('numba_stats_ratio'))}x"
    )


def markdown(rows, args):
    out = [
        (
            "| family | log_prob ns/(pt·comp) | vs Normal (≤ 2×) | torch slower by (≥ 30×) | "
            "sample ns/draw | vs Normal (target) | numba-stats slower by (≥ 2×) | user / sys s (log_prob) |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['family']} | {r['lp_ns']:.2f} | {_fmt(r['lp_vs_normal'])} | "
            f"{_fmt(r.get('torch_ratio'), '{:.1f}')} | {r['sm_ns']:.1f} | {_fmt(r['sm_vs_normal'])} "
            f"(≤ {r['sm_target']:.0f}×) | {_fmt(r.get('numba_stats_ratio'))} | "
            f"{r['lp_user']:.2f} / {r['lp_sys']:.2f} |"
        )
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", default=None)
    ap.add_argument("--markdown", default=None)
    args = ap.parse_args(argv)
    rows, failures = run(args)
    meta = dict(
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        machine=platform.processor() or platform.machine(),
        cpus=os.cpu_count(),
        command=" ".join(["python", "benchmarks/families.py"] + (argv or sys.argv[1:])),
        n=args.n,
        k=args.k,
    )
    md = markdown(rows, args)
    print(md)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
