"""Negative binomial family (torch.distributions' convention): the number of successes
before ``total_count`` failures, success probability ``p = probs``,

    P(X = x) = Gamma(x + n) / (Gamma(n) x!) p**x (1 - p)**n,  x = 0, 1, 2, ..

(``scipy.stats.nbinom(n, 1 - p)``), ``n = total_count > 0`` real.

Row of one coordinate (``P = 8``; named offsets below):
``TC = n | LGN = lgamma(n) | LOGP = log p | LOGQ = log(1 - p) | PROB = p | QROB = 1 - p |
LOG_ODDS = log(p / (1 - p)) | BOUND``, the logs from the façade's helper
(:func:`mixstat.distributions._binary.log_pq`: accurate for tiny ``p``, ``p`` near 1 and
any logits).  ``p`` is in ``[0, 1)``.

``log x! = lgamma(x + 1)`` is the per-point quantity (``NPRE = 1``, ``p0``, NaN for a
value that is not a non-negative finite integer); ``lgamma(x + n)`` is per (point,
component).  ``x = 0`` gives ``n LOGQ`` (no ``0 * -inf`` for ``p = 0``).  ``cdf`` is
``I_{1-p}(n, floor(x) + 1)`` (:func:`..special.betainc_pair` with both ``1 - p`` and
``p`` given, so neither loses digits).  ``draw1`` is the Gamma-Poisson mixture of
:func:`..samplers_count.negative_binomial` (words ``c`` and ``c + 1``).
"""

import math

import numpy as np
from numba.extending import register_jitable
from scipy import special as sc

from ..samplers_count import ffloor, is_count, negative_binomial
from ..special import _PSI_ASY, betainc_pair, digamma, log_ibeta_pair

TC, LGN, LOGP, LOGQ, PROB, QROB, LOG_ODDS, BOUND = 0, 1, 2, 3, 4, 5, 6, 7
P = 8
NPRE = 1  # p0 = lgamma(x + 1)

_NAN = math.nan
_INF = math.inf


def pack(total_count, probs, logits, dtype):
    """Rows ``(..., P)`` from ``total_count`` and whichever of ``probs`` / ``logits`` is not None."""
    from ...distributions._binary import log_pq

    n = np.asarray(total_count, dtype=np.float64)
    lp, lq = log_pq(probs, logits)
    n, lp, lq = np.broadcast_arrays(n, lp, lq)
    tab = np.empty(n.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        lgn = sc.gammaln(n)
        tab[..., TC] = n
        tab[..., LGN] = lgn
        tab[..., LOGP] = lp
        tab[..., LOGQ] = lq
        tab[..., PROB] = np.exp(lp)
        tab[..., QROB] = np.exp(lq)
        tab[..., LOG_ODDS] = lp - lq
        # the log-mass at the mode floor((n - 1) p / (1 - p)) (0 for n <= 1), rounded up a
        # little; 0 (a bound: a log-mass) where the cancellation could exceed the round-up
        m = np.floor(np.maximum(n - 1.0, 0.0) * np.exp(lp - lq))
        at = sc.gammaln(m + n) - sc.gammaln(m + 1.0) - lgn + n * lq + np.where(m > 0, m * lp, 0.0)
        ok = np.isfinite(at) & (n < 1e6) & (m < 1e6)
        bound = np.where(ok, at + 1e-6 * (1.0 + np.abs(np.where(ok, at, 0.0))), 0.0)
        tab[..., BOUND] = np.minimum(bound, 0.0)
    return tab.astype(dtype, copy=False)


#: the parameters of :func:`row1`, in its order (the gufuncs' ``negative_binomial_log_prob(x, total_count, probs)``)
ROW_PARAMS = ("total_count", "probs")


@register_jitable
def row1(tab, k, o, p, big):
    """The row of :func:`pack` for ``(total_count, probs)`` at ``tab[0, k, o:]`` (jitable: the
    gufuncs build it per element); whether ``total_count`` is positive and finite and ``probs``
    in ``[0, 1)``."""
    n, pr = p[0], p[1]
    lp = math.log(pr) if pr > 0.0 else (-_INF if pr == 0.0 else _NAN)
    lq = math.log1p(-pr) if pr < 1.0 else (-_INF if pr == 1.0 else _NAN)
    ok = n > 0.0 and n < _INF and pr >= 0.0 and pr < 1.0
    lgn = math.lgamma(n) if ok else _NAN
    tab[0, k, o + TC] = n
    tab[0, k, o + LGN] = lgn
    tab[0, k, o + LOGP] = lp
    tab[0, k, o + LOGQ] = lq
    tab[0, k, o + PROB] = math.exp(lp)
    tab[0, k, o + QROB] = math.exp(lq)
    tab[0, k, o + LOG_ODDS] = lp - lq
    bound = 0.0
    if ok:  # the log-mass at the mode, rounded up a little (as pack)
        m = math.floor(max(n - 1.0, 0.0) * math.exp(lp - lq))
        if n < 1e6 and m < 1e6:
            at = math.lgamma(m + n) - math.lgamma(m + 1.0) - lgn + n * lq + (m * lp if m > 0 else 0.0)
            if at - at == 0.0:
                bound = at + 1e-6 * (1.0 + abs(at))
    tab[0, k, o + BOUND] = min(bound, 0.0)
    return ok


@register_jitable
def pre1(v):
    """``(lgamma(v + 1), same)`` in float64 for a non-negative finite integer ``v``, else NaN."""
    x = np.float64(v)
    if is_count(x):
        lg = math.lgamma(x + 1.0)
        return lg, lg
    return _NAN, _NAN


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """Exact log-mass (float64): ``-inf`` off the non-negative integers and at ``+inf``, NaN for NaN."""
    x = np.float64(v)
    if is_count(x):
        n = np.float64(tab[b, k, o + TC])
        lq = np.float64(tab[b, k, o + LOGQ])
        if x == 0.0:
            return n * lq
        lp = (
            math.lgamma(x + n)
            - np.float64(p0)
            - np.float64(tab[b, k, o + LGN])
            + n * lq
            + x * np.float64(tab[b, k, o + LOGP])
        )
        if lp != lp and n == n and lq == lq:
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
    """``P(X <= v) = I_{1-p}(n, floor(v) + 1)``; 0 below 0, 1 at ``+inf``, NaN for NaN."""
    x = np.float64(v)
    if x != x:
        return x
    if x < 0.0:
        return 0.0
    if x == _INF:
        return 1.0
    return betainc_pair(
        np.float64(tab[b, k, o + TC]), ffloor(x) + 1.0, np.float64(tab[b, k, o + QROB]), np.float64(tab[b, k, o + PROB])
    )[0]


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log P(X <= v) = log I_{1-p}(n, floor(v) + 1)`` in log space (both ``1 - p`` and
    ``p`` given); ``-inf`` below 0, 0 at ``+inf``, NaN for NaN."""
    x = np.float64(v)
    if x != x:
        return x
    if x < 0.0:
        return -_INF
    if x == _INF:
        return 0.0
    return log_ibeta_pair(
        np.float64(tab[b, k, o + TC]), ffloor(x) + 1.0, np.float64(tab[b, k, o + QROB]), np.float64(tab[b, k, o + PROB])
    )[0]


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log P(X > v) = log I_p(floor(v) + 1, n)`` in log space; 0 below 0, ``-inf`` at ``+inf``."""
    x = np.float64(v)
    if x != x:
        return x
    if x < 0.0:
        return 0.0
    if x == _INF:
        return -_INF
    return log_ibeta_pair(
        np.float64(tab[b, k, o + TC]), ffloor(x) + 1.0, np.float64(tab[b, k, o + QROB]), np.float64(tab[b, k, o + PROB])
    )[1]


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """Poisson(G p / (1 - p)), G ~ Gamma(total_count), on counter words ``c`` and ``c + 1``."""
    return negative_binomial(key0, key1, n, c, tab[b, k, o + TC], tab[b, k, o + LOG_ODDS])


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("total_count", "probs", "logits")

_DIFF_SUM_MAX = 64.0  # psi(r + x) - psi(r) as a sum of 1/(r + i) up to this many terms


@register_jitable
def psi_diff(r, x):
    """``psi(r + x) - psi(r)`` for ``r > 0`` and a count ``x >= 0``, without the cancellation
    of two digammas when ``x`` is small against ``r``: the sum ``sum_i 1/(r + i)`` for
    ``x <= 64``; for ``r >= 10`` the difference of the asymptotic series term by term
    (``log1p(x/r) + x/(2 r (r + x)) + sum_k B_2k/(2k) (r**-2k - (r + x)**-2k)``);
    else the two digammas (then at least 0.86 apart)."""
    if x == 0.0:
        return 0.0
    if x <= _DIFF_SUM_MAX:
        s = 0.0
        i = x - 1.0
        while i >= 0.0:  # the smaller terms first
            s += 1.0 / (r + i)
            i -= 1.0
        return s
    if r >= 10.0:
        z = r + x
        s = math.log1p(x / r) + x / (2.0 * r * (r + x))
        ir2 = 1.0 / (r * r)
        iz2 = 1.0 / (z * z)
        pr = ir2
        pz = iz2
        for i in range(8):
            s += _PSI_ASY[i] * (pr - pz)
            pr *= ir2
            pz *= iz2
        return s
    return digamma(r + x) - digamma(r)


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v) = lgamma(v + r) - lgamma(r) - lgamma(v + 1) + r log(1 - p) + v log p``;
    ``d/dtotal_count = psi(v + r) - psi(r) + log(1 - p)`` (:func:`psi_diff`),
    ``d/dprobs = v/p - r/(1 - p)`` (no term for a zero count) and
    ``d/dlogits = v (1 - p) - r p`` into ``g[j + 1 .. j + 3]``; ``g[j] = 0``."""
    x = np.float64(v)
    r = np.float64(tab[b, k, o + TC])
    p = np.float64(tab[b, k, o + PROB])
    q = np.float64(tab[b, k, o + QROB])
    g[j] = 0.0
    g[j + 1] = psi_diff(r, x) + np.float64(tab[b, k, o + LOGQ]) if x == x else x
    a = x / p if x > 0.0 else 0.0
    g[j + 2] = a - r / q
    g[j + 3] = x * q - r * p
    return np.float64(logpdf1(v, p0, p1, tab, b, k, o))
