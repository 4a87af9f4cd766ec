"""Binomial family: ``P(X = x) = C(n, x) p**x (1 - p)**(n - x)`` on ``x = 0 .. n``.

Row of one coordinate (``P = 9``; named offsets below):
``N = n | LGN1 = lgamma(n + 1) | LOGP | LOGQ | PROB | QROB | SE_N = stirlerr(n) | NP, NP_LO | NQ, NQ_LO``
(``n p`` and ``n (1 - p)`` as double-double sums: the smaller one exact from its probability, the other
one ``n`` minus it, so ``bd0`` below stays accurate when ``n p`` is 1e13),
in float64 from the façade's helper (:func:`mixstat.distributions._binary.log_pq`:
``log p`` and ``log(1 - p)`` accurate for tiny ``p``, ``p`` near 1 and any logits).

log_prob
    ``NPRE = 1``: ``p0 = lgamma(x + 1)`` once per point (:func:`pre1`).  For
    ``n <= 64``: ``LGN1 - p0 - lgamma(n - x + 1) + x LOGP + (n - x) LOGQ`` (a
    term with a zero count is left out, so ``p = 0`` and ``p = 1`` give 0 or
    ``-inf``, never ``0 * -inf``; absolute error below about 3e-14, an ulp of
    ``lgamma(65)``).  For larger ``n`` the lgamma terms (about ``n log n``)
    would cancel to an absolute error of ``n log n`` ulp, so the
    saddle-point form of Loader (2000), "Fast and accurate computation of
    binomial probabilities", is used instead: ``SE_N - stirlerr(x) -
    stirlerr(n - x) - bd0(x, n p) - bd0(n - x, n q) + log(n / (2 pi x (n - x))) / 2``,
    accurate to a few ulp of the result for any ``n`` (1e9, 1e15).
    Non-integers, values below 0 or above ``n`` give ``-inf``, NaN gives NaN.
cdf
    ``I_{1-p}(n - k, k + 1)`` with ``k = floor(x)`` (regularised incomplete beta
    of :mod:`mixstat.kernels.special`, given ``1 - p`` and ``p`` both accurate).
draw
    With ``p' = min(p, 1 - p)`` (``X = n - X'`` when ``p > 1/2``): inversion by
    sequential search from ``P(X' = 0) = (1 - p')**n`` for ``n p' < 10`` (the
    uniform is block 1 of word ``c``, at most ``_MAX_INV`` steps); otherwise BTRS,
    Hörmann (1993), "The generation of binomial random variates", J. Statist.
    Comput. Simul. 46, transformed rejection with the squeeze ``us >= 0.07,
    V <= v_r``; try ``t`` uses block ``t`` of word ``c`` (words (w0, w1) -> U,
    (w2, w3) -> V), at most 1000 tries (acceptance is above 0.85 per try).
    The acceptance test ``log V <= log f(k) - log f(m)`` uses Loader's form of
    ``log f``, so it stays exact for huge ``n``.  Draws are exact integers for
    ``n`` up to ``2**53``.
"""

import math

import numpy as np
from numba.extending import register_jitable
from scipy import special as sc

from ..philox import block_c, u53
from ..special import _two_prod, _two_sum, betainc_pair, log_ibeta_pair

N, LGN1, LOGP, LOGQ, PROB, QROB, SE_N, NP, NP_LO, NQ, NQ_LO = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
P = 11
NPRE = 1  # p0 = lgamma(x + 1)

_LGAMMA_MAX_N = 64.0
_INV_MEAN = 10.0  # inversion below this n min(p, 1 - p), BTRS from it on
_MAX_INV = 2000
_MAX_TRIES = 1000
_LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@register_jitable
def ffloor(x):
    """``floor(x)`` as a float64 (numba's ``math.floor`` gives an int64, which cannot hold
    ``|x| >= 2**63``; every float64 of magnitude ``>= 2**52`` is an integer already).
    NaN stays NaN."""
    if math.fabs(x) < 4503599627370496.0:
        return np.float64(math.floor(x))
    return x


def _stirlerr_np(n):
    """stirlerr in NumPy (float64), for the rows."""
    n = np.asarray(n, np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        small = sc.gammaln(n + 1.0) - (n + 0.5) * np.log(n) + n - _LN_SQRT_2PI
        nn = n * n
        big = (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - (1.0 / 1188) / nn) / nn) / nn) / nn) / n
    return np.where(n > 15.0, big, np.where(n > 0, small, 0.0))


def pack(total_count, probs, logits, dtype):
    """Rows ``(..., P)``; ``total_count`` and whichever of ``probs`` / ``logits`` is not None."""
    from ...distributions._binary import log_pq, p_q

    lp, lq = log_pq(probs, logits)
    n = np.asarray(total_count, np.float64)
    n, lp, lq = np.broadcast_arrays(n, lp, lq)
    tab = np.empty(n.shape + (P,))
    tab[..., N] = n
    tab[..., LGN1] = sc.gammaln(n + 1.0)
    tab[..., LOGP] = lp
    tab[..., LOGQ] = lq
    p, q = (np.broadcast_to(a, n.shape) for a in p_q(probs, logits))
    tab[..., PROB] = p
    tab[..., QROB] = q
    tab[..., SE_N] = _stirlerr_np(n)
    small = np.where(p <= q, p, q)
    hi, lo = _two_prod_np(n, small)
    rh, rl = _two_sum_np(n, -hi)
    rl = rl - lo
    rh, rl = rh + rl, rl - ((rh + rl) - rh)  # renormalise
    tab[..., NP] = np.where(p <= q, hi, rh)
    tab[..., NP_LO] = np.where(p <= q, lo, rl)
    tab[..., NQ] = np.where(p <= q, rh, hi)
    tab[..., NQ_LO] = np.where(p <= q, rl, lo)
    return tab.astype(dtype, copy=False)


#: the parameters of :func:`row1`, in its order (the gufuncs' ``binomial_log_prob(x, total_count, probs)``)
ROW_PARAMS = ("total_count", "probs")


@register_jitable
def row1(tab, k, o, p, big):
    """The row of :func:`pack` for ``(total_count, probs)`` at ``tab[0, k, o:]`` (jitable: the
    gufuncs build it per element); whether ``total_count`` is a non-negative finite integer and
    ``probs`` in ``[0, 1]``."""
    n, pr = p[0], p[1]
    q = 1.0 - pr
    tab[0, k, o + N] = n
    tab[0, k, o + LGN1] = math.lgamma(n + 1.0) if n >= 0.0 and n < math.inf else math.nan
    tab[0, k, o + LOGP] = math.log(pr) if pr > 0.0 else (-math.inf if pr == 0.0 else math.nan)
    tab[0, k, o + LOGQ] = math.log1p(-pr) if pr < 1.0 else (-math.inf if pr == 1.0 else math.nan)
    tab[0, k, o + PROB] = pr
    tab[0, k, o + QROB] = q
    tab[0, k, o + SE_N] = stirlerr(n) if n > 0.0 and n < math.inf else 0.0
    small = pr if pr <= q else q
    hi, lo = _two_prod(n, small)
    if lo - lo != 0.0:  # NaN or infinite
        lo = 0.0
    rh, rl = _two_sum(n, -hi)
    rl = rl - lo
    rh, rl = rh + rl, rl - ((rh + rl) - rh)  # renormalise
    tab[0, k, o + NP] = hi if pr <= q else rh
    tab[0, k, o + NP_LO] = lo if pr <= q else rl
    tab[0, k, o + NQ] = rh if pr <= q else hi
    tab[0, k, o + NQ_LO] = rl if pr <= q else lo
    return n >= 0.0 and n < math.inf and ffloor(n) == n and pr >= 0.0 and pr <= 1.0


def _two_sum_np(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod_np(a, b):
    """``a * b`` as hi + lo (Dekker; n below 1e300 and p <= 1/2 here)."""
    split = 134217729.0
    with np.errstate(over="ignore", invalid="ignore"):
        p = a * b
        c = split * a
        ah = c - (c - a)
        al = a - ah
        c = split * b
        bh = c - (c - b)
        bl = b - bh
        lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, np.where(np.isfinite(lo), lo, 0.0)


@register_jitable
def stirlerr(x):
    """``lgamma(x + 1) - (x + 1/2) log x + x - log(2 pi)/2`` for ``x > 0`` (Loader 2000)."""
    if x <= 15.0:
        return math.lgamma(x + 1.0) - (x + 0.5) * math.log(x) + x - _LN_SQRT_2PI
    nn = x * x
    if x > 500.0:
        return (1.0 / 12 - (1.0 / 360) / nn) / x
    if x > 80.0:
        return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260) / nn) / nn) / x
    if x > 35.0:
        return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680) / nn) / nn) / nn) / x
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - (1.0 / 1188) / nn) / nn) / nn) / nn) / x


@register_jitable
def bd0(x, m, m_lo):
    """``x log(x / M) + M - x`` with ``M = m + m_lo`` (double-double), without cancellation
    (Loader 2000); ``x > 0``, ``M >= 0``."""
    d = (x - m) - m_lo  # x - m is exact where the series is used (within a factor 2)
    if abs(d) < 0.1 * (x + m):
        v = d / (x + m)
        s = d * v
        ej = 2.0 * x * v
        v2 = v * v
        for j in range(1, 1000):
            ej *= v2
            s1 = s + ej / (2 * j + 1)
            if s1 == s:
                return s1
            s = s1
        return s
    return x * math.log(x / m) + (m - x) + m_lo


@register_jitable
def log_pmf_loader(x, n, lp, lq, se_n, nph, npl, nqh, nql):
    """``log P(X = x)`` for an integer ``0 <= x <= n`` by Loader's saddle-point form
    (``n p = nph + npl``, ``n q = nqh + nql``)."""
    if x == 0:
        return 0.0 if n == 0 else n * lq
    if x == n:
        return n * lp
    y = n - x
    return (
        se_n
        - stirlerr(x)
        - stirlerr(y)
        - bd0(x, nph, npl)
        - bd0(y, nqh, nql)
        + 0.5 * (math.log(n) - math.log(x) - math.log(y))
        - _LN_SQRT_2PI
    )


@register_jitable
def pre1(v):
    """``(lgamma(v + 1), 0)`` for a non-negative finite integer ``v``; NaN otherwise (unused there)."""
    x = np.float64(v)
    if x >= 0 and x < math.inf and ffloor(x) == x:
        return math.lgamma(x + 1.0), 0.0
    return math.nan, math.nan


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    x = np.float64(v)
    n = np.float64(tab[b, k, o + N])
    if not (x >= 0 and x <= n and ffloor(x) == x):
        if x != x:
            return x
        return -math.inf
    lp = np.float64(tab[b, k, o + LOGP])
    lq = np.float64(tab[b, k, o + LOGQ])
    if x == 0 or x == n:  # the end points exactly (p = 0, p = 1 and n = 0 included)
        return log_pmf_loader(x, n, lp, lq, 0.0, 0.0, 0.0, 0.0, 0.0)
    if n <= _LGAMMA_MAX_N:
        r = np.float64(tab[b, k, o + LGN1]) - np.float64(p0) - math.lgamma(n - x + 1.0)
        if x > 0:
            r += x * lp
        if n - x > 0:
            r += (n - x) * lq
        return r
    return log_pmf_loader(
        x,
        n,
        lp,
        lq,
        np.float64(tab[b, k, o + SE_N]),
        np.float64(tab[b, k, o + NP]),
        np.float64(tab[b, k, o + NP_LO]),
        np.float64(tab[b, k, o + NQ]),
        np.float64(tab[b, k, o + NQ_LO]),
    )


@register_jitable
def bound1(tab, b, k, o):
    """A log-mass is at most 0."""
    return tab[b, k, o] * 0


@register_jitable
def cdf1(v, tab, b, k, o):
    x = np.float64(v)
    if x != x:
        return x
    if x < 0:
        return 0.0
    n = np.float64(tab[b, k, o + N])
    if x >= n:
        return 1.0
    p = np.float64(tab[b, k, o + PROB])
    q = np.float64(tab[b, k, o + QROB])
    if p == 0:
        return 1.0
    if q == 0:
        return 0.0
    kf = ffloor(x)
    return betainc_pair(n - kf, kf + 1.0, q, p)[0]


@register_jitable
def _log_cdf_sf(v, tab, b, k, o):
    """``(log P(X <= v), log P(X > v))``: ``log I_{1-p}(n - k, k + 1)`` and its complement,
    ``k = floor(v)``, in log space (both ``1 - p`` and ``p`` given)."""
    x = np.float64(v)
    if x != x:
        return x, x
    if x < 0:
        return -math.inf, 0.0
    n = np.float64(tab[b, k, o + N])
    if x >= n:
        return 0.0, -math.inf
    p = np.float64(tab[b, k, o + PROB])
    q = np.float64(tab[b, k, o + QROB])
    if p == 0:
        return 0.0, -math.inf
    if q == 0:
        return -math.inf, 0.0
    kf = ffloor(x)
    return log_ibeta_pair(n - kf, kf + 1.0, q, p)


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log P(X <= v)`` in log space (finite where the cdf underflows); ``-inf`` below 0,
    0 from ``n`` on, NaN for NaN."""
    return _log_cdf_sf(v, tab, b, k, o)[0]


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log P(X > v)`` in log space; 0 below 0, ``-inf`` from ``n`` on, NaN for NaN."""
    return _log_cdf_sf(v, tab, b, k, o)[1]


@register_jitable
def _inversion(key0, key1, n_el, c, n, ps, qs, lqs):
    """Sequential search for ``n ps < 10``: uniform from block 1 of word ``c``."""
    w0, w1, w2, w3 = block_c(key0, key1, n_el, 1, c)
    u = u53(w0, w1)
    r = ps / qs
    f = math.exp(n * lqs)  # P(X = 0) >= exp(-14): no underflow
    s = f
    x = 0.0
    for _ in range(_MAX_INV):
        if u < s or x >= n or f == 0.0:
            break
        f *= r * (n - x) / (x + 1.0)
        x += 1.0
        s += f
    return x


@register_jitable
def _btrs(key0, key1, n_el, c, n, ps, qs, lps, lqs):
    """BTRS (Hörmann 1993) for ``n ps >= 10``: try ``t`` uses block ``t`` of word ``c``."""
    spq = math.sqrt(n * ps * qs)
    bb = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * bb + 0.01 * ps
    cc = n * ps + 0.5
    vr = 0.92 - 4.2 / bb
    alpha = (2.83 + 5.1 / bb) * spq
    m = ffloor((n + 1.0) * ps)
    nph, npl = _two_prod(n, ps)  # ps <= 1/2: the exact one; n qs = n - n ps
    nqh, nql = _two_sum(n, -nph)
    nql -= npl
    se_n = stirlerr(n)
    lfm = log_pmf_loader(m, n, lps, lqs, se_n, nph, npl, nqh, nql)
    for t in range(1, _MAX_TRIES + 1):
        w0, w1, w2, w3 = block_c(key0, key1, n_el, t, c)
        u = u53(w0, w1) - 0.5
        v = u53(w2, w3)
        us = 0.5 - abs(u)
        if us == 0.0:  # u = -1/2 exactly: the proposal is at -inf
            continue
        k = ffloor((2.0 * a / us + bb) * u + cc)
        if not (k >= 0.0 and k <= n):
            continue
        if us >= 0.07 and v <= vr:
            return k
        if v == 0.0:
            return k
        lv = math.log(v * alpha / (a / (us * us) + bb))
        if lv <= log_pmf_loader(k, n, lps, lqs, se_n, nph, npl, nqh, nql) - lfm:
            return k
    return m  # not reached in practice: P(1000 rejections) < 1e-800


@register_jitable
def draw1(key0, key1, n_el, c, tab, b, k, o):
    """Inversion for ``n min(p, 1-p) < 10``, BTRS otherwise; ``n - X`` with ``1 - p`` for ``p > 1/2``."""
    n = np.float64(tab[b, k, o + N])
    p = np.float64(tab[b, k, o + PROB])
    q = np.float64(tab[b, k, o + QROB])
    if n == 0 or p == 0:
        return 0.0
    if q == 0:
        return n
    flip = p > q
    if flip:
        ps, qs = q, p
        lps, lqs = np.float64(tab[b, k, o + LOGQ]), np.float64(tab[b, k, o + LOGP])
    else:
        ps, qs = p, q
        lps, lqs = np.float64(tab[b, k, o + LOGP]), np.float64(tab[b, k, o + LOGQ])
    if n * ps < _INV_MEAN:
        x = _inversion(key0, key1, n_el, c, n, ps, qs, lqs)
    else:
        x = _btrs(key0, key1, n_el, c, n, ps, qs, lps, lqs)
    return n - x if flip else x


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates (``total_count`` is an integer count)
GRAD_PARAMS = ("probs", "logits")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; ``d/dprobs = v/p - (n - v)/(1 - p)`` (a zero count adds no term) into
    ``g[j + 1]`` and ``d/dlogits = v - n p`` into ``g[j + 2]``, with the row's double-word
    ``n p`` (no cancellation where ``v`` is near the mean); ``g[j] = 0``."""
    x = np.float64(v)
    n = np.float64(tab[b, k, o + N])
    g[j] = 0.0
    a = x / np.float64(tab[b, k, o + PROB]) if x > 0.0 else 0.0
    r = n - x
    c = r / np.float64(tab[b, k, o + QROB]) if r > 0.0 else 0.0
    g[j + 1] = a - c
    g[j + 2] = (x - np.float64(tab[b, k, o + NP])) - np.float64(tab[b, k, o + NP_LO])
    return np.float64(logpdf1(v, p0, p1, tab, b, k, o))
