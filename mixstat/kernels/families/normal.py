"""Normal family, diagonal in ``D`` dims (``D = 1`` for a scalar Normal).

Row layout (P = 3 D + 1):
``loc[0:D] | sqrt(1/2)/scale[0:D] | sum(-log scale) - D/2 log(2 pi) | scale[0:D]``.

With ``z = (x - loc) sqrt(1/2) / scale`` the log-density is ``const - sum z**2``
and the cdf is ``erfc(-z) / 2``: no multiply by 1/2 and no float64 literal in
the arithmetic, so float32 rows are evaluated in float32.
"""
import math

import numpy as np
from numba.extending import register_jitable

from ..fastmath import log_pos, sincos_2pi
from ..philox import block, normal_pair, u53

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
# sqrt(1/2) = _SQRT_HALF_HI + _SQRT_HALF_LO to ~2**-106 (tests/test_fastmath.py checks it)
_SQRT_HALF_HI = 0.7071067811865476
_SQRT_HALF_LO = -4.833646656726457e-17
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_SPLIT = 134217729.0  # 2**27 + 1


def pack(loc, scale, dtype):
    """Rows for ``loc`` and ``scale`` of shape ``(..., D)`` -> ``(..., 3 D + 1)``."""
    loc = np.asarray(loc, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    loc, scale = np.broadcast_arrays(loc, scale)
    D = loc.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        const = -np.log(scale).sum(-1, keepdims=True) - D * _HALF_LOG_2PI
        # sqrt(1/2)/scale overflows for a subnormal scale: capped, so that
        # (x - loc) * inv is 0, not NaN, at x == loc (the density there is
        # still exact: it is the constant)
        inv = np.minimum(_SQRT_HALF / scale, np.finfo(dtype).max)
        tab = np.concatenate([loc, inv, const, scale], axis=-1)
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf(x, s, b, tab, k):
    D = x.shape[2]
    z = (x[s, b, 0] - tab[b, k, 0]) * tab[b, k, D]
    acc = z * z
    for j in range(1, D):
        z = (x[s, b, j] - tab[b, k, j]) * tab[b, k, D + j]
        acc += z * z
    return tab[b, k, 2 * D] - acc


@register_jitable
def bound(tab, b, k):
    """An upper bound of ``logpdf`` over ``x``: its value at the mode."""
    return tab[b, k, (tab.shape[2] - 1) // 3 * 2]


@register_jitable
def cdf(x, s, b, tab, k):
    """``erfc(-z) / 2`` with ``z = (x - loc) / (scale sqrt 2)`` carried in two parts.

    In the lower tail ``erfc(|z|)`` has relative condition ``~2 z**2``, so an
    ``z`` rounded once (1 ulp) would cost ``2 z**2 eps`` (1e-13 at z = -21).
    ``z = zh + zl`` is formed to about 2**-100 relative (exact difference,
    division with its remainder, sqrt(1/2) in two parts) and ``zl`` enters by
    the first-order term ``exp(-zh**2) / sqrt(pi)``.
    """
    D = (tab.shape[2] - 1) // 3
    xv = np.float64(x[s, b, 0])
    mu = np.float64(tab[b, k, 0])
    sc = np.float64(tab[b, k, 2 * D + 1])
    d = xv - mu
    z0 = d * np.float64(tab[b, k, D])
    if not abs(z0) < 38.0:  # NaN, +-inf, or a tail where the result is 0 or 1
        return 0.5 * math.erfc(-z0)
    bv = d - xv  # two-sum: d + dl == xv - mu exactly
    dl = (xv - (d - bv)) + (-mu - bv)
    q = d / sc  # q + ql == (d + dl) / sc to ~2**-106
    ph, pl = _two_prod(q, sc)
    ql = (((d - ph) - pl) + dl) / sc
    zh, zl = _two_prod(q, _SQRT_HALF_HI)
    zl += q * _SQRT_HALF_LO + ql * _SQRT_HALF_HI
    z = zh + zl
    zl = zl - (z - zh)
    return 0.5 * math.erfc(-z) + zl * _INV_SQRT_PI * math.exp(-z * z)


@register_jitable
def _two_prod(a, b):
    """``a * b == p + e`` exactly (Dekker, Veltkamp's split; no FMA needed)."""
    p = a * b
    c = _SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = _SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


@register_jitable
def draw(key0, key1, n, tab, b, k, out, row):
    D = out.shape[1]
    for j in range(0, D, 2):
        z0, z1 = normal_pair(key0, key1, n, 1 + j // 2)
        out[row, j] = tab[b, k, j] + z0 * tab[b, k, 2 * D + 1 + j]
        if j + 1 < D:
            out[row, j + 1] = tab[b, k, j + 1] + z1 * tab[b, k, 2 * D + 2 + j]


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw` for points ``g0 + i``, ``i < nl``, ordered for SIMD (CPU tiles).

    The same random stream and formula (Box-Muller on block ``1 + j // 2``),
    with the polynomial ``log``/``sincos`` of :mod:`..fastmath`: values agree
    with :func:`draw` to a few ulp.  ``bb[i]``, ``kk[i]``: batch row and
    component of point ``i``; it is written to ``out[row0 + i]``.  ``z0``,
    ``z1``: float64 scratch of the tile's length.
    """
    D = out.shape[1]
    for j in range(0, D, 2):
        blk = 1 + j // 2
        # the random numbers first, in a loop without gathers (it vectorises) ...
        if j + 1 < D:
            for i in range(nl):
                c0, c1, c2, c3 = block(key0, key1, g0 + i, blk)
                r = math.sqrt(-2.0 * log_pos(1.0 - u53(c0, c1)))
                c, sn = sincos_2pi(u53(c2, c3))
                z0[i] = r * c
                z1[i] = r * sn
        else:  # the last coordinate of an odd D: the sine is not needed
            for i in range(nl):
                c0, c1, c2, c3 = block(key0, key1, g0 + i, blk)
                r = math.sqrt(-2.0 * log_pos(1.0 - u53(c0, c1)))
                c, sn = sincos_2pi(u53(c2, c3))
                z0[i] = r * c
        # ... then the parameters of each point's component
        for i in range(nl):
            b = bb[i]
            k = kk[i]
            out[row0 + i, j] = tab[b, k, j] + z0[i] * tab[b, k, 2 * D + 1 + j]
        if j + 1 < D:
            for i in range(nl):
                b = bb[i]
                k = kk[i]
                out[row0 + i, j + 1] = tab[b, k, j + 1] + z1[i] * tab[b, k, 2 * D + 2 + j]
