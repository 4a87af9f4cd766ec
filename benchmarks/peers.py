"""The peers mixstat is timed against, each written the way its users would write it.

Every peer is a class whose workload methods take the workload's data and
return a zero-argument callable that does the work and returns its values (as
something ``numpy.asarray`` accepts).  Missing packages make a peer
unavailable; it is then skipped with a message.

* ``scipy``  : NumPy + SciPy, always there (``norm.logpdf`` over an N x K
  matrix + ``logsumexp``; ``multivariate_normal.logpdf`` per component; a
  hand-written NumPy ancestral sampler).
* ``torch``  : ``torch.distributions.MixtureSameFamily`` on the CPU, torch threads
  set to the benchmark's thread count; default ``validate_args`` (on).
* ``numpyro``: ``numpyro.distributions.MixtureSameFamily`` inside ``jax.jit``,
  ``block_until_ready``; float64 through ``jax_enable_x64``.
* ``sklearn``: ``GaussianMixture`` with fixed, already "fitted" parameters,
  ``score_samples``; ``covariance_type='full'`` (a 1 x 1 covariance for W1).
"""

from __future__ import annotations

import importlib.metadata as md

import numpy as np


def _version(dist):
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


class Peer:
    name = ""
    packages = ()  # distributions reported in the versions line

    def __init__(self, threads):
        self.threads = threads
        self.error = None
        try:
            self._setup()
        except Exception as e:  # ImportError, or a broken install
            self.error = f"{type(e).__name__}: {e}"

    @property
    def available(self):
        return self.error is None

    def versions(self):
        return {p: _version(p) for p in self.packages}

    def _setup(self):
        pass


# -- NumPy + SciPy ----------------------------------------------------------------


class Scipy(Peer):
    name = "scipy"
    packages = ("numpy", "scipy")

    def _setup(self):
        import scipy.special
        import scipy.stats  # noqa: F401

    def w1(self, p):
        """The plain SciPy way: an (N, K) matrix of component log-densities, then logsumexp."""
        from scipy import stats
        from scipy.special import logsumexp

        return "scipy norm.logpdf (N×K) + logsumexp", lambda: logsumexp(
            stats.norm.logpdf(p.x[:, None], p.mu, p.sd), b=p.w, axis=1
        )

    def w2(self, p, n):
        """Hand-written NumPy ancestral sampling: choose, then draw from the chosen component."""
        rng = np.random.default_rng(2)
        w = p.w.astype(np.float64)
        w /= w.sum()

        def run():
            idx = rng.choice(len(w), size=n, p=w)
            return p.mu[idx] + p.sd[idx] * rng.standard_normal(n, dtype=p.mu.dtype)

        return "numpy choice + standard_normal", run

    def w3(self, p):
        from scipy.special import logsumexp
        from scipy.stats import multivariate_normal

        def run():
            lp = np.stack([multivariate_normal.logpdf(p.x, p.mu[k], p.cov[k]) for k in range(p.K)])
            return logsumexp(lp, b=p.w[:, None], axis=0)

        return "scipy multivariate_normal.logpdf ×K + logsumexp", run

    def w4(self, p):
        from scipy import stats
        from scipy.special import log_softmax, logsumexp

        def run():
            return logsumexp(log_softmax(p.logits, axis=1) + stats.norm.logpdf(p.v[:, None], p.loc, p.scale), axis=1)

        return "scipy log_softmax + norm.logpdf + logsumexp", run


# -- PyTorch ----------------------------------------------------------------------


class Torch(Peer):
    name = "torch"
    packages = ("torch",)

    def _setup(self):
        import torch

        torch.set_num_threads(self.threads)
        self.torch = torch

    def _mix1d(self, p):
        import torch.distributions as td

        t = self.torch.from_numpy
        return td.MixtureSameFamily(td.Categorical(probs=t(p.w)), td.Normal(t(p.mu), t(p.sd)))

    def w1(self, p):
        d = self._mix1d(p)
        x = self.torch.from_numpy(p.x)
        return "torch MixtureSameFamily", lambda: d.log_prob(x).numpy()

    def w2(self, p, n):
        d = self._mix1d(p)
        self.torch.manual_seed(0)
        return "torch MixtureSameFamily.sample", lambda: d.sample((n,)).numpy()

    def w3(self, p):
        import torch.distributions as td

        t = self.torch.from_numpy
        d = td.MixtureSameFamily(
            td.Categorical(probs=t(p.w)), td.MultivariateNormal(t(p.mu), covariance_matrix=t(p.cov))
        )
        x = t(p.x)
        return "torch MixtureSameFamily(MultivariateNormal)", lambda: d.log_prob(x).numpy()

    def w4(self, p, validate_args=None):
        import torch.distributions as td

        t = self.torch.from_numpy
        logits, loc, scale, v = t(p.logits), t(p.loc), t(p.scale), t(p.v)

        def run():
            d = td.MixtureSameFamily(
                td.Categorical(logits=logits, validate_args=validate_args),
                td.Normal(loc, scale, validate_args=validate_args),
                validate_args=validate_args,
            )
            return d.log_prob(v).numpy()

        label = "torch MixtureSameFamily" + (", validate_args=False" if validate_args is False else "")
        return label, run


# -- JAX + NumPyro ------------------------------------------------------------------


class Numpyro(Peer):
    name = "numpyro"
    packages = ("jax", "jaxlib", "numpyro")

    def _setup(self):
        import jax

        jax.config.update("jax_enable_x64", True)
        import numpyro.distributions as nd

        self.jax, self.nd = jax, nd

    def _put(self, *arrays):
        return [self.jax.device_put(a) for a in arrays]

    def _ready(self, f, *args):
        return lambda: f(*args).block_until_ready()

    def w1(self, p):
        nd = self.nd

        @self.jax.jit
        def f(w, mu, sd, x):
            return nd.MixtureSameFamily(nd.Categorical(probs=w), nd.Normal(mu, sd)).log_prob(x)

        return "numpyro MixtureSameFamily, jax.jit", self._ready(f, *self._put(p.w, p.mu, p.sd, p.x))

    def w2(self, p, n):
        nd, jax = self.nd, self.jax

        @jax.jit
        def f(key, w, mu, sd):
            return nd.MixtureSameFamily(nd.Categorical(probs=w), nd.Normal(mu, sd)).sample(key, (n,))

        return "numpyro MixtureSameFamily.sample, jax.jit", self._ready(
            f, jax.random.PRNGKey(0), *self._put(p.w, p.mu, p.sd)
        )

    def w3(self, p):
        nd = self.nd

        @self.jax.jit
        def f(w, mu, cov, x):
            return nd.MixtureSameFamily(
                nd.Categorical(probs=w), nd.MultivariateNormal(mu, covariance_matrix=cov)
            ).log_prob(x)

        return "numpyro MixtureSameFamily(MultivariateNormal), jax.jit", self._ready(
            f, *self._put(p.w, p.mu, p.cov, p.x)
        )

    def w4(self, p):
        nd = self.nd

        @self.jax.jit
        def f(logits, loc, scale, v):
            return nd.MixtureSameFamily(nd.Categorical(logits=logits), nd.Normal(loc, scale)).log_prob(v)

        return "numpyro MixtureSameFamily, jax.jit", self._ready(f, *self._put(p.logits, p.loc, p.scale, p.v))


# -- scikit-learn -------------------------------------------------------------------


class Sklearn(Peer):
    name = "sklearn"
    packages = ("scikit-learn",)

    def _setup(self):
        from sklearn.mixture import GaussianMixture

        self.GM = GaussianMixture

    def _gm(self, w, mu, cov):
        """A GaussianMixture with the given parameters set as if fitted ('full' covariances)."""
        K, D = mu.shape
        gm = self.GM(n_components=K, covariance_type="full")
        gm.weights_ = w
        gm.means_ = mu
        gm.covariances_ = cov
        L = np.linalg.cholesky(cov)
        # sklearn's precisions_cholesky_: inv(L).T for cov = L L^T
        gm.precisions_cholesky_ = np.linalg.inv(L).transpose(0, 2, 1).copy()
        gm.precisions_ = gm.precisions_cholesky_ @ gm.precisions_cholesky_.transpose(0, 2, 1)
        gm.converged_, gm.n_iter_, gm.lower_bound_ = True, 0, 0.0
        gm.n_features_in_ = D
        return gm

    def w1(self, p):
        gm = self._gm(p.w, p.mu[:, None], (p.sd**2)[:, None, None])
        X = p.x[:, None]
        return "sklearn GaussianMixture.score_samples (1-D, full cov)", lambda: gm.score_samples(X)

    def w3(self, p):
        gm = self._gm(p.w, p.mu, p.cov)
        return "sklearn GaussianMixture.score_samples (full cov)", lambda: gm.score_samples(p.x)


ALL = (Scipy, Torch, Numpyro, Sklearn)
