"""Philox4x32-10, the counter-based generator of Salmon et al. (SC'11).

Draw ``j`` of output element ``n`` is ``philox(key, counter=(n_lo, n_hi, j, 0))``:
it depends on the key (from the seed) and the position only, so results do not
change with the thread count, with chunking, or with the device.

All words are carried in ``uint64`` holding 32-bit values, so that the
32x32->64 multiply is exact on every target.
"""

import math

import numpy as np
from numba import njit
from numba.extending import register_jitable

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0
_TWO_PI = 2.0 * math.pi
# numba-level inlining (not LLVM's) is what lets loops over points vectorise
# the ten rounds; njit(inline='always') also compiles for CUDA.
_INLINE = dict(inline="always", cache=True)


@njit(**_INLINE)
def _round(c0, c1, c2, c3, k0, k1):
    p0 = _M0 * c0
    p1 = _M1 * c2
    return (p1 >> _S32) ^ c1 ^ k0, p1 & _MASK, (p0 >> _S32) ^ c3 ^ k1, p0 & _MASK


@njit(**_INLINE)
def _bump(k0, k1):
    return (k0 + _W0) & _MASK, (k1 + _W1) & _MASK


@njit(**_INLINE)
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds on the counter ``(c0..c3)`` with key ``(k0, k1)``.

    Written out round by round and inlined at the numba level: with the rounds
    visible as straight-line code, LLVM vectorises the caller's loop over points.
    """
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = _bump(k0, k1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = _bump(k0, k1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = _bump(k0, k1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = _bump(k0, k1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = _bump(k0, k1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = _bump(k0, k1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = _bump(k0, k1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = _bump(k0, k1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = _bump(k0, k1)
    return _round(c0, c1, c2, c3, k0, k1)


@njit(**_INLINE)
def u53(hi, lo):
    """A float64 in [0, 1) from the top 53 of 64 random bits."""
    return np.float64(((np.uint64(hi) << _S32) | np.uint64(lo)) >> _S11) * _TWO_M53


@njit(**_INLINE)
def block(key0, key1, n, j):
    """The four 32-bit words of block ``j`` of element ``n``."""
    un = np.uint64(n)
    # keys as uint64 whatever the caller passed (the CUDA simulator passes ints)
    return philox4x32_10(un & _MASK, un >> _S32, np.uint64(j), np.uint64(0), np.uint64(key0), np.uint64(key1))


@njit(**_INLINE)
def block_c(key0, key1, n, j, c):
    """The four 32-bit words of block ``j`` of counter word ``c`` of element ``n``.

    Stream layout: element ``n`` owns every counter ``(n, j, c)``.  Block
    ``(j=0, c=0)`` chooses a mixture component; coordinate ``i`` of a draw owns
    the counter words ``c`` in ``[4 i, 4 i + 4)`` (one per sub-draw, e.g. the two
    Gammas of a Beta) and, for each, the blocks ``j = 1, 2, ...`` (a rejection
    loop takes the next block on each try).  ``block(k0, k1, n, j)`` is
    ``block_c(k0, k1, n, j, 0)``.
    """
    un = np.uint64(n)
    return philox4x32_10(un & _MASK, un >> _S32, np.uint64(j), np.uint64(c), np.uint64(key0), np.uint64(key1))


@register_jitable
def uniform(key0, key1, n, j):
    """One float64 uniform on [0, 1) from block ``j`` of element ``n``."""
    c0, c1, c2, c3 = block(key0, key1, n, j)
    return u53(c0, c1)


@register_jitable
def normal_pair(key0, key1, n, j):
    """Two independent standard normals (Box-Muller) from block ``j`` of element ``n``."""
    c0, c1, c2, c3 = block(key0, key1, n, j)
    u1 = 1.0 - u53(c0, c1)  # (0, 1]: log is finite
    u2 = u53(c2, c3)
    r = math.sqrt(-2.0 * math.log(u1))
    t = _TWO_PI * u2
    return r * math.cos(t), r * math.sin(t)


@register_jitable
def search(cumw, b, u):
    """First ``k`` with ``cumw[b, k] > u * cumw[b, K-1]`` (binary search).

    Zero-weight components are never chosen: their cumulative weight equals
    the one before them.
    """
    K = cumw.shape[1]
    t = u * cumw[b, K - 1]
    lo = 0
    hi = K - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumw[b, mid] > t:
            hi = mid
        else:
            lo = mid + 1
    return lo
