"""Exponential family: density ``rate exp(-rate x)`` on ``x >= 0``.

Row of one coordinate (``P = 2``): ``RATE | LOG_RATE``.

Sampling: ``draw1`` (inversion, ``-log U / rate``) and ``draw_tile``, the same
stream and formula in SIMD (the polynomial ``log``; values agree with ``draw1``
to a few ulp).
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..fastmath import log_pos
from ..philox import block_c
from ..samplers import _open, std_exponential
from ..special import log1mexp

RATE, LOG_RATE = 0, 1
P = 2
NPRE = 0


def pack(rate, dtype):
    rate = np.asarray(rate, dtype=np.float64)
    tab = np.empty(rate.shape + (P,))
    tab[..., RATE] = rate
    with np.errstate(divide="ignore"):
        tab[..., LOG_RATE] = np.log(rate)
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    r = tab[b, k, o + LOG_RATE] - tab[b, k, o + RATE] * v
    return -math.inf if v < 0 else r  # NaN stays NaN


@register_jitable
def bound1(tab, b, k, o):
    """The log-density at the mode ``x = 0``."""
    return tab[b, k, o + LOG_RATE]


@register_jitable
def cdf1(v, tab, b, k, o):
    x = np.float64(v)
    if x > 0:
        return -math.expm1(-np.float64(tab[b, k, o + RATE]) * x)
    if x != x:
        return x
    return 0.0


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    return std_exponential(key0, key1, n, c) / tab[b, k, o + RATE]


@register_jitable
def _std_tile(w0, w1):
    """:func:`..samplers.std_exponential` of the open uniform ``U = _open(w0, w1)``:
    ``-log U`` by the polynomial ``log`` (SIMD-friendly)."""
    return -log_pos(_open(w0, w1))


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The open uniform of :func:`..samplers.std_exponential` (block 1 of word
    ``4 j``, words ``(w0, w1)``) and ``-log U`` (:func:`_std_tile`) by the polynomial ``log`` of
    :mod:`..fastmath` (within 1 ulp; ``U`` is a normal number in
    ``[2**-53, 1 - 2**-53]``, and near 1 its reduction takes ``U - 1`` exactly, so
    ``-log U`` keeps its relative accuracy), first in a loop without gathers
    (it vectorises), then the division by each point's rate: values agree with
    :func:`draw1` to a few ulp.  ``z0``: float64 scratch of the tile's length.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        for i in range(nl):  # the random numbers, without gathers (SIMD)
            w0, w1, w2, w3 = block_c(key0, key1, g0 + i, 1, 4 * j)
            z0[i] = _std_tile(w0, w1)
        for i in range(nl):
            out[row0 + i, j] = z0[i] / tab[bb[i], kk[i], o + RATE]


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log(1 - exp(-rate x))`` (:func:`..special.log1mexp`); ``-inf`` for ``x <= 0``."""
    x = np.float64(v)
    if x > 0:
        return log1mexp(-np.float64(tab[b, k, o + RATE]) * x)
    if x != x:
        return x
    return -math.inf


@register_jitable
def logsf1(v, tab, b, k, o):
    """``-rate x``; 0 for ``x <= 0``."""
    x = np.float64(v)
    if x > 0:
        return -np.float64(tab[b, k, o + RATE]) * x
    if x != x:
        return x
    return 0.0


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """The quantile at lower-tail probability ``p`` (upper-tail where ``upper``), ``p <= 1/2``."""
    r = np.float64(tab[b, k, o + RATE])
    return -math.log(p) / r if upper else -math.log1p(-p) / r


# -- implicit reparameterisation (``sample_grad``) ------------------------------------
#: the parameters (façade names) whose sample derivative ``xgrad1`` has in closed form
XGRAD = ("rate",)


@register_jitable
def xgrad1(v, tab, b, k, o, i):
    """``dx/drate`` at fixed ``u = F(x)``: ``x = E / rate`` gives ``-x / rate``."""
    return -np.float64(v) / np.float64(tab[b, k, o + RATE])


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("rate",)


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; ``d/dv = -rate``, ``d/drate = 1 / rate - v`` into ``g[j:j + 2]``."""
    r = np.float64(tab[b, k, o + RATE])
    g[j] = -r
    g[j + 1] = 1.0 / r - np.float64(v)
    return np.float64(logpdf1(v, p0, p1, tab, b, k, o))
