"""Quantiles of univariate mixtures: the per-point solver shared by the CPU and CUDA loops.

``icdf(q) = inf {x : F(x) >= q}`` with ``F = sum_k w_k F_k``, found per point:

1. **Side.**  For ``q <= 1/2`` the solver works on the lower tail ``G = F`` and the
   target ``p = q``; for ``q > 1/2`` on the upper tail ``G = S = 1 - F`` (each
   component's survival function, never ``1 - F``) and ``p = 1 - q`` (exact in
   floating point), so ``icdf(1 - 1e-15)`` is as accurate as ``icdf(1e-15)``.
2. **Bracket.**  Where the family has an ``icdf1`` hook (a closed-form or
   approximate component quantile), the components' quantiles at ``q`` bracket
   the mixture's: ``F(min_k x_k) <= q <= F(max_k x_k)``.  Both ends are checked
   with ``G``; an end that fails, and the whole bracket of a family without the
   hook, is ``-inf`` or ``+inf``.
3. **Safeguarded Newton.**  Each evaluation gives ``G(x)`` and the density
   ``f(x)`` (one pass over the components), shrinks the bracket, and proposes a
   Newton step on ``log G`` (``dx = -(log G - log p) G / f``, which converges in
   the far tails where Newton on ``G`` itself crawls).  A proposal outside the
   bracket, or one that does not at least halve the step before last, is
   replaced by a bisection: geometric (on the exponent) where the bracket spans
   orders of magnitude or is unbounded, so any bracket of doubles closes in
   about 64 + 53 steps.
4. **End.**  A Newton step below ``2**-52 |x|`` (the next step would change
   ``x`` by less than an ulp); or a bracket of adjacent doubles, whose right
   end is returned; or ``G(x) == p`` exactly where ``G`` differs a little to the
   left (4 ulp of ``x``, or where ``G`` changes by about an ulp of ``p``).  Where it does not
   (a flat stretch of ``F`` between separated
   components) the bracket keeps closing towards the left end of the stretch.

Discrete families (integer support from 0): the smallest integer ``n`` with
``F(n) >= q`` (``S(n) <= 1 - q`` on the upper side) by bisection over integers
from a bracket found by doubling (or from ``icdf1`` seeds), ``O(log n)``
evaluations.

All in float64.  ``q`` outside ``(0, 1)`` gives NaN: the façade sets ``q = 0``
and ``q = 1`` to the support's ends.
"""

from __future__ import annotations

import math

import numpy as np
from numba.extending import register_jitable

#: the most evaluations of ``G`` per point (continuous); reached only by brackets
#: that no Newton step helps (a fully geometric bisection of the doubles needs ~120)
MAXIT = 400
_DMAX = 1.7976931348623157e308
_TINY = 5e-324
_EPS = 2.0**-52
_EPS4 = 2.0**-50
_TINY4 = 2e-323


@register_jitable
def ndtri_approx(p):
    """``Phi^{-1}(p)`` for ``0 < p <= 1/2`` to about 1e-9 relative (Acklam's rational
    approximations): a seed, refined by the solver."""
    if p < 0.02425:
        t = math.sqrt(-2.0 * math.log(p))
        return (
            (
                (
                    ((-7.784894002430293e-03 * t - 3.223964580411365e-01) * t - 2.400758277161838e00) * t
                    - 2.549732539343734e00
                )
                * t
                + 4.374664141464968e00
            )
            * t
            + 2.938163982698783e00
        ) / (
            (
                ((7.784695709041462e-03 * t + 3.224671290700398e-01) * t + 2.445134137142996e00) * t
                + 3.754408661907416e00
            )
            * t
            + 1.0
        )
    u = p - 0.5
    r = u * u
    return (
        (
            (
                (
                    ((-3.969683028665376e01 * r + 2.209460984245205e02) * r - 2.759285104469687e02) * r
                    + 1.383577518672690e02
                )
                * r
                - 3.066479806614716e01
            )
            * r
            + 2.506628277459239e00
        )
        * u
        / (
            (
                (
                    ((-5.447609879822406e01 * r + 1.615858368580409e02) * r - 1.556989798598866e02) * r
                    + 6.680131188771972e01
                )
                * r
                - 1.328068155288572e01
            )
            * r
            + 1.0
        )
    )


@register_jitable
def _mid(lo, hi):
    """A point strictly inside ``(lo, hi)`` (or ``lo``/``hi`` itself when none is): the
    arithmetic midpoint of a narrow bracket, else a geometric one, which halves the
    exponent range of a wide or unbounded bracket per step."""
    if lo == -math.inf and hi == math.inf:
        return 0.0
    if hi == math.inf:
        if lo < 1.0:
            return 2.0
        if lo < 1e154:
            return lo * lo
        return lo * 2.0 if lo < 0.5 * _DMAX else _DMAX
    if lo == -math.inf:
        if hi > -1.0:
            return -2.0
        if hi > -1e154:
            return -(hi * hi)
        return hi * 2.0 if hi > -0.5 * _DMAX else -_DMAX
    if lo < 0.0 < hi:
        return 0.0
    if lo >= 0.0:
        a = lo if lo > _TINY else _TINY
        if hi > 4.0 * a:
            return math.sqrt(a) * math.sqrt(hi)
        return lo + 0.5 * (hi - lo)
    a = -hi if -hi > _TINY else _TINY
    if -lo > 4.0 * a:
        return -(math.sqrt(a) * math.sqrt(-lo))
    return lo + 0.5 * (hi - lo)


@register_jitable
def _tight(lo, hi):
    """Whether no double lies strictly between ``lo`` and ``hi`` (to within 1 ulp)."""
    if hi == math.inf:
        return lo >= _DMAX
    if lo == -math.inf:
        return hi <= -_DMAX
    d = hi - lo
    m = abs(hi) if abs(hi) > abs(lo) else abs(lo)
    return d <= _EPS * m or d <= _TINY


#: the quantile table of a shared mixture (``B == 1``) with many points (CPU): nodes uniform in
#: ``t = logit(q)`` over ``|t| <= TABLE_T`` (tail probabilities down to 4e-18), each solved
#: exactly on its own side (``solve_tail``, so the upper nodes keep their tail probabilities),
#: with the slope ``dx/dt``; a point's start is the cubic Hermite interpolant there (error
#: ~1e-12 of the spread in smooth stretches), then one exact Newton step (:func:`make_polish`)
TABLE_T = 40.0
TABLE_M = 4097
TABLE_H = 2.0 * TABLE_T / (TABLE_M - 1)
#: fewer points than this: every point by the full solver
TABLE_MIN_POINTS = 8 * TABLE_M
#: a polishing step ``dx`` is accepted when ``|dx| <= POLISH_ACCEPT sqrt(s max(|x|, s))``, ``s``
#: the local length scale ``G / f`` (the next step, ~``dx**2 / s``, is then below an ulp);
#: otherwise, and where the step is not finite, the full solver
POLISH_ACCEPT = 2.0**-28
#: between ``FAST_Q`` and ``1 - FAST_Q`` the CPU table's Newton step uses the SIMD forms of
#: the hooks (``cdf1_fast``, ``logpdf1_fast``) on ``F`` itself
FAST_Q = 1e-3


@register_jitable
def accepted_step(x0, dx, sc):
    """``x0 + dx`` where the Newton step ``dx`` is small enough to end on (else NaN): the next
    step would be ~``dx**2 / sc`` (``sc`` the local length scale), below an ulp of ``x``, and
    the tail probability's change over it below an ulp of ``p``, once
    ``dx**2 <= POLISH_ACCEPT**2 sc max(|x|, sc)``."""
    tol = POLISH_ACCEPT * math.sqrt(sc) * math.sqrt(max(abs(x0), sc))
    if dx == 0.0 or not abs(dx) <= tol:
        return math.nan
    return x0 + dx


def jitable_named(fn, *key):
    """``register_jitable(fn)`` for a factory's inner function, renamed after ``key`` (the family
    and the loop).  numba mangles a compiled function's symbol from its qualified name, its
    argument types and a per-process counter, so the same inner function of two families,
    compiled in two processes (the warmup's), could get the same symbol; a process that then
    loads both kernels from the disk cache links one kernel's calls to the other's function
    (seen: a discrete family's quantiles solved by a continuous family's solver).  A name
    unique to its kernel keeps every symbol unique."""
    name = "_".join([fn.__name__, *(str(k) for k in key)])
    fn.__name__ = fn.__qualname__ = name
    return register_jitable(fn)


def make_solver(h, discrete):
    """``solve(q, w, tab, b, K) -> x``: the quantile at ``q`` of the mixture of batch row ``b``
    (weights ``w[b, :]``), from the hooks of :class:`.cpu.Hooks` ``h``.  A jitable
    function compiled for either device."""
    cdf1 = h.cdf1
    logpdf1 = h.logpdf1
    pre1 = h.pre1
    NPRE = h.npre
    sf1 = h.sf1
    sf_kind = h.sf_kind  # 0: sf1 hook, 1: exp(logsf1), 2: 1 - cdf1
    logsf1 = h.logsf1
    icdf1 = h.icdf1
    seeded = h.has_icdf1
    tag = (h.name, "icdf", "discrete" if discrete else "continuous")

    def tail_k(x, upper, tab, b, k):
        """Component ``k``'s lower (``F_k``) or upper (``S_k``) tail probability at ``x``."""
        if not upper:
            return cdf1(x, tab, b, k, 0)
        if sf_kind == 0:
            return sf1(x, tab, b, k, 0)
        if sf_kind == 1:
            return math.exp(logsf1(x, tab, b, k, 0))
        return 1.0 - cdf1(x, tab, b, k, 0)

    tail_k = jitable_named(tail_k, *tag)

    def side(x, upper, w, tab, b, K):
        """``G(x)``: the mixture's lower (``F``) or upper (``S``) tail probability."""
        acc = 0.0
        for k in range(K):
            wk = np.float64(w[b, k])
            if wk > 0.0:
                acc += wk * tail_k(x, upper, tab, b, k)
        return acc

    def side_dens(x, upper, w, tab, b, K):
        """``(G(x), f(x))`` in one pass over the components."""
        if NPRE > 0:
            p0, p1 = pre1(x)
        else:
            p0 = x
            p1 = x
        acc = 0.0
        dens = 0.0
        for k in range(K):
            wk = np.float64(w[b, k])
            if wk > 0.0:
                acc += wk * tail_k(x, upper, tab, b, k)
                lp = logpdf1(x, p0, p1, tab, b, k, 0)
                if lp > -math.inf:
                    dens += wk * math.exp(lp)
        return acc, dens

    side = jitable_named(side, *tag)
    side_dens = jitable_named(side_dens, *tag)

    def seeds(p, upper, w, tab, b, K):
        """``(min_k x_k, max_k x_k, sum_k w_k x_k)`` of the components' seeds (``+inf, -inf``
        without any)."""
        smin = math.inf
        smax = -math.inf
        avg = 0.0
        wsum = 0.0
        for k in range(K):
            wk = np.float64(w[b, k])
            if wk > 0.0:
                s = icdf1(p, upper, tab, b, k, 0)
                if s == s:
                    smin = min(smin, s)
                    smax = max(smax, s)
                    if abs(s) < math.inf:
                        avg += wk * s
                        wsum += wk
        if wsum > 0.0:
            avg = avg / wsum
        else:
            avg = math.nan
        return smin, smax, avg

    seeds = jitable_named(seeds, *tag)

    def solve_continuous(q, w, tab, b, K):
        upper = q > 0.5
        return solve_tail(1.0 - q if upper else q, upper, w, tab, b, K)

    def solve_tail(p, upper, w, tab, b, K):
        """The quantile where the lower (upper, where ``upper``) tail probability is ``p``."""
        lp = math.log(p)
        lo = -math.inf
        hi = math.inf
        x = math.nan
        if seeded:
            smin, smax, avg = seeds(p, upper, w, tab, b, K)
            if smin <= smax:
                for s in (smin, smax):
                    if abs(s) < math.inf:
                        g = side(s, upper, w, tab, b, K)
                        ge = (g <= p) if upper else (g >= p)
                        if ge:
                            hi = min(hi, s)
                        elif g == g:
                            lo = max(lo, s)
                if lo < avg <= hi:
                    x = avg
        if not (lo < x <= hi):
            x = _mid(lo, hi)
        dx_old = math.inf
        dx_older = math.inf
        for _ in range(MAXIT):
            g, f = side_dens(x, upper, w, tab, b, K)
            if g != g:
                return math.nan
            if g == p:
                # a root: the answer if G differs just to its left (x is then within 4 ulp of
                # the left end of {G = p}); else a flat stretch, whose left end is further left
                # (the probe's distance: 4 ulp of x, or where G changes by about an ulp of p)
                step = abs(x) * _EPS4
                if 0.0 < f < math.inf:
                    step = max(step, p * _EPS / f)
                xl = x - max(step, _TINY4)
                if not xl > lo:
                    return x
                gl = side(xl, upper, w, tab, b, K)
                if not ((gl <= p) if upper else (gl >= p)):
                    return x
                hi = xl
                if _tight(lo, hi):
                    return hi
                x = _mid(lo, hi)
                dx_older = dx_old
                dx_old = math.inf
                continue
            ge = (g <= p) if upper else (g >= p)
            if ge:
                hi = x
            else:
                lo = x
            if _tight(lo, hi):
                return hi
            xn = math.nan
            if g > 0.0 and 0.0 < f < math.inf:
                ratio = g / p  # log(g / p): no cancellation of log g - log p (~eps |log p|)
                r = math.log(ratio) if 0.0 < ratio < math.inf else math.log(g) - lp
                step = r * (g / f)
                dx = step if upper else -step
                if abs(dx) <= _EPS * abs(x) and (dx != 0.0 or r == 0.0 or x != 0.0):
                    xn = x + dx
                    return xn if lo < xn <= hi else x
                if abs(dx) <= 0.5 * dx_older:
                    xn = x + dx
                dx_older = dx_old
                dx_old = abs(dx)
            if not (lo < xn < hi):
                xn = _mid(lo, hi)
                dx_older = dx_old
                dx_old = abs(xn - x)
                if not (lo < xn < hi):
                    return hi
            x = xn
        return hi

    def ge_int(n, upper, p, w, tab, b, K):
        g = side(n, upper, w, tab, b, K)
        return (g <= p) if upper else (g >= p)

    ge_int = jitable_named(ge_int, *tag)

    def solve_discrete(q, w, tab, b, K):
        upper = q > 0.5
        p = 1.0 - q if upper else q
        lo = -1.0  # F(-1) = 0 < q: every discrete family's support starts at 0
        hi = math.nan
        if seeded:
            smin, smax, avg = seeds(p, upper, w, tab, b, K)
            if smin <= smax:
                a = math.floor(smin) if smin > 0.0 else 0.0
                if a > 0.0 and not ge_int(a - 1.0, upper, p, w, tab, b, K):
                    lo = a - 1.0
                c = math.ceil(smax) if smax > 0.0 else 0.0
                if c < 9.0e15 and c > lo and ge_int(c, upper, p, w, tab, b, K):
                    hi = c
        if hi != hi:
            hi = lo + 1.0 if lo + 1.0 > 1.0 else 1.0
            while not ge_int(hi, upper, p, w, tab, b, K):
                lo = hi
                if hi >= 4.0e15:
                    return math.inf
                hi = 2.0 * hi
        while hi - lo > 1.0:
            mid = math.floor(lo + 0.5 * (hi - lo))
            if ge_int(mid, upper, p, w, tab, b, K):
                hi = mid
            else:
                lo = mid
        return hi

    def solve(q, w, tab, b, K):
        q = np.float64(q)
        if not (q > 0.0 and q < 1.0):
            return math.nan
        return body(q, w, tab, b, K)

    def dens(x, w, tab, b, K):
        """The mixture density ``f(x)`` (its lower-tail pass, density only)."""
        g, f = side_dens(x, False, w, tab, b, K)
        return f

    def polish(q, x0, w, tab, b, K):
        """One exact Newton step on ``log G`` from ``x0`` (a table's start): the new point, or
        NaN where the step is not below ``POLISH_ACCEPT |x0|`` (the caller then solves)."""
        upper = q > 0.5
        p = 1.0 - q if upper else q
        g, f = side_dens(x0, upper, w, tab, b, K)
        if not (g > 0.0 and 0.0 < f < math.inf):
            return math.nan
        ratio = g / p
        r = math.log(ratio) if 0.0 < ratio < math.inf else math.log(g) - math.log(p)
        sc = g / f  # the local length scale of log G (1 / its slope)
        step = r * sc
        dx = step if upper else -step
        return accepted_step(x0, dx, sc)

    h.q_tail = solve_tail
    h.q_dens = jitable_named(dens, *tag)
    h.q_polish = jitable_named(polish, *tag)

    solve_tail = jitable_named(solve_tail, *tag)
    solve_continuous = jitable_named(solve_continuous, *tag)
    solve_discrete = jitable_named(solve_discrete, *tag)
    body = solve_discrete if discrete else solve_continuous
    return jitable_named(solve, *tag)


@register_jitable
def xgrad_loc_scale(v, loc, scale, i):
    """``d x / d theta_i`` of a location-scale family's draw ``x = loc + scale F0^-1(u)`` at a
    fixed cdf value ``u`` (``sample_grad``): 1 for the location (``i = 0``), ``(x - loc) / scale``
    for the scale.  The families' ``xgrad1`` hooks call it with their own row offsets."""
    if i == 0:
        return 1.0
    return (np.float64(v) - np.float64(loc)) / np.float64(scale)
