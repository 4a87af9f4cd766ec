"""Bernoulli family: mass ``p`` at 1 and ``1 - p`` at 0.

Row of one coordinate (``P = 4``): ``PROB = p | QROB = 1 - p | LOGP = log p | LOGQ = log(1 - p)``,
all computed in float64 by the façade's ``probs``/``logits`` helper
(:func:`mixstat.distributions._binary.log_pq`), so ``log p`` and ``log1p(-p)``
keep full accuracy for tiny ``p``, for ``p`` near 1 and for logits of any size.

``log_prob`` is ``LOGQ`` at 0, ``LOGP`` at 1 (``p = 0`` and ``p = 1`` give 0 or
``-inf``: no ``0 * log 0``), ``-inf`` at every other value, NaN for NaN.
The cdf is ``1 - p`` on ``[0, 1)``.  A draw is ``1`` when a uniform
``U = k 2**-53`` (block 1 of word ``c``) is below ``p``: exact up to the
resolution ``2**-53`` of ``U``.
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..philox import block_c, u53

PROB, QROB, LOGP, LOGQ = 0, 1, 2, 3
P = 4
NPRE = 0


def pack(probs, logits, dtype):
    """Rows ``(..., P)`` from whichever of ``probs`` / ``logits`` is not None."""
    from ...distributions._binary import log_pq, p_q

    lp, lq = log_pq(probs, logits)
    tab = np.empty(lp.shape + (P,))
    tab[..., LOGP] = lp
    tab[..., LOGQ] = lq
    tab[..., PROB], tab[..., QROB] = p_q(probs, logits)
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    if v == 1:
        return np.float64(tab[b, k, o + LOGP])
    if v == 0:
        return np.float64(tab[b, k, o + LOGQ])
    if v != v:
        return np.float64(v)
    return -math.inf


@register_jitable
def bound1(tab, b, k, o):
    """The larger of the two log-masses (at most 0)."""
    return max(np.float64(tab[b, k, o + LOGP]), np.float64(tab[b, k, o + LOGQ]))


@register_jitable
def cdf1(v, tab, b, k, o):
    x = np.float64(v)
    if x >= 1:
        return 1.0
    if x >= 0:
        return np.float64(tab[b, k, o + QROB])
    if x != x:
        return x
    return 0.0


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log P(X <= x)``: ``-inf`` below 0, ``LOGQ`` on ``[0, 1)``, 0 from 1 on, NaN for NaN."""
    x = np.float64(v)
    if x >= 1:
        return 0.0
    if x >= 0:
        return np.float64(tab[b, k, o + LOGQ])
    if x != x:
        return x
    return -math.inf


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log P(X > x)``: 0 below 0, ``LOGP`` on ``[0, 1)``, ``-inf`` from 1 on, NaN for NaN."""
    x = np.float64(v)
    if x >= 1:
        return -math.inf
    if x >= 0:
        return np.float64(tab[b, k, o + LOGP])
    if x != x:
        return x
    return 0.0


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``U < p`` with ``U = u53`` of block 1 of word ``c`` (p = 0: never; p = 1: always)."""
    w0, w1, w2, w3 = block_c(key0, key1, n, 1, c)
    return 1.0 if u53(w0, w1) < np.float64(tab[b, k, o + PROB]) else 0.0


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("probs", "logits")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; ``d/dprobs`` (``1/p`` at 1, ``-1/(1 - p)`` at 0) into ``g[j + 1]`` and
    ``d/dlogits = v - p`` (``1 - p`` from the row's accurate ``QROB`` at 1) into ``g[j + 2]``;
    ``g[j] = 0`` (integer values have no derivative)."""
    g[j] = 0.0
    if v == 1:
        g[j + 1] = 1.0 / np.float64(tab[b, k, o + PROB])
        g[j + 2] = np.float64(tab[b, k, o + QROB])
    else:
        g[j + 1] = -1.0 / np.float64(tab[b, k, o + QROB])
        g[j + 2] = -np.float64(tab[b, k, o + PROB])
    return np.float64(logpdf1(v, p0, p1, tab, b, k, o))
