"""Vectorisable ``exp``, ``log`` and ``sincos`` for the CPU loops.

numba's pip wheels have no SVML, so ``math.exp`` in a loop is a scalar call to
glibc and stops LLVM from vectorising the loop.  The functions here use only
arithmetic, comparisons and integer/float bit casts, so a loop that calls them
compiles to SIMD code (ymm/zmm registers).  They are CPU-only: the CUDA loops
call ``math.*``, which is fast on the GPU.

Accuracy (checked against mpmath in ``tests/test_fastmath.py``):

* float64: ``exp_neg`` and ``log`` within 2 ulp; ``sincos_2pi`` within 2e-16
  absolute.
* float32: ``exp_neg32`` within 2.5e-7 relative (about 2 ulp).

Special values follow IEEE: NaN in gives NaN out; ``exp_neg(-inf) == 0``;
``log(0) == -inf``; ``log(inf) == inf``; ``log(x < 0)`` is NaN.
"""

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

# No 'reassoc' here or in any loop that inlines these: it would let LLVM fold
# ``(x + _SHIFT) - _SHIFT`` to ``x`` and merge the two halves of ln 2.
_INLINE = dict(inline="always", error_model="numpy", fastmath={"contract", "nsz", "arcp"}, cache=True)


# Polynomials for exp(r), |r| <= ln(2)/2: interpolation at Chebyshev nodes,
# solved in 60-digit arithmetic (tests/test_fastmath.py recomputes them and
# checks the bounds).  float64, degree 10: max relative error 3.8e-16.
_E0, _E1, _E2, _E3, _E4, _E5 = (
    1.0,
    1.0000000000000067,
    0.5000000000000006,
    0.16666666666554406,
    0.04166666666657314,
    0.008333333385667782,
)
_E6, _E7, _E8, _E9, _E10 = (
    0.0013888888932488599,
    0.00019841170270440067,
    2.4801504346997686e-05,
    2.764018079620985e-06,
    2.7626357241447223e-07,
)
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 with 32 trailing zero bits: k * _LN2_HI is exact
_LN2_LO = 1.9082149292705877e-10
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer in the low bits
_SHIFT_BITS = np.int64(0x4338000000000000)
_EXP_MIN = -708.3964185322641  # below: 2**k is subnormal; the result is flushed to 0

# float32, degree 5: max relative error 1.7e-7 (1.4 float32 ulp).
_F0, _F1, _F2, _F3, _F4, _F5 = (
    np.float32(c)
    for c in (
        1.0000001192092896,
        1.0,
        0.49998870491981506,
        0.16666504740715027,
        0.041917506605386734,
        0.008369148708879948,
    )
)
_LOG2E_F = np.float32(_LOG2E)
_LN2_HI_F = np.float32(0.693145751953125)  # 9 trailing zero bits
_LN2_LO_F = np.float32(1.428606765330187e-06)
_SHIFT_F = np.float32(12582912.0)  # 1.5 * 2**23
_SHIFT_BITS_F = np.int32(0x4B400000)
_EXP_MIN_F = np.float32(-87.33654)
_ZERO_F = np.float32(0.0)


@njit(**_INLINE)
def _exp_reduced(r, ki):
    """``2**ki exp(r)``, ``|r| <= ln(2)/2``: the polynomial and the exponent bits of
    :func:`exp_neg` and :func:`exp_neg2` (``2**ki`` normal)."""
    p = _E10
    p = p * r + _E9
    p = p * r + _E8
    p = p * r + _E7
    p = p * r + _E6
    p = p * r + _E5
    p = p * r + _E4
    p = p * r + _E3
    p = p * r + _E2
    p = p * r + _E1
    p = p * r + _E0
    scale = np.int64((ki + 1023) << 52).view(np.float64)
    y = p * scale
    return y


@njit(**_INLINE)
def exp_neg(x):
    """``exp(x)`` for ``x <= 0`` (or NaN), float64; 0 below -708.4 (no subnormals)."""
    kf = x * _LOG2E + _SHIFT
    ki = np.float64(kf).view(np.int64) - _SHIFT_BITS
    kf = kf - _SHIFT
    r = x - kf * _LN2_HI - kf * _LN2_LO
    y = _exp_reduced(r, ki)
    return 0.0 if x < _EXP_MIN else y


@njit(**_INLINE)
def exp_neg2(hi, lo):
    """``exp(hi + lo)`` for ``hi + lo <= 0``, float64, with ``lo`` (small) entering the reduced
    argument: ``hi - k ln2_hi`` is exact when ``hi`` is a multiple of ``2**-43`` (as an exact
    ``-z*z`` is), so the sum's rounding error does not scale with ``|hi|``; within 2.5 ulp.
    0 below -708.4."""
    x = hi + lo
    kf = x * _LOG2E + _SHIFT
    ki = np.float64(kf).view(np.int64) - _SHIFT_BITS
    kf = kf - _SHIFT
    r = (hi - kf * _LN2_HI) + (lo - kf * _LN2_LO)
    y = _exp_reduced(r, ki)
    return 0.0 if x < _EXP_MIN else y


@njit(**_INLINE)
def exp_neg32(x):
    """``exp(x)`` for ``x <= 0`` (or NaN), float32 arithmetic; 0 below -87.3."""
    kf = x * _LOG2E_F + _SHIFT_F
    ki = np.float32(kf).view(np.int32) - _SHIFT_BITS_F
    kf = kf - _SHIFT_F
    r = x - kf * _LN2_HI_F - kf * _LN2_LO_F
    p = _F5
    p = p * r + _F4
    p = p * r + _F3
    p = p * r + _F2
    p = p * r + _F1
    p = p * r + _F0
    scale = np.int32((ki + np.int32(127)) << np.int32(23)).view(np.float32)
    y = p * scale
    return _ZERO_F if x < _EXP_MIN_F else y


# log: the reduction and polynomial of fdlibm's e_log.c (|error| < 1 ulp)
_LG1, _LG2, _LG3, _LG4 = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
)
_LG5, _LG6, _LG7 = (1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01)
_MANT = np.int64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.int64(0x3FF0000000000000)
_SQRT2 = 1.4142135623730951


@njit(**_INLINE)
def log_pos(x):
    """``log(x)`` for finite ``x`` with ``2**-1022 <= x`` (normal numbers), float64."""
    bits = np.float64(x).view(np.int64)
    e = (bits >> 52) - 1023
    m = np.int64((bits & _MANT) | _ONE_BITS).view(np.float64)  # [1, 2)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    e = e + 1 if big else e
    f = m - 1.0  # [sqrt(1/2) - 1, sqrt(2) - 1]
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t1 + t2
    hfsq = 0.5 * f * f
    ef = np.float64(e)
    return ef * _LN2_HI - ((hfsq - (s * (hfsq + r) + ef * _LN2_LO)) - f)


# sin/cos on [-pi/4, pi/4]: the polynomials of fdlibm's k_sin.c / k_cos.c
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11
_TWO_PI = 2.0 * math.pi
_ROUND = 6755399441055744.0  # 1.5 * 2**52


@njit(**_INLINE)
def sincos_2pi(u):
    """``(cos(2 pi u), sin(2 pi u))`` for ``|u| < 2**50``, float64.

    The reduction is exact: ``u`` minus a multiple of 1/4 leaves
    ``w`` in ``[-1/8, 1/8]``, and the quadrant is picked by selects.
    """
    q4 = (4.0 * u + _ROUND) - _ROUND  # nearest multiple of 1/4, times 4
    w = u - 0.25 * q4
    q = np.int64(q4) & 3
    x = _TWO_PI * w
    z = x * x
    v = z * x
    sn = x + v * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    cs = 1.0 - 0.5 * z + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
    # quadrant q: (cos, sin) = (cs, sn), (-sn, cs), (-cs, -sn), (sn, -cs);
    # one-level selects only, so LLVM turns them into blends
    swap = (q & 1) != 0
    a = sn if swap else cs
    b = cs if swap else sn
    negc = ((q + 1) & 2) != 0
    negs = (q & 2) != 0
    c = -a if negc else a
    s = -b if negs else b
    return c, s


def exp_neg_any(x):
    """:func:`exp_neg` or :func:`exp_neg32`, by the type of ``x`` (CPU kernels only).

    A global, not a closure variable: a compiled function held in a closure
    pickles with a per-process id, which would change the on-disk cache key.
    """
    return math.exp(x)


@overload(exp_neg_any)
def _exp_neg_any(x):
    if x == types.float32:
        return lambda x: exp_neg32(x)
    return lambda x: exp_neg(x)


_TWO54 = 18014398509481984.0  # 2**54: scales a subnormal into the normal range
_LOG_TWO54 = 37.42994775023705  # 54 ln 2 (rounded; 4e-15 absolute against |log x| > 708 there)
_TINY = 2.2250738585072014e-308  # the smallest normal float64
_INF = math.inf


@njit(**_INLINE)
def log_any(x):
    """``log(x)`` for any float64 ``x``, branch-free (selects only): :func:`log_pos` on normal
    numbers and on subnormals scaled by ``2**54``; ``-inf`` at 0, ``inf`` at ``inf``, NaN for
    ``x < 0`` and NaN.  Within 1 ulp (subnormals: within 4e-15 absolute of a logarithm below -708)."""
    normal = x >= _TINY
    xs = x if normal else x * _TWO54
    y = log_pos(xs) - (0.0 if normal else _LOG_TWO54)
    y = y if x < _INF else x  # inf (and NaN) stay
    y = -_INF if x == 0.0 else y
    return y if x >= 0.0 else _INF - _INF  # NaN below 0 (NaN in: NaN)
