"""Dirichlet: the test reference (scipy.stats.dirichlet) and the registry examples.

A vector family: the examples are added here directly (``registry.add_family`` is
for univariate families): the family alone (several batch shapes and D, a size-1
batch dim, float32) and as a ``MixtureSameFamily`` component (batched and shared
weights, a zero weight, K = 1, float32).  Concentrations from 0.6 to 4: a row
with one below 1 has an unbounded density (the running-maximum path of the CPU
loop), and rows with all of them >= 1 take the bound-scaled path; tiny and huge
concentrations are in ``tests/test_family_dirichlet.py``.
"""

import numpy as np
import reference as R
import registry as reg
from scipy import special, stats

from mixstat.distributions import Categorical, Dirichlet, MixtureSameFamily

#: the simplex tolerance of mixstat (constraints.simplex, the kernels)
TOL = 1e-6


class BetaRef(R.ScipyRef):
    """A marginal ``x_i ~ Beta(a_i, a_0 - a_i)``."""

    _core = {"a": 0, "b": 0}

    def frozen(self):
        return stats.beta(a=self.a, b=self.b)


class DirichletRef(R._ParamRef):
    """``scipy.stats.dirichlet(concentration)``, one scipy call per batch entry.

    ``log_prob`` is scipy's logpdf at the points scipy accepts (strictly inside the
    simplex, sum within 1e-10), the same formula with ``scipy.special.xlogy``
    elsewhere on the simplex (float32 points, zeros): ``-inf`` off the simplex,
    NaN for a NaN entry, ``-inf`` where a zero-density factor meets an infinite one.
    """

    _core = {"concentration": 1}

    @property
    def event_shape(self):
        return (self.concentration.shape[-1],)

    def in_support(self, x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return np.all(x >= 0, axis=-1) & (np.abs(x.sum(-1) - 1) < TOL)

    def log_prob(self, x):
        D = self.concentration.shape[-1]
        xf, full, eff = R._lead_flat(x, self.batch_shape, (D,))
        A = np.broadcast_to(self.concentration, eff + (D,)).reshape(-1, D)
        out = np.empty(xf.shape[:2])
        with np.errstate(all="ignore"):
            for b in range(xf.shape[1]):
                a = A[b]
                xb = xf[:, b, :]
                s = xb.sum(-1)
                on = np.all(xb >= 0, axis=-1) & (np.abs(s - 1) < TOL)
                nan = np.isnan(xb).any(-1)
                terms = special.xlogy(a - 1, np.where(xb >= 0, xb, 1.0))
                zero = (terms == -np.inf).any(-1)
                lb = special.gammaln(a).sum() - special.gammaln(a.sum())
                r = np.where(zero, -np.inf, terms.sum(-1) - lb)
                inside = on & np.all(xb > 0, axis=-1) & (np.abs(s - 1) <= 1e-10)
                if inside.any():
                    r[inside] = stats.dirichlet.logpdf(xb[inside].T, a)
                out[:, b] = np.where(nan, np.nan, np.where(on, r, -np.inf))
        return out.reshape(full)

    def _per_batch(self, fn, tail):
        D = self.concentration.shape[-1]
        A = self.concentration.reshape(-1, D)
        return np.array([fn(a) for a in A]).reshape(self.batch_shape + tail)

    @property
    def mean(self):
        return self._per_batch(stats.dirichlet.mean, self.event_shape)

    @property
    def variance(self):
        return self._per_batch(stats.dirichlet.var, self.event_shape)

    @property
    def covariance(self):
        D = self.concentration.shape[-1]
        return self._per_batch(stats.dirichlet.cov, (D, D))

    def entropy(self):
        return self._per_batch(stats.dirichlet.entropy, ())

    def marginal(self, i):
        a = self.concentration
        return BetaRef(a=a[..., i], b=a.sum(-1) - a[..., i])


def params(rng, shape, D):
    return rng.uniform(0.6, 4.0, tuple(shape) + (D,))


_rng = np.random.default_rng(20261201)
F32, F64 = reg.F32, reg.F64


def _cast(dt, a):
    return np.asarray(a, dtype=dt)


# alone: (batch, D, dtype)
for batch, D, dt in [((), 3, F64), ((3,), 2, F64), ((2, 4), 4, F64), ((3,), 3, F32), ((3, 1), 3, F64), ((2,), 5, F32)]:
    a = _cast(dt, params(_rng, batch, D))
    reg._add(
        id=f"dirichlet-D{D}-{reg._bid(batch)}{reg._sfx(dt)}",
        make=(lambda a=a: Dirichlet(a)),
        ref=DirichletRef(concentration=a),
        batch_shape=batch,
        event_shape=(D,),
        dtype=dt,
        sampler="ks-marginals",
        family="dirichlet",
    )

# every concentration >= 1: a bounded density (the bound-scaled path of the CPU loop)
a = _cast(F64, _rng.uniform(1.0, 5.0, (2, 3)))
reg._add(
    id="dirichlet-bounded-D3-b2",
    make=(lambda a=a: Dirichlet(a)),
    ref=DirichletRef(concentration=a),
    batch_shape=(2,),
    event_shape=(3,),
    dtype=F64,
    sampler="ks-marginals",
    family="dirichlet",
)

# mixtures: (batch, weight batch, component batch, K, D, dtype, zero weight, bounded components)
for batch, wbatch, cbatch, K, D, dt, zero, lo in [
    ((), (), (), 3, 3, F64, None, 0.6),
    ((3,), (3,), (3,), 3, 3, F64, (1, 2), 0.6),
    ((2, 4), (), (2, 4), 2, 2, F64, None, 0.6),  # shared weights
    ((3,), (3,), (), 3, 4, F64, None, 1.0),  # shared components, bounded
    ((3,), (3,), (), 3, 3, F32, None, 0.6),
    ((3,), (3,), (3,), 1, 3, F64, None, 0.6),  # K = 1
    ((3, 1), (3, 1), (1,), 2, 3, F64, None, 0.6),  # a size-1 batch dim
]:
    w = reg._mixture_weights(wbatch, K, dt, zero)
    # well-separated components: a different coordinate is large in each
    a = _rng.uniform(lo, 2.0, tuple(cbatch) + (K, D))
    a[..., np.arange(K), np.arange(K) % D] += 6.0
    a = _cast(dt, a)
    tags = frozenset({"K1"}) if K == 1 else frozenset()
    reg._add(
        id=f"msf-dirichlet-K{K}-D{D}-{reg._bid(batch)}{reg._sfx(dt)}",
        make=(lambda w=w, a=a: MixtureSameFamily(Categorical(probs=w), Dirichlet(a))),
        ref=R.MixtureRef(w, DirichletRef(concentration=a)),
        batch_shape=tuple(batch),
        event_shape=(D,),
        dtype=dt,
        sampler="ks-marginals",
        family="mixture-dirichlet",
        is_mixture=True,
        tags=tags,
    )
