"""Dirichlet family: density ``prod_i x_i**(a_i - 1) / B(a)`` on the simplex (a ``"vector"`` family).

Row of one component (``P = 2 D + 2``; offsets below, ``D`` from the value's
or the output's last dim):
``CONC = a[0:D] | AM1 = a - 1 [D:2D] | CONST = -log B(a) | BOUND``
with ``log B(a) = sum_i lgamma(a_i) - lgamma(sum_i a_i)`` computed in
:func:`pack` (SciPy), never per point.

The simplex
-----------
A value is on the simplex when every coordinate is ``>= 0`` and
``|sum_i x_i - 1| < SIMPLEX_TOL = 1e-6``, the sum taken in float64 in the
coordinates' order (the tolerance of ``constraints.simplex``, as torch's).
Off it the log-density is ``-inf``; a NaN coordinate gives NaN.  On it the
log-density is ``CONST + sum_i (a_i - 1) log x_i`` of the value as given (not
renormalised), with ``0 log 0 = 0`` (``x_i = 0`` and ``a_i = 1``), ``+inf`` for
``x_i = 0`` and ``a_i < 1``, ``-inf`` for ``x_i = 0`` and ``a_i > 1``; a zero
density wins over an infinite one (``-inf`` beside ``+inf``, as for
``Independent``).

Fast path
---------
The CPU tile loop calls :func:`prep_tile` once per tile: it replaces the
tile's coordinates by their logarithms (the SIMD ``log`` of
:mod:`..fastmath`), once per point and not once per component, and marks
every point that is not strictly inside the simplex (a coordinate ``<= 0``,
subnormal, infinite or NaN, or a sum off 1) with NaN.  :func:`logpdf_tile` is
then one multiply-add per coordinate, component and point; the loop redoes
the NaN points with the exact :func:`logpdf`.

``BOUND`` is the log-density at the mode when every ``a_i >= 1`` (the maximum
of ``sum c_i log x_i``, ``c_i = a_i - 1``, over the simplex is at
``x_i = c_i / sum c``), rounded up a little; ``+inf`` if some ``a_i < 1`` (the
density is unbounded at the boundary: the loop's running-maximum path).

Sampling
--------
``x_i = G_i / sum_j G_j`` with ``G_i ~ Gamma(a_i, 1)``, formed from
``log G_i`` (:func:`..samplers.log_std_gamma`, exact when ``G_i`` underflows,
e.g. ``a_i = 1e-3``) as ``exp(log G_i - logsumexp(log G))``.  Coordinate ``i``
uses the counter words ``4 i ..`` of the draw's element (its own stream), so
a draw depends only on (key, element, parameters).  The ``log G_i`` are kept
in the output row between the two passes when it holds them exactly (a float64
row); otherwise (float32) the second pass draws them again from the same
counters.  If every ``log G_i`` is ``-inf`` (concentrations below ~1e-300)
the draw is the centre ``1 / D``.
"""

import math

import numpy as np
from numba.extending import register_jitable
from scipy import special as sc

from ..fastmath import log_pos
from ..lse import lse_add, lse_end
from ..samplers import log_std_gamma

#: ``|sum_i x_i - 1|`` below this is on the simplex (the tolerance of ``constraints.simplex``)
SIMPLEX_TOL = 1e-6
_TINY = 2.2250738585072014e-308  # the smallest normal float64: log_pos is exact from here up
_BIG = 1.7976931348623157e308


def pack(concentration, dtype):
    """Rows ``(..., 2 D + 2)`` from ``concentration (..., D)``."""
    a = np.asarray(concentration, dtype=np.float64)
    D = a.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a0 = a.sum(-1)
        logb = sc.gammaln(a).sum(-1) - sc.gammaln(a0)
        c = a - 1.0
        csum = c.sum(-1, keepdims=True)
        # max of sum c_i log x_i on the simplex (c >= 0): at x = c / sum c; 0 if every c_i = 0
        top = sc.xlogy(c, c / np.where(csum > 0, csum, 1.0)).sum(-1)
        bound = np.where((a >= 1.0).all(-1), top - logb, np.inf)
        # rounded up a little so that it stays a bound after the rounding of the row to dtype
        bound = bound + 1e-6 * (1.0 + np.abs(np.where(np.isfinite(bound), bound, 0.0)))
    tab = np.empty(a.shape[:-1] + (2 * D + 2,), dtype=np.float64)
    tab[..., :D] = a
    tab[..., D : 2 * D] = c
    tab[..., 2 * D] = -logb
    tab[..., 2 * D + 1] = bound
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf(x, s, b, tab, k):
    """Exact log-density of point ``x[s, b, :]`` under component ``k`` of row ``b`` (float64)."""
    D = x.shape[2]
    P = tab.shape[2]
    acc = 0.0
    tot = 0.0
    nan = False
    neg = False
    zero = False  # a coordinate of zero density (x_i = 0 with a_i > 1)
    for i in range(D):
        v = np.float64(x[s, b, i])
        c = np.float64(tab[b, k, D + i])
        nan = nan | (v != v)
        neg = neg | (v < 0.0)
        tot += v
        if v > 0.0:
            t = c * math.log(v)
        elif c == 0.0:  # 0 log 0 = 0 (and v < 0 or NaN: decided below)
            t = 0.0
        elif c > 0.0:
            t = -math.inf
        else:  # a_i < 1: +inf; a NaN a_i (unchecked parameters): NaN
            t = math.inf if c < 0.0 else c
        zero = zero | (t == -math.inf)
        acc += t
    if nan:
        return math.nan
    if neg or not (abs(tot - 1.0) < SIMPLEX_TOL):
        return -math.inf
    if zero:
        return -math.inf
    return acc + np.float64(tab[b, k, P - 2])


@register_jitable
def prep_tile(xt, nl, w):
    """Once per CPU tile: ``xt[j, 0, i] = log x`` of point ``i``, NaN for a point not strictly
    inside the simplex (see the module docstring); ``w`` is scratch of the tile's length."""
    D = xt.shape[0]
    for i in range(nl):
        tot = 0.0
        for j in range(D):  # the order and precision of logpdf's sum: the same decision
            tot += np.float64(xt[j, 0, i])
        w[i] = 0.0 if abs(tot - 1.0) < SIMPLEX_TOL else math.nan
    for j in range(D):
        for i in range(nl):
            v = np.float64(xt[j, 0, i])
            ok = (v >= _TINY) & (v <= _BIG)
            lv = log_pos(v if ok else 1.0)
            xt[j, 0, i] = (lv if ok else math.nan) + w[i]


@register_jitable
def logpdf_tile(xt, nl, tab, b, k, t, y):
    """``t[i] = CONST + sum_j AM1_j xt[j, 0, i]`` for the tile prepared by :func:`prep_tile`
    (NaN where that marked the point: the caller redoes it with :func:`logpdf`)."""
    D = xt.shape[0]
    P = tab.shape[2]
    c = tab[b, k, P - 2]
    for i in range(nl):
        t[i] = c
    for j in range(D):
        wj = tab[b, k, D + j]
        for i in range(nl):
            t[i] += wj * xt[j, 0, i]


@register_jitable
def bound(tab, b, k):
    """An upper bound of ``logpdf`` over the simplex: ``+inf`` if some concentration is below 1."""
    return tab[b, k, tab.shape[2] - 1]


@register_jitable
def draw(key0, key1, n, tab, b, k, out, row):
    """One draw of component ``k`` of row ``b`` into ``out[row, :]`` (see the module docstring)."""
    D = out.shape[1]
    m = -math.inf
    acc = 0.0
    again = False
    for i in range(D):
        g = log_std_gamma(key0, key1, n, 4 * i, np.float64(tab[b, k, i]))
        m, acc = lse_add(m, acc, g)
        out[row, i] = g
        again = again | (np.float64(out[row, i]) != g)
    if m == -math.inf and acc == 0.0:
        for i in range(D):
            out[row, i] = 1.0 / D
        return
    lse = lse_end(m, acc)
    for i in range(D):
        if again:
            g = log_std_gamma(key0, key1, n, 4 * i, np.float64(tab[b, k, i]))
        else:
            g = np.float64(out[row, i])
        out[row, i] = math.exp(g - lse)
