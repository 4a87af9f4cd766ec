"""LowRankMultivariateNormal: registry examples, checked against scipy.stats.multivariate_normal
with the dense covariance ``W W^T + diag(d)`` (``reference.MVNRef``), alone and as mixture components.

A vector family: ``registry.add_family`` is for univariate families, so the
examples are added here one by one (with this file's own generator, so the
other families' examples keep their parameters).
"""

import numpy as np
import reference as R
import registry as reg

from mixstat.distributions import Categorical, LowRankMultivariateNormal, MixtureSameFamily

F64, F32 = reg.F64, reg.F32
_rng = np.random.default_rng(20261201)


def dense_cov(cov_factor, cov_diag):
    """``W W^T + diag(d)`` in float64 (NumPy only)."""
    W = np.asarray(cov_factor, dtype=np.float64)
    d = np.asarray(cov_diag, dtype=np.float64)
    return W @ np.swapaxes(W, -1, -2) + d[..., :, None] * np.eye(d.shape[-1])


def lowrank_params(rng, lb, wb, db, D, r, dscale=1.0):
    loc = rng.uniform(-2, 2, tuple(lb) + (D,))
    W = rng.normal(scale=0.7, size=tuple(wb) + (D, r))
    d = rng.uniform(0.3, 1.5, tuple(db) + (D,)) * dscale
    return loc, W, d


def _ref(loc, W, d):
    batch = np.broadcast_shapes(loc.shape[:-1], W.shape[:-2], d.shape[:-1])
    D = loc.shape[-1]
    return R.MVNRef(loc=np.broadcast_to(np.asarray(loc, np.float64), batch + (D,)), cov=dense_cov(W, d))


# ------------------------------------------------------------------ alone
for name, batch, lb, wb, db, D, r, dt, dscale in [
    ("D3-r1", (), (), (), (), 3, 1, F64, 1.0),
    ("D4-r2", (3,), (3,), (3,), (3,), 4, 2, F64, 1.0),
    ("D3-r2", (2, 4), (2, 4), (4,), (2, 4), 3, 2, F64, 1.0),  # cov_factor broadcast
    ("D1-r1", (3,), (3,), (3,), (3,), 1, 1, F64, 1.0),
    ("D3-r0", (2,), (2,), (2,), (2,), 3, 0, F64, 1.0),  # r = 0: a diagonal covariance
    ("D5-r3", (), (), (), (), 5, 3, F64, 0.05),  # small cov_diag beside W W^T
    ("D3-r2", (3,), (3,), (3,), (), 3, 2, F32, 1.0),  # cov_diag shared
    ("D4-r1", (2, 4), (), (2, 4), (2, 4), 4, 1, F32, 1.0),  # loc broadcast
    ("D2-r1", (3, 1), (3, 1), (3, 1), (1,), 2, 1, F64, 1.0),  # a size-1 batch dim
]:
    loc, W, d = reg._cast(dt, *lowrank_params(_rng, lb, wb, db, D, r, dscale))
    reg._add(
        id=f"lowrank_mvn-{name}-{reg._bid(batch)}{reg._sfx(dt)}",
        make=(lambda loc=loc, W=W, d=d: LowRankMultivariateNormal(loc, W, d)),
        ref=_ref(loc, W, d),
        batch_shape=batch,
        event_shape=(D,),
        dtype=dt,
        sampler="ks-marginals",
        family="lowrank_mvn",
    )


# ------------------------------------------------------------------ mixture components
def _weights(wbatch, K, dt, zero=None):
    w = _rng.uniform(0.2, 1.0, size=tuple(wbatch) + (K,))
    if zero is not None:
        w[zero] = 0.0
    return reg._cast(dt, w)[0]


for name, batch, wbatch, cbatch, K, D, r, dt, zero in [
    ("D3-r2-K3", (), (), (), 3, 3, 2, F64, None),
    ("D4-r1-K2", (3,), (3,), (3,), 2, 4, 1, F64, (1, 0)),  # a zero weight
    ("D2-r2-K3-sharedw", (2, 4), (), (2, 4), 3, 2, 2, F64, None),  # weights (K,), comps (2, 4, K)
    ("D3-r1-K3-shared", (3,), (3,), (), 3, 3, 1, F64, None),  # weights (3, K), comps (K,)
    ("D3-r2-K1", (3,), (3,), (3,), 1, 3, 2, F64, None),
    ("D3-r2-K3", (3,), (3,), (3,), 3, 3, 2, F32, None),
    ("D2-r1-K2", (3, 1), (3, 1), (3, 1), 2, 2, 1, F64, None),
]:
    w = _weights(wbatch, K, dt, zero)
    cb = tuple(cbatch) + (K,)
    loc, W, d = lowrank_params(_rng, cb, cb, cb, D, r)
    loc = loc + 3.0 * np.arange(K)[:, None]  # well separated components
    loc, W, d = reg._cast(dt, loc, W, d)
    reg._add(
        id=f"msf-lowrank_mvn-{name}-{reg._bid(batch)}{reg._sfx(dt)}",
        make=(
            lambda w=w, loc=loc, W=W, d=d: MixtureSameFamily(Categorical(probs=w), LowRankMultivariateNormal(loc, W, d))
        ),
        ref=R.MixtureRef(w, _ref(loc, W, d)),
        batch_shape=tuple(batch),
        event_shape=(D,),
        dtype=dt,
        sampler="ks-marginals",
        family="mixture-lowrank_mvn",
        is_mixture=True,
        tags=frozenset({"K1"}) if K == 1 else frozenset(),
    )
