"""Plain NumPy/SciPy reference implementations of the mixstat distributions.

Nothing here imports mixstat.  Every reference object is built from the raw
parameters (cast to float64, so a float32 example is compared against the
exact float64 values of its float32 parameters) and computes, independently:

* ``log_prob(x)`` for ``x`` broadcastable to ``(*lead, *batch_shape, *event_shape)``,
  returning ``(*lead, *batch_shape)`` (scipy.stats logpdf/logpmf; mixtures by
  ``scipy.special.logsumexp`` over the component logpdfs);
* ``cdf(x)`` for univariate (event_shape ``()``) references;
* closed-form ``mean``, ``variance`` (and ``covariance`` for vector events);
* ``entropy()`` where scipy has it (``None`` otherwise);
* what the sampler tests need: ``marginal(i)`` (a univariate reference of one
  coordinate), ``pmf()`` (category probabilities), ``expand(batch)`` and
  ``ref[idx]`` (select leading batch entries).

Discrete references (``discrete = True``) also give ``n_cells`` (the width
``C`` of ``pmf()``: cells ``0 .. C - 1``, the last pooling every value
``>= C - 1``, so that a family with unbounded support (Poisson) has a finite
table) and ``support_max`` (the largest value of the support, ``inf`` if
unbounded).  A ``ScipyRef`` with ``discrete = True`` derives them from scipy:
``C - 2`` is the largest ``ppf(1 - TAIL)`` over the batch.

Conventions follow ``torch.distributions``: a Categorical has NaN mean and
variance (its values are labels).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

__all__ = [
    "NormalRef",
    "CategoricalRef",
    "MVNRef",
    "DiagNormalRef",
    "MixtureRef",
    "mvn_cov_from",
]


def mvn_cov_from(covariance_matrix=None, precision_matrix=None, scale_tril=None):
    """The covariance matrix from whichever MultivariateNormal parameter was given (NumPy only)."""
    if covariance_matrix is not None:
        return np.asarray(covariance_matrix, dtype=np.float64)
    if precision_matrix is not None:
        return np.linalg.inv(np.asarray(precision_matrix, dtype=np.float64))
    L = np.asarray(scale_tril, dtype=np.float64)
    return L @ np.swapaxes(L, -1, -2)


def _lead_flat(x, batch, event):
    """Broadcast ``x`` against ``batch + event``.

    Returns an ``(L, B, *event)`` copy, the output shape and the effective batch
    (the trailing batch dims of the output, wider than ``batch`` where the value
    stretches a batch dim of size 1).
    """
    x = np.asarray(x, dtype=np.float64)
    ne = len(event)
    vb = x.shape[: x.ndim - ne]
    full = np.broadcast_shapes(vb, batch)
    eff = full[len(full) - len(batch) :]
    xb = np.broadcast_to(x, full + tuple(event))
    B = math.prod(eff)
    L = math.prod(full[: len(full) - len(batch)])
    return xb.reshape((L, B) + tuple(event)), full, eff


class _ParamRef:
    """A reference whose parameters are arrays of shape ``batch + core``."""

    _core: dict = {}  # parameter name -> number of trailing non-batch dims
    event_shape: tuple = ()
    discrete = False

    def in_support(self, x):
        """Whether ``x`` lies in the support (the real line unless a subclass says otherwise)."""
        x = np.asarray(x, dtype=np.float64)
        ok = ~np.isnan(x)
        return ok.all(tuple(range(-len(self.event_shape), 0))) if self.event_shape else ok

    def __init__(self, **params):
        arrs = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        batch = np.broadcast_shapes(*(a.shape[: a.ndim - self._core[k]] for k, a in arrs.items()))
        self.batch_shape = tuple(batch)
        self._names = list(arrs)
        for k, a in arrs.items():
            core = a.shape[a.ndim - self._core[k] :]
            setattr(self, k, np.broadcast_to(a, self.batch_shape + core))

    def _rebuild(self, fn):
        return type(self)(**{k: fn(getattr(self, k), self._core[k]) for k in self._names})

    def expand(self, batch):
        batch = tuple(batch)
        return self._rebuild(lambda a, c: np.broadcast_to(a, batch + a.shape[a.ndim - c :]))

    def __getitem__(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        return self._rebuild(lambda a, c: a[idx])

    @property
    def stddev(self):
        return np.sqrt(self.variance)


class NormalRef(_ParamRef):
    """``scipy.stats.norm(loc, scale)``."""

    _core = {"loc": 0, "scale": 0}

    def log_prob(self, x):
        return stats.norm.logpdf(np.asarray(x, np.float64), self.loc, self.scale)

    def cdf(self, x):
        return stats.norm.cdf(np.asarray(x, np.float64), self.loc, self.scale)

    @property
    def mean(self):
        return np.array(self.loc)

    @property
    def variance(self):
        return np.array(self.scale) ** 2

    def entropy(self):
        return stats.norm.entropy(self.loc, self.scale)


class DiagNormalRef(NormalRef):
    """``Independent(Normal(loc, scale), 1)``: a product of scipy normals over the last dim."""

    _core = {"loc": 1, "scale": 1}
    cdf = None  # multivariate: no cdf

    @property
    def event_shape(self):
        return (self.loc.shape[-1],)

    def log_prob(self, x):
        return super().log_prob(x).sum(-1)

    @property
    def covariance(self):
        v = self.variance
        return v[..., :, None] * np.eye(v.shape[-1])

    def entropy(self):
        return super().entropy().sum(-1)

    def marginal(self, i):
        return NormalRef(loc=self.loc[..., i], scale=self.scale[..., i])


class MVNRef(_ParamRef):
    """``scipy.stats.multivariate_normal(loc, cov)``, one scipy object per batch entry."""

    _core = {"loc": 1, "cov": 2}

    @property
    def event_shape(self):
        return (self.loc.shape[-1],)

    def log_prob(self, x):
        D = self.loc.shape[-1]
        xf, full, eff = _lead_flat(x, self.batch_shape, (D,))
        locs = np.broadcast_to(self.loc, eff + (D,)).reshape(-1, D)
        covs = np.broadcast_to(self.cov, eff + (D, D)).reshape(-1, D, D)
        out = np.empty(xf.shape[:2])
        for b in range(xf.shape[1]):
            mvn = stats.multivariate_normal(locs[b], covs[b])
            out[:, b] = np.reshape(mvn.logpdf(xf[:, b, :]), -1)
        return out.reshape(full)

    @property
    def mean(self):
        return np.array(self.loc)

    @property
    def variance(self):
        return np.array(np.diagonal(self.cov, axis1=-2, axis2=-1))

    @property
    def covariance(self):
        return np.array(self.cov)

    def entropy(self):
        D = self.loc.shape[-1]
        covs = self.cov.reshape(-1, D, D)
        e = [stats.multivariate_normal(np.zeros(D), c).entropy() for c in covs]
        return np.array(e).reshape(self.batch_shape)

    def marginal(self, i):
        return NormalRef(loc=self.loc[..., i], scale=np.sqrt(self.cov[..., i, i]))


class CategoricalRef(_ParamRef):
    """Categorical over ``0 .. C-1`` with probabilities ``probs`` (normalised here)."""

    _core = {"probs": 1}
    discrete = True

    def __init__(self, probs=None, logits=None):
        if logits is not None:
            probs = special.softmax(np.asarray(logits, np.float64), axis=-1)
        p = np.asarray(probs, dtype=np.float64)
        super().__init__(probs=p / p.sum(-1, keepdims=True))

    def pmf(self):
        """Category probabilities, ``(*batch, C)``."""
        return np.array(self.probs)

    @property
    def n_cells(self):
        """The width of :meth:`pmf`: the number of categories."""
        return self.probs.shape[-1]

    @property
    def support_max(self):
        return self.probs.shape[-1] - 1

    def _gather(self, x, table, fill):
        x = np.asarray(x, dtype=np.float64)
        C = self.probs.shape[-1]
        shape = np.broadcast_shapes(x.shape, self.batch_shape)
        xb = np.broadcast_to(x, shape)
        with np.errstate(invalid="ignore"):
            valid = (xb >= 0) & (xb <= C - 1) & (np.floor(xb) == xb)
        idx = np.where(valid, xb, 0).astype(np.intp)[..., None]
        t = np.broadcast_to(table, shape + (C,))
        got = np.take_along_axis(t, idx, axis=-1)[..., 0]
        return np.where(valid, got, fill), xb

    def log_prob(self, x):
        with np.errstate(divide="ignore"):
            logp = np.log(self.probs)
        out, xb = self._gather(x, logp, -np.inf)
        return np.where(np.isnan(xb), np.nan, out)

    def cdf(self, x):
        C = self.probs.shape[-1]
        cum = np.cumsum(self.probs, axis=-1)
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            fl = np.clip(np.floor(x), 0, C - 1)
        out, _ = self._gather(fl, cum, 0.0)
        xb = np.broadcast_to(x, out.shape)
        out = np.where(xb < 0, 0.0, np.where(xb >= C - 1, 1.0, out))
        return np.where(np.isnan(xb), np.nan, out)

    @property
    def mean(self):
        return np.full(self.batch_shape, np.nan)

    @property
    def variance(self):
        return np.full(self.batch_shape, np.nan)

    def entropy(self):
        return stats.entropy(self.probs, axis=-1)


class MixtureRef:
    """``sum_k w_k p_k``: weights ``(*wb, K)`` and a component reference with batch ``(*cb, K)``."""

    def __init__(self, weights, component):
        w = np.asarray(weights, dtype=np.float64)
        w = w / w.sum(-1, keepdims=True)
        K = w.shape[-1]
        assert component.batch_shape[-1] == K
        self.batch_shape = tuple(np.broadcast_shapes(w.shape[:-1], component.batch_shape[:-1]))
        self.weights = np.broadcast_to(w, self.batch_shape + (K,))
        self.component = component.expand(self.batch_shape + (K,))
        self.event_shape = component.event_shape
        self.discrete = component.discrete

    @property
    def K(self):
        return self.weights.shape[-1]

    def expand(self, batch):
        batch = tuple(batch)
        return MixtureRef(np.broadcast_to(self.weights, batch + (self.K,)), self.component.expand(batch + (self.K,)))

    def __getitem__(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        return MixtureRef(self.weights[idx], self.component[idx])

    def _wev(self):
        """Weights shaped ``(*batch, K, 1, ..., 1)`` to broadcast against component moments."""
        return self.weights.reshape(self.weights.shape + (1,) * len(self.event_shape))

    def _at_components(self, x):
        """``x (*lead, *batch, *event)`` -> ``(*lead, *batch, 1, *event)``."""
        x = np.asarray(x, dtype=np.float64)
        return np.expand_dims(x, x.ndim - len(self.event_shape))

    def in_support(self, x):
        """In the support of some component (zero-weight ones included, as the support is the
        family's, whatever the weights)."""
        return np.asarray(self.component.in_support(self._at_components(x))).any(-1)

    def log_prob(self, x):
        with np.errstate(divide="ignore"):
            logw = np.log(self.weights)
        lp = self.component.log_prob(self._at_components(x))
        return special.logsumexp(logw + lp, axis=-1)

    def cdf(self, x):
        assert self.event_shape == ()
        return (self.weights * self.component.cdf(self._at_components(x))).sum(-1)

    def pmf(self):
        """Category probabilities of a mixture of Categoricals: ``sum_k w_k p_k``."""
        return (self.weights[..., None] * self.component.pmf()).sum(-2)

    @property
    def n_cells(self):
        return self.component.n_cells

    @property
    def support_max(self):
        return self.component.support_max

    @property
    def mean(self):
        ax = -1 - len(self.event_shape)
        return (self._wev() * self.component.mean).sum(ax)

    @property
    def variance(self):
        ax = -1 - len(self.event_shape)
        mu = self.component.mean
        m = np.expand_dims(self.mean, ax)
        return (self._wev() * (self.component.variance + (mu - m) ** 2)).sum(ax)

    @property
    def stddev(self):
        return np.sqrt(self.variance)

    @property
    def covariance(self):
        w = self.weights[..., None, None]
        mu = self.component.mean
        second = (w * (self.component.covariance + mu[..., :, None] * mu[..., None, :])).sum(-3)
        m = self.mean
        return second - m[..., :, None] * m[..., None, :]

    def entropy(self):
        return None  # no closed form

    def marginal(self, i):
        return MixtureRef(self.weights, self.component.marginal(i))


class ScipyRef(_ParamRef):
    """A univariate reference from a frozen ``scipy.stats`` distribution.

    Subclasses set ``_core`` (every parameter 0: scalars per batch entry) and
    ``frozen(self)``, which returns the scipy distribution with the (broadcast)
    parameters.  Moments follow ``torch.distributions`` where scipy differs
    (subclasses override ``mean``/``variance`` then).
    """

    #: discrete: the upper tail beyond ``ppf(1 - TAIL)`` is pooled into the last cell of ``pmf()``
    TAIL = 1e-9

    def frozen(self):
        raise NotImplementedError

    def in_support(self, x):
        """``a <= x <= b`` with scipy's support ``(a, b)`` of the frozen distribution
        (discrete: integers only)."""
        a, b = self.frozen().support()
        x = np.asarray(x, dtype=np.float64)
        ok = (x >= a) & (x <= b)
        if self.discrete:
            with np.errstate(invalid="ignore"):
                ok = ok & (np.floor(x) == x)
        return ok

    @property
    def support_max(self):
        """The largest value of the support (``inf`` if unbounded), over the batch."""
        return float(np.max(self.frozen().support()[1]))

    @property
    def n_cells(self):
        """Discrete: the width ``C`` of :meth:`pmf`, ``ppf(1 - TAIL) + 2`` (the largest over the batch)."""
        with np.errstate(all="ignore"):
            q = np.max(self.frozen().ppf(1.0 - self.TAIL))
        return int(min(q, self.support_max + 1)) + 2

    def pmf(self):
        """Discrete: ``(*batch, C)`` with ``C = n_cells``: ``P(X = c)`` for ``c < C - 1`` and the
        pooled tail ``P(X >= C - 1)`` in the last cell."""
        C = self.n_cells
        f = self.frozen()
        k = np.arange(C - 1, dtype=np.float64).reshape((C - 1,) + (1,) * len(self.batch_shape))
        with np.errstate(all="ignore"):
            p = np.broadcast_to(f.pmf(k), (C - 1,) + self.batch_shape)
            tail = np.broadcast_to(f.sf(C - 2.0), self.batch_shape)
        return np.concatenate([np.moveaxis(p, 0, -1), tail[..., None]], axis=-1)

    def log_prob(self, x):
        f = self.frozen()
        x = np.asarray(x, np.float64)
        with np.errstate(all="ignore"):
            return f.logpmf(x) if self.discrete else f.logpdf(x)

    def cdf(self, x):
        with np.errstate(all="ignore"):
            return self.frozen().cdf(np.asarray(x, np.float64))

    @property
    def mean(self):
        return np.broadcast_to(self.frozen().mean(), self.batch_shape).copy()

    @property
    def variance(self):
        return np.broadcast_to(self.frozen().var(), self.batch_shape).copy()

    def entropy(self):
        return np.broadcast_to(self.frozen().entropy(), self.batch_shape).copy()


class DiagRef:
    """``Independent(base, 1)`` of a univariate reference whose batch is ``(*batch, D)``."""

    cdf = None  # vector events: no cdf

    def __init__(self, base):
        self.base = base
        self.batch_shape = tuple(base.batch_shape[:-1])
        self.event_shape = tuple(base.batch_shape[-1:])
        self.discrete = base.discrete

    def log_prob(self, x):
        """Sum over the coordinates; a coordinate of zero density (-inf) makes the event's density
        zero even beside an infinite one (mixstat's convention for 0 * inf), unless a value is NaN."""
        lp = np.asarray(self.base.log_prob(x))
        with np.errstate(invalid="ignore"):
            out = lp.sum(-1)
        xv = np.broadcast_to(np.asarray(x, np.float64), lp.shape)
        zero = (lp == -np.inf).any(-1) & ~np.isnan(xv).any(-1)
        return np.where(zero, -np.inf, out)

    def in_support(self, x):
        return np.asarray(self.base.in_support(x)).all(-1)

    @property
    def n_cells(self):
        return self.base.n_cells

    @property
    def support_max(self):
        return self.base.support_max

    @property
    def mean(self):
        return self.base.mean

    @property
    def variance(self):
        return self.base.variance

    @property
    def stddev(self):
        return np.sqrt(self.variance)

    @property
    def covariance(self):
        v = self.variance
        return v[..., :, None] * np.eye(v.shape[-1])

    def entropy(self):
        return self.base.entropy().sum(-1)

    def marginal(self, i):
        return self.base[(Ellipsis, i)]

    def expand(self, batch):
        return DiagRef(self.base.expand(tuple(batch) + self.event_shape))

    def __getitem__(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        return DiagRef(self.base[idx])
