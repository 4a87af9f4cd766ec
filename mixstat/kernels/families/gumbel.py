"""Gumbel family (of the maximum; SciPy's ``gumbel_r``), ``z = (x - loc) / scale``:

    log p(x) = -(z + exp(-z)) - log(scale),   F(x) = exp(-exp(-z)).

Row of one coordinate (``P = 4``; named offsets below):
``LOC | SCALE | INV = 1/scale | CONST = -log(scale)``.

A scale whose reciprocal overflows the row's dtype (subnormal) stores
``INV = NaN``: the SIMD log-density gives NaN there and the loops redo the
point with the exact function, which divides.
"""

import math

import numpy as np
from numba.extending import register_jitable

from .. import fastmath as _fm
from ..philox import block_c
from ..quantile import xgrad_loc_scale
from ..samplers import _open, std_gumbel

# named offsets of one coordinate's row
LOC, SCALE, INV, CONST = 0, 1, 2, 3
P = 4
NPRE = 0

_INF = math.inf
# exp(w) overflows float64 above log(max float) = 709.78...; the log-density is
# then below -1.7e308 and the cdf exp(-exp(w)) is 0
_W_MAX = 709.78


def pack(loc, scale, dtype):
    """Rows ``(..., P)`` for ``loc`` and ``scale`` (broadcast together)."""
    loc = np.asarray(loc, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    loc, scale = np.broadcast_arrays(loc, scale)
    tab = np.empty(loc.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = 1.0 / scale
        tab[..., LOC] = loc
        tab[..., SCALE] = scale
        tab[..., INV] = np.where(inv <= np.finfo(dtype).max, inv, np.nan)
        tab[..., CONST] = -np.log(scale)
    return tab.astype(dtype, copy=False)


_EXP_HI = 709.0  # below, 2**k with k = round(w / ln 2) <= 1023 is a normal number


@register_jitable
def _exp_any(w):
    """``exp(w)`` for any float64 ``w``, SIMD-friendly (CPU only): the reduction and
    polynomial of :func:`..fastmath.exp_neg` (within 2 ulp), whose argument must be
    ``<= 0``, with the scale ``2**k`` formed for ``k`` up to 1023.  0 below -708.4,
    ``inf`` above 709 (where the Gumbel log-density is below -8e307); NaN stays NaN.
    """
    kf = w * _fm._LOG2E + _fm._SHIFT
    ki = np.float64(kf).view(np.int64) - _fm._SHIFT_BITS
    kf = kf - _fm._SHIFT
    r = w - kf * _fm._LN2_HI - kf * _fm._LN2_LO
    p = _fm._E10
    p = p * r + _fm._E9
    p = p * r + _fm._E8
    p = p * r + _fm._E7
    p = p * r + _fm._E6
    p = p * r + _fm._E5
    p = p * r + _fm._E4
    p = p * r + _fm._E3
    p = p * r + _fm._E2
    p = p * r + _fm._E1
    p = p * r + _fm._E0
    y = p * np.int64((ki + 1023) << 52).view(np.float64)
    y = 0.0 if w < _fm._EXP_MIN else y
    return _INF if w > _EXP_HI else y


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form (CPU only): ``CONST - (z + exp(-z))`` with :func:`_exp_any`.

    ``z < -709``: the term is ``-inf`` (the exact value is below -8e307: such
    points, if no component has a larger term, are redone exactly).
    ``z = -inf``, NaN in, or a subnormal scale: NaN, and the loop redoes the
    point with :func:`logpdf1`.
    """
    z = (np.float64(v) - np.float64(tab[b, k, o + LOC])) * np.float64(tab[b, k, o + INV])
    return np.float64(tab[b, k, o + CONST]) - (z + _exp_any(-z))


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """Exact log-density in float64, ``CONST - (z + exp(-z))``; ``-inf`` where
    ``exp(-z)`` overflows (``z < -709.78``, ``x = -inf``)."""
    x = np.float64(v)
    if x != x:
        return x
    z = (x - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE])
    if z < -_W_MAX:
        return -_INF
    return np.float64(tab[b, k, o + CONST]) - (z + math.exp(-z))


@register_jitable
def bound1(tab, b, k, o):
    """The log-density at the mode ``x = loc``: ``CONST - 1``."""
    return tab[b, k, o + CONST] - 1


@register_jitable
def cdf1(v, tab, b, k, o):
    """``exp(-exp(-z))`` in float64 (0 where ``exp(-z)`` overflows)."""
    x = np.float64(v)
    if x != x:
        return x
    z = (x - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE])
    if z < -_W_MAX:
        return 0.0
    return math.exp(-math.exp(-z))


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``loc + scale G``, G by :func:`..samplers.std_gumbel` (inversion, word ``c``)."""
    return tab[b, k, o + LOC] + std_gumbel(key0, key1, n, c) * tab[b, k, o + SCALE]


@register_jitable
def _neg_log_u(w0, w1):
    """``E = -log U`` of the open uniform ``U = _open(w0, w1)``, SIMD-friendly, to about
    1 ulp relative everywhere, as :func:`..samplers.std_gumbel`'s.

    ``std_gumbel`` takes ``-log U`` as ``-log1p(-(1 - U))`` above 1/2 for its
    relative accuracy near ``U = 1`` (``E`` down to ``1.1e-16``).  The polynomial
    ``log_pos(U)`` has it too: ``U`` is exact, and for ``U > sqrt(1/2)`` its
    reduction keeps the exponent 0 and forms ``f = U - 1`` exactly (Sterbenz),
    then evaluates ``log1p(f)`` by fdlibm's kernel (within 1 ulp relative,
    however small ``f``); so no ``log1p`` form (nor its branch) is needed here.
    """
    return -_fm.log_pos(_open(w0, w1))


@register_jitable
def _std_tile(w0, w1):
    """:func:`..samplers.std_gumbel` of the open uniform ``U = _open(w0, w1)``, SIMD-friendly:
    ``-log E``, ``E = -log U`` (:func:`_neg_log_u`), with the polynomial ``log``.

    Within about ``eps (1 + |G|)`` absolute of ``std_gumbel``: ``E``'s ulp
    becomes an absolute ``eps`` in ``G`` (``-log`` is ill-conditioned, relative,
    at ``E = 1``, ``G = 0``, for ``draw1`` as well), plus an ulp of ``G``.
    """
    return -_fm.log_pos(_neg_log_u(w0, w1))


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The standard Gumbel draws by :func:`_std_tile` on the words of
    :func:`..samplers.std_gumbel` (block 1 of word ``4 j``), first, in a loop
    without gathers (it vectorises), then ``loc + G scale`` with each point's
    component.  ``z0``: float64 scratch of the tile's length.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        for i in range(nl):  # the random numbers, without gathers (SIMD)
            w0, w1, w2, w3 = block_c(key0, key1, g0 + i, 1, 4 * j)
            z0[i] = _std_tile(w0, w1)
        for i in range(nl):
            b = bb[i]
            k = kk[i]
            out[row0 + i, j] = tab[b, k, o + LOC] + z0[i] * tab[b, k, o + SCALE]


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``-exp(-z)``, ``z = (x - loc) / scale`` (``-inf`` where ``exp(-z)`` overflows)."""
    x = np.float64(v)
    if x != x:
        return x
    z = (x - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE])
    if z < -_W_MAX:
        return -_INF
    return -math.exp(-z)


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log(1 - exp(-w))``, ``w = exp(-z)``: for ``z > 0`` as ``-z + log(-expm1(-w) / w)``
    (exact in the upper tail, ``-z`` once ``w`` underflows), else ``log1p(-exp(-w))``."""
    x = np.float64(v)
    if x != x:
        return x
    z = (x - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE])
    if z < -_W_MAX:
        return 0.0
    w = math.exp(-z)
    if z > 0.0:
        if w == 0.0:
            return -z
        return -z + math.log(-math.expm1(-w) / w)
    return math.log1p(-math.exp(-w))


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """The quantile at tail probability ``p``: ``loc - scale log(-log F)``."""
    s = np.float64(tab[b, k, o + SCALE])
    mu = np.float64(tab[b, k, o + LOC])
    if upper:
        return mu - s * math.log(-math.log1p(-p))
    return mu - s * math.log(-math.log(p))


# -- implicit reparameterisation (``sample_grad``) ------------------------------------
#: the parameters (façade names) whose sample derivative ``xgrad1`` has in closed form
XGRAD = ("loc", "scale")


@register_jitable
def xgrad1(v, tab, b, k, o, i):
    """The derivative of a draw ``x`` at a fixed cdf value ``u = F(x)`` with respect to
    parameter ``i`` (``loc``, ``scale``): ``-(dF/dtheta_i) / p(x)``, float64.  A location-scale
    family: ``x = loc + scale F0^-1(u)``, so 1 and ``(x - loc) / scale``."""
    return xgrad_loc_scale(v, tab[b, k, o + LOC], tab[b, k, o + SCALE], i)


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("loc", "scale")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; with ``z = (v - loc) / scale``, ``e = exp(-z)``: ``d/dv = (e - 1) / scale``,
    ``d/dloc = -d/dv``, ``d/dscale = (z (1 - e) - 1) / scale``."""
    lp = logpdf1(v, p0, p1, tab, b, k, o)
    if not lp > -_INF:
        return lp
    sc = np.float64(tab[b, k, o + SCALE])
    z = (np.float64(v) - np.float64(tab[b, k, o + LOC])) / sc
    e = math.exp(-z)
    g[j] = (e - 1.0) / sc
    g[j + 1] = (1.0 - e) / sc
    g[j + 2] = (z * (1.0 - e) - 1.0) / sc
    return lp
