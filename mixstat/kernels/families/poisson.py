"""Poisson family: mass ``rate**x exp(-rate) / x!`` on ``x = 0, 1, 2, ..``.

Row of one coordinate (``P = 3``): ``RATE | LOG_RATE | BOUND``.

The point's ``log x! = lgamma(x + 1)`` is the per-point quantity (``NPRE = 1``,
``p0``, computed once per point by :func:`pre1`; NaN for a value that is not a
non-negative finite integer), so the log-mass ``x LOG_RATE - RATE - p0`` is one
multiply-add per (point, component) with no branch (:func:`logpdf1_fast`).  It is
NaN where it is not exact (a value off the support, and ``0 * -inf`` at ``x = 0``
for ``rate = 0``); the loop redoes those points with :func:`logpdf1`.

``BOUND`` is the log-mass at the mode ``floor(rate)`` (at most 0), rounded up a
little.  ``cdf1`` is ``Q(floor(x) + 1, rate)`` (regularised upper incomplete gamma,
:mod:`..special`); ``draw1`` is :func:`..samplers_count.poisson` (inversion below
rate 10, PTRS above) on counter word ``c``.
"""

import math

import numpy as np
from numba.extending import register_jitable
from scipy import special as sc

from ..quantile import ndtri_approx
from ..samplers_count import ffloor, is_count, log_factorial, log_factorial_fast, poisson
from ..special import gammaincc, log_gammainc_pair

RATE, LOG_RATE, BOUND = 0, 1, 2
P = 3
NPRE = 1  # p0 = lgamma(x + 1)

_NAN = math.nan
_INF = math.inf


def pack(rate, dtype):
    """Rows ``(..., P)`` for ``rate``."""
    r = np.asarray(rate, dtype=np.float64)
    tab = np.empty(r.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lr = np.log(r)
        mode = np.floor(r)
        # above 1e6 the cancellation in the mode's log-mass could exceed the round-up: 0 (a bound)
        bound = np.where((r > 0) & (r < 1e6), sc.xlogy(mode, r) - r - sc.gammaln(mode + 1.0), 0.0)
        tab[..., RATE] = r
        tab[..., LOG_RATE] = lr
        tab[..., BOUND] = np.minimum(bound + 1e-6 * (1.0 + np.abs(np.where(np.isfinite(bound), bound, 0.0))), 0.0)
    return tab.astype(dtype, copy=False)


@register_jitable
def pre1(v):
    """``(lgamma(v + 1), same)`` in float64 for a non-negative finite integer ``v``, else NaN."""
    x = np.float64(v)
    if is_count(x):
        lg = log_factorial(x)
        return lg, lg
    return _NAN, _NAN


# the any-D log_prob kernel's fused D == 1 loop, with the per-point log x! by table lookup in
# a SIMD loop (:func:`pre1_fast`)
FUSED_D1 = True


@register_jitable
def pre1_fast(v):
    """:func:`pre1` without a branch: ``log x!`` from the table for an integer ``0 <= x < 1024``,
    NaN otherwise (the point is then redone with :func:`pre1` and :func:`logpdf1`)."""
    lg = log_factorial_fast(np.float64(v))
    return lg, lg


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form, no branch: NaN off the support and at ``x = 0`` for ``rate = 0``."""
    return v * tab[b, k, o + LOG_RATE] - tab[b, k, o + RATE] - p0


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """Exact log-mass (float64): ``-inf`` off the non-negative integers and at ``+inf``, NaN for NaN.
    ``p0`` is :func:`pre1`'s ``lgamma(x + 1)`` (every caller passes it)."""
    x = np.float64(v)
    if is_count(x):
        r = np.float64(tab[b, k, o + RATE])
        if x == 0.0:
            return -r  # also rate 0: mass 1 at 0
        lp = x * np.float64(tab[b, k, o + LOG_RATE]) - r - np.float64(p0)  # p0: pre1's lgamma(x + 1)
        if lp != lp and r == r:
            return -_INF  # inf - inf for x near the float64 maximum: the mass underflows
        return lp
    if x != x:
        return x
    return -_INF


@register_jitable
def bound1(tab, b, k, o):
    """An upper bound of ``logpdf1`` over ``x``: the log-mass at the mode (at most 0)."""
    return tab[b, k, o + BOUND]


@register_jitable
def cdf1(v, tab, b, k, o):
    """``P(X <= v) = Q(floor(v) + 1, rate)``; 0 below 0, 1 at ``+inf``, NaN for NaN."""
    x = np.float64(v)
    if x != x:
        return x
    if x < 0.0:
        return 0.0
    if x == _INF:
        return 1.0
    return gammaincc(ffloor(x) + 1.0, np.float64(tab[b, k, o + RATE]))


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log P(X <= v) = log Q(floor(v) + 1, rate)`` in log space; ``-inf`` below 0, 0 at
    ``+inf``, NaN for NaN."""
    x = np.float64(v)
    if x != x:
        return x
    if x < 0.0:
        return -_INF
    if x == _INF:
        return 0.0
    return log_gammainc_pair(ffloor(x) + 1.0, np.float64(tab[b, k, o + RATE]))[1]


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log P(X > v) = log P(floor(v) + 1, rate)`` in log space; 0 below 0, ``-inf`` at
    ``+inf``, NaN for NaN."""
    x = np.float64(v)
    if x != x:
        return x
    if x < 0.0:
        return 0.0
    if x == _INF:
        return -_INF
    return log_gammainc_pair(ffloor(x) + 1.0, np.float64(tab[b, k, o + RATE]))[0]


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """Poisson(rate) on counter word ``c`` (see :mod:`..samplers_count`)."""
    return poisson(key0, key1, n, c, tab[b, k, o + RATE])


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """A seed for the quantile at tail probability ``p``: ``rate + z sqrt(rate)``."""
    lam = np.float64(tab[b, k, o + RATE])
    z = ndtri_approx(p)
    x = lam - z * math.sqrt(lam) if upper else lam + z * math.sqrt(lam)
    return x if x > 0.0 else 0.0


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("rate",)


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; ``d/drate = v / rate - 1`` (``-1`` at ``v = 0``, also for rate 0) into
    ``g[j + 1]``; ``g[j] = 0`` (integer values have no derivative)."""
    r = np.float64(tab[b, k, o + RATE])
    x = np.float64(v)
    g[j] = 0.0
    g[j + 1] = x / r - 1.0 if x > 0.0 else -1.0
    return np.float64(logpdf1(v, p0, p1, tab, b, k, o))
