"""The benchmark workloads: their data, their units and mixstat's side of each.

W1  log_prob, 1-D Normal mixture, shared parameters, N points, K = 16
W2  sample, the same mixture, N draws
W3  log_prob, MultivariateNormal components (full covariance), D = 8, K = 16, N points
W4  batched small mixtures (mixture-density-network outputs): batch B, K = 8, one value
    each; building Categorical(logits), Normal(loc, scale) and MixtureSameFamily is timed
    together with log_prob
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Mix1D:
    """A 1-D Normal mixture with shared parameters and its evaluation points."""

    w: np.ndarray  # (K,)
    mu: np.ndarray  # (K,)
    sd: np.ndarray  # (K,)
    x: np.ndarray  # (N,)

    @property
    def K(self):
        return self.w.size

    def astype(self, dtype):
        return Mix1D(*(a.astype(dtype) for a in (self.w, self.mu, self.sd, self.x)))

    def head(self, n):
        return Mix1D(self.w, self.mu, self.sd, self.x[:n])


def mix1d(N, K=16, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(K))
    mu = rng.normal(0, 3, K)
    sd = rng.uniform(0.5, 2.0, K)
    x = np.random.default_rng(seed + 1).normal(0, 4, N)
    return Mix1D(w, mu, sd, x).astype(dtype)


@dataclass
class MixMVN:
    w: np.ndarray  # (K,)
    mu: np.ndarray  # (K, D)
    cov: np.ndarray  # (K, D, D)
    x: np.ndarray  # (N, D)

    @property
    def K(self):
        return self.w.size

    def head(self, n):
        return MixMVN(self.w, self.mu, self.cov, self.x[:n])


def mix_mvn(N, K=16, D=8, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(K))
    mu = rng.normal(0, 2, (K, D))
    A = rng.normal(0, 1, (K, D, D))
    cov = A @ A.transpose(0, 2, 1) / D + 0.3 * np.eye(D)
    x = np.random.default_rng(seed + 1).normal(0, 2.5, (N, D))
    return MixMVN(w, mu, cov, x)


@dataclass
class MDN:
    """Outputs of a mixture density network: one K-component mixture per batch element."""

    logits: np.ndarray  # (B, K)
    loc: np.ndarray  # (B, K)
    scale: np.ndarray  # (B, K)
    v: np.ndarray  # (B,)

    def head(self, n):
        return MDN(self.logits[:n], self.loc[:n], self.scale[:n], self.v[:n])


def mdn(B, K=8, seed=0):
    rng = np.random.default_rng(seed)
    return MDN(
        rng.normal(0, 1.5, (B, K)), rng.normal(0, 2, (B, K)), np.exp(rng.normal(0, 0.4, (B, K))), rng.normal(0, 2.5, B)
    )


# -- mixstat's side --------------------------------------------------------------


def mixstat_mix1d(p: Mix1D):
    from mixstat.distributions import Categorical, MixtureSameFamily, Normal

    return MixtureSameFamily(Categorical(probs=p.w), Normal(p.mu, p.sd))


def mixstat_w1(p: Mix1D):
    d = mixstat_mix1d(p)
    return lambda: d.log_prob(p.x)


def mixstat_w1_out(p: Mix1D):
    """W1 written into one preallocated output (``out=``), reused by every call."""
    d = mixstat_mix1d(p)
    out = np.empty(p.x.shape, dtype=p.x.dtype)
    return lambda: d.log_prob(p.x, out=out)


def mixstat_w2(p: Mix1D, n):
    d = mixstat_mix1d(p)
    seeds = iter(range(1, 1 << 30))
    return lambda: d.sample((n,), rng=next(seeds))


def mixstat_w3(p: MixMVN):
    from mixstat.distributions import Categorical, MixtureSameFamily, MultivariateNormal

    d = MixtureSameFamily(Categorical(probs=p.w), MultivariateNormal(p.mu, covariance_matrix=p.cov))
    return lambda: d.log_prob(p.x)


def mixstat_w4_gufunc(p: MDN, out):
    """W4 through :func:`mixstat.gufuncs.normal_mixture_log_prob` (raw logits), into ``out``."""
    from mixstat.gufuncs import normal_mixture_log_prob

    normal_mixture_log_prob(p.v, p.logits, p.loc, p.scale, out=out)  # built / loaded from the cache
    return lambda: normal_mixture_log_prob(p.v, p.logits, p.loc, p.scale, out=out)


def mixstat_w4(p: MDN, validate_args=None):
    from mixstat.distributions import Categorical, MixtureSameFamily, Normal

    def run():
        d = MixtureSameFamily(
            Categorical(logits=p.logits, validate_args=validate_args),
            Normal(p.loc, p.scale, validate_args=validate_args),
            validate_args=validate_args,
        )
        return d.log_prob(p.v)

    return run
