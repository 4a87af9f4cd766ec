"""Deterministic entropy of univariate mixtures: adaptive Gauss-Kronrod quadrature and exact sums.

Used by :meth:`MixtureSameFamily.entropy` for ``event_shape == ()``.  Every
integral is one per batch entry, and all of them advance together: each round
evaluates the mixture's own ``log_prob`` once on a ``(nodes, *batch_shape)``
array holding the Kronrod nodes of every interval still to be evaluated.

Continuous components
---------------------
``H = -int p log p dx`` (``p log p`` taken as 0 where ``log p = -inf``) is
integrated by the 21-point Gauss-Kronrod rule on intervals

* between breakpoints ``mu_k + s_k * (0, +-1, +-3, +-8)`` of every component of
  positive weight (``mu_k``, ``s_k``: its mean and standard deviation, or its
  ``loc`` and ``scale`` where those do not exist: Cauchy, StudentT with ``df <= 2``),
  clipped to the support; for Uniform components the breakpoints are the
  components' ends, where the density jumps;
* beyond the outermost breakpoints, out to an infinite end: intervals of doubling
  width ``[R + s (2^j - 1), R + s (2^{j+1} - 1)]`` (``s`` the largest component
  scale), so that algebraic tails (Cauchy, StudentT) cost ``O(log)`` intervals;
* towards a finite end where the density may be singular (Gamma, Weibull with a
  shape below one; Beta): intervals of halving width ``[lo + d 2^{-j-1}, lo + d 2^{-j}]``.
  Beta mixtures are integrated over ``(0, 1/2]`` twice, once reflected
  (``1 - X`` is a Beta mixture with the concentrations swapped), so that both
  ends are approached at full floating-point resolution;
* VonMises mixtures over one period ``[-pi, pi]``.

Tails are extended, a block of 48 intervals at a time, until the remainder,
estimated from the ratio ``r`` of the last two intervals' contributions as the
geometric series ``c r / (1 - r)``, is below a tenth of the tolerance (an
estimate, exact for geometric decay and an over-estimate for power-law tails
times a logarithm).  Then every interval whose Kronrod-Gauss difference exceeds
its share of the tolerance is bisected until, per batch entry,
``sum |K - G| <= rtol * int |p log p| dx``.  The Kronrod-Gauss difference is a
conservative error estimate for smooth integrands, not a proven bound.

Where the tail (or a singularity at a finite end) decays too slowly to be
truncated within the floating-point range (a tail index below about 0.05, a Gamma
or Weibull shape below about 0.04, whose mass reaches below 1e-300) a
``NotImplementedError`` says so.

Discrete components
-------------------
The sum ``-sum_x p(x) log p(x)`` over ``x = 0, 1, ...`` in chunks, to the end
of a finite support (Bernoulli, Binomial, Categorical) or, for Poisson,
Geometric and NegativeBinomial, until the proven tail bound (terms beyond
``N`` are at most ``p(N) rho^j`` with ``rho`` the largest ratio
``p_k(x+1) / p_k(x)`` of any component for ``x >= N``)
``-p(N) log p(N) rho/(1-rho) - p(N) log(rho) rho/(1-rho)^2`` is below the tolerance.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["mixture_entropy_1d"]

# QUADPACK's qk21: Kronrod abscissae (positive half, descending), Kronrod weights,
# and the weights of the embedded 10-point Gauss rule (at abscissae 1, 3, 5, 7, 9)
_XGK = np.array(
    [
        0.995657163025808080735527280689003,
        0.973906528517171720077964012084452,
        0.930157491355708226001207180059508,
        0.865063366688984510732096688423493,
        0.780817726586416897063717578345042,
        0.679409568299024406234327365114874,
        0.562757134668604683339000099272694,
        0.433395394129247190799265943165784,
        0.294392862701460198131126603103866,
        0.148874338981631210884826001129720,
        0.0,
    ]
)
_WGK = np.array(
    [
        0.011694638867371874278064396062192,
        0.032558162307964727478818972459390,
        0.054755896574351996031381300244580,
        0.075039674810919952767043140916190,
        0.093125454583697605535065465083366,
        0.109387158802297641899210590325805,
        0.123491976262065851077708316738319,
        0.134709217311473325928054001771707,
        0.142775938577060080797094273138717,
        0.147739104901338491374841515972068,
        0.149445554002916905664936468389821,
    ]
)
_WG5 = np.array(
    [
        0.066671344308688137593568809893332,
        0.149451349150580593145776339657697,
        0.219086362515982043995534934228163,
        0.269266719309996355091226921569469,
        0.295524224714752870173892994651338,
    ]
)

#: the 21 nodes on [-1, 1], their Kronrod weights and their Gauss weights (0 off the Gauss nodes)
NODES = np.concatenate([-_XGK[:10], _XGK[10:], _XGK[:10][::-1]])
W_KRONROD = np.concatenate([_WGK[:10], _WGK[10:], _WGK[:10][::-1]])
_wg = np.zeros(11)
_wg[1:10:2] = _WG5
W_GAUSS = np.concatenate([_wg[:10], [0.0], _wg[:10][::-1]])
del _wg

_NN = NODES.size
_OFFSETS = np.array([-8.0, -3.0, -1.0, 0.0, 1.0, 3.0, 8.0])
_TAIL_BLOCK = 48
_MAX_DOUBLINGS = 1000  # right/left tails: s * 2^1000 ~ 1e301 s
_X_MAX = 1e290  # nodes beyond this: the tail is too heavy to truncate
_MAX_ROUNDS = 60  # bisection depth
_MAX_INTERVALS = 20000  # per batch entry
_GRID_ELEMENTS = 1 << 21  # nodes x batch entries per log_prob call


# ---------------------------------------------------------------- evaluation
class _Integrand:
    """``-p log p`` and ``|p log p|`` of one mixture at nodes owned by batch entries."""

    def __init__(self, dist, Bf, filler, what="MixtureSameFamily.entropy"):
        self.what = what
        self.dist = dist
        self.Bf = Bf
        self.filler = filler  # (Bf,) a point inside the support of each entry
        self.batch = dist.batch_shape

    def log_prob(self, x, bid):
        """``log p`` at ``x (N, m)``, row ``i`` belonging to batch entry ``bid[i]``."""
        N, m = x.shape
        if N == 0:
            return np.empty((0, m))
        counts = np.bincount(bid, minlength=self.Bf)
        order = np.argsort(bid, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.empty(N, dtype=np.int64)
        rank[order] = np.arange(N) - starts[bid[order]]
        rows = rank[:, None] * m + np.arange(m)
        M = int(counts.max()) * m
        grid = np.empty((M, self.Bf))
        grid[...] = self.filler
        grid[rows, bid[:, None]] = x
        out = np.empty_like(grid)
        step = max(m, (_GRID_ELEMENTS // max(self.Bf, 1)) // m * m)
        for r0 in range(0, M, step):
            g = grid[r0 : r0 + step]
            lp = self.dist.log_prob(g.reshape((g.shape[0],) + self.batch))
            out[r0 : r0 + step] = np.asarray(lp, dtype=np.float64).reshape(g.shape[0], self.Bf)
        return out[rows, bid[:, None]]

    def gk(self, a, b, bid):
        """Kronrod and Gauss estimates of ``int -p log p`` and the Kronrod estimate of
        ``int |p log p|`` over each ``[a_i, b_i]``."""
        half = 0.5 * (b - a)
        mid = a + half
        x = mid[:, None] + half[:, None] * NODES
        lp = self.log_prob(x, bid)
        with np.errstate(over="ignore", invalid="ignore"):
            f = np.where(lp > -np.inf, -np.exp(lp) * lp, 0.0)
        if not np.all(np.isfinite(f)):
            if np.any(lp > 700):
                raise NotImplementedError(
                    f"{self.what}: the density exceeds the floating-point range near a singular end "
                    "of the support; estimate the entropy with mixstat.estimate_entropy"
                )
            raise FloatingPointError(f"{self.what}: log_prob returned NaN or +inf at a quadrature node")
        K = half * (f @ W_KRONROD)
        G = half * (f @ W_GAUSS)
        A = half * (np.abs(f) @ W_KRONROD)
        return K, G, A


# ---------------------------------------------------------------- the integral
class _Pool:
    def __init__(self):
        self.a, self.b, self.bid, self.K, self.G, self.A = ([] for _ in range(6))

    def add(self, a, b, bid, K, G, A):
        for lst, v in zip((self.a, self.b, self.bid, self.K, self.G, self.A), (a, b, bid, K, G, A)):
            lst.append(v)

    def arrays(self):
        return [np.concatenate(v) for v in (self.a, self.b, self.bid, self.K, self.G, self.A)]


def _integrate(ig, pts, lo, hi, left, right, scale, rtol, what):
    """``int -p log p`` per batch entry.

    ``pts (Bf, m)``: breakpoints (NaN: none) inside ``[lo, hi]``; ``left``/``right``: ``"inf"``
    (doubling intervals out to an infinite end), ``"end"`` (halving intervals towards the
    finite end ``lo``/``hi``) or ``"breakpoint"`` (the end is a breakpoint); ``scale (Bf,)``: the
    width of the first doubling interval.
    """
    Bf = pts.shape[0]
    P = np.sort(pts, axis=1)
    pool = _Pool()
    a, b = P[:, :-1], P[:, 1:]
    ok = np.isfinite(a) & np.isfinite(b) & (b > a)
    bid0 = np.broadcast_to(np.arange(Bf)[:, None], a.shape)[ok]
    a0, b0 = a[ok], b[ok]
    pool.add(a0, b0, bid0, *ig.gk(a0, b0, bid0))
    first = np.nanmin(P, axis=1)
    last = np.nanmax(P, axis=1)

    def total_A():
        _, _, bid_, _, _, A_ = pool.arrays()
        return np.bincount(bid_, A_, minlength=Bf)

    def tail(side, mode):
        if mode == "breakpoint":
            return
        ends = first if side == "left" else last
        todo = np.arange(Bf)
        j0 = 0
        while todo.size:
            j = np.arange(j0, j0 + _TAIL_BLOCK, dtype=np.float64)
            e = ends[todo][:, None]
            if mode == "inf":
                s = scale[todo][:, None]
                sign = 1.0 if side == "right" else -1.0
                x_in = e + sign * s * (2.0**j - 1.0)
                x_out = e + sign * s * (2.0 ** (j + 1) - 1.0)
            else:
                bound = (lo if side == "left" else hi)[todo][:, None]
                d = e - bound
                x_in = bound + d * 2.0**-j
                x_out = bound + d * 2.0 ** -(j + 1)
            if mode == "inf" and (not np.all(np.isfinite(x_out)) or np.abs(x_out).max() > _X_MAX):
                raise NotImplementedError(
                    f"{what}: the {side} tail of the density decays too slowly to truncate the entropy "
                    "integral within the floating-point range (a tail index below about 0.05); "
                    "estimate it with mixstat.estimate_entropy"
                )
            if mode == "end" and np.any(np.abs(x_out - bound) < 1e-300):  # no subnormal nodes
                raise NotImplementedError(
                    f"{what}: the density is too singular at the support's {side} end to integrate "
                    "p log p there in floating point (e.g. a Gamma or Weibull shape below about 0.04); "
                    "estimate it with mixstat.estimate_entropy"
                )
            lo_, hi_ = np.minimum(x_in, x_out), np.maximum(x_in, x_out)
            bid_ = np.broadcast_to(todo[:, None], lo_.shape)
            K, G, A = ig.gk(lo_.ravel(), hi_.ravel(), bid_.ravel())
            pool.add(lo_.ravel(), hi_.ravel(), bid_.ravel(), K, G, A)
            A = A.reshape(lo_.shape)
            c_last, c_prev = A[:, -1], A[:, -2]
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(c_prev > 0, c_last / c_prev, np.where(c_last > 0, np.inf, 0.0))
                rem = np.where(c_last == 0, 0.0, np.where(r < 0.999, c_last * r / (1 - r), np.inf))
            tau = rtol * total_A()[todo]
            done = rem <= 0.1 * tau
            todo = todo[~done]
            j0 += _TAIL_BLOCK
            if j0 >= _MAX_DOUBLINGS + _TAIL_BLOCK and todo.size:
                raise NotImplementedError(
                    f"{what}: the {side} tail of the entropy integral could not be truncated; "
                    "estimate it with mixstat.estimate_entropy"
                )

    tail("left", left)
    tail("right", right)

    A_, B_, bid, K, G, Aabs = pool.arrays()
    for _ in range(_MAX_ROUNDS):
        err = np.abs(K - G)
        E_b = np.bincount(bid, err, minlength=Bf)
        A_b = np.bincount(bid, Aabs, minlength=Bf)
        tau = rtol * A_b
        notdone = E_b > tau
        if not notdone.any():
            return np.bincount(bid, K, minlength=Bf)
        n_b = np.bincount(bid, minlength=Bf)
        if n_b.max() > _MAX_INTERVALS:
            break
        mid = 0.5 * (A_ + B_)
        split = notdone[bid] & (err > tau[bid] / (2.0 * n_b[bid])) & (mid > A_) & (mid < B_)
        if not split.any():
            break
        keep = ~split
        sa, sb, sid, sm = A_[split], B_[split], bid[split], mid[split]
        na = np.concatenate([sa, sm])
        nb = np.concatenate([sm, sb])
        nid = np.concatenate([sid, sid])
        nK, nG, nA = ig.gk(na, nb, nid)
        A_ = np.concatenate([A_[keep], na])
        B_ = np.concatenate([B_[keep], nb])
        bid = np.concatenate([bid[keep], nid])
        K = np.concatenate([K[keep], nK])
        G = np.concatenate([G[keep], nG])
        Aabs = np.concatenate([Aabs[keep], nA])
    err = np.abs(K - G)
    E_b = np.bincount(bid, err, minlength=Bf)
    A_b = np.bincount(bid, Aabs, minlength=Bf)
    worst = float(np.max(E_b / np.where(A_b > 0, A_b, 1.0)))
    raise NotImplementedError(
        f"{what}: adaptive quadrature did not reach rtol={rtol:g} (estimated relative error {worst:.2e}); "
        "estimate the entropy with mixstat.estimate_entropy"
    )


# ---------------------------------------------------------------- set-up per family
def _f64(x, shape):
    return np.broadcast_to(np.asarray(x, dtype=np.float64), shape)


def _bulk(comp, shape):
    """Centre and scale of every component, ``shape = (*batch, K)``."""
    with np.errstate(all="ignore"):
        mu = _f64(comp.mean, shape)
        sd = _f64(comp.stddev, shape)
    ok = np.isfinite(mu) & np.isfinite(sd) & (sd > 0)
    if not ok.all():
        if not (hasattr(comp, "loc") and hasattr(comp, "scale")):
            raise NotImplementedError(
                f"MixtureSameFamily.entropy: {type(comp).__name__} components without a finite mean and "
                "standard deviation; estimate it with mixstat.estimate_entropy"
            )
        mu = np.where(ok, mu, _f64(comp.loc, shape))
        sd = np.where(ok, sd, _f64(comp.scale, shape))
    return mu, sd


def mixture_entropy_1d(mix, rtol=1e-10):
    """Entropy of a univariate mixture per batch entry, float64 of shape ``batch_shape``.

    Parameters
    ----------
    mix : MixtureSameFamily
        With ``event_shape == ()``.
    rtol : float
        Target ``|error| <= rtol * int |p log p|`` (continuous; for densities at most 1
        this is ``rtol * |H|``) or ``rtol * sum |p log p|`` (discrete).

    Returns
    -------
    numpy.ndarray
    """
    from . import constraints
    from .beta import Beta
    from .mixture_same_family import MixtureSameFamily
    from .uniform import Uniform
    from .vonmises import VonMises

    comp = mix.component_distribution
    batch = mix.batch_shape
    K = mix._num_component
    Bf = math.prod(batch)
    shape = batch + (K,)
    w = _f64(mix.mixture_distribution.probs, shape).reshape(Bf, K)
    pos = w > 0
    what = f"MixtureSameFamily.entropy ({type(comp).__name__} components)"
    if Bf == 0:
        return np.zeros(batch)
    sup = comp.support
    if sup is not None and sup.is_discrete:
        return _discrete_entropy(mix, w, rtol, what).reshape(batch)
    mu, sd = _bulk(comp, shape)
    mu, sd = mu.reshape(Bf, K), sd.reshape(Bf, K)
    kbig = np.argmax(w, axis=1)
    filler = mu[np.arange(Bf), kbig]
    scale = np.where(pos, sd, 0.0).max(axis=1)

    def pts_from(c, s, lo, hi):
        p = c[:, :, None] + s[:, :, None] * _OFFSETS
        p = np.clip(p, lo[:, None, None], hi[:, None, None])
        p = np.where(pos[:, :, None], p, np.nan).reshape(Bf, -1)
        return p

    if isinstance(comp, VonMises):
        lo, hi = np.full(Bf, -math.pi), np.full(Bf, math.pi)
        c = np.mod(mu + math.pi, 2 * math.pi) - math.pi
        s = np.minimum(sd, 1.0)
        p = c[:, :, None] + s[:, :, None] * _OFFSETS[2:5]
        p = np.mod(p + math.pi, 2 * math.pi) - math.pi
        p = np.where(pos[:, :, None], p, np.nan).reshape(Bf, -1)
        p = np.concatenate([p, lo[:, None], hi[:, None]], axis=1)
        ig = _Integrand(mix, Bf, filler, what)
        return _integrate(ig, p, lo, hi, "breakpoint", "breakpoint", scale, rtol, what).reshape(batch)
    if isinstance(comp, Uniform):
        low = _f64(comp.low, shape).reshape(Bf, K)
        high = _f64(comp.high, shape).reshape(Bf, K)
        p = np.where(pos[:, None, :], np.stack([low, high], axis=1), np.nan).reshape(Bf, -1)
        # the gaps that no component of positive weight covers hold no mass: drop them (their nodes
        # lie outside the support)
        P = np.sort(p, axis=1)
        m = 0.5 * (P[:, :-1] + P[:, 1:])
        covered = ((m[:, :, None] >= low[:, None, :]) & (m[:, :, None] <= high[:, None, :]) & pos[:, None, :]).any(-1)
        ig = _Integrand(mix, Bf, filler, what)
        a, b = P[:, :-1], P[:, 1:]
        ok = covered & np.isfinite(a) & np.isfinite(b) & (b > a)
        bid = np.broadcast_to(np.arange(Bf)[:, None], a.shape)[ok]
        K_, _G, _ = ig.gk(a[ok], b[ok], bid)
        # the density is constant on each piece: the rule is exact there (K_ == _G up to rounding)
        return np.bincount(bid, K_, minlength=Bf).reshape(batch)
    if isinstance(comp, Beta):
        lo, hi = np.zeros(Bf), np.full(Bf, 0.5)
        refl = MixtureSameFamily(
            mix.mixture_distribution,
            Beta(comp.concentration0, comp.concentration1, validate_args=False),
            validate_args=False,
        )
        total = np.zeros(Bf)
        for d, c in ((mix, mu), (refl, 1.0 - mu)):
            p = pts_from(c, sd, lo, hi)
            p = np.concatenate([np.where(p > 0, p, np.nan), hi[:, None]], axis=1)
            cf = np.clip(c[np.arange(Bf), kbig], 1e-3, 0.5)
            ig = _Integrand(d, Bf, cf, what)
            total += _integrate(ig, p, lo, hi, "end", "breakpoint", scale, rtol, what)
        return total.reshape(batch)
    if sup is constraints.real:
        lo, hi = np.full(Bf, -np.inf), np.full(Bf, np.inf)
        p = pts_from(mu, sd, lo, hi)
        ig = _Integrand(mix, Bf, filler, what)
        return _integrate(ig, p, lo, hi, "inf", "inf", scale, rtol, what).reshape(batch)
    if sup is constraints.nonnegative or sup is constraints.positive:
        lo, hi = np.zeros(Bf), np.full(Bf, np.inf)
        # breakpoints stay positive (every component of positive weight has a positive mean):
        # the halving intervals approach 0 from the smallest
        p = pts_from(mu, sd, lo, hi)
        p = np.where(p > 0, p, np.nan)
        ig = _Integrand(mix, Bf, filler, what)
        return _integrate(ig, p, lo, hi, "end", "inf", scale, rtol, what).reshape(batch)
    raise NotImplementedError(
        f"{what}: no quadrature for the support {sup!r}; estimate it with mixstat.estimate_entropy"
    )


# ---------------------------------------------------------------- discrete
_DISCRETE_CHUNK = 4096
_DISCRETE_MAX = 1 << 26


def _ratio_bound(comp, shape, N):
    """``rho (Bf, K)``: an upper bound of ``p_k(x+1) / p_k(x)`` for every ``x >= N`` (infinite
    supports), or None where the support is finite (``_finite_end``)."""
    from .geometric import Geometric
    from .negative_binomial import NegativeBinomial
    from .poisson import Poisson

    if isinstance(comp, Poisson):
        return _f64(comp.rate, shape) / (N + 1.0)
    if isinstance(comp, Geometric):
        return 1.0 - _f64(comp.probs, shape)
    if isinstance(comp, NegativeBinomial):
        r = _f64(comp.total_count, shape)
        return np.maximum((N + r) / (N + 1.0), 1.0) * _f64(comp.probs, shape)
    raise NotImplementedError(
        f"MixtureSameFamily.entropy: no tail bound for {type(comp).__name__} components; "
        "estimate it with mixstat.estimate_entropy"
    )


def _finite_end(comp, shape):
    from .bernoulli import Bernoulli
    from .binomial import Binomial
    from .categorical import Categorical

    if isinstance(comp, Bernoulli):
        return np.ones(shape)
    if isinstance(comp, Binomial):
        return _f64(comp.total_count, shape)
    if isinstance(comp, Categorical):
        return np.full(shape, comp._num_events - 1.0)
    return None


def _discrete_entropy(mix, w, rtol, what):
    comp = mix.component_distribution
    batch = mix.batch_shape
    Bf, K = w.shape
    shape = batch + (K,)
    pos = w > 0
    end = _finite_end(comp, shape)
    if end is not None:
        top = np.where(pos, end.reshape(Bf, K), 0.0).max(axis=1)
    else:
        _ratio_bound(comp, shape, 0.0)  # raises for a family without a tail bound
        top = np.full(Bf, np.inf)
    H = np.zeros(Bf)
    A = np.zeros(Bf)
    active = np.ones(Bf, dtype=bool)
    x0 = 0
    while active.any():
        if x0 > _DISCRETE_MAX:
            raise NotImplementedError(
                f"{what}: the support is too wide to sum (more than {_DISCRETE_MAX} "
                "points); estimate it with mixstat.estimate_entropy"
            )
        x = np.arange(x0, x0 + _DISCRETE_CHUNK, dtype=np.float64)
        grid = np.broadcast_to(x[:, None], (x.size, Bf))
        grid = np.minimum(grid, top[None, :])  # beyond a finite end: the last point, masked below
        lp = np.asarray(mix.log_prob(grid.reshape((x.size,) + batch)), np.float64).reshape(x.size, Bf)
        inside = (x[:, None] <= top[None, :]) & active[None, :]
        with np.errstate(over="ignore", invalid="ignore"):
            f = np.where(inside & (lp > -np.inf), -np.exp(lp) * lp, 0.0)
        H += f.sum(0)
        A += np.abs(f).sum(0)
        x0 += _DISCRETE_CHUNK
        N = float(x0 - 1)
        finished = top <= N
        if end is None:
            rho = _ratio_bound(comp, shape, N).reshape(Bf, K)
            rho = np.where(pos, rho, 0.0).max(axis=1)
            pN = np.exp(lp[-1])
            with np.errstate(divide="ignore", invalid="ignore"):
                lrho = np.log(rho)
                bound = -pN * lp[-1] * rho / (1 - rho) - pN * lrho * rho / (1 - rho) ** 2
            bound = np.where(pN == 0, 0.0, bound)
            ok = (rho < 1) & (pN <= math.exp(-1)) & (bound <= rtol * A)
            finished = finished | ok
        active &= ~finished
    return H
