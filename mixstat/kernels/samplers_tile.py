"""SIMD first tries of the rejection samplers, for the CPU's ``draw_tile`` hooks.

The scalar samplers of :mod:`.samplers` (``math.*``, one lane at a time) are
the definition of every draw and what the CUDA loops run.  The functions here
compute the *first try* of the same algorithms on the same Philox words, with
the polynomial ``log``/``exp``/``sincos`` of :mod:`.fastmath` and without
branches (selects only), so that a loop over a tile's points vectorises.  Each
returns its value and whether the first try was accepted; a family's
``draw_tile`` writes the accepted lanes and finishes every other lane with the
scalar sampler (its ``draw1``), which runs the whole loop again on that
element's own blocks.  So a lane's value depends only on (key, element, word,
parameters), whatever the tile, chunking or thread count:

* accepted by the SIMD try: the scalar sampler's first-try value computed with
  the polynomial functions (within a few ulp of it times the draw's condition
  number; ``tests/test_draw_tiles_rejection.py`` states the bounds);
* otherwise: exactly the scalar sampler's value.

The accept tests are the scalar sampler's, on values that agree with its own to
a few ulp; the two can decide differently only where a test's two sides agree
to a few ulp, which has probability of order 1e-15 per try.  CPU-only (the
functions are ``njit(inline='always')``, inlined into the caller's loop at the
numba level, as :mod:`.fastmath` and :mod:`.philox` are).

Functions
---------
``normal_words(w0, w1, w2, w3)``
    The Box-Muller normal of :func:`.samplers._box_muller` on the same words.
``mt_first(key0, key1, n, c, a)``
    Marsaglia-Tsang's first try (blocks 1 and 2 of word ``c``) for ``a >= 1``:
    ``(d, v, log v, boost uniform, accepted)``, ``G = d v``; the acceptance test
    is the squeeze ``u < 1 - 0.0331 x**4`` or, where it fails, the log test
    (both are computed, as selects).
``gamma_first_fast(key0, key1, n, c, a)``, ``gamma_first_big_fast(...)``
    ``(G, accepted)`` for any ``a > 0`` (the boost ``G(a + 1) U**(1/a)`` for
    ``a < 1``, as ``d v exp(log U / a)``: not accepted when ``log U / a < -700``,
    where the scalar sampler's logs are needed), or for ``a >= 1`` only.
``log_gamma_first_fast(key0, key1, n, c, a)``
    ``(log G, accepted)`` for any ``a > 0``, as :func:`.samplers.log_std_gamma`
    forms it.
``von_mises_setup_fast(kappa)``, ``von_mises_try_fast(key0, key1, n, c, t, ...)``
    Best-Fisher's per-kappa constants (``ok`` only for ``1e-17 <= kappa <= 1e150``,
    outside the scalar sampler's special cases) and its try ``t`` (block ``t`` of
    word ``c``): ``(theta, accepted)``.

The entry points are ``register_jitable`` and named ``*_fast``: :mod:`mixstat._jit`
marks such functions ``alwaysinline`` for LLVM, which inlines them into the tile's
loop (and vectorises it) at a fraction of the compile time of numba-level inlining
at every call site.
"""

import math

import numpy as np
from numba import njit
from numba.extending import register_jitable

from .fastmath import exp_neg, log_pos, sincos_2pi
from .philox import block_c, u53

_INLINE = dict(inline="always", cache=True)

_S12 = np.uint64(12)
_S32 = np.uint64(32)
_ONE_U = np.uint64(1)
_ZERO_U = np.uint64(0)
_TWO_M52 = 1.0 / 4503599627370496.0
_THIRD = 1.0 / 3.0
_BOOST_MIN = -700.0  # log U / a below: exp_neg would lose the result to underflow
_KAPPA_UNIFORM = 1e-17  # as samplers.von_mises
_KAPPA_HUGE = 1e300
_PI_2 = 0.5 * math.pi


@njit(**_INLINE)
def open_words(hi, lo):
    """:func:`.samplers._open`: ``(k + 1/2) 2**-52`` from the top 52 of the 64 bits."""
    k = ((np.uint64(hi) << _S32) | np.uint64(lo)) >> _S12
    return (np.float64(k) + 0.5) * _TWO_M52


@njit(**_INLINE)
def normal_words(w0, w1, w2, w3):
    """The Box-Muller normal of :func:`.samplers._box_muller` (cosine branch), SIMD form."""
    r = math.sqrt(-2.0 * log_pos(1.0 - u53(w0, w1)))  # 1 - u53 in [2**-53, 1]
    cs, sn = sincos_2pi(u53(w2, w3))
    return r * cs


@register_jitable
def std_normal_fast(key0, key1, n, c):
    """:func:`.samplers.std_normal` (block 1 of word ``c``) by :func:`normal_words`."""
    w0, w1, w2, w3 = block_c(key0, key1, n, 1, c)
    return normal_words(w0, w1, w2, w3)


@njit(**_INLINE)
def mt_first(key0, key1, n, c, a):
    """Marsaglia-Tsang's first try for ``a >= 1`` on word ``c``: ``(d, v, log v, ub, accepted)``.

    The normal is block 1, the acceptance uniform words (w0, w1) of block 2 and
    the boost uniform ``ub`` words (w2, w3) of block 2, as in
    :func:`.samplers._mt`.  ``v`` is 1 (and ``log v`` 0) where ``1 + x / sqrt(9 d)``
    is not positive (a rejection).
    """
    d = a - _THIRD
    cc = 1.0 / math.sqrt(9.0 * d)
    w0, w1, w2, w3 = block_c(key0, key1, n, 1, c)
    x = normal_words(w0, w1, w2, w3)
    w0, w1, w2, w3 = block_c(key0, key1, n, 2, c)
    u = open_words(w0, w1)
    ub = open_words(w2, w3)
    v = 1.0 + cc * x
    pos = v > 0.0
    v = v * v * v
    v = v if pos else 1.0
    x2 = x * x
    lv = log_pos(v)
    squeeze = u < 1.0 - 0.0331 * (x2 * x2)
    logtest = log_pos(u) < 0.5 * x2 + d * (1.0 - v + lv)
    return d, v, lv, ub, pos & (squeeze | logtest)


@register_jitable
def gamma_first_big_fast(key0, key1, n, c, a):
    """``(G, accepted)``, G ~ Gamma(a, 1) from the first try, for ``a >= 1`` only."""
    d, v, lv, ub, ok = mt_first(key0, key1, n, c, a)
    return d * v, ok


@register_jitable
def gamma_first_fast(key0, key1, n, c, a):
    """``(G, accepted)``, G ~ Gamma(a, 1) from the first try, any ``a > 0``.

    For ``a < 1``: ``G(a + 1) exp(log U / a)`` (the boost), not accepted where
    ``log U / a < -700``.  NaN or ``a <= 0``: not accepted.
    """
    small = a < 1.0
    d, v, lv, ub, ok = mt_first(key0, key1, n, c, a + 1.0 if small else a)
    t = log_pos(ub) / a
    f = exp_neg(t if small else 0.0)
    return (d * v) * f, ok & (((t >= _BOOST_MIN) & (a > 0.0)) | (a >= 1.0))


@register_jitable
def log_gamma_first_fast(key0, key1, n, c, a):
    """``(log G, accepted)``, G ~ Gamma(a, 1) from the first try, any ``a > 0``:
    ``log d + log v``, plus ``log U / a`` for ``a < 1`` (:func:`.samplers.log_std_gamma`)."""
    small = a < 1.0
    d, v, lv, ub, ok = mt_first(key0, key1, n, c, a + 1.0 if small else a)
    lg = log_pos(d) + lv
    t = log_pos(ub) / a
    return (lg + t) if small else lg, ok & (a > 0.0)


# atan on [0, 1]: the reduction and polynomial of fdlibm's s_atan.c (|error| < 1 ulp)
_AT0, _AT1, _AT2, _AT3 = (
    3.33333333333329318027e-01,
    -1.99999999998764832476e-01,
    1.42857142725034663711e-01,
    -1.11111104054623557880e-01,
)
_AT4, _AT5, _AT6, _AT7 = (
    9.09088713343650656196e-02,
    -7.69187620504482999495e-02,
    6.66107313738753120669e-02,
    -5.83357013379057348645e-02,
)
_AT8, _AT9, _AT10 = (4.97687799461593236017e-02, -3.65315727442169155270e-02, 1.62858201153657823623e-02)
_ATAN_HALF_HI, _ATAN_HALF_LO = 4.63647609000806093515e-01, 2.26987774529616870924e-17
_ATAN_ONE_HI, _ATAN_ONE_LO = 7.85398163397448278999e-01, 3.06161699786838301793e-17
_PIO2_HI, _PIO2_LO = 1.57079632679489655800e00, 6.12323399573676603587e-17


@njit(**_INLINE)
def atan2_pos(y, x):
    """``atan2(y, x)`` for ``y, x >= 0`` (not both 0), in [0, pi/2]: ``atan(min / max)`` by
    fdlibm's reduction on [0, 1] (selects, no branch), or ``pi/2`` minus it."""
    swap = y > x
    t = (x if swap else y) / (y if swap else x)  # [0, 1]
    mid = t >= 0.4375
    top = t >= 0.6875
    # t < 7/16: atan(t); < 11/16: atan(1/2) + atan((2t - 1) / (2 + t)); else pi/4 + atan((t - 1) / (t + 1))
    r = ((t - 1.0) / (t + 1.0)) if top else (((2.0 * t - 1.0) / (2.0 + t)) if mid else t)
    hi = _ATAN_ONE_HI if top else (_ATAN_HALF_HI if mid else 0.0)
    lo = _ATAN_ONE_LO if top else (_ATAN_HALF_LO if mid else 0.0)
    z = r * r
    w = z * z
    s1 = z * (_AT0 + w * (_AT2 + w * (_AT4 + w * (_AT6 + w * (_AT8 + w * _AT10)))))
    s2 = w * (_AT1 + w * (_AT3 + w * (_AT5 + w * (_AT7 + w * _AT9))))
    a = hi - ((r * (s1 + s2) - lo) - r)  # hi = lo = 0: r - r (s1 + s2)
    return (_PIO2_HI - (a - _PIO2_LO)) if swap else a


@register_jitable
def von_mises_setup_fast(kappa):
    """``(e, kappa e (2 + e), sqrt(e), sqrt(2 + e), ok)`` of :func:`.samplers.von_mises`
    (``e = r - 1``); ``ok`` for ``1e-17 <= kappa <= 1e150`` (``1 + 4 kappa**2`` finite)."""
    k2 = 2.0 * kappa
    s = math.sqrt(1.0 + k2 * k2)  # hypot(1, 2 kappa)
    tau = 1.0 + s
    st = math.sqrt(2.0 * tau)
    den = tau + st
    rho = k2 / den
    omr = (1.0 + 1.0 / (s + k2) + st) / den  # 1 - rho
    e = omr * omr / (2.0 * rho)
    ke2 = kappa * e * (2.0 + e)
    ok = (kappa >= _KAPPA_UNIFORM) & (kappa <= 1e150)
    return e, ke2, math.sqrt(e), math.sqrt(2.0 + e), ok


@register_jitable
def von_mises_try_fast(key0, key1, n, c, t, e, ke2, se, s2e):
    """Try ``t`` of Best-Fisher on block ``t`` of word ``c``: ``(theta, accepted)`` (as
    :func:`.samplers.von_mises`: ``z = cos(pi (1 - w))`` in half angles, the sign from bit 0
    of ``w1``, the squeeze ``c (2 - c) > U2`` or ``log(c / U2) + 1 - c >= 0``)."""
    w0, w1, w2, w3 = block_c(key0, key1, n, t, c)
    w = u53(w0, w1)
    cq, sp = sincos_2pi(0.25 * w)  # cos, sin of pi w / 2 (exact reduction, either half)
    theta = 2.0 * atan2_pos(se * cq, s2e * sp)
    theta = -theta if (w1 & _ONE_U) != _ZERO_U else theta
    cc = ke2 / (e + 2.0 * sp * sp)
    u2 = open_words(w2, w3)
    squeeze = cc * (2.0 - cc) > u2
    logtest = log_pos(cc) - log_pos(u2) + 1.0 - cc >= 0.0
    return theta, squeeze | logtest
