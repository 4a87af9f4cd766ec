"""Draw the figures of the user guide into docs/img/.

Run from anywhere with the project's environment:

    .venv/bin/python docs/make_figures.py

Needs matplotlib (``pip install 'mixstat[demo]'``).  The figures are
deterministic: every draw uses an explicit ``rng`` seed.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import mixstat
from mixstat.distributions import Categorical, MixtureSameFamily, MultivariateNormal, Normal

IMG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "img")


def mixture_1d(path):
    """(a) 0.3 N(-2, 0.5^2) + 0.7 N(2, 1): density over a histogram of samples."""
    w = mixstat.tensor([0.3, 0.7])
    comp = Normal(loc=mixstat.tensor([-2.0, 2.0]), scale=mixstat.tensor([0.5, 1.0]))
    dist = MixtureSameFamily(Categorical(probs=w), comp)

    samples = dist.sample((100_000,), rng=0)
    grid = np.linspace(-5.0, 6.0, 500)

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    ax.hist(
        samples,
        bins=120,
        range=(-5.0, 6.0),
        density=True,
        histtype="stepfilled",
        color="#c6dbef",
        edgecolor="none",
        label="100 000 samples",
    )
    ax.plot(grid, dist.prob(grid), color="#08519c", lw=2, label="dist.prob(x)")
    # component densities weighted by pi_k: log_prob of the component batch at x[:, None]
    parts = np.exp(comp.log_prob(grid[:, None])) * w
    for k, style in enumerate(("--", ":")):
        ax.plot(grid, parts[:, k], style, color="#525252", lw=1.2, label=f"component {k}, weighted by {w[k]:g}")
    ax.set_xlim(-5.0, 6.0)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title("0.3 N(-2, 0.5²) + 0.7 N(2, 1²)")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def mixture_2d(path):
    """(b) three full-covariance 2-D Gaussians: density contours and samples by component."""
    w = mixstat.tensor([0.5, 0.3, 0.2])
    loc = mixstat.tensor([[-2.0, -1.0], [2.0, 0.0], [0.0, 2.5]])
    cov = mixstat.tensor(
        [
            [[1.0, 0.6], [0.6, 0.8]],
            [[0.6, -0.4], [-0.4, 1.2]],
            [[1.5, 0.0], [0.0, 0.2]],
        ]
    )
    dist = MixtureSameFamily(Categorical(probs=w), MultivariateNormal(loc, covariance_matrix=cov))

    x, k = dist.sample((1500,), rng=1, return_index=True)

    gx, gy = np.meshgrid(np.linspace(-5.5, 5.0, 200), np.linspace(-4.0, 5.0, 200))
    grid = np.stack([gx, gy], axis=-1)  # (200, 200, 2): sample_shape (200, 200)
    dens = dist.prob(grid)  # (200, 200)

    fig, ax = plt.subplots(figsize=(6.0, 5.0), dpi=100)
    ax.contour(gx, gy, dens, levels=10, colors="#404040", linewidths=0.8)
    colours = ("#1f77b4", "#d62728", "#2ca02c")
    for j in range(3):
        sel = k == j
        ax.scatter(
            x[sel, 0],
            x[sel, 1],
            s=5,
            alpha=0.6,
            color=colours[j],
            label=f"component {j} (weight {w[j]:g}): {int(sel.sum())} draws",
        )
    ax.set_xlim(-5.5, 5.0)
    ax.set_ylim(-4.0, 5.0)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
    ax.set_title("3-component full-covariance Gaussian mixture")
    ax.legend(frameon=False, fontsize=8, loc="lower right", markerscale=2.5)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def quantile_function(path):
    """The quantile function of a 3-component Normal mixture beside its cdf, with the
    components' own quantile functions (which bracket the mixture's)."""
    w = np.array([0.2, 0.5, 0.3])
    comp = Normal(np.array([-3.0, 0.5, 4.0]), np.array([0.5, 1.0, 1.5]))
    dist = MixtureSameFamily(Categorical(probs=w), comp)
    q = np.linspace(1e-4, 1 - 1e-4, 801)
    x = dist.icdf(q)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(8.0, 3.4), dpi=100)
    grid = np.linspace(-5.5, 9.0, 600)
    a0.plot(grid, dist.cdf(grid), color="#08519c", lw=2)
    a0.set_xlabel("x")
    a0.set_ylabel("dist.cdf(x)")
    a0.set_title("cdf")
    cq = comp.icdf(q[:, None])
    for k in range(3):
        a1.plot(q, cq[:, k], color="#9ecae1", lw=1, ls="--", label="component quantiles" if k == 0 else None)
    a1.plot(q, x, color="#08519c", lw=2, label="dist.icdf(q)")
    a1.set_xlabel("q")
    a1.set_ylabel("x")
    a1.set_ylim(-5.5, 9.0)
    a1.set_title("quantile function")
    a1.legend(loc="upper left", frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def qmc_convergence(path):
    """Root-mean-square error of the mean of n draws (32 seeds each): Monte Carlo against
    scrambled-Sobol quasi-Monte Carlo (``sample(..., method="qmc")``)."""
    w = np.array([0.3, 0.7])
    mu = np.array([-2.0, 2.0])
    sg = np.array([0.5, 1.0])
    dist = MixtureSameFamily(Categorical(probs=w), Normal(mu, sg))
    exact = float(w @ mu)
    ns = 2 ** np.arange(6, 17)
    rm = []
    rq = []
    for n in ns:
        rm.append(np.sqrt(np.mean([(dist.sample((int(n),), rng=s).mean() - exact) ** 2 for s in range(32)])))
        rq.append(
            np.sqrt(np.mean([(dist.sample((int(n),), rng=s, method="qmc").mean() - exact) ** 2 for s in range(32)]))
        )
    fig, ax = plt.subplots(figsize=(5.6, 3.6), dpi=100)
    ax.loglog(ns, rm, "o-", color="#9ecae1", label='method="random" (Monte Carlo)')
    ax.loglog(ns, rq, "s-", color="#08519c", label='method="qmc" (scrambled Sobol)')
    ax.loglog(ns, rm[0] * (ns / ns[0]) ** -0.5, ":", color="gray", lw=1, label="n^-1/2")
    ax.loglog(ns, rq[0] * (ns / ns[0]) ** -1.0, "--", color="gray", lw=1, label="n^-1")
    ax.set_xlabel("n (draws)")
    ax.set_ylabel("RMSE of the mean (32 seeds)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def mdn_loss(path):
    """A mixture density network (1 -> 32 tanh -> 3 K, K = 5) fitted with the torch adapter
    to Bishop's inverse problem (1000 points, 800 full-batch Adam steps): the training NLL per step,
    and the fitted conditional density.
    Skipped (with a message) where torch is not installed."""
    try:
        import torch

        import mixstat.torch as mt
    except ImportError:
        print(f"skipped {path}: torch is not installed (pip install 'mixstat[interop]')")
        return False
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    # y = x + 0.3 sin(2 pi x) + noise, inverted: predict x from y (up to three modes)
    t_ = torch.rand(1000, 1, dtype=torch.float64, generator=g)
    y = t_ + 0.3 * torch.sin(2 * torch.pi * t_) + 0.05 * torch.randn(1000, 1, dtype=torch.float64, generator=g)
    x = t_[:, 0]
    K = 5
    net = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 3 * K)).double()
    opt = torch.optim.Adam(net.parameters(), lr=0.005)

    def heads(inp):
        out = net(inp)
        return out[:, :K], out[:, K : 2 * K], torch.nn.functional.softplus(out[:, 2 * K :]) + 1e-4

    losses = []
    for _ in range(800):
        logits, loc, scale = heads(y)
        loss = -mt.mixture_log_prob(logits, loc, scale, x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot(losses, lw=1)
    a.set_xlabel("Adam step")
    a.set_ylabel("training NLL (nats per point)")
    a.set_title("loss: mixstat.torch.mixture_log_prob", fontsize=9)
    yy = torch.linspace(-0.1, 1.1, 200, dtype=torch.float64)[:, None]
    xx = torch.linspace(-0.05, 1.05, 200, dtype=torch.float64)
    with torch.no_grad():
        logits, loc, scale = heads(yy)
        lp = mt.mixture_log_prob(logits[:, None, :], loc[:, None, :], scale[:, None, :], xx[None, :])
    dens = np.exp(lp.numpy()).T
    b.imshow(
        dens, origin="lower", extent=(-0.1, 1.1, -0.05, 1.05), aspect="auto", cmap="Blues", vmax=np.percentile(dens, 98)
    )
    b.scatter(y[:400, 0], x[:400], s=2, c="k", alpha=0.4)
    b.set_xlabel("input y")
    b.set_ylabel("target x")
    b.set_title("fitted p(x | y) and 400 training points", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def fitted_2d(path):
    """GaussianMixture (full covariances) fitted to the Old Faithful eruptions: the data, the
    fitted components' 1- and 2-sigma ellipses, and the BIC of select_n_components over K.
    Skipped (with a message) where scikit-learn (mixstat[mixture]) is not installed."""
    try:
        from mixstat.mixture import GaussianMixture
    except ImportError:
        print(f"skipped {path}: scikit-learn is not installed (pip install 'mixstat[mixture]')")
        return False
    import mixstat.data

    x = mixstat.data.faithful()
    gm = GaussianMixture(n_components=2, covariance_type="full", random_state=0).fit(x)
    cand = [1, 2, 3, 4, 5, 6]
    _, table = mixstat.select_n_components(x, MultivariateNormal, cand, rng=0, n_init=3)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6))
    labels = gm.predict(x)
    colours = ("#08519c", "#a63603")
    for k in range(gm.n_components):
        a.scatter(*x[labels == k].T, s=6, color=colours[k], alpha=0.5, label=f"component {k} (predict)")
        vals, vecs = np.linalg.eigh(gm.covariances_[k])
        t = np.linspace(0.0, 2.0 * np.pi, 200)
        circle = np.stack([np.cos(t), np.sin(t)])
        for r, ls in ((1.0, "-"), (2.0, "--")):
            e = gm.means_[k][:, None] + vecs @ (r * np.sqrt(vals)[:, None] * circle)
            a.plot(e[0], e[1], ls, color=colours[k], lw=1.4)
        a.plot(*gm.means_[k], "k+", ms=10)
    a.set_xlabel("eruption duration (min)")
    a.set_ylabel("waiting time (min)")
    a.set_title("GaussianMixture(2): 1σ and 2σ ellipses", fontsize=9)
    a.legend(frameon=False, fontsize=7, loc="upper left")
    bic = np.asarray(table["bic"])
    b.plot(cand, bic, "o-", color="#08519c")
    best = cand[int(np.argmin(bic))]
    b.axvline(best, color="gray", ls=":", lw=1)
    b.set_xlabel("n_components")
    b.set_ylabel("BIC (lower is better)")
    b.set_title(f"select_n_components: best K = {best}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main():
    os.makedirs(IMG, exist_ok=True)
    for name, fn in (
        ("mixture_1d.png", mixture_1d),
        ("gmm_2d.png", mixture_2d),
        ("quantile_function.png", quantile_function),
        ("qmc_convergence.png", qmc_convergence),
        ("mdn_loss.png", mdn_loss),
        ("fit_2d.png", fitted_2d),
    ):
        path = os.path.join(IMG, name)
        if fn(path) is not False:
            print(f"wrote {path} ({os.path.getsize(path) // 1024} KiB)")


if __name__ == "__main__":
    main()
