"""Gamma family: density ``rate**a x**(a-1) exp(-rate x) / Gamma(a)`` on ``x >= 0``.

Row of one coordinate (``P = 7``; named offsets below):
``RATE | AM1 = a - 1 | CONST = a log(rate) - lgamma(a) | AT0 | BOUND | CONC = a | LOG_RATE``.

The point's logarithm is the per-point quantity (``NPRE = 1``, ``p0 = log x``,
computed once per point by :func:`pre1`), so the log-density
``CONST + AM1 log x - RATE x`` is two multiply-adds per (point, component),
with no branch (:func:`logpdf1_fast`).  ``pre1`` gives ``log x = NaN`` for
``x < 0``, so the fast form is NaN there, as at ``x = 0`` with ``a = 1``
(``0 * -inf``) and at ``x = +inf`` with ``a >= 1`` (``inf - inf``); the loop
redoes those points with :func:`logpdf1`.  At ``x = 0`` and ``a != 1`` the
fast form is already exact (``+inf`` for ``a < 1``, ``-inf`` for ``a > 1``).

``AT0`` is the log-density at ``x = 0`` as scipy has it: ``+inf`` for
``a < 1``, ``log(rate)`` for ``a = 1``, ``-inf`` for ``a > 1``.  ``BOUND`` is
the log-density at the mode ``(a - 1) / rate`` (rounded up a little),
``log(rate)`` for ``a = 1`` and ``+inf`` for ``a < 1`` (the density is
unbounded at 0: the loop takes its running-maximum path).
"""

import math

import numpy as np
from numba.extending import register_jitable
from scipy import special as sc

from ..quantile import ndtri_approx
from ..samplers import log_std_gamma, std_gamma
from ..samplers_tile import gamma_first_big_fast, gamma_first_fast
from ..special import gammainc, log_gammainc_pair

RATE, AM1, CONST, AT0, BOUND, CONC, LOG_RATE = 0, 1, 2, 3, 4, 5, 6
P = 7
NPRE = 1  # p0 = log x

_EXP_BIG = 709.0  # math.exp of more may overflow (and raises in the CUDA simulator)
_E = math.e


def pack(concentration, rate, dtype):
    """Rows ``(..., P)`` for ``concentration`` and ``rate`` (broadcast together)."""
    a = np.asarray(concentration, dtype=np.float64)
    r = np.asarray(rate, dtype=np.float64)
    a, r = np.broadcast_arrays(a, r)
    tab = np.empty(a.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lr = np.log(r)
        lg = sc.gammaln(a)
        am1 = a - 1.0
        tab[..., RATE] = r
        tab[..., AM1] = am1
        tab[..., CONST] = a * lr - lg
        tab[..., AT0] = np.where(a < 1.0, np.inf, np.where(a == 1.0, lr, -np.inf))
        mode = lr - lg + am1 * (np.log(np.where(a > 1.0, am1, 1.0)) - 1.0)
        bound = np.where(a > 1.0, mode, np.where(a == 1.0, lr, np.inf))
        # rounded up a little so that it stays a bound after the rounding of the row to dtype
        tab[..., BOUND] = bound + 1e-6 * (1.0 + np.abs(np.where(np.isfinite(bound), bound, 0.0)))
        tab[..., CONC] = a
        tab[..., LOG_RATE] = lr
    return tab.astype(dtype, copy=False)


# the any-D log_prob kernel's fused D == 1 loop (measured faster for this family)
FUSED_D1 = True


@register_jitable
def pre1(v):
    """``(log v, log v)`` in float64: ``-inf`` at 0, NaN for negative ``v`` and NaN."""
    x = np.float64(v)
    if x > 0:
        lv = math.log(x)
        return lv, lv
    if x == 0:
        return -math.inf, -math.inf
    return math.nan, math.nan


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form, no branch: NaN where it is not exact (see the module docstring)."""
    return tab[b, k, o + CONST] + tab[b, k, o + AM1] * p0 - tab[b, k, o + RATE] * v


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """Exact log-density (float64): ``-inf`` below 0 and at ``+inf``, ``AT0`` at 0, NaN for NaN."""
    if v > 0:
        if v == math.inf:
            return -math.inf
        return (
            np.float64(tab[b, k, o + CONST])
            + np.float64(tab[b, k, o + AM1]) * np.float64(p0)
            - np.float64(tab[b, k, o + RATE]) * np.float64(v)
        )
    if v == 0:
        return np.float64(tab[b, k, o + AT0])
    if v != v:
        return np.float64(v)
    return -math.inf


@register_jitable
def bound1(tab, b, k, o):
    """An upper bound of ``logpdf1`` over ``x``: its value at the mode (``+inf`` for ``a < 1``)."""
    return tab[b, k, o + BOUND]


@register_jitable
def cdf1(v, tab, b, k, o):
    """``P(a, rate x)`` (regularised lower incomplete gamma); 0 for ``x <= 0``, 1 at ``+inf``."""
    x = np.float64(v)
    if x > 0:
        return gammainc(np.float64(tab[b, k, o + CONC]), np.float64(tab[b, k, o + RATE]) * x)
    if x != x:
        return x
    return 0.0


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log P(a, rate x)`` in log space (finite where the cdf underflows); ``-inf`` for
    ``x <= 0``, 0 at ``+inf``, NaN for NaN."""
    x = np.float64(v)
    if x > 0:
        return log_gammainc_pair(np.float64(tab[b, k, o + CONC]), np.float64(tab[b, k, o + RATE]) * x)[0]
    if x != x:
        return x
    return -math.inf


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log Q(a, rate x) = log P(X > x)`` in log space; 0 for ``x <= 0``, ``-inf`` at ``+inf``."""
    x = np.float64(v)
    if x > 0:
        return log_gammainc_pair(np.float64(tab[b, k, o + CONC]), np.float64(tab[b, k, o + RATE]) * x)[1]
    if x != x:
        return x
    return 0.0


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``G / rate``, G ~ Gamma(a, 1) by Marsaglia-Tsang on counter word ``c``.

    For ``a < 1`` the draw is formed from ``log G - log(rate)`` (the boost
    ``log G(a + 1) + log(U) / a``), so values far below the smallest float64
    of ``G`` alone are right after the division by a small rate.
    """
    a = np.float64(tab[b, k, o + CONC])
    if a < 1.0:
        y = log_std_gamma(key0, key1, n, c, a) - np.float64(tab[b, k, o + LOG_RATE])
        if y > _EXP_BIG:  # exp(y - 1) e: overflows to inf in the multiply, never in math.exp
            return math.exp(y - 1.0) * _E
        return math.exp(y)
    return std_gamma(key0, key1, n, c, a) / np.float64(tab[b, k, o + RATE])


_NORMAL_MIN = 2.2250738585072014e-308  # the smallest normal float64


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The concentrations are gathered into ``z0``; Marsaglia-Tsang's first try
    (:func:`..samplers_tile.gamma_first_fast`, on the words :func:`draw1` uses) runs
    for every point in a loop without gathers (it vectorises; the boost's
    ``log``/``exp`` only in tiles with a concentration below 1), into ``z1``
    (NaN where the first try rejected); then ``G / rate``.  Points whose first try
    rejected, or whose value is not a normal finite float64 (where :func:`draw1`
    takes its logs), are drawn by :func:`draw1` itself.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        amin = math.inf
        for i in range(nl):
            a = np.float64(tab[bb[i], kk[i], o + CONC])
            z0[i] = a
            amin = min(amin, a)
        if amin >= 1.0:
            for i in range(nl):  # SIMD
                g, ok = gamma_first_big_fast(key0, key1, g0 + i, 4 * j, z0[i])
                z1[i] = g if ok else math.nan
        else:
            for i in range(nl):  # SIMD
                g, ok = gamma_first_fast(key0, key1, g0 + i, 4 * j, z0[i])
                z1[i] = g if ok else math.nan
        for i in range(nl):
            b = bb[i]
            k = kk[i]
            r = z1[i] / np.float64(tab[b, k, o + RATE])
            if not (r >= _NORMAL_MIN and r < math.inf):  # rejected (NaN), or a far tail
                r = draw1(key0, key1, g0 + i, 4 * j, tab, b, k, o)
            out[row0 + i, j] = r


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """A seed for the quantile at tail probability ``p``: Wilson-Hilferty, or
    ``(p Gamma(a + 1))**(1/a)`` in the lower tail where that cube is not positive."""
    a = np.float64(tab[b, k, o + CONC])
    r = np.float64(tab[b, k, o + RATE])
    z = ndtri_approx(p)
    if upper:
        z = -z
    c = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * math.sqrt(a))
    if c > 0.0 and (upper or a >= 1.0):
        return a * c * c * c / r
    if upper:
        return math.nan
    return math.exp((math.log(p) + math.lgamma(a + 1.0)) / a) / r


# -- implicit reparameterisation (``sample_grad``) ------------------------------------
#: the parameters (façade names) whose sample derivative ``xgrad1`` has in closed form
XGRAD = ("rate",)


@register_jitable
def xgrad1(v, tab, b, k, o, i):
    """``dx/dtheta_i`` at fixed ``u = F(x)`` for ``(concentration, rate)``: ``x = y / rate``
    gives ``-x / rate``; NaN for the concentration (the derivative of the regularised
    incomplete gamma in its shape has no closed form; ``sample_grad`` refuses it)."""
    if i == 0:
        return math.nan
    return -np.float64(v) / np.float64(tab[b, k, o + RATE])


# -- derivatives (the log_prob_grad operation) ---------------------------------------
from ..special import digamma as _digamma  # noqa: E402

#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("concentration", "rate")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; ``d/dv = (a - 1) / v - rate``, ``d/da = log rate + log v - psi(a)``,
    ``d/drate = a / rate - v`` (``a`` the concentration)."""
    lp = logpdf1(v, p0, p1, tab, b, k, o)
    if not abs(lp) < math.inf:
        return lp
    a = np.float64(tab[b, k, o + CONC])
    r = np.float64(tab[b, k, o + RATE])
    x = np.float64(v)
    g[j] = np.float64(tab[b, k, o + AM1]) / x - r if x > 0.0 else 0.0
    g[j + 1] = np.float64(tab[b, k, o + LOG_RATE]) + np.float64(p0) - _digamma(a)
    g[j + 2] = a / r - x
    return lp
