"""HalfNormal family: ``|Z| scale``, density ``sqrt(2/pi)/scale exp(-x**2/(2 scale**2))`` on ``x >= 0``.

Row of one coordinate (``P = 3``; named offsets below):
``SCALE | INV = sqrt(1/2)/scale | CONST = log(2) - log(scale) - log(2 pi)/2``.
(Offset 0 holds a finite number: the loops start their sums as ``tab[b, k, 0] * 0``.)

With ``z = x INV`` the log-density is ``CONST - z**2`` and the cdf is
``erf(z)``.  ``erf`` is evaluated directly (not ``1 - erfc``), so the cdf keeps
its relative accuracy near ``x = 0``; the SIMD form uses fdlibm's small-argument
rational function (the coefficients of :mod:`..erfc`) below 0.84375 and
``1 - erfc`` above, where there is no cancellation (``erfc < 0.24``).

A subnormal scale (whose reciprocal overflows) stores ``INV = NaN`` as in
:mod:`.normal`; the exact functions then divide by the scale.
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..erfc import _PP0, _PP1, _PP2, _PP3, _PP4, _QQ1, _QQ2, _QQ3, _QQ4, _QQ5, _X_MID, erfc_any
from ..fastmath import log_pos, sincos_2pi
from ..philox import block_c, u53
from ..quantile import ndtri_approx
from ..samplers import std_normal
from ..special import log_half_erfc

SCALE, INV, CONST = 0, 1, 2
P = 3
NPRE = 0

_CONST0 = math.log(2.0) - 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_LN2 = math.log(2.0)


def pack(scale, dtype):
    """Rows ``(..., P)`` for ``scale``."""
    scale = np.asarray(scale, dtype=np.float64)
    tab = np.empty(scale.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = _SQRT_HALF / scale
        tab[..., INV] = np.where(inv <= np.finfo(dtype).max, inv, np.nan)
        tab[..., CONST] = _CONST0 - np.log(scale)
        tab[..., SCALE] = scale
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form: NaN when the scale is subnormal (the loop redoes the point)."""
    z = v * tab[b, k, o + INV]
    r = tab[b, k, o + CONST] - z * z
    return -math.inf if v < 0 else r  # NaN stays NaN


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    if v < 0:
        return np.float64(-math.inf)
    inv = tab[b, k, o + INV]
    if inv != inv:  # subnormal scale: divide (exact for subnormals) instead
        zz = np.float64(v) / np.float64(tab[b, k, o + SCALE]) * _SQRT_HALF
        return np.float64(tab[b, k, o + CONST]) - zz * zz
    z = v * inv
    return np.float64(tab[b, k, o + CONST] - z * z)


@register_jitable
def bound1(tab, b, k, o):
    """An upper bound of ``logpdf1`` over ``x``: its value at the mode ``x = 0``."""
    return tab[b, k, o + CONST]


@register_jitable
def cdf1(v, tab, b, k, o):
    """``erf(x / (scale sqrt 2))``; 0 below 0."""
    x = np.float64(v)
    if x > 0:
        inv = np.float64(tab[b, k, o + INV])
        if inv != inv:
            return math.erf(x / np.float64(tab[b, k, o + SCALE]) * _SQRT_HALF)
        return math.erf(x * inv)
    if x != x:
        return x
    return 0.0


@register_jitable
def cdf1_fast(v, tab, b, k, o):
    """SIMD form, selects only; within a few ulp of :func:`cdf1` (NaN for a subnormal scale)."""
    x = np.float64(v)
    z = x * np.float64(tab[b, k, o + INV])
    zs = z if z < _X_MID else 0.0
    zz = zs * zs
    r_s = _PP0 + zz * (_PP1 + zz * (_PP2 + zz * (_PP3 + zz * _PP4)))
    s_s = 1.0 + zz * (_QQ1 + zz * (_QQ2 + zz * (_QQ3 + zz * (_QQ4 + zz * _QQ5))))
    small = zs + zs * (r_s / s_s)  # fdlibm erf for |z| < 0.84375
    big = 1.0 - erfc_any(z)
    r = small if z < _X_MID else big
    r = r if x > 0 else 0.0
    return r if z == z else z


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``scale |z|``, ``z`` standard normal (Box-Muller) on counter word ``c``."""
    return tab[b, k, o + SCALE] * abs(std_normal(key0, key1, n, c))


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The same random stream and formula (Box-Muller of
    :func:`..samplers.std_normal`) with the polynomial ``log``/``sincos`` of
    :mod:`..fastmath`, as :func:`.normal.draw_tile`: values agree with
    :func:`draw1` to a few ulp.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        for i in range(nl):  # the random numbers, without gathers (SIMD)
            c0, c1, c2, c3 = block_c(key0, key1, g0 + i, 1, 4 * j)
            r = math.sqrt(-2.0 * log_pos(1.0 - u53(c0, c1)))
            cs, sn = sincos_2pi(u53(c2, c3))
            z0[i] = abs(r * cs)
        for i in range(nl):
            out[row0 + i, j] = tab[bb[i], kk[i], o + SCALE] * z0[i]


@register_jitable
def _hz(x, tab, b, k, o):
    """``x / (scale sqrt 2)`` for ``x > 0`` (dividing where the stored reciprocal overflowed)."""
    inv = np.float64(tab[b, k, o + INV])
    if inv != inv:
        return x / np.float64(tab[b, k, o + SCALE]) * _SQRT_HALF
    return x * inv


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log erf(z)``, ``z = x / (scale sqrt 2)``: ``log(erf z)`` for ``z < 1/2`` (relative
    accuracy of erf for tiny z), else ``log1p(-erfc z)``; ``-inf`` for ``x <= 0``."""
    x = np.float64(v)
    if x > 0:
        z = _hz(x, tab, b, k, o)
        if z < 0.5:
            e = math.erf(z)
            return math.log(e) if e > 0.0 else -math.inf
        return math.log1p(-math.erfc(z))
    if x != x:
        return x
    return -math.inf


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log erfc(z)``: ``log1p(-erf z)`` for ``z < 1/2``, ``log(erfc z)`` up to ``z = 26``,
    beyond ``log 2 + log(erfc(z) / 2)`` (finite in the far tail); 0 for ``x <= 0``."""
    x = np.float64(v)
    if x > 0:
        z = _hz(x, tab, b, k, o)
        if z < 0.5:
            return math.log1p(-math.erf(z))
        if z < 26.0:
            return math.log(math.erfc(z))
        return _LN2 + log_half_erfc(z)
    if x != x:
        return x
    return 0.0


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """A seed for the quantile at tail probability ``p``: ``scale Phi^{-1}((1 + q) / 2)``."""
    s = np.float64(tab[b, k, o + SCALE])
    if upper:
        return -s * ndtri_approx(0.5 * p)
    return -s * ndtri_approx(0.5 - 0.5 * p)


# -- implicit reparameterisation (``sample_grad``) ------------------------------------
#: the parameters (façade names) whose sample derivative ``xgrad1`` has in closed form
XGRAD = ("scale",)


@register_jitable
def xgrad1(v, tab, b, k, o, i):
    """``dx/dscale`` at fixed ``u = F(x)`` (``-(dF/dscale) / p(x)``): ``x / scale``."""
    return np.float64(v) / np.float64(tab[b, k, o + SCALE])


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("scale",)


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; ``d/dv = -v / scale**2``, ``d/dscale = (q**2 - 1) / scale`` (``q = v / scale``)
    into ``g[j:j + 2]``."""
    sc = np.float64(tab[b, k, o + SCALE])
    q = np.float64(v) / sc
    g[j] = -q / sc
    g[j + 1] = (q * q - 1.0) / sc
    return logpdf1(v, p0, p1, tab, b, k, o)
