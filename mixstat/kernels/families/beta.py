"""Beta family: density ``x**(a-1) (1-x)**(b-1) / B(a, b)`` on ``[0, 1]``.

Row of one coordinate (``P = 8``; named offsets below):
``AM1 = a - 1 | BM1 = b - 1 | NEG_LBETA = -log B(a, b) | AT0 | AT1 | BOUND | A | B``.

The per-point quantities are ``p0 = log x`` and ``p1 = log1p(-x)`` (``NPRE = 2``,
computed once per point by :func:`pre1`), so the log-density
``AM1 p0 + BM1 p1 + NEG_LBETA`` is two multiply-adds per (point, component),
with no branch (:func:`logpdf1_fast`).  ``pre1`` gives NaN outside ``[0, 1]``,
so the fast form is NaN there, as at ``x = 0`` with ``a = 1`` and at ``x = 1``
with ``b = 1`` (``0 * -inf``); the loop redoes those points with
:func:`logpdf1`.  At the end points with ``a, b != 1`` the fast form is
already exact (``+inf`` or ``-inf``).

``AT0`` / ``AT1`` are the log-densities at ``x = 0`` / ``x = 1`` as scipy has
them (``+inf`` for a concentration below 1, ``-log B`` for one equal to 1,
``-inf`` above).  ``BOUND`` is the log-density at the mode
``(a - 1) / (a + b - 2)`` when ``a >= 1`` and ``b >= 1`` (``-log B`` when one
of them is 1; 0 for ``a = b = 1``), rounded up a little; ``+inf`` when either
concentration is below 1 (the density is unbounded at an end point: the loop
takes its running-maximum path).
"""

import math

import numpy as np
from numba.extending import register_jitable
from scipy import special as sc

from ..fastmath import exp_neg
from ..samplers import std_beta
from ..samplers_tile import gamma_first_big_fast, log_gamma_first_fast
from ..special import betainc, log_ibeta_pair

AM1, BM1, NEG_LBETA, AT0, AT1, BOUND, A, B = 0, 1, 2, 3, 4, 5, 6, 7
P = 8
NPRE = 2  # p0 = log x, p1 = log1p(-x)


def _at_end(c, neg_lb):
    """The log-density at the end point whose exponent is ``c - 1``."""
    return np.where(c < 1.0, np.inf, np.where(c == 1.0, neg_lb, -np.inf))


def pack(concentration1, concentration0, dtype):
    """Rows ``(..., P)`` for ``concentration1`` (a) and ``concentration0`` (b), broadcast together."""
    a = np.asarray(concentration1, dtype=np.float64)
    bb = np.asarray(concentration0, dtype=np.float64)
    a, bb = np.broadcast_arrays(a, bb)
    tab = np.empty(a.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # log B(1, b) = -log b exactly (scipy's betaln(1, 1) is -1.6e-17, not 0)
        neg_lb = np.where(a == 1.0, np.log(bb), np.where(bb == 1.0, np.log(a), -sc.betaln(a, bb)))
        am1 = a - 1.0
        bm1 = bb - 1.0
        tab[..., AM1] = am1
        tab[..., BM1] = bm1
        tab[..., NEG_LBETA] = neg_lb
        tab[..., AT0] = _at_end(a, neg_lb)
        tab[..., AT1] = _at_end(bb, neg_lb)
        s = am1 + bm1  # a + b - 2 > 0 where the mode is inside (a, b >= 1, not both 1)
        ok = (a >= 1.0) & (bb >= 1.0)
        inner = ok & (s > 0)
        ss = np.where(inner, s, 1.0)
        mode = sc.xlogy(am1, am1 / ss) + sc.xlogy(bm1, bm1 / ss) + neg_lb
        bound = np.where(inner, mode, np.where(ok, neg_lb, np.inf))
        # rounded up a little so that it stays a bound after the rounding of the row to dtype
        tab[..., BOUND] = bound + 1e-6 * (1.0 + np.abs(np.where(np.isfinite(bound), bound, 0.0)))
        tab[..., A] = a
        tab[..., B] = bb
    return tab.astype(dtype, copy=False)


# the any-D log_prob kernel's fused D == 1 loop (measured faster for this family)
FUSED_D1 = True


@register_jitable
def _log1m(x):
    """``log1p(-x)`` for ``0 < x < 1`` with ``log`` only (a few ulp; libm's log1p costs 4x):
    ``log(u) * (-x / (u - 1))`` with ``u = 1 - x`` rounded, which corrects the rounding of
    ``u`` to first order (Goldberg 1991, Theorem 4); ``u = 1 - x`` is exact for x >= 1/2."""
    u = 1.0 - x
    if u == 1.0:
        return -x
    return math.log(u) * (-x / (u - 1.0))


@register_jitable
def pre1(v):
    """``(log v, log1p(-v))`` in float64; ``-inf`` at the end points, NaN outside [0, 1] and for NaN."""
    x = np.float64(v)
    if x > 0 and x < 1:
        return math.log(x), _log1m(x)
    if x == 0:
        return -math.inf, 0.0
    if x == 1:
        return 0.0, -math.inf
    return math.nan, math.nan


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form, no branch: NaN where it is not exact (see the module docstring)."""
    return tab[b, k, o + AM1] * p0 + tab[b, k, o + BM1] * p1 + tab[b, k, o + NEG_LBETA]


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """Exact log-density (float64): ``-inf`` outside [0, 1], ``AT0``/``AT1`` at the ends, NaN for NaN."""
    if v > 0 and v < 1:
        return (
            np.float64(tab[b, k, o + AM1]) * np.float64(p0)
            + np.float64(tab[b, k, o + BM1]) * np.float64(p1)
            + np.float64(tab[b, k, o + NEG_LBETA])
        )
    if v == 0:
        return np.float64(tab[b, k, o + AT0])
    if v == 1:
        return np.float64(tab[b, k, o + AT1])
    if v != v:
        return np.float64(v)
    return -math.inf


@register_jitable
def bound1(tab, b, k, o):
    """An upper bound of ``logpdf1`` over ``x``: its value at the mode (``+inf`` if unbounded)."""
    return tab[b, k, o + BOUND]


@register_jitable
def cdf1(v, tab, b, k, o):
    """``I_x(a, b)`` (regularised incomplete beta); 0 for ``x <= 0``, 1 for ``x >= 1``."""
    x = np.float64(v)
    if x > 0:
        if x >= 1:
            return 1.0
        return betainc(np.float64(tab[b, k, o + A]), np.float64(tab[b, k, o + B]), x)
    if x != x:
        return x
    return 0.0


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log I_x(a, b)`` in log space (finite where the cdf underflows); ``-inf`` for
    ``x <= 0``, 0 for ``x >= 1``, NaN for NaN."""
    x = np.float64(v)
    if x > 0:
        if x >= 1:
            return 0.0
        return log_ibeta_pair(np.float64(tab[b, k, o + A]), np.float64(tab[b, k, o + B]), x, 1.0 - x)[0]
    if x != x:
        return x
    return -math.inf


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log(1 - I_x(a, b)) = log I_{1-x}(b, a)`` in log space; 0 for ``x <= 0``, ``-inf``
    for ``x >= 1``.  ``1 - x`` is exact for ``x >= 1/2``, so the tail at 1 keeps its digits."""
    x = np.float64(v)
    if x > 0:
        if x >= 1:
            return -math.inf
        return log_ibeta_pair(np.float64(tab[b, k, o + A]), np.float64(tab[b, k, o + B]), x, 1.0 - x)[1]
    if x != x:
        return x
    return 0.0


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``X / (X + Y)`` from ``log X``, ``log Y`` (Gamma(a) on word ``c``, Gamma(b) on ``c + 1``)."""
    return std_beta(key0, key1, n, c, np.float64(tab[b, k, o + A]), np.float64(tab[b, k, o + B]))


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The concentrations are gathered into ``z0``, ``z1``; the first Marsaglia-Tsang
    tries of the two Gammas (words ``4 j`` and ``4 j + 1``, as :func:`draw1`) run
    for every point in a loop without gathers (it vectorises), into ``z0``:
    ``X / (X + Y)`` for points whose two concentrations are at least 1, else, as
    :func:`..samplers.std_beta`, from ``log X`` and ``log Y`` (polynomial
    ``log``/``exp``).  NaN where a first try rejected, or where the two logs
    differ by more than 700 (or are not finite); those points are drawn by
    :func:`draw1` itself.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        amin = math.inf
        for i in range(nl):
            a = np.float64(tab[bb[i], kk[i], o + A])
            q = np.float64(tab[bb[i], kk[i], o + B])
            z0[i] = a
            z1[i] = q
            amin = min(amin, a, q)
        if amin >= 1.0:
            for i in range(nl):  # SIMD
                x, okx = gamma_first_big_fast(key0, key1, g0 + i, 4 * j, z0[i])
                y, oky = gamma_first_big_fast(key0, key1, g0 + i, 4 * j + 1, z1[i])
                z0[i] = x / (x + y) if okx & oky else math.nan
        else:
            # the form is chosen per point, never per tile: a point's bits must not depend on
            # which other points share its tile (chunking, thread count)
            for i in range(nl):
                a = z0[i]
                q = z1[i]
                if a >= 1.0 and q >= 1.0:
                    x, okx = gamma_first_big_fast(key0, key1, g0 + i, 4 * j, a)
                    y, oky = gamma_first_big_fast(key0, key1, g0 + i, 4 * j + 1, q)
                    z0[i] = x / (x + y) if okx & oky else math.nan
                else:
                    x, okx = log_gamma_first_fast(key0, key1, g0 + i, 4 * j, a)
                    y, oky = log_gamma_first_fast(key0, key1, g0 + i, 4 * j + 1, q)
                    t = y - x
                    e = exp_neg(-abs(t))
                    r = 1.0 / (1.0 + e) if t < 0.0 else e / (1.0 + e)
                    z0[i] = r if okx & oky & (abs(t) <= 700.0) & (t != 0.0) else math.nan
        for i in range(nl):
            r = z0[i]
            if r != r:
                r = draw1(key0, key1, g0 + i, 4 * j, tab, bb[i], kk[i], o)
            out[row0 + i, j] = r


# -- derivatives (the log_prob_grad operation) ---------------------------------------
from ..special import digamma as _digamma  # noqa: E402

#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("concentration1", "concentration0")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; ``d/dv = (a - 1) / v - (b - 1) / (1 - v)``,
    ``d/da = log v - psi(a) + psi(a + b)``, ``d/db = log(1 - v) - psi(b) + psi(a + b)``
    (``a, b`` = concentration1, concentration0)."""
    lp = logpdf1(v, p0, p1, tab, b, k, o)
    if not abs(lp) < math.inf:
        return lp
    a = np.float64(tab[b, k, o + A])
    c0 = np.float64(tab[b, k, o + B])
    x = np.float64(v)
    ps = _digamma(a + c0)
    if x > 0.0 and x < 1.0:
        g[j] = np.float64(tab[b, k, o + AM1]) / x - np.float64(tab[b, k, o + BM1]) / (1.0 - x)
    else:
        g[j] = 0.0
    g[j + 1] = np.float64(p0) - _digamma(a) + ps
    g[j + 2] = np.float64(p1) - _digamma(c0) + ps
    return lp
