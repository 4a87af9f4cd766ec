"""Vectorisable ``exp``, ``log`` and ``sincos`` for the CPU loops.

numba's pip wheels have no SVML, so ``math.exp`` in a loop is a scalar call to
glibc and stops LLVM from vectorising the loop.  The functions here use only
arithmetic, comparisons and integer/float bit casts, so a loop that calls them
compiles to SIMD code (ymm/zmm registers).  They are CPU-only: the CUDA loops
call ``math.*``, which is fast on the GPU.

Accuracy (checked against mpmath in ``tests/test_kernels.py``):

* float64: ``exp_neg`` and ``log`` within 2 ulp; ``sincos_2pi`` within 2e-16
  absolute.
* float32: ``exp_neg32`` within 2 ulp of the float32-rounded result.

Special values follow IEEE: NaN in gives NaN out; ``exp_neg(-inf) == 0``;
``log(0) == -inf``; ``log(inf) == inf``; ``log(x < 0)`` is NaN.
"""
import math

import numpy as np
from numba import njit

# No 'reassoc' here or in any loop that inlines these: it would let LLVM fold
# ``(x + _SHIFT) - _SHIFT`` to ``x`` and merge the two halves of ln 2.
_INLINE = dict(inline="always", error_model="numpy", fastmath={"contract", "nsz", "arcp"},
               cache=True)


# Polynomials for exp(r), |r| <= ln(2)/2: interpolation at Chebyshev nodes,
# solved in 60-digit arithmetic (tests/test_fastmath.py recomputes them and
# checks the bounds).  float64, degree 10: max relative error 3.8e-16.
_E0, _E1, _E2, _E3, _E4, _E5 = (
    1.0, 1.0000000000000067, 0.5000000000000006, 0.16666666666554406,
    0.04166666666657314, 0.008333333385667782)
_E6, _E7, _E8, _E9, _E10 = (
    0.0013888888932488599, 0.00019841170270440067, 2.4801504346997686e-05,
    2.764018079620985e-06, 2.7626357241447223e-07)
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 with 32 trailing zero bits: k * _LN2_HI is exact
_LN2_LO = 1.9082149292705877e-10
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer in the low bits
_SHIFT_BITS = np.int64(0x4338000000000000)
_EXP_MIN = -708.3964185322641  # below: 2**k is subnormal; the result is flushed to 0

# float32, degree 5: max relative error 1.7e-7 (1.4 float32 ulp).
_F0, _F1, _F2, _F3, _F4, _F5 = (np.float32(c) for c in (
    1.0000001192092896, 1.0, 0.49998870491981506, 0.16666504740715027,
    0.041917506605386734, 0.008369148708879948))
_LOG2E_F = np.float32(_LOG2E)
_LN2_HI_F = np.float32(0.693145751953125)  # 9 trailing zero bits
_LN2_LO_F = np.float32(1.428606765330187e-06)
_SHIFT_F = np.float32(12582912.0)  # 1.5 * 2**23
_SHIFT_BITS_F = np.int32(0x4B400000)
_EXP_MIN_F = np.float32(-87.33654)
_ZERO_F = np.float32(0.0)


@njit(**_INLINE)
def exp_neg(x):
    """``exp(x)`` for ``x <= 0`` (or NaN), float64; 0 below -708.4 (no subnormals)."""
    kf = x * _LOG2E + _SHIFT
    ki = np.float64(kf).view(np.int64) - _SHIFT_BITS
    kf = kf - _SHIFT
    r = x - kf * _LN2_HI - kf * _LN2_LO
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
