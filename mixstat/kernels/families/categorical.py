"""Categorical family over ``C`` categories ``0 .. C-1`` (used as mixture components).

Row layout (P = 2 C): ``log p[0:C] | cumulative p[0:C]``.  Values are category
indices stored as floats; non-integers and values outside ``[0, C)`` have
log-probability ``-inf``.
"""
import math

import numpy as np
from numba.extending import register_jitable

from ..philox import uniform


def pack(logp, dtype):
    """Rows from normalised log-probabilities ``(..., C)`` -> ``(..., 2 C)``."""
    logp = np.asarray(logp, dtype=np.float64)
    cum = np.cumsum(np.exp(logp), axis=-1)
    return np.concatenate([logp, cum], axis=-1).astype(dtype, copy=False)


@register_jitable
def logpdf(x, s, b, tab, k):
    C = tab.shape[2] // 2
    v = x[s, b, 0]
    if v != v:
        return v
    if v >= 0 and v < C and math.floor(v) == v:
        return tab[b, k, int(v)]
    return -math.inf


@register_jitable
def bound(tab, b, k):
    """An upper bound of ``logpdf``: a log-probability is at most 0."""
    return 0.0


@register_jitable
def cdf(x, s, b, tab, k):
    C = tab.shape[2] // 2
    v = x[s, b, 0]
    if v != v:
        return v
    if v < 0:
        return 0.0
    if v >= C - 1:
        return 1.0
    return tab[b, k, C + int(math.floor(v))] / tab[b, k, 2 * C - 1]


@register_jitable
def draw(key0, key1, n, tab, b, k, out, row):
    C = tab.shape[2] // 2
    t = uniform(key0, key1, n, 1) * tab[b, k, 2 * C - 1]
    lo = 0
    hi = C - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if tab[b, k, C + mid] > t:
            hi = mid
        else:
            lo = mid + 1
    out[row, 0] = lo
