"""Exponential family: density ``rate exp(-rate x)`` on ``x >= 0``.

Row of one coordinate (``P = 2``): ``RATE | LOG_RATE``.
"""
import math

import numpy as np
from numba.extending import register_jitable

from ..samplers import std_exponential

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
