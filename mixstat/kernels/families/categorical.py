"""Categorical family over ``C`` categories ``0 .. C-1`` (used as mixture components).

Row of one coordinate (``P = 1 + 2 C``): ``C | log p[0:C] | cumulative p[0:C]``
(named offsets ``COUNT``, ``LOGP``; the cumulative block starts at
``LOGP + C``).  Values are category indices stored as floats; non-integers and
values outside ``[0, C)`` have log-probability ``-inf``.
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..philox import block_c, u53

COUNT, LOGP = 0, 1
NPRE = 0


def pack(logp, dtype):
    """Rows from normalised log-probabilities ``(..., C)`` -> ``(..., 1 + 2 C)``."""
    logp = np.asarray(logp, dtype=np.float64)
    C = logp.shape[-1]
    with np.errstate(under="ignore"):
        cum = np.cumsum(np.exp(logp), axis=-1)
    count = np.full(logp.shape[:-1] + (1,), float(C))
    return np.concatenate([count, logp, cum], axis=-1).astype(dtype, copy=False)


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    C = int(tab[b, k, o + COUNT])
    if v != v:
        return v
    if v >= 0 and v < C and math.floor(v) == v:
        return tab[b, k, o + LOGP + int(v)]
    return tab[b, k, o] * 0 - math.inf  # -inf in the table's dtype


@register_jitable
def bound1(tab, b, k, o):
    """An upper bound of ``logpdf1``: a log-probability is at most 0."""
    return tab[b, k, o] * 0


@register_jitable
def cdf1(v, tab, b, k, o):
    C = int(tab[b, k, o + COUNT])
    if v != v:
        return np.float64(v)
    if v < 0:
        return 0.0
    if v >= C - 1:
        return 1.0
    cum = o + LOGP + C
    return np.float64(tab[b, k, cum + int(math.floor(v))]) / np.float64(tab[b, k, cum + C - 1])


@register_jitable
def _lse_range(tab, b, k, start, stop):
    """``log sum exp(tab[b, k, start:stop])`` in float64, one pass with a running maximum
    (``-inf`` entries and an empty range give ``-inf``)."""
    m = -math.inf
    s = 0.0
    for i in range(start, stop):
        t = np.float64(tab[b, k, i])
        if t == -math.inf:
            continue
        if t > m:
            s = s * math.exp(m - t) + 1.0
            m = t
        else:
            s += math.exp(t - m)
    if m == -math.inf:
        return m
    return m + math.log(s)


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log P(X <= v)``: the log-sum-exp of ``log p[0 .. floor(v)]`` minus that of all
    ``C`` (so the row's own normalisation, as :func:`cdf1`); ``-inf`` below 0, 0 from
    ``C - 1`` on, NaN for NaN.  No cumulative sum: tiny categories keep their digits."""
    C = int(tab[b, k, o + COUNT])
    x = np.float64(v)
    if x != x:
        return x
    if x < 0:
        return -math.inf
    if x >= C - 1:
        return 0.0
    j = o + LOGP
    r = _lse_range(tab, b, k, j, j + int(math.floor(x)) + 1) - _lse_range(tab, b, k, j, j + C)
    return min(r, 0.0)


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log P(X > v)``: the log-sum-exp of ``log p[floor(v) + 1 .. C - 1]`` minus that of
    all ``C`` (no ``1 - cdf``); 0 below 0, ``-inf`` from ``C - 1`` on, NaN for NaN."""
    C = int(tab[b, k, o + COUNT])
    x = np.float64(v)
    if x != x:
        return x
    if x < 0:
        return 0.0
    if x >= C - 1:
        return -math.inf
    j = o + LOGP
    r = _lse_range(tab, b, k, j + int(math.floor(x)) + 1, j + C) - _lse_range(tab, b, k, j, j + C)
    return min(r, 0.0)


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """Inversion by binary search on the cumulative row, block 1 of counter word ``c``."""
    C = int(tab[b, k, o + COUNT])
    cum = o + LOGP + C
    c0, c1, c2, c3 = block_c(key0, key1, n, 1, c)
    t = u53(c0, c1) * tab[b, k, cum + C - 1]
    lo = 0
    hi = C - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if tab[b, k, cum + mid] > t:
            hi = mid
        else:
            lo = mid + 1
    return lo
