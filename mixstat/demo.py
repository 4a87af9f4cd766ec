"""``make demo``: mixstat on the Old Faithful eruptions (shipped with the package).

The 272 eruptions of ``mixstat.data.faithful()`` (duration and waiting time, minutes):

1. Gaussian mixtures with full covariances fitted by EM for K = 1 .. 6 and the BIC over
   K (``mixstat.select_n_components``), beside scikit-learn's where it is installed;
2. the chosen mixture's density, samples, and the model saved and loaded back
   (``mixstat.save`` / ``mixstat.load``, the file the ``mixstat`` command reads);
3. the durations' marginal under that model, a univariate Normal mixture: density,
   ``cdf`` and quantiles (``icdf``) against the empirical ones;
4. at scale: 10 million draws from the fitted mixture, their log-density and moments
   against the closed forms; timings of fit, ``log_prob`` and ``sample`` beside
   scikit-learn and SciPy where installed;
5. a six-panel figure in ``demo_output/faithful.png``.

Run ``python -m mixstat.demo [--n N] [--out DIR] [--seed S]``.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

KS = (1, 2, 3, 4, 5, 6)


#: the CPU kernels the demo calls (besides the EM kernels of fitting), compiled in two
#: background processes while the first part fits (see :func:`_warm_in_background`)
KERNELS = [
    ("log_prob", "mvn", "float64", 0),
    ("sample", "mvn", "float64", 0),
    ("log_prob", "normal", "float64", 1),
    ("sample", "normal", "float64", 0),
    ("cdf", "normal", "float64", 0),
    ("icdf", "normal", "float64", 0),
]


def _best(fn, repeats=3, budget=1.0):
    """``(result, best time)`` of up to ``repeats`` calls, fewer once ``budget`` seconds are spent."""
    best, out, spent = math.inf, None, 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best, spent = min(best, dt), spent + dt
        if spent > budget:
            break
    return out, best


def _warm_in_background():
    """Compile (or load) :data:`KERNELS` into the disk cache in two spawned processes while this
    one fits; returns a function that waits for them (a failure there only means that this
    process compiles the kernel itself on first use)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from ._warmup import _compile_one

    try:
        ex = ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn"))
        futures = [ex.submit(_compile_one, k) for k in KERNELS]
    except Exception:  # no processes here: compile on first use instead
        return lambda: None

    def wait():
        for f in futures:
            try:
                f.result()
            except Exception:  # see above
                pass
        ex.shutdown()

    return wait


def _import_time():
    import subprocess
    import sys

    probe = (
        "import time, sys; t = time.perf_counter(); import mixstat; "
        "print(time.perf_counter() - t, 'numba' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    t, numba_loaded = res.stdout.split()
    return float(t), numba_loaded == "True"


def _mixture_moments(w, mu, sd):
    mean = float(w @ mu)
    var = float(w @ sd**2 + w @ (mu - mean) ** 2)
    m4 = float(w @ (3 * sd**4 + 6 * sd**2 * (mu - mean) ** 2 + (mu - mean) ** 4))
    return mean, var, m4


def _peers():
    """The peers that are installed: ``{"scikit-learn": module, "SciPy": module}``."""
    out = {}
    try:
        import sklearn.mixture

        out["scikit-learn"] = sklearn.mixture
    except ImportError:
        pass
    try:
        import scipy.stats

        out["SciPy"] = scipy.stats
    except ImportError:  # pragma: no cover - a dependency of mixstat
        pass
    return out


def _scipy_log_prob(mix, x):
    """The mixture's log-density from scipy.stats.multivariate_normal (one logpdf per component)."""
    from scipy import stats
    from scipy.special import logsumexp

    w = mix.mixture_distribution.probs
    comp = mix.component_distribution
    terms = np.stack(
        [
            np.log(w[k]) + stats.multivariate_normal(comp.loc[k], comp.covariance_matrix[k]).logpdf(x)
            for k in range(len(w))
        ],
        axis=-1,
    )
    return logsumexp(terms, axis=-1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mixstat.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="draws for the at-scale part (default 1e7)")
    ap.add_argument("--out", default="demo_output", help="folder for the figure and the saved model")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    t_import, numba_loaded = _import_time()
    wait_for_kernels = _warm_in_background()

    import mixstat
    from mixstat.data import faithful
    from mixstat.distributions import Categorical, MixtureSameFamily, MultivariateNormal, Normal

    x = faithful()
    n_pts = x.shape[0]
    peers = _peers()
    print(
        f"mixstat demo: Old Faithful, {n_pts} eruptions (duration, waiting time in minutes; "
        "Härdle 1991, R's datasets::faithful)"
    )
    print(
        f"  import mixstat {t_import * 1e3:.0f} ms in a fresh process (numba imported: {numba_loaded}); "
        f"peers installed: {', '.join(peers) or 'none'}"
    )

    # 1. BIC over K ------------------------------------------------------------------------
    t = time.perf_counter()
    best, table = mixstat.select_n_components(x, MultivariateNormal, KS, covariance_type="full", rng=0, n_init=3)
    t_select = time.perf_counter() - t
    K = int(best.distribution.mixture_distribution.probs.shape[-1])
    fit = best.distribution
    sk_bic = None
    if "scikit-learn" in peers:
        sk_bic = np.array(
            [
                peers["scikit-learn"].GaussianMixture(k, covariance_type="full", n_init=3, random_state=0).fit(x).bic(x)
                for k in KS
            ]
        )
    print(
        f"\n1. Gaussian mixtures (full covariance) for K = {KS[0]}..{KS[-1]} by EM, 3 starts each "
        f"({t_select:.2f} s, kernels compiled or loaded included)"
    )
    print("     K    log L        BIC" + ("   scikit-learn BIC" if sk_bic is not None else ""))
    for i, k in enumerate(KS):
        extra = f"   {sk_bic[i]:12.2f}" if sk_bic is not None else ""
        mark = "  <- lowest BIC" if k == K else ""
        print(f"    {k:2d} {table['log_likelihood'][i]:10.2f} {table['bic'][i]:10.2f}{extra}{mark}")

    t = time.perf_counter()
    wait_for_kernels()
    t_wait = time.perf_counter() - t
    print(
        f"    (the {len(KERNELS)} density and sampling kernels were compiled or loaded meanwhile in two "
        f"processes; waited {t_wait:.1f} s for them)"
    )

    # 2. the chosen model: density, samples, saved and loaded ----------------------------------
    comp = fit.component_distribution
    w = fit.mixture_distribution.probs
    print(f"\n2. the K = {K} mixture")
    for k in np.argsort(comp.loc[:, 0]):
        sd = np.sqrt(np.diag(comp.covariance_matrix[k]))
        r = comp.covariance_matrix[k][0, 1] / (sd[0] * sd[1])
        print(
            f"    weight {w[k]:.3f}  mean ({comp.loc[k, 0]:.3f}, {comp.loc[k, 1]:.2f})  "
            f"sd ({sd[0]:.3f}, {sd[1]:.2f})  correlation {r:+.3f}"
        )
    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "faithful_model.npz")
    mixstat.save(fit, model_path)
    back = mixstat.load(model_path)
    same = back.log_prob(x).tobytes() == fit.log_prob(x).tobytes()
    print(
        f"    saved to {model_path} ({os.path.getsize(model_path):,} bytes) and loaded back: "
        f"log_prob bit-identical: {same}"
    )
    print(f"    try: mixstat info {model_path};  mixstat sample {model_path} -n 1e6 -o draws.npy --seed 7")
    draws = fit.sample((2000,), rng=args.seed)
    lp_data = float(fit.log_prob(x).mean())
    lp_draws = float(fit.log_prob(draws).mean())
    print(f"    mean log-density: data {lp_data:.3f}, 2000 of the model's draws {lp_draws:.3f}")

    # 3. the durations' marginal, a univariate mixture: cdf and quantiles ---------------------------
    dur = x[:, 0]
    n1 = Normal(comp.loc[:, 0], np.sqrt(comp.covariance_matrix[:, 0, 0]))
    d1 = MixtureSameFamily(Categorical(probs=w), n1)
    qs = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    q_model = np.asarray(d1.icdf(qs))
    q_data = np.quantile(dur, qs)
    print(
        f"\n3. eruption durations: the fitted model's marginal, a {K}-component Normal mixture "
        f"(weights {np.round(d1.mixture_distribution.probs, 3).tolist()}, "
        f"means {np.round(n1.loc, 3).tolist()}, "
        f"sd {np.round(n1.scale, 3).tolist()})"
    )
    print("    quantile   " + "  ".join(f"{q:6.2f}" for q in qs))
    print("    model icdf " + "  ".join(f"{v:6.3f}" for v in q_model))
    print("    data       " + "  ".join(f"{v:6.3f}" for v in q_data))
    print(f"    P(duration <= 3 min): model cdf {float(d1.cdf(3.0)):.4f}, data {float(np.mean(dur <= 3)):.4f}")

    # 4. at scale, and timings ---------------------------------------------------------------------
    import numba

    n = args.n
    d1.log_prob(d1.sample((10,), rng=0))  # first calls (kernels loaded) are not timed
    fit.log_prob(fit.sample((10,), rng=0))
    mw = d1.mixture_distribution.probs
    mmu, msd = n1.loc, n1.scale
    s, t_s = _best(lambda: d1.sample((n,), rng=args.seed))
    lp, t_lp = _best(lambda: d1.log_prob(s))
    mean_cf, var_cf, m4 = _mixture_moments(mw, mmu, msd)
    se_m, se_v = math.sqrt(var_cf / n), math.sqrt((m4 - var_cf**2) / n)
    print(f"\n4. at scale ({numba.get_num_threads()} threads): the durations' mixture, {n:,} draws")
    print(
        f"    sample     {t_s * 1e3:8.1f} ms ({t_s / n * 1e9:.2f} ns/draw);  log_prob {t_lp * 1e3:8.1f} ms "
        f"({t_lp / n / K * 1e9:.2f} ns per point and component)"
    )
    print(
        f"    mean       sample {s.mean():+.6f}  closed form {mean_cf:+.6f}  ({(s.mean() - mean_cf) / se_m:+.2f} s.e.)"
    )
    print(f"    variance   sample {s.var():.6f}  closed form {var_cf:.6f}  ({(s.var() - var_cf) / se_v:+.2f} s.e.)")
    print(
        f"    mean log_prob of the draws {float(lp.mean()):.6f} (a Monte Carlo estimate of -entropy; "
        f"quadrature: {-float(d1.entropy()):.6f})"
    )

    big_n = min(n, 1_000_000)
    big = fit.sample((big_n,), rng=args.seed + 1)
    timings = {}  # (task, library) -> seconds
    _, timings[(f"fit K={K}, 272 points", "mixstat")] = _best(
        lambda: mixstat.fit_mixture(x, MultivariateNormal, K, covariance_type="full", rng=0, tol=1e-3)
    )
    fit_n = min(big_n, 200_000)
    _, timings[(f"fit K={K}, {fit_n:,} points", "mixstat")] = _best(
        lambda: mixstat.fit_mixture(big[:fit_n], MultivariateNormal, K, covariance_type="full", rng=0), 1
    )
    _, timings[(f"log_prob {big_n:,}", "mixstat")] = _best(lambda: fit.log_prob(big))
    _, timings[(f"sample {big_n:,}", "mixstat")] = _best(lambda: fit.sample((big_n,), rng=1))
    if "scikit-learn" in peers:
        GM = peers["scikit-learn"].GaussianMixture
        _, timings[(f"fit K={K}, 272 points", "scikit-learn")] = _best(
            lambda: GM(K, covariance_type="full", random_state=0, tol=1e-3).fit(x)
        )
        gm, timings[(f"fit K={K}, {fit_n:,} points", "scikit-learn")] = _best(
            lambda: GM(K, covariance_type="full", random_state=0).fit(big[:fit_n]), 1
        )
        _, timings[(f"log_prob {big_n:,}", "scikit-learn")] = _best(lambda: gm.score_samples(big))
        _, timings[(f"sample {big_n:,}", "scikit-learn")] = _best(lambda: gm.sample(big_n))
    if "SciPy" in peers:
        ref, timings[(f"log_prob {big_n:,}", "SciPy")] = _best(lambda: _scipy_log_prob(fit, big))
        err = float(np.max(np.abs(fit.log_prob(big) - ref) / np.maximum(np.abs(ref), 1.0)))
    tasks = list(dict.fromkeys(t for t, _ in timings))
    libs = list(dict.fromkeys(lib for _, lib in timings))
    print(f"    timings (best of 3; fits on {fit_n:,} points once), the K = {K} model of part 2:")
    print("    " + f"{'':28s}" + "".join(f"{lib:>14s}" for lib in libs))
    for task in tasks:
        row = "".join(
            f"{timings[(task, lib)] * 1e3:11.1f} ms" if (task, lib) in timings else f"{'-':>14s}" for lib in libs
        )
        print(f"    {task:28s}{row}")
    if "SciPy" in peers:
        print(f"    log_prob vs SciPy's multivariate_normal: max relative difference {err:.1e}")

    # 5. the figure ------------------------------------------------------------------------------
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n  (matplotlib not installed: no figure; pip install 'mixstat[demo]')")
        print(f"\ndone in {time.perf_counter() - t_start:.1f} s")
        return 0
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), dpi=100)
    ax = axes[0, 0]
    gx, gy = np.linspace(1.2, 5.6, 220), np.linspace(38, 100, 220)
    X, Y = np.meshgrid(gx, gy)
    Z = fit.prob(np.stack([X, Y], axis=-1))
    ax.contourf(X, Y, Z, levels=14, cmap="Blues")
    ax.scatter(x[:, 0], x[:, 1], s=9, c="#d94801", lw=0, label=f"{n_pts} eruptions")
    ax.set(
        xlabel="eruption duration (min)",
        ylabel="waiting time (min)",
        title=f"fitted density, K = {K} (full covariance)",
    )
    ax.legend(loc="upper left", frameon=False)
    ax = axes[0, 1]
    ax.plot(KS, table["bic"], "o-", color="#08519c", label="mixstat")
    if sk_bic is not None:
        ax.plot(KS, sk_bic, "x", ms=9, color="#d94801", label="scikit-learn")
    ax.axvline(K, color="0.6", ls=":")
    ax.set(xlabel="K", ylabel="BIC (lower is better)", title="BIC over the number of components")
    ax.legend(frameon=False)
    ax = axes[0, 2]
    ax.scatter(draws[:, 0], draws[:, 1], s=4, c="#6baed6", lw=0, label="2000 draws of the model")
    ax.scatter(x[:, 0], x[:, 1], s=9, c="#d94801", lw=0, label="data")
    ax.set(xlabel="eruption duration (min)", ylabel="waiting time (min)", title="samples beside the data")
    ax.legend(loc="upper left", frameon=False, markerscale=2)
    ax = axes[1, 0]
    g = np.linspace(1.0, 6.0, 500)
    ax.hist(dur, bins=30, density=True, color="#c6dbef", label="durations")
    ax.plot(g, d1.prob(g), color="#08519c", lw=2.5, alpha=0.6, label="the model's marginal")
    for k in range(K):
        ax.plot(
            g,
            mw[k] * np.exp(d1.component_distribution.log_prob(g[:, None])[:, k]),
            "--",
            lw=1.2,
            color=("#d94801", "#238b45", "#6a51a3", "#525252", "#8c6d31", "#ce1256")[k % 6],
            label=f"{mw[k]:.2f} N({mmu[k]:.2f}, {msd[k]:.2f}²)",
        )
    ax.set(xlabel="eruption duration (min)", ylabel="density", title="durations: a univariate mixture (marginal)")
    ax.legend(frameon=False, fontsize=8)
    ax = axes[1, 1]
    pp = (np.arange(1, n_pts + 1) - 0.5) / n_pts
    ax.plot(d1.icdf(pp), np.sort(dur), ".", ms=4, color="#08519c")
    ax.plot([1.2, 5.4], [1.2, 5.4], color="0.5", lw=1)
    ax2 = ax.twinx()
    ax2.plot(g, d1.cdf(g), color="#d94801", lw=1.2)
    ax2.set_ylabel("mixture cdf", color="#d94801")
    ax.set(xlabel="mixture quantile (icdf)", ylabel="data quantile", title="Q-Q plot, and the cdf")
    ax = axes[1, 2]
    yl = np.arange(len(tasks))
    width = 0.8 / max(len(libs), 1)
    colors = {"mixstat": "#08519c", "scikit-learn": "#d94801", "SciPy": "#74c476"}
    for j, lib in enumerate(libs):
        vals = [timings.get((task, lib), np.nan) * 1e3 for task in tasks]
        ax.barh(yl + j * width, vals, height=width, color=colors.get(lib, "0.5"), label=lib)
    ax.set_yticks(yl + width * (len(libs) - 1) / 2, tasks, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set(xlabel="ms (log scale, lower is better)", title=f"timings, {numba.get_num_threads()} threads")
    ax.legend(frameon=False, fontsize=8)
    fig.suptitle("mixstat on Old Faithful: fit, BIC, density, samples, quantiles", fontsize=13)
    fig.tight_layout()
    path = os.path.join(args.out, "faithful.png")
    fig.savefig(path)
    print(f"\n5. figure written to {path}")
    print(f"\ndone in {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
