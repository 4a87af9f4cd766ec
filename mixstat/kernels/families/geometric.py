"""Geometric family: the number of failures before the first success,
``P(X = x) = (1 - p)**x p`` on ``x = 0, 1, 2, ...`` (torch.distributions' convention).

Row of one coordinate (``P = 3``): ``LOGP = log p | LOGQ = log(1 - p) | NEG_LOGQ = -log(1 - p)``,
in float64 from the façade's helper (:func:`mixstat.distributions._binary.log_pq`):
accurate for tiny ``p``, ``p`` near 1 and any logits.  ``p`` is in ``(0, 1]``.

``log_prob`` is ``x LOGQ + LOGP`` (``x = 0`` gives ``LOGP`` also for ``p = 1``,
where ``LOGQ = -inf``: no ``0 * -inf``); non-integers, negative values and
``+inf`` give ``-inf``, NaN gives NaN.  ``cdf(x) = 1 - (1 - p)**(floor(x) + 1)``
as ``-expm1((floor(x) + 1) LOGQ)``.  A draw is ``floor(E / NEG_LOGQ)`` with
``E = -log U`` an exponential (block 1 of word ``c``): inversion, exact up to
the resolution of ``U``; ``p = 1`` gives 0.  Draws above ``2**63 - 1024`` (only
for ``p`` below about ``1e-17``) are clamped there so that they fit an int64.
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..samplers import std_exponential

LOGP, LOGQ, NEG_LOGQ = 0, 1, 2
P = 3
NPRE = 0
_MAX_DRAW = 9223372036854774784.0  # the largest float64 below 2**63


@register_jitable
def ffloor(x):
    """``floor(x)`` as a float64 (numba's ``math.floor`` gives an int64, which cannot hold
    ``|x| >= 2**63``; every float64 of magnitude ``>= 2**52`` is an integer already).
    NaN stays NaN."""
    if math.fabs(x) < 4503599627370496.0:
        return np.float64(math.floor(x))
    return x


def pack(probs, logits, dtype):
    """Rows ``(..., P)`` from whichever of ``probs`` / ``logits`` is not None."""
    from ...distributions._binary import log_pq

    lp, lq = log_pq(probs, logits)
    tab = np.empty(lp.shape + (P,))
    tab[..., LOGP] = lp
    tab[..., LOGQ] = lq
    tab[..., NEG_LOGQ] = -lq
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    x = np.float64(v)
    if x >= 0 and x < math.inf and ffloor(x) == x:
        if x == 0:
            return np.float64(tab[b, k, o + LOGP])
        return x * np.float64(tab[b, k, o + LOGQ]) + np.float64(tab[b, k, o + LOGP])
    if x != x:
        return x
    return -math.inf


@register_jitable
def bound1(tab, b, k, o):
    """The log-mass at the mode ``x = 0``."""
    return np.float64(tab[b, k, o + LOGP])


@register_jitable
def cdf1(v, tab, b, k, o):
    x = np.float64(v)
    if x >= 0:
        if x == math.inf:
            return 1.0
        return -math.expm1((ffloor(x) + 1.0) * np.float64(tab[b, k, o + LOGQ]))
    if x != x:
        return x
    return 0.0


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log(1 - (1 - p)**(floor(x) + 1))`` as ``log(1 - exp(t))``, ``t = (floor(x) + 1) LOGQ``
    (``log(-expm1(t))`` above ``-log 2``, ``log1p(-exp(t))`` below); ``-inf`` below 0, 0 at ``+inf``."""
    x = np.float64(v)
    if x >= 0:
        if x == math.inf:
            return 0.0
        t = (ffloor(x) + 1.0) * np.float64(tab[b, k, o + LOGQ])
        if t > -0.6931471805599453:
            if t < 0.0:
                return math.log(-math.expm1(t))
            return -math.inf  # p = 0 (t = -0.0): not reached for valid rows
        return math.log1p(-math.exp(t))
    if x != x:
        return x
    return -math.inf


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log P(X > x) = (floor(x) + 1) log(1 - p)``; 0 below 0, ``-inf`` at ``+inf``."""
    x = np.float64(v)
    if x >= 0:
        if x == math.inf:
            return -math.inf
        return (ffloor(x) + 1.0) * np.float64(tab[b, k, o + LOGQ])
    if x != x:
        return x
    return 0.0


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """Inversion: ``floor(E / -log(1 - p))``, E = -log U from block 1 of word ``c``."""
    lam = np.float64(tab[b, k, o + NEG_LOGQ])
    if lam == math.inf:  # p = 1
        return 0.0
    x = ffloor(std_exponential(key0, key1, n, c) / lam)
    return min(x, _MAX_DRAW)


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """The quantile at tail probability ``p``: ``ceil(log S / log(1 - probs)) - 1``."""
    lq = np.float64(tab[b, k, o + LOGQ])
    if not lq > -math.inf:
        return 0.0
    e = math.log(p) if upper else math.log1p(-p)
    n = math.ceil(e / lq) - 1.0
    return n if n > 0.0 else 0.0


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("probs", "logits")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v) = v log(1 - p) + log p``; ``d/dprobs = 1/p - v/(1 - p)`` into ``g[j + 1]``
    and ``d/dlogits = (1 - p) - v p`` into ``g[j + 2]`` (a zero count adds no term, so
    ``p = 1`` at 0 gives 1 and 0); ``g[j] = 0``."""
    x = np.float64(v)
    lp = np.float64(tab[b, k, o + LOGP])
    lq = np.float64(tab[b, k, o + LOGQ])
    p = math.exp(lp)
    q = math.exp(lq)
    g[j] = 0.0
    if x > 0.0:
        g[j + 1] = math.exp(-lp) - x * math.exp(-lq)
        g[j + 2] = q - x * p
    else:
        g[j + 1] = math.exp(-lp)
        g[j + 2] = q
    return np.float64(logpdf1(v, p0, p1, tab, b, k, o))
