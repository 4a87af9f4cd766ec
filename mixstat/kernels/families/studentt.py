"""Student's t family (location-scale), ``df`` degrees of freedom.

Density, with ``z = (x - loc) / scale`` and ``h = df / 2``:

    log p(x) = CONST - (df + 1)/2 * log1p(z**2 / df),
    CONST    = lgamma((df + 1)/2) - lgamma(df/2) - log(df pi)/2 - log(scale)
             = -lbeta(df/2, 1/2) - log(df)/2 - log(scale)

with ``lbeta(h, 1/2)`` from :func:`lbeta_half` (SciPy's ``betaln`` loses up to
1e-10 relative at ``h = 5e5``, where its lgamma nearly cancel).

Row of one coordinate (``P = 7``; named offsets below):
``DF | LOC | SCALE | W = 1/(scale sqrt(df)) | H1 = (df + 1)/2 | CONST |
LBETA = lbeta(df/2, 1/2)``.

``z**2/df = ((x - loc) W)**2``.  Where ``W`` overflows the row's dtype (a
subnormal scale or df) it is stored as NaN: the SIMD log-density then gives
NaN and the loops redo the point with the exact function, which divides.

cdf: with ``q = z**2 / df``, ``x = 1/(1 + q) = df/(df + z**2)`` and
``y = q/(1 + q)``, ``I, 1 - I = betainc_pair(df/2, 1/2, x, y)`` and
``F = I/2`` for ``z < 0``, ``1/2 + (1 - I)/2`` for ``z >= 0``: both tails keep
their relative accuracy.  Where ``q`` overflows (``|z| > ~1e154 sqrt(df)``)
the leading term of the series, ``x**h / (h B(h, 1/2))``, exact there to a
relative ``x < 1e-300``, is evaluated in logs (its exponent, up to ~700, is
rounded: within ``(|log F| + 1) 2**-50`` relative).
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..fastmath import log_pos
from ..quantile import ndtri_approx
from ..samplers import std_t
from ..samplers_tile import gamma_first_big_fast, gamma_first_fast, std_normal_fast
from ..special import betainc_pair, log_ibeta_pair

# named offsets of one coordinate's row
DF, LOC, SCALE, W, H1, CONST, LBETA = 0, 1, 2, 3, 4, 5, 6
P = 7
NPRE = 0

_INF = math.inf
_NAN = math.nan

_HALF_LOG_PI = 0.5 * math.log(math.pi)
_SHIFT = 10
# Stirling series of log Gamma: B_2k / (2k (2k - 1)), k = 1..9 (truncation < 2e-19 at z >= 10)
_STIRLING = (
    1.0 / 12,
    -1.0 / 360,
    1.0 / 1260,
    -1.0 / 1680,
    1.0 / 1188,
    -691.0 / 360360,
    1.0 / 156,
    -3617.0 / 122400,
    43867.0 / 244188,
)


def _stirling(z):
    r = 1.0 / z
    r2 = r * r
    s = _STIRLING[-1]
    for c in _STIRLING[-2::-1]:
        s = c + r2 * s
    return r * s


def lbeta_half(h):
    """``log B(h, 1/2)`` for ``h > 0`` (NumPy, float64), within ~1e-15 of ``max(1, |value|)``.

    ``log B(h, 1/2) = log(pi)/2 - (lgamma(h + 1/2) - lgamma(h))``; the difference
    is taken at ``g = h + n >= 10`` (``n`` whole) from the Stirling series,
    ``g log1p(1/(2g)) - 1/2 + S(g + 1/2) - S(g) + log(g)/2``, and brought back by
    ``lgamma(h + 1/2) - lgamma(h) = [...](g) - sum_{j<n} log1p(1/(2 (h + j)))``:
    no cancellation between large lgamma values (checked against mpmath in
    ``tests/test_family_studentt.py``).
    """
    h = np.asarray(h, dtype=np.float64)
    with np.errstate(all="ignore"):
        n = np.where(h < _SHIFT, np.ceil(_SHIFT - h), 0.0)
        g = h + n
        acc = np.zeros(h.shape)
        for j in range(_SHIFT + 1):
            acc += np.where(j < n, np.log1p(0.5 / (h + j)), 0.0)
        d = g * np.log1p(0.5 / g) - 0.5 + (_stirling(g + 0.5) - _stirling(g))
        return (_HALF_LOG_PI - 0.5 * np.log(g)) - d + acc


def pack(df, loc, scale, dtype):
    """Rows ``(..., P)`` for ``df``, ``loc`` and ``scale`` (broadcast together)."""
    df = np.asarray(df, dtype=np.float64)
    loc = np.asarray(loc, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    df, loc, scale = np.broadcast_arrays(df, loc, scale)
    tab = np.empty(df.shape + (P,), dtype=np.float64)
    big = np.finfo(dtype).max
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = 1.0 / (scale * np.sqrt(df))
        lb = lbeta_half(0.5 * df)
        tab[..., DF] = df
        tab[..., LOC] = loc
        tab[..., SCALE] = scale
        # NaN (the exact path) where W or scale sqrt(df) leaves the normal range
        tab[..., W] = np.where((w <= big) & (w >= np.finfo(dtype).tiny), w, np.nan)
        tab[..., H1] = 0.5 * (df + 1.0)
        tab[..., CONST] = -lb - 0.5 * np.log(df) - np.log(scale)
        tab[..., LBETA] = lb
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form (CPU only): ``log1p(t)`` as ``log_pos(u) + c``, ``u = 1 + t`` rounded and
    ``c = t - (u - 1)`` its rounding error (exact: Sterbenz), for ``t < 1``.

    ``log(1 + t) = log(u) + log1p(c / u)``; taking ``c`` for ``c / u`` costs at most
    ``|c| t / (1 + t) <= 2**-53 t / (1 + t) <= 2**-53 log1p(t)``; for ``t >= 1`` the
    correction is below ``2**-53`` absolute against ``log1p(t) >= log 2``.  So
    ``log1p`` is within ~2 ulp, and the log-density within a few ulp of
    ``max(|CONST|, H1 log1p(t))`` (measured against mpmath: below 7e-16 relative of
    ``max(1, |log p|)``, ``tests/test_family_studentt.py``).  NaN where
    ``u`` is not finite (NaN in, ``z**2`` overflowing, ``W`` overflowing):
    the loop redoes those points with :func:`logpdf1`.
    """
    y = (np.float64(v) - np.float64(tab[b, k, o + LOC])) * np.float64(tab[b, k, o + W])
    t = y * y
    u = 1.0 + t
    c = t - (u - 1.0)
    lg = log_pos(u) + (c if t < 1.0 else 0.0)
    r = np.float64(tab[b, k, o + CONST]) - np.float64(tab[b, k, o + H1]) * lg
    return r if u < _INF else _NAN


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """Exact log-density in float64: ``CONST - H1 log1p((|z| / df) |z|)``; where that
    overflows, ``log1p(z**2/df) = 2 (log|x - loc| - log scale) - log df`` (to ~1e-300)."""
    x = np.float64(v)
    if not abs(x) < _INF:
        return x if x != x else -_INF
    df = np.float64(tab[b, k, o + DF])
    sc = np.float64(tab[b, k, o + SCALE])
    d = x - np.float64(tab[b, k, o + LOC])
    a = abs(d) / sc
    t = (a / df) * a
    if t < _INF:
        lg = math.log1p(t)
    else:
        lg = 2.0 * (math.log(abs(d)) - math.log(sc)) - math.log(df)
    return np.float64(tab[b, k, o + CONST]) - np.float64(tab[b, k, o + H1]) * lg


@register_jitable
def bound1(tab, b, k, o):
    """The log-density at the mode ``x = loc``: ``CONST``."""
    return tab[b, k, o + CONST]


@register_jitable
def cdf1(v, tab, b, k, o):
    """``I/2`` (``x < loc``) or ``1/2 + (1 - I)/2`` with ``(I, 1 - I)`` from
    :func:`..special.betainc_pair` at ``df/(df + z**2)``, ``z**2/(df + z**2)``."""
    x = np.float64(v)
    if x != x:
        return x
    if x == _INF:
        return 1.0
    if x == -_INF:
        return 0.0
    df = np.float64(tab[b, k, o + DF])
    sc = np.float64(tab[b, k, o + SCALE])
    d = x - np.float64(tab[b, k, o + LOC])
    a = abs(d) / sc
    q = (a / df) * a
    h = 0.5 * df
    if q < _INF:
        p, pc = betainc_pair(h, 0.5, 1.0 / (1.0 + q), q / (1.0 + q))
    else:
        # x = df / z**2 < 1e-300: I = x**h / (h B(h, 1/2)) (1 + O(x))
        lx = math.log(df) - 2.0 * (math.log(abs(d)) - math.log(sc))
        e = h * lx - math.log(h) - np.float64(tab[b, k, o + LBETA])
        p = math.exp(e) if e > -745.2 else 0.0
        pc = 1.0 - p
    if d < 0.0:
        return 0.5 * p
    return 0.5 + 0.5 * pc


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``loc + scale T``, T by :func:`..samplers.std_t` (words ``c``, ``c + 1``)."""
    t = std_t(key0, key1, n, c, np.float64(tab[b, k, o + DF]))
    return tab[b, k, o + LOC] + t * tab[b, k, o + SCALE]


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The degrees of freedom are gathered into ``z0``; ``Z / sqrt(G / h)``,
    ``h = df / 2``, with the first Marsaglia-Tsang try of G on word ``4 j`` and the
    Box-Muller Z on word ``4 j + 1`` (as :func:`..samplers.std_t`), runs for every
    point in a loop without gathers (it vectorises; the boost for ``h < 1`` only
    in tiles that have one), into ``z1`` (NaN where the first try rejected, or
    not finite); then ``loc + scale T``.  The other points are drawn by
    :func:`draw1` itself.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        hmin = _INF
        for i in range(nl):
            h = 0.5 * np.float64(tab[bb[i], kk[i], o + DF])
            z0[i] = h
            hmin = min(hmin, h)
        if hmin >= 1.0:
            for i in range(nl):  # SIMD
                h = z0[i]
                g, ok = gamma_first_big_fast(key0, key1, g0 + i, 4 * j, h)
                t = std_normal_fast(key0, key1, g0 + i, 4 * j + 1) / math.sqrt(g / h)
                z1[i] = t if ok else _NAN
        else:
            for i in range(nl):  # SIMD
                h = z0[i]
                g, ok = gamma_first_fast(key0, key1, g0 + i, 4 * j, h)
                t = std_normal_fast(key0, key1, g0 + i, 4 * j + 1) / math.sqrt(g / h)
                z1[i] = t if ok else _NAN
        for i in range(nl):
            b = bb[i]
            k = kk[i]
            t = z1[i]
            if abs(t) < _INF:
                out[row0 + i, j] = tab[b, k, o + LOC] + t * tab[b, k, o + SCALE]
            else:
                out[row0 + i, j] = draw1(key0, key1, g0 + i, 4 * j, tab, b, k, o)


_LN2 = math.log(2.0)


@register_jitable
def _log_half_tail(d, tab, b, k, o):
    """``(log(I/2), log(1 - I/2))`` at offset ``d = x - loc`` (finite, not NaN), where
    ``I/2`` is the mass beyond ``|d|`` on one side: :func:`..special.log_ibeta_pair` at
    ``df/(df + z**2)``, ``z**2/(df + z**2)``; where ``z**2/df`` overflows, the logarithm
    of the leading term ``x**h / (h B(h, 1/2))`` (as :func:`cdf1`)."""
    df = np.float64(tab[b, k, o + DF])
    sc = np.float64(tab[b, k, o + SCALE])
    a = abs(d) / sc
    q = (a / df) * a
    h = 0.5 * df
    if q < _INF:
        lp, lq = log_ibeta_pair(h, 0.5, 1.0 / (1.0 + q), q / (1.0 + q))
        lt = lp - _LN2
    else:
        lx = math.log(df) - 2.0 * (math.log(abs(d)) - math.log(sc))
        lt = h * lx - math.log(h) - np.float64(tab[b, k, o + LBETA]) - _LN2
    # 1 - I/2 = 1 - exp(lt), lt <= -log 2: no cancellation
    return lt, math.log1p(-math.exp(lt))


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log F(x)``: ``log(I/2)`` below ``loc`` (finite however far out), ``log1p(-I/2)``
    above (see :func:`_log_half_tail`)."""
    x = np.float64(v)
    if x != x:
        return x
    if x == _INF:
        return 0.0
    if x == -_INF:
        return -_INF
    d = x - np.float64(tab[b, k, o + LOC])
    lt, lc = _log_half_tail(d, tab, b, k, o)
    return lt if d < 0.0 else lc


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log(1 - F(x))``: ``log(I/2)`` above ``loc``, ``log1p(-I/2)`` below."""
    x = np.float64(v)
    if x != x:
        return x
    if x == _INF:
        return -_INF
    if x == -_INF:
        return 0.0
    d = x - np.float64(tab[b, k, o + LOC])
    lt, lc = _log_half_tail(d, tab, b, k, o)
    return lt if d > 0.0 else lc


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """A seed for the quantile at tail probability ``p``: the Cornish-Fisher expansion of
    ``t`` in the normal quantile (refined by the solver; ``loc`` exactly at ``p = 1/2``)."""
    z = ndtri_approx(p)
    v = np.float64(tab[b, k, o + DF])
    z2 = z * z
    t = z + (z2 + 1.0) * z / (4.0 * v) + ((5.0 * z2 + 16.0) * z2 + 3.0) * z / (96.0 * v * v)
    s = np.float64(tab[b, k, o + SCALE])
    mu = np.float64(tab[b, k, o + LOC])
    return mu - s * t if upper else mu + s * t


# -- implicit reparameterisation (``sample_grad``) ------------------------------------
#: the parameters (façade names) whose sample derivative ``xgrad1`` has in closed form
XGRAD = ("loc", "scale")


@register_jitable
def xgrad1(v, tab, b, k, o, i):
    """``dx/dtheta_i`` at fixed ``u = F(x)`` for ``(df, loc, scale)``: NaN for ``df`` (its
    cdf derivative, a derivative of the incomplete beta in its parameters, has no closed
    form), 1 (loc) and ``(x - loc) / scale`` (scale)."""
    if i == 0:
        return math.nan
    if i == 1:
        return 1.0
    return (np.float64(v) - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE])


# -- derivatives (the log_prob_grad operation) ---------------------------------------
from ..special import digamma as _digamma  # noqa: E402

#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("df", "loc", "scale")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; with ``z = (v - loc) / scale`` and ``n`` = df:
    ``d/dv = -(n + 1) z / (n + z**2) / scale = -d/dloc``,
    ``d/dscale = ((n + 1) z**2 / (n + z**2) - 1) / scale``,
    ``d/dn = (psi((n + 1)/2) - psi(n/2) - 1/n - log1p(z**2/n) + (n + 1) z**2 / (n (n + z**2))) / 2``
    (the ratios formed so that nothing overflows for huge ``|z|``)."""
    lp = logpdf1(v, p0, p1, tab, b, k, o)
    if not abs(lp) < _INF:
        return lp
    n = np.float64(tab[b, k, o + DF])
    sc = np.float64(tab[b, k, o + SCALE])
    d = np.float64(v) - np.float64(tab[b, k, o + LOC])
    z = d / sc
    a = abs(z)
    t = (a / n) * a
    if t < _INF:
        lg = math.log1p(t)
    else:
        lg = 2.0 * (math.log(abs(d)) - math.log(sc)) - math.log(n)
    if a > 1.0:
        u = (n + 1.0) / (n / z + z)  # (n + 1) z / (n + z**2)
        f = (n + 1.0) / (n / (z * z) + 1.0)  # (n + 1) z**2 / (n + z**2)
    else:
        u = (n + 1.0) * z / (n + z * z)
        f = (n + 1.0) * z * z / (n + z * z)
    g[j] = -u / sc
    g[j + 1] = 0.5 * (_digamma(0.5 * (n + 1.0)) - _digamma(0.5 * n) - 1.0 / n - lg + f / n)
    g[j + 2] = u / sc
    g[j + 3] = (f - 1.0) / sc
    return lp
