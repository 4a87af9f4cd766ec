"""Multivariate normal family with full covariance ``Sigma = L L^T``.

Row layout (P = D + D (D + 1) + 1), lower triangles packed row by row
(element ``(i, j)``, ``j <= i``, at ``i (i + 1) / 2 + j``):
``loc[0:D] | W = L^{-1} packed | L packed | -sum(log diag L) - D/2 log(2 pi)``.

``logpdf`` needs no scratch memory: ``y = W (x - loc)`` is formed one row at a
time and only ``|y|^2`` is kept.  ``draw`` writes ``D`` standard normals into
the output row and multiplies by ``L`` in place, bottom row first.
"""
import math

import numpy as np
from numba.extending import register_jitable

from ..philox import normal_pair

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def pack(loc, scale_tril, inv_tril, dtype):
    """Rows from ``loc (..., D)``, ``L (..., D, D)`` and ``W = L^{-1} (..., D, D)``."""
    D = loc.shape[-1]
    batch = np.broadcast_shapes(loc.shape[:-1], scale_tril.shape[:-2], inv_tril.shape[:-2])
    rows, cols = np.tril_indices(D)
    loc = np.broadcast_to(loc, batch + (D,))
    L = np.broadcast_to(scale_tril, batch + (D, D))
    W = np.broadcast_to(inv_tril, batch + (D, D))
    diag = np.diagonal(L, axis1=-2, axis2=-1)
    const = -np.log(diag).sum(-1, keepdims=True) - D * _HALF_LOG_2PI
    tab = np.concatenate([loc, W[..., rows, cols], L[..., rows, cols], const], axis=-1)
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf(x, s, b, tab, k):
    D = x.shape[2]
    infinite = False
    for j in range(D):
        v = x[s, b, j]
        if v != v:
            return v
        if v == math.inf or v == -math.inf:
            infinite = True
    if infinite:  # density 0 at infinity (the product below would form 0 * inf)
        return -math.inf
    acc = 0.0
    base = D
    for i in range(D):
        y = 0.0
        for j in range(i + 1):
            y += tab[b, k, base + j] * (x[s, b, j] - tab[b, k, j])
        acc += y * y
        base += i + 1
    return tab[b, k, tab.shape[2] - 1] - 0.5 * acc


@register_jitable
def bound(tab, b, k):
    """An upper bound of ``logpdf`` over ``x``: its value at the mode."""
    return tab[b, k, tab.shape[2] - 1]


@register_jitable
def draw(key0, key1, n, tab, b, k, out, row):
    D = out.shape[1]
    for j in range(0, D, 2):
        z0, z1 = normal_pair(key0, key1, n, 1 + j // 2)
        out[row, j] = z0
        if j + 1 < D:
            out[row, j + 1] = z1
    T = D * (D + 1) // 2
    for i in range(D - 1, -1, -1):  # in place: row i reads z[0..i] only
        base = D + T + i * (i + 1) // 2
        acc = 0.0
        for j in range(i + 1):
            acc += tab[b, k, base + j] * out[row, j]
        out[row, i] = tab[b, k, i] + acc
