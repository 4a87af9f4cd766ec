"""Multivariate normal family with low-rank plus diagonal covariance ``Sigma = W W^T + diag(d)``.

``W`` is ``D x r`` (``r >= 0``), ``d > 0``.  Everything that depends only on the
parameters is computed once in :func:`pack` (NumPy, float64): with
``s = d^{-1/2}``, ``V = diag(s) W`` and the capacitance matrix
``C = I_r + W^T D^{-1} W = I_r + V^T V = L_C L_C^T`` (Cholesky),

* ``A = L_C^{-1} W^T D^{-1} = (L_C^{-1} V^T) diag(s)`` (``r x D``); ``L_C^{-1} V^T``
  has spectral norm below 1, so ``|A_lj| <= s_j``: no overflow even for a
  subnormal ``d``;
* ``log|Sigma| = log|C| + sum_j log d_j`` (matrix determinant lemma).

Per point, by the Woodbury identity (``O(D r)``, no ``D x D`` matrix):

    m = (x - mu)^T Sigma^{-1} (x - mu) = sum_j ((x_j - mu_j) s_j)^2 - ||A (x - mu)||^2

and ``logpdf = CONST - m / 2`` with ``CONST = -log|Sigma| / 2 - D/2 log(2 pi)``.
The row stores ``sqrt(1/2) s`` and ``sqrt(1/2) A`` so that no multiply by 1/2 is needed.

Accuracy: ``m`` is a difference of two non-negative sums.  With
``q = sum_j (x_j - mu_j)^2 / d_j`` the absolute rounding error of ``m`` is about
``(D + r) eps q`` (``eps`` of the row's dtype), so the relative error of ``m`` is
``(D + r) eps q / m``: small where the diagonal part carries the covariance,
large for points along the columns of ``W`` when ``d`` is tiny beside ``W W^T``
(``q / m`` up to ``|W|^2 / min d``).  A negative ``m`` from rounding is set to 0,
so ``CONST`` stays an upper bound.

Row layout (``P = 3 D + 2 r D + 1``; ``r`` is recovered as ``(P - 1 - 3 D) / (2 D)``):
``loc[0:D] | sqrt(1/2) s [D:2D] | sqrt(d) [2D:3D] | sqrt(1/2) A, row-major (r x D) |
W^T, row-major (r x D) | CONST``.

``draw`` returns ``loc + W z1 + sqrt(d) * z2`` with ``z2`` (``D`` normals) from
Philox blocks ``1 .. ceil(D/2)`` and ``z1`` (``r`` normals) from the next
``ceil(r/2)`` blocks of the point's own counter (block 0 chooses the component).
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..philox import normal_pair

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)

#: offsets (in units of D) of the row's blocks
LOC, ISD, SD, AMAT = 0, 1, 2, 3
#: floats after the two r x D blocks
NCONST = 1


def capacitance(cov_factor, cov_diag):
    """``(B = L_C^{-1} V^T (..., r, D), log|Sigma| (...,))`` in float64 (see the module docstring).

    Where ``V`` is huge (a subnormal ``d``: ``V^T V`` would overflow), ``C`` is
    factorised as ``2^{2e} (2^{-2e} I + V_e^T V_e)`` with ``V_e = 2^{-e} V``
    (exact scaling; ``B`` is the same, the log-determinant gains ``2 r e log 2``).
    """
    W = np.asarray(cov_factor, dtype=np.float64)
    d = np.asarray(cov_diag, dtype=np.float64)
    r = W.shape[-1]
    s = 1.0 / np.sqrt(d)
    V = W * s[..., :, None]
    logd = np.log(d).sum(-1)
    if r == 0:
        return np.swapaxes(V, -1, -2), logd
    big = np.abs(V).max(axis=(-2, -1))
    e = np.where(big > 2.0**256, np.frexp(np.where(np.isfinite(big), big, 1.0))[1], 0).astype(np.int64)
    V = np.ldexp(V, -e[..., None, None])
    Vt = np.swapaxes(V, -1, -2)
    C = Vt @ V + np.ldexp(np.eye(r), -2 * e[..., None, None])
    Lc = np.linalg.cholesky(C)
    logdet = 2.0 * np.log(np.diagonal(Lc, axis1=-2, axis2=-1)).sum(-1) + (2.0 * math.log(2.0)) * r * e + logd
    return np.linalg.solve(Lc, Vt), logdet


def pack(loc, cov_factor, cov_diag, dtype):
    """Rows ``(..., P)`` from ``loc (..., D)``, ``cov_factor (..., D, r)``, ``cov_diag (..., D)``."""
    D = loc.shape[-1]
    r = cov_factor.shape[-1]
    batch = np.broadcast_shapes(loc.shape[:-1], cov_factor.shape[:-2], cov_diag.shape[:-1])
    loc = np.broadcast_to(np.asarray(loc, dtype=np.float64), batch + (D,))
    W = np.broadcast_to(np.asarray(cov_factor, dtype=np.float64), batch + (D, r))
    d = np.broadcast_to(np.asarray(cov_diag, dtype=np.float64), batch + (D,))
    Bm, logdet = capacitance(W, d)
    s = 1.0 / np.sqrt(d)
    A = Bm * s[..., None, :]
    const = -0.5 * logdet - D * _HALF_LOG_2PI
    tab = np.concatenate(
        [
            loc,
            _SQRT_HALF * s,
            np.sqrt(d),
            (_SQRT_HALF * A).reshape(batch + (r * D,)),
            np.swapaxes(W, -1, -2).reshape(batch + (r * D,)),
            const[..., None],
        ],
        axis=-1,
    )
    return tab.astype(dtype, copy=False)


@register_jitable
def _rank(P, D):
    return (P - NCONST - 3 * D) // (2 * D)


@register_jitable
def logpdf(x, s, b, tab, k):
    D = x.shape[2]
    P = tab.shape[2]
    R = _rank(P, D)
    D4 = D - D % 4
    nan = False
    q = tab[b, k, 0] - tab[b, k, 0]  # 0 in the table's dtype
    for j in range(D):
        nan = nan | (x[s, b, j] != x[s, b, j])
    # coordinates in groups of 4, summed pairwise, as in logpdf_tile (the same bits)
    for j in range(0, D4, 4):
        u0 = (x[s, b, j] - tab[b, k, j]) * tab[b, k, D + j]
        u1 = (x[s, b, j + 1] - tab[b, k, j + 1]) * tab[b, k, D + j + 1]
        u2 = (x[s, b, j + 2] - tab[b, k, j + 2]) * tab[b, k, D + j + 2]
        u3 = (x[s, b, j + 3] - tab[b, k, j + 3]) * tab[b, k, D + j + 3]
        q += (u0 * u0 + u1 * u1) + (u2 * u2 + u3 * u3)
    for j in range(D4, D):
        u = (x[s, b, j] - tab[b, k, j]) * tab[b, k, D + j]
        q += u * u
    for l in range(R):
        base = AMAT * D + l * D
        y = q - q
        for j in range(0, D4, 4):
            y += (
                tab[b, k, base + j] * (x[s, b, j] - tab[b, k, j])
                + tab[b, k, base + j + 1] * (x[s, b, j + 1] - tab[b, k, j + 1])
            ) + (
                tab[b, k, base + j + 2] * (x[s, b, j + 2] - tab[b, k, j + 2])
                + tab[b, k, base + j + 3] * (x[s, b, j + 3] - tab[b, k, j + 3])
            )
        for j in range(D4, D):
            y += tab[b, k, base + j] * (x[s, b, j] - tab[b, k, j])
        q -= y * y
    q = q if not q < 0 else q - q  # rounding below 0: 0 (NaN stays NaN)
    r = tab[b, k, P - 1] - q
    # NaN without a NaN coordinate comes from an infinite (or overflowing) one: density 0.
    # Selects, not branches: the CPU loop over points stays vectorisable.
    keep = (r == r) | nan
    return r if keep else -math.inf


@register_jitable
def logpdf_tile(xt, nl, tab, b, k, t, y):
    """``t[i] = logpdf`` of points ``xt[:, 0, i]``, ``i < nl`` (CPU tiles).

    The arithmetic of :func:`logpdf` (the same order, so the same bits for
    finite values; NaN where a coordinate is NaN or infinite, which the caller
    redoes with :func:`logpdf`), ordered for SIMD: ``xt`` is coordinate-major,
    every inner loop runs over the tile's points with unit stride, ``y`` is
    scratch of the tile's length (one row of ``A (x - mu)`` at a time).  The
    coordinates go in groups of 4, so that the scratch is loaded and stored
    once per 4 coordinates (the loops are bound by loads and stores).
    """
    D = xt.shape[0]
    P = tab.shape[2]
    R = _rank(P, D)
    D4 = D - D % 4
    for i in range(nl):
        t[i] = tab[b, k, 0] - tab[b, k, 0]
    for j in range(0, D4, 4):
        m0 = tab[b, k, j]
        m1 = tab[b, k, j + 1]
        m2 = tab[b, k, j + 2]
        m3 = tab[b, k, j + 3]
        w0 = tab[b, k, D + j]
        w1 = tab[b, k, D + j + 1]
        w2 = tab[b, k, D + j + 2]
        w3 = tab[b, k, D + j + 3]
        for i in range(nl):
            u0 = (xt[j, 0, i] - m0) * w0
            u1 = (xt[j + 1, 0, i] - m1) * w1
            u2 = (xt[j + 2, 0, i] - m2) * w2
            u3 = (xt[j + 3, 0, i] - m3) * w3
            t[i] += (u0 * u0 + u1 * u1) + (u2 * u2 + u3 * u3)
    for j in range(D4, D):
        m = tab[b, k, j]
        w = tab[b, k, D + j]
        for i in range(nl):
            u = (xt[j, 0, i] - m) * w
            t[i] += u * u
    for l in range(R):
        base = AMAT * D + l * D
        for i in range(nl):
            y[i] = t[i] - t[i]
        for j in range(0, D4, 4):
            m0 = tab[b, k, j]
            m1 = tab[b, k, j + 1]
            m2 = tab[b, k, j + 2]
            m3 = tab[b, k, j + 3]
            a0 = tab[b, k, base + j]
            a1 = tab[b, k, base + j + 1]
            a2 = tab[b, k, base + j + 2]
            a3 = tab[b, k, base + j + 3]
            for i in range(nl):
                y[i] += (a0 * (xt[j, 0, i] - m0) + a1 * (xt[j + 1, 0, i] - m1)) + (
                    a2 * (xt[j + 2, 0, i] - m2) + a3 * (xt[j + 3, 0, i] - m3)
                )
        for j in range(D4, D):
            a = tab[b, k, base + j]
            m = tab[b, k, j]
            for i in range(nl):
                y[i] += a * (xt[j, 0, i] - m)
        for i in range(nl):
            t[i] -= y[i] * y[i]
    c = tab[b, k, P - 1]
    for i in range(nl):
        q = t[i]
        q = q if not q < 0 else q - q
        t[i] = c - q


@register_jitable
def bound(tab, b, k):
    """An upper bound of ``logpdf`` over ``x``: its value at the mode (``m = 0``)."""
    return tab[b, k, tab.shape[2] - 1]


@register_jitable
def draw(key0, key1, n, tab, b, k, out, row):
    D = out.shape[1]
    P = tab.shape[2]
    R = _rank(P, D)
    for j in range(0, D, 2):
        z0, z1 = normal_pair(key0, key1, n, 1 + j // 2)
        out[row, j] = tab[b, k, SD * D + j] * z0
        if j + 1 < D:
            out[row, j + 1] = tab[b, k, SD * D + j + 1] * z1
    blk = 1 + (D + 1) // 2
    wt = AMAT * D + R * D
    for l in range(0, R, 2):
        z0, z1 = normal_pair(key0, key1, n, blk + l // 2)
        base = wt + l * D
        for j in range(D):
            out[row, j] += tab[b, k, base + j] * z0
        if l + 1 < R:
            base += D
            for j in range(D):
                out[row, j] += tab[b, k, base + j] * z1
    for j in range(D):
        out[row, j] += tab[b, k, j]
