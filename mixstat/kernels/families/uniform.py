"""Uniform family: density ``1 / (high - low)`` on ``[low, high)`` (as torch.distributions).

Row of one coordinate (``P = 4``; named offsets below):
``LOW | HIGH | NEG_LOG_W = -log(high - low) | HPREV``.

``HPREV`` is the largest number of the row's dtype below ``high``: draws are
clipped to ``[low, HPREV]`` so that rounding (of ``low + w U``, or of the
float64 draw to float32) never gives ``high``, where the density is 0.
A width ``high - low`` that overflows float64 is handled in halves.
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..samplers import open_uniform

LOW, HIGH, NEG_LOG_W, HPREV = 0, 1, 2, 3
P = 4
NPRE = 0

_LN2 = math.log(2.0)


def log_width(low, high):
    """``log(high - low)`` in float64, also where ``high - low`` overflows."""
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = high - low
        return np.where(np.isfinite(w) | np.isnan(w), np.log(w), np.log(0.5 * high - 0.5 * low) + _LN2)


def pack(low, high, dtype):
    """Rows ``(..., P)`` for ``low`` and ``high`` (broadcast together)."""
    lo = np.asarray(low, dtype=np.float64)
    hi = np.asarray(high, dtype=np.float64)
    lo, hi = np.broadcast_arrays(lo, hi)
    tab = np.empty(lo.shape + (P,), dtype=np.float64)
    tab[..., LOW] = lo
    tab[..., HIGH] = hi
    tab[..., NEG_LOG_W] = -log_width(lo, hi)
    dt = np.dtype(dtype)
    tab[..., HPREV] = np.nextafter(hi.astype(dt), dt.type(-np.inf))
    return tab.astype(dtype, copy=False)


#: the SIMD form's ``-inf`` (outside the interval) is exact: the one-distribution loop redoes
#: only its NaN points (NaN values) with :func:`logpdf1`
FAST_EXACT_NINF = True


# the any-D log_prob kernel's fused D == 1 loop (measured faster for this family)
FUSED_D1 = True


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form, exact: ``-inf`` outside the interval, NaN for NaN.  The constant is added to
    a select of two numbers (``0`` or ``-inf``), not selected itself: LLVM turns a select
    between a loaded parameter and a constant into a gather."""
    inside = (v >= tab[b, k, o + LOW]) & (v < tab[b, k, o + HIGH])
    r = tab[b, k, o + NEG_LOG_W] + (0.0 if inside else -math.inf)
    return r if v == v else v


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """``-log(high - low)`` on ``[low, high)``, ``-inf`` elsewhere, NaN for NaN (selects only)."""
    inside = (v >= tab[b, k, o + LOW]) & (v < tab[b, k, o + HIGH])
    r = tab[b, k, o + NEG_LOG_W] if inside else -math.inf
    return r if v == v else v


@register_jitable
def bound1(tab, b, k, o):
    """The log-density inside the interval."""
    return tab[b, k, o + NEG_LOG_W]


@register_jitable
def cdf1(v, tab, b, k, o):
    """``clip((x - low) / (high - low), 0, 1)`` in float64; NaN for NaN."""
    x = np.float64(v)
    lo = np.float64(tab[b, k, o + LOW])
    hi = np.float64(tab[b, k, o + HIGH])
    if not x > lo:
        return x if x != x else 0.0
    if not x < hi:
        return 1.0
    w = hi - lo
    if w < math.inf:
        r = (x - lo) / w
    else:  # the width overflows: in halves
        r = (0.5 * x - 0.5 * lo) / (0.5 * hi - 0.5 * lo)
    return min(r, 1.0)


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``low + (high - low) U``, U open uniform from block 1 of word ``c``, clipped to ``[low, HPREV]``."""
    u = open_uniform(key0, key1, n, c, 1)
    lo = np.float64(tab[b, k, o + LOW])
    hi = np.float64(tab[b, k, o + HIGH])
    w = hi - lo
    if w < math.inf:
        x = lo + w * u
    else:
        x = lo * (1.0 - u) + hi * u  # 1 - u is exact
    hp = np.float64(tab[b, k, o + HPREV])
    x = x if x <= hp else hp
    return x if x >= lo else lo


@register_jitable
def _log_parts(x, lo, hi):
    """``(log F, log(1 - F))`` for ``lo < x < hi``: each side's fraction ``(x - lo) / w`` and
    ``(hi - x) / w`` formed directly; the log of the smaller one, ``log1p`` of minus it for
    the other (no log of a rounded value near 1)."""
    w = hi - lo
    if w < math.inf:
        f = (x - lo) / w
        s = (hi - x) / w
    else:  # the width overflows: in halves
        h = 0.5 * hi - 0.5 * lo
        f = (0.5 * x - 0.5 * lo) / h
        s = (0.5 * hi - 0.5 * x) / h
    if f <= s:
        if f < 1e-300:  # the quotient may underflow: its logarithm instead
            lf = math.log(x - lo) - math.log(w) if w < math.inf else math.log(f) if f > 0.0 else -math.inf
        else:
            lf = math.log(f)
        return lf, math.log1p(-f)
    if s < 1e-300:
        ls = math.log(hi - x) - math.log(w) if w < math.inf else math.log(s) if s > 0.0 else -math.inf
    else:
        ls = math.log(s)
    return math.log1p(-s), ls


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log((x - low) / (high - low))`` (``log1p`` of minus the upper fraction above the
    midpoint); ``-inf`` at or below ``low``, 0 from ``high`` on."""
    x = np.float64(v)
    lo = np.float64(tab[b, k, o + LOW])
    hi = np.float64(tab[b, k, o + HIGH])
    if not x > lo:
        return x if x != x else -math.inf
    if not x < hi:
        return 0.0
    return _log_parts(x, lo, hi)[0]


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log((high - x) / (high - low))`` (no ``1 - F``); 0 at or below ``low``, ``-inf``
    from ``high`` on."""
    x = np.float64(v)
    lo = np.float64(tab[b, k, o + LOW])
    hi = np.float64(tab[b, k, o + HIGH])
    if not x < hi:
        return x if x != x else -math.inf
    if not x > lo:
        return 0.0
    return _log_parts(x, lo, hi)[1]


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """The quantile at tail probability ``p``: ``low + p (high - low)`` (or from ``high``)."""
    lo = np.float64(tab[b, k, o + LOW])
    hi = np.float64(tab[b, k, o + HIGH])
    if upper:
        return hi - (p * hi - p * lo)
    return lo + (p * hi - p * lo)


# -- implicit reparameterisation (``sample_grad``) ------------------------------------
#: the parameters (façade names) whose sample derivative ``xgrad1`` has in closed form
XGRAD = ("low", "high")


@register_jitable
def xgrad1(v, tab, b, k, o, i):
    """``dx/dtheta_i`` at fixed ``u = F(x)``: ``x = low + u (high - low)`` gives
    ``(high - x) / (high - low)`` (low) and ``(x - low) / (high - low)`` (high)."""
    x = np.float64(v)
    lo = np.float64(tab[b, k, o + LOW])
    hi = np.float64(tab[b, k, o + HIGH])
    if i == 0:
        return (hi - x) / (hi - lo)
    return (x - lo) / (hi - lo)


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("low", "high")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v) = -log(high - low)`` on ``[low, high)``: ``d/dv = 0``,
    ``d/dlow = 1 / (high - low) = -d/dhigh`` (inside the interval; its ends move the support,
    which a derivative of the density does not see)."""
    w = np.float64(tab[b, k, o + HIGH]) - np.float64(tab[b, k, o + LOW])
    g[j] = 0.0
    g[j + 1] = 1.0 / w
    g[j + 2] = -1.0 / w
    return np.float64(logpdf1(v, p0, p1, tab, b, k, o))
