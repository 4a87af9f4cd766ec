"""Multivariate normal family with full covariance ``Sigma = L L^T``.

Row layout (P = D + D (D + 1) + 3), lower triangles packed row by row
(element ``(i, j)``, ``j <= i``, at ``i (i + 1) / 2 + j``):
``loc[0:D] | W = sqrt(1/2) L^{-1} / XSCALE packed | L packed | XSCALE | CONST_EXACT | CONST``
with ``CONST_EXACT = -sum(log diag L) - D/2 log(2 pi)``.  ``XSCALE`` is 1 unless
``L^{-1}`` overflows the row's dtype (a subnormal or tiny ``L``): then
``XSCALE = 2**(-e/2)`` with ``2**e`` about ``L``'s largest diagonal entry, ``W``
is the inverse of ``L 2**-e`` (exact scaling), the exact ``logpdf`` multiplies
``W (x - loc)`` by ``XSCALE`` twice (``2**-e`` itself may overflow), and ``CONST`` (read by the SIMD tile loop,
which does not scale) is NaN so that the CPU loop redoes those points exactly.

``logpdf`` needs no scratch memory: ``y = W (x - loc)`` is formed one row at a
time and only ``|y|^2`` is kept; the log-density is ``const - |y|^2``.  It has
no data-dependent branch (a NaN or infinite coordinate is sorted out with
selects at the end), so the CPU loop over points vectorises.  ``draw`` writes ``D`` standard normals into
the output row and multiplies by ``L`` in place, bottom row first.
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..philox import normal_pair

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)


def pack(loc, scale_tril, inv_tril, dtype):
    """Rows from ``loc (..., D)``, ``L (..., D, D)`` and ``W = L^{-1} (..., D, D)``."""
    D = loc.shape[-1]
    batch = np.broadcast_shapes(loc.shape[:-1], scale_tril.shape[:-2], inv_tril.shape[:-2])
    rows, cols = np.tril_indices(D)
    loc = np.broadcast_to(loc, batch + (D,))
    L = np.broadcast_to(scale_tril, batch + (D, D))
    W = np.array(np.broadcast_to(inv_tril, batch + (D, D)), dtype=np.float64)
    xs = np.ones(batch)
    with np.errstate(over="ignore", invalid="ignore"):
        big = ~(np.abs(W).max(axis=(-2, -1), initial=0.0) * _SQRT_HALF <= np.finfo(dtype).max)
    if big.any():  # L^{-1} overflows: invert L 2**-e instead
        Lb = np.asarray(L[big], dtype=np.float64)
        # e even, so that 2**-e = XSCALE**2 with XSCALE in range (2**-e alone may not be)
        e = 2 * np.floor(np.log2(np.abs(np.diagonal(Lb, axis1=-2, axis2=-1)).max(-1)) / 2)
        Ls = np.ldexp(Lb, -e[:, None, None].astype(np.int64))
        W[big] = np.tril(np.linalg.inv(Ls))
        xs[big] = np.ldexp(1.0, -(e // 2).astype(np.int64))
    diag = np.diagonal(L, axis1=-2, axis2=-1)
    const = -np.log(diag).sum(-1, keepdims=True) - D * _HALF_LOG_2PI
    tile_const = np.where(xs[..., None] == 1.0, const, np.nan)
    tab = np.concatenate(
        [loc, _SQRT_HALF * W[..., rows, cols], L[..., rows, cols], xs[..., None], const, tile_const], axis=-1
    )
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf(x, s, b, tab, k):
    D = x.shape[2]
    nan = False
    acc = tab[b, k, 0] - tab[b, k, 0]  # 0 in the table's dtype
    base = D
    for i in range(D):
        v = x[s, b, i]
        nan = nan | (v != v)
        y = tab[b, k, base] * (x[s, b, 0] - tab[b, k, 0])
        for j in range(1, i + 1):
            y += tab[b, k, base + j] * (x[s, b, j] - tab[b, k, j])
        xs = tab[b, k, tab.shape[2] - 3]  # XSCALE, applied twice
        y = (y * xs) * xs
        acc += y * y
        base += i + 1
    r = tab[b, k, tab.shape[2] - 2] - acc  # CONST_EXACT
    # NaN here without a NaN coordinate comes from an infinite one (inf - inf,
    # 0 * inf): the density there is 0.  Selects, not branches: the CPU loop
    # over points stays vectorisable.
    keep = (r == r) | nan
    return r if keep else -math.inf


@register_jitable
def logpdf_tile(xt, nl, tab, b, k, t, y):
    """``t[i] = logpdf`` of points ``xt[:, 0, i]``, ``i < nl`` (CPU tiles).

    The same arithmetic as :func:`logpdf` for finite values (NaN where a
    coordinate is NaN or infinite), ordered for SIMD: ``xt`` is
    coordinate-major, every inner loop runs over the tile's points with unit
    stride, ``y`` is scratch of the tile's length.
    """
    D = xt.shape[0]
    P = tab.shape[2]
    for i in range(nl):
        t[i] = tab[b, k, 0] - tab[b, k, 0]
    base = D
    for r in range(D):
        w = tab[b, k, base]
        m = tab[b, k, 0]
        for i in range(nl):
            y[i] = w * (xt[0, 0, i] - m)
        for j in range(1, r + 1):
            w = tab[b, k, base + j]
            m = tab[b, k, j]
            for i in range(nl):
                y[i] += w * (xt[j, 0, i] - m)
        for i in range(nl):
            t[i] += y[i] * y[i]
        base += r + 1
    c = tab[b, k, P - 1]
    for i in range(nl):
        t[i] = c - t[i]  # NaN for a NaN or infinite coordinate: the caller
        # recomputes such points with the scalar logpdf


@register_jitable
def bound(tab, b, k):
    """An upper bound of ``logpdf`` over ``x``: its value at the mode."""
    return tab[b, k, tab.shape[2] - 2]


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


# -- derivatives (the log_prob_grad operation) ---------------------------------------
_SQRT2 = math.sqrt(2.0)


@register_jitable
def grad(x, s, b, tab, k, g, j):
    """``log p(x)`` (:func:`logpdf`); writes ``d/dx`` (``D``), ``d/dloc`` (``D``) and ``d/dL`` for the
    packed lower triangle of ``scale_tril`` (``D (D + 1) / 2``, row by row) into ``g[j:]``.

    With ``z = L^{-1} (x - loc)`` and ``u = L^{-T} z = Sigma^{-1} (x - loc)``:
    ``d/dx = -u``, ``d/dloc = u``, ``d/dL_il = u_i z_l - [i = l] / L_ii`` (``l <= i``).  ``z`` is
    the row's scaled ``W (x - loc)`` times ``XSCALE**2 sqrt 2``; ``g`` is the only scratch
    (``z`` in the ``loc`` slots, ``u`` in the ``x`` slots, until both are known).
    """
    lp = logpdf(x, s, b, tab, k)
    if not abs(lp) < math.inf:
        return lp
    D = x.shape[2]
    T = D * (D + 1) // 2
    xs = np.float64(tab[b, k, tab.shape[2] - 3])
    f = xs * xs * _SQRT2
    zo = j + D
    base = D
    for i in range(D):
        y = 0.0
        for l in range(i + 1):
            y += np.float64(tab[b, k, base + l]) * (np.float64(x[s, b, l]) - np.float64(tab[b, k, l]))
        g[zo + i] = y * f
        base += i + 1
    for i in range(D):  # u_i = sum_{r >= i} (L^{-1})_{r i} z_r
        u = 0.0
        for r in range(i, D):
            u += np.float64(tab[b, k, D + r * (r + 1) // 2 + i]) * g[zo + r]
        g[j + i] = u * f
    lo = j + 2 * D
    for i in range(D):
        ui = g[j + i]
        row = i * (i + 1) // 2
        for l in range(i + 1):
            g[lo + row + l] = ui * g[zo + l]
        g[lo + row + i] -= 1.0 / np.float64(tab[b, k, D + T + row + i])
    for i in range(D):
        g[zo + i] = g[j + i]
        g[j + i] = -g[j + i]
    return lp
