"""Vectorisable ``erfc`` for the CPU loops, and one name for it on both devices.

``math.erfc`` in a CPU loop is a scalar call to glibc (numba's pip wheels have
no SVML), which stops LLVM from vectorising the loop.  :func:`erfc_poly` is the
method of fdlibm's ``s_erf.c`` (public domain, Sun Microsystems 1993) written
with arithmetic, comparisons, bit casts and :func:`.fastmath.exp_neg2` only:
every region's formula is evaluated and the result is picked by selects, so a
loop that calls it compiles to SIMD code (ymm/zmm registers).

:func:`erfc_any` is the name to call from code compiled for both devices: on
the CPU (``njit``) it is :func:`erfc_poly`; in a ``numba.cuda.jit`` kernel it
is ``math.erfc`` (libdevice, fast on the GPU); called from Python (and so in
numba's CUDA simulator, which runs kernels as Python) it is ``math.erfc``.

Regions (``ax = |x|``), as in fdlibm:

* ``ax < 0.84375``: ``1 - (x + x R/S)`` (``x < 1/4``) or ``1/2 - (x R/S + (x - 1/2))``,
  ``R/S`` rational in ``x**2``;
* ``0.84375 <= ax < 1.25``: ``(1 - erx) - P/Q`` or ``1 + (erx + P/Q)``, in ``ax - 1``;
* ``1.25 <= ax < 28``: ``exp(-z*z - 0.5625) exp((z - ax)(z + ax) + R/S) / ax``
  (``2 -`` that for ``x < 0``), ``R/S`` rational in ``1/x**2`` (two sets of
  coefficients, split at ``1/0.35``), ``z`` = ``ax`` with its low 32 bits
  cleared, so that ``z*z`` and ``-z*z - 0.5625`` are exact;
* ``ax >= 28``: ``0`` (``x > 0``) or ``2``.

Both exponents are negative (``R/S < -0.0098``, ``(z - ax)(z + ax) <= 0``;
``tests/test_erfc.py`` checks it).  They are not rounded into one sum: the
first is exact and up to ``-785``, so the sum would round it by up to 2**-44
absolute (6e-14 relative in the result); :func:`.fastmath.exp_neg2` takes them
apart and adds the small one into the reduced argument, after the exact
``hi - k ln2_hi`` (one exponential, not two).
``exp_neg2`` flushes below ``-708.4`` and ``erfc`` is subnormal above
``x = 26.543``: for ``ax > 26`` the first exponent is raised by ``128 ln 2``
(its high part, with 32 trailing zero bits, keeps the sum exact; the low part
goes to the second exponent) and the quotient is multiplied by ``2**-128``,
which rounds once into the subnormal range.

Accuracy (``tests/test_erfc.py``, against mpmath's exact value on ~1e5
points of ``[-6.5, 28]`` with every region boundary, and tiny ``|x|``), in
units of ``2**-52`` relative, ``|erfc|`` floored at ``2**-1022``:

* at most 4 (measured 3.2, in ``1.25 <= x < 2.857``; 2.8 beyond) where
  ``erfc(x) >= 2**-1022`` (``x <= 26.54``); at most 1.5 for ``x < 1.25``
  (measured 1.1); glibc's ``math.erfc`` measures 2.5 at most;
* relative accuracy stops at ``2**-1022``: beyond, the error is at most 4
  subnormal steps (``2**-1074``; measured 2) just below ``2**-1022``, and one step
  from ``x = 26.7`` on (the result is rounded once, to the subnormal grid); it
  is 0 from ``x ~ 27.23``, where ``erfc(x) < 2**-1075``.

Special values: NaN in gives NaN out; ``erfc(-inf) == 2``, ``erfc(inf) == 0``,
``erfc(+-0) == 1``; ``x >= 28`` gives 0 and ``x < -6`` gives 2 (exactly:
``2 - erfc(|x|)`` rounds to 2).

Speed (one core of a shared 2-core AMD EPYC VM with AVX-512, 1e7 float64
points of ``[-6, 27]``, a loop ``out[i] = f(x[i])`` with ``error_model='numpy'``,
best of 3): ``erfc_poly`` (or ``erfc_any``) 24-35 ms (2.4-3.5 ns a point),
``math.erfc`` 96 ms (9.6 ns): 2.8x to 4x, depending on the load of the host.

Loops that inline these must not use fastmath ``'reassoc'`` (see
:mod:`.fastmath`), and should be compiled with ``error_model='numpy'``: with
numba's default ``'python'`` model every division gets a zero test and a
raise, which keeps the loop scalar (no denominator here can be 0).
"""

import math

import numpy as np
from numba import njit, types
from numba.core.target_extension import GPU, current_target, target_registry
from numba.extending import overload

from .fastmath import _LN2_HI, _LN2_LO, exp_neg2

_INLINE = dict(inline="always", error_model="numpy", fastmath={"contract", "nsz", "arcp"}, cache=True)

# fdlibm s_erf.c coefficients (hex words in the comments; tests/test_erfc.py
# checks the bits)
_ERX = 8.45062911510467529297e-01  # 0x3FEB0AC1 60000000: erf(1) rounded to float
# erfc on [0, 0.84375]: 1 - x - x R(x**2)/S(x**2)
_PP0 = 1.28379167095512558561e-01  # 0x3FC06EBA 8214DB68
_PP1 = -3.25042107247001499370e-01  # 0xBFD4CD7D 691CB913
_PP2 = -2.84817495755985104766e-02  # 0xBF9D2A51 DBD7194F
_PP3 = -5.77027029648944159157e-03  # 0xBF77A291 236668E4
_PP4 = -2.37630166566501626084e-05  # 0xBEF8EAD6 120016AC
_QQ1 = 3.97917223959155352819e-01  # 0x3FD97779 CDDADC09
_QQ2 = 6.50222499887672944485e-02  # 0x3FB0A54C 5536CEBA
_QQ3 = 5.08130628187576562776e-03  # 0x3F74D022 C4D36B0F
_QQ4 = 1.32494738004321644526e-04  # 0x3F215DC9 221C1A10
_QQ5 = -3.96022827877536812320e-06  # 0xBED09C43 42A26120
# erf on [0.84375, 1.25]: erx + P(s)/Q(s), s = |x| - 1
_PA0 = -2.36211856075265944077e-03  # 0xBF6359B8 BEF77538
_PA1 = 4.14856118683748331666e-01  # 0x3FDA8D00 AD92B34D
_PA2 = -3.72207876035701323847e-01  # 0xBFD7D240 FBB8C3F1
_PA3 = 3.18346619901161753674e-01  # 0x3FD45FCA 805120E4
_PA4 = -1.10894694282396677476e-01  # 0xBFBC6398 3D3E28EC
_PA5 = 3.54783043256182359371e-02  # 0x3FA22A36 599795EB
_PA6 = -2.16637559486879084300e-03  # 0xBF61BF38 0A96073F
_QA1 = 1.06420880400844228286e-01  # 0x3FBB3E66 18EEE323
_QA2 = 5.40397917702171048937e-01  # 0x3FE14AF0 92EB6F33
_QA3 = 7.18286544141962662868e-02  # 0x3FB2635C D99FE9A7
_QA4 = 1.26171219808761642112e-01  # 0x3FC02660 E763351F
_QA5 = 1.36370839120290507362e-02  # 0x3F8BEDC2 6B51DD1C
_QA6 = 1.19844998467991074170e-02  # 0x3F888B54 5735151D
# erfc on [1.25, 1/0.35]: log(x erfc x) + x**2 + 0.5625 = R(1/x**2)/S(1/x**2)
_RA0 = -9.86494403484714822705e-03  # 0xBF843412 600D6435
_RA1 = -6.93858572707181764372e-01  # 0xBFE63416 E4BA7360
_RA2 = -1.05586262253232909814e01  # 0xC0251E04 41B0E726
_RA3 = -6.23753324503260060396e01  # 0xC04F300A E4CBA38D
_RA4 = -1.62396669462573470355e02  # 0xC0644CB1 84282266
_RA5 = -1.84605092906711035994e02  # 0xC067135C EBCCABB2
_RA6 = -8.12874355063065934246e01  # 0xC0545265 57E4D2F2
_RA7 = -9.81432934416914548592e00  # 0xC023A0EF C69AC25C
_SA1 = 1.96512716674392571292e01  # 0x4033A6B9 BD707687
_SA2 = 1.37657754143519042600e02  # 0x4061350C 526AE721
_SA3 = 4.34565877475229228821e02  # 0x407B290D D58A1A71
_SA4 = 6.45387271733267880336e02  # 0x40842B19 21EC2868
_SA5 = 4.29008140027567833386e02  # 0x407AD021 57700314
_SA6 = 1.08635005541779435134e02  # 0x405B28A3 EE48AE2C
_SA7 = 6.57024977031928170135e00  # 0x401A47EF 8E484A93
_SA8 = -6.04244152148580987438e-02  # 0xBFAEEFF2 EE749A62
# erfc on [1/0.35, 28]: the same, other coefficients
_RB0 = -9.86494292470009928597e-03  # 0xBF843412 39E86F4A
_RB1 = -7.99283237680523006574e-01  # 0xBFE993BA 70C285DE
_RB2 = -1.77579549177547519889e01  # 0xC031C209 555F995A
_RB3 = -1.60636384855821916062e02  # 0xC064145D 43C5ED98
_RB4 = -6.37566443368389627722e02  # 0xC083EC88 1375F228
_RB5 = -1.02509513161107724954e03  # 0xC0900461 6A2E5992
_RB6 = -4.83519191608651397019e02  # 0xC07E384E 9BDC383F
_SB1 = 3.03380607434824582924e01  # 0x403E568B 261D5190
_SB2 = 3.25792512996573918826e02  # 0x40745CAE 221B9F0A
_SB3 = 1.53672958608443695994e03  # 0x409802EB 189D5118
_SB4 = 3.19985821950859553908e03  # 0x40A8FFB7 688C246A
_SB5 = 2.55305040643316442583e03  # 0x40A3F219 CEDF3BE6
_SB6 = 4.74528541206955367215e02  # 0x407DA874 E79FE763
_SB7 = -2.24409524465858183362e01  # 0xC03670E2 42712D62

# region bounds: fdlibm compares the high word; these are the same bounds
_X_MID = 0.84375  # high word 0x3FEB0000
_X_TAIL = 1.25  # 0x3FF40000
_X_RB = 2.8571414947509766  # 0x4006DB6D 00000000, just below 1/0.35
_X_HUGE = 28.0  # 0x403C0000
_HI_MASK = np.int64(-4294967296)  # 0xFFFFFFFF00000000: keeps the high word
# beyond _X_SCALE, exp(-z*z - 0.5625) is taken as 2**-128 exp(-z*z - 0.5625 + 128 ln 2)
_X_SCALE = 26.0
_SCALE_HI = 128.0 * _LN2_HI  # exact (21 significant bits)
_SCALE_LO = 128.0 * _LN2_LO
_TWO_M128 = 2.0**-128


@njit(**_INLINE)
def _rs_small(x):
    """The numerator and denominator of ``|x| < 0.84375``, rational in ``x**2``."""
    zz = x * x
    r_s = _PP0 + zz * (_PP1 + zz * (_PP2 + zz * (_PP3 + zz * _PP4)))
    s_s = 1.0 + zz * (_QQ1 + zz * (_QQ2 + zz * (_QQ3 + zz * (_QQ4 + zz * _QQ5))))
    return r_s, s_s


@njit(**_INLINE)
def _pq_mid(ax):
    """The numerator and denominator of ``0.84375 <= |x| < 1.25``, rational in ``|x| - 1``."""
    t = ax - 1.0
    p_m = _PA0 + t * (_PA1 + t * (_PA2 + t * (_PA3 + t * (_PA4 + t * (_PA5 + t * _PA6)))))
    q_m = 1.0 + t * (_QA1 + t * (_QA2 + t * (_QA3 + t * (_QA4 + t * (_QA5 + t * _QA6)))))
    return p_m, q_m


@njit(**_INLINE)
def _rs_tail_a(w):
    """The numerator and denominator of ``1.25 <= |x| < 1/0.35``, rational in ``w = 1/x**2``."""
    r_a = _RA0 + w * (_RA1 + w * (_RA2 + w * (_RA3 + w * (_RA4 + w * (_RA5 + w * (_RA6 + w * _RA7))))))
    s_a = 1.0 + w * (_SA1 + w * (_SA2 + w * (_SA3 + w * (_SA4 + w * (_SA5 + w * (_SA6 + w * (_SA7 + w * _SA8)))))))
    return r_a, s_a


@njit(**_INLINE)
def _rs_tail_b(w):
    """The numerator and denominator of ``1/0.35 <= |x| < 28``, rational in ``w = 1/x**2``."""
    r_b = _RB0 + w * (_RB1 + w * (_RB2 + w * (_RB3 + w * (_RB4 + w * (_RB5 + w * _RB6)))))
    s_b = 1.0 + w * (_SB1 + w * (_SB2 + w * (_SB3 + w * (_SB4 + w * (_SB5 + w * (_SB6 + w * _SB7))))))
    return r_b, s_b


@njit(**_INLINE)
def _clamp_tail(ax):
    """``ax`` clamped to ``[1.25, 28]`` (nothing divides by 0 or overflows; NaN stays NaN)."""
    xt = _X_TAIL if ax < _X_TAIL else ax
    return _X_HUGE if xt > _X_HUGE else xt


@njit(**_INLINE)
def erfc_tail(ax):
    """``erfc(ax)`` for ``1.25 <= ax`` (``ax`` is clamped to ``[1.25, 28]``; 0 at 28): the tail
    region of :func:`erfc_poly`, alone, for loops that know every point is there."""
    xt = _clamp_tail(ax)
    w = 1.0 / (xt * xt)
    r_a, s_a = _rs_tail_a(w)
    r_b, s_b = _rs_tail_b(w)
    lo = xt < _X_RB
    q = (r_a if lo else r_b) / (s_a if lo else s_b)
    return _tail(xt, q)


# One region of erfc_poly each, alone (the same operations, so the same bits), for
# loops that know every point of a tile is in that region (the Normal cdf's tiles).
@njit(**_INLINE)
def erfc_small(x):
    """``erfc(x)`` for ``|x| < 0.84375``."""
    r_s, s_s = _rs_small(x)
    q = r_s / s_s
    y_lo = 1.0 - (x + x * q)  # x < 1/4
    y_hi = 0.5 - (x * q + (x - 0.5))
    return y_lo if x < 0.25 else y_hi


@njit(**_INLINE)
def erfc_mid(x):
    """``erfc(x)`` for ``0.84375 <= |x| < 1.25``."""
    p_m, q_m = _pq_mid(abs(x))
    q = p_m / q_m
    y_pos = (1.0 - _ERX) - q
    y_neg = 1.0 + (_ERX + q)
    return y_neg if x < 0.0 else y_pos


@njit(**_INLINE)
def erfc_tail_a(ax):
    """``erfc(ax)`` for ``1.25 <= ax < 1/0.35`` (:func:`erfc_tail` there, one rational function)."""
    xt = _clamp_tail(ax)
    w = 1.0 / (xt * xt)
    r_a, s_a = _rs_tail_a(w)
    return _tail(xt, r_a / s_a)


@njit(**_INLINE)
def erfc_tail_b(ax):
    """``erfc(ax)`` for ``ax >= 1/0.35`` (:func:`erfc_tail` there, one rational function)."""
    xt = _clamp_tail(ax)
    w = 1.0 / (xt * xt)
    r_b, s_b = _rs_tail_b(w)
    return _tail(xt, r_b / s_b)


# The tail regions without the clamp and the scaling, for loops that know every ``ax`` of a
# tile lies in ``[1.25, 26]`` (the Normal cdf's tiles): there the clamp and the selects of
# ``_tail`` pick ``ax`` itself and the unscaled exponent, so these are the same operations
# and the same bits as erfc_tail_a / erfc_tail_b (tests/test_erfc.py checks it).
@njit(**_INLINE)
def erfc_tail_a_near(ax):
    """``erfc(ax)`` for ``1.25 <= ax < 1/0.35``: :func:`erfc_tail_a` without the clamp."""
    w = 1.0 / (ax * ax)
    r_a, s_a = _rs_tail_a(w)
    return _tail_near(ax, r_a / s_a)


@njit(**_INLINE)
def erfc_tail_b_near(ax):
    """``erfc(ax)`` for ``1/0.35 <= ax <= 26``: :func:`erfc_tail_b` without the clamp and
    the scaling."""
    w = 1.0 / (ax * ax)
    r_b, s_b = _rs_tail_b(w)
    return _tail_near(ax, r_b / s_b)


@njit(**_INLINE)
def _tail_near(xt, q):
    """:func:`_tail` for ``xt <= _X_SCALE`` (no scaling, no zero beyond 28)."""
    z = np.int64(np.float64(xt).view(np.int64) & _HI_MASK).view(np.float64)
    e1 = -z * z - 0.5625  # exact: z has 21 significant bits
    e2 = (z - xt) * (z + xt) + q
    return exp_neg2(e1, e2) / xt


@njit(**_INLINE)
def _tail(xt, q):
    """``exp(-z*z - 0.5625) exp((z - xt)(z + xt) + q) / xt`` as one exponential of an exact
    part and a small one (:func:`.fastmath.exp_neg2`), scaled beyond ``_X_SCALE``."""
    z = np.int64(np.float64(xt).view(np.int64) & _HI_MASK).view(np.float64)
    e1 = -z * z - 0.5625  # exact: z has 21 significant bits
    e2 = (z - xt) * (z + xt) + q
    scaled = xt > _X_SCALE
    e1 = e1 + _SCALE_HI if scaled else e1
    e2 = e2 + _SCALE_LO if scaled else e2
    f = _TWO_M128 if scaled else 1.0
    r = exp_neg2(e1, e2) / xt * f
    return 0.0 if xt >= _X_HUGE else r


@njit(**_INLINE)
def erfc_poly(x):
    """``erfc(x)``, float64 (float32 or integer input is converted); within 2.5 ulp.

    Subnormal results (``x > 26.54``) are within one subnormal step.
    """
    x = np.float64(x)
    ax = abs(x)
    # every region's function, then a select (the region functions alone are the same
    # operations, so loops that know a tile's region get the same bits)
    y_small = erfc_small(x)
    y_mid = erfc_mid(x)
    r = erfc_tail(ax)  # 0 from 28 on, inf included
    y = 2.0 - r if x < 0.0 else r
    y = y_mid if ax < _X_TAIL else y
    y = y_small if ax < _X_MID else y
    return x if x != x else y


def erfc_any(x):
    """``erfc(x)`` in code compiled for either device.

    From Python (and in numba's CUDA simulator, which runs kernels as Python)
    this body runs: ``math.erfc``.  In ``njit`` code the CPU overload below
    makes it :func:`erfc_poly` (float64 result; float32 or integer input is
    converted); in a ``numba.cuda.jit`` kernel the CUDA overload makes it
    ``math.erfc`` (libdevice ``erfc``, or ``erfcf`` for float32, which
    returns float32).  Callers cast the result to their dtype.

    A global, not a closure variable (as :func:`.fastmath.exp_neg_any`).
    """
    return math.erfc(x)


# Two overloads, bound to their targets.  numba's typing registry is shared by
# the CPU and numba-cuda (numba-cuda installs its templates whose target is
# 'cuda' or 'generic'), so a 'generic' overload would put the polynomial in
# CUDA kernels too; 'cuda' is a target name that numba itself registers, so
# this module needs no numba-cuda.  The CPU one is inlined into the caller's
# IR (a separate function is too big for LLVM to inline, and a call keeps the
# loop scalar).  numba's pass that inlines overloads picks the first template
# of the function that has inlined these argument types before, whatever its
# target: after a CPU compile it would offer the CPU template to a CUDA
# kernel.  So that template declines (returns None) while numba-cuda compiles
# (it sets numba's current target to 'cuda' for the whole compilation).
def _compiling_for_gpu():
    t = target_registry.get(current_target())
    return t is not None and issubclass(t, GPU)


@overload(erfc_any, target="cpu", inline="always")
def _erfc_any_cpu(x):
    if _compiling_for_gpu() or not isinstance(x, (types.Float, types.Integer)):
        return None
    return lambda x: erfc_poly(np.float64(x))


@overload(erfc_any, target="cuda")
def _erfc_any_cuda(x):
    if not isinstance(x, (types.Float, types.Integer)):
        return None
    return lambda x: math.erfc(x)
