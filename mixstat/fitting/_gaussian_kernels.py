"""CPU loops of the fused Gaussian EM step (compiled by :mod:`mixstat.fitting._gaussian`).

One pass over the points computes, per component ``k``, the log-density
``log pi_k + log N(x | mu_k, Sigma_k)`` of a tile of points, their log-sum-exp
and the responsibilities, and adds the responsibility-weighted statistics of
the tile to its block's sums; the ``N x K`` responsibilities are never stored.

Determinism: points are cut into blocks of ``BLOCK`` points (a constant, not a
function of the thread count); each block's statistics are summed tile by
tile in float64 by one thread, and the blocks' sums are added to the total in
block order.  Blocks are processed in groups of ``group`` (chosen from the
problem's size only) so that the partial sums take bounded memory.  The same
input gives the same bits with any number of threads.

Batches: :func:`estep` takes ``(B, N, D)`` points with parameters per batch
entry (one independent mixture each); the parallel tasks are the (entry,
block) pairs, so one call serves every entry (10^4 small fits are one launch).

Statistics are about a per-component centre ``c_k`` (the current means, or for
tied covariances one common point): ``sum r``, ``sum r (x - c_k)`` and
``sum r (x - c_k)(x - c_k)^T`` (lower triangle packed row by row), in float64
whatever the data's dtype, so that the M-step's ``S / n - d d^T`` subtracts
small numbers (no cancellation; scikit-learn issue #30382).

Layout of the statistics vector ``out`` (float64):
``[loglik | nk (K) | sx (K D) | sxx]`` with ``sxx`` of ``K D (D + 1) / 2``
(full), ``D (D + 1) / 2`` (tied: ``sum_n w_n (x_n - c)(x_n - c)^T``) or
``K D`` (diagonal and spherical: squares only).

The log-density loops use only arithmetic and the polynomial ``exp``/``log``
of :mod:`mixstat.kernels.fastmath` (so they vectorise; no ``reassoc``); the
reductions over a tile's points are separate jitables compiled with
``reassoc`` so that LLVM vectorises them (the order of their additions is
fixed by the compiled code, not by the threads).  Diagonal models (and full
or tied ones of one coordinate, which the caller runs as diagonal) take
fused loops that store nothing per coordinate; the full lower triangle of
``sum r d d^T`` is summed in 2 x 2 blocks of entries.
"""

import numpy as np
from numba import prange
from numba.extending import register_jitable

from ..kernels.fastmath import exp_neg, log_pos
from ..kernels.parts import parts, span

#: points per block (fixed: the sums must not depend on the thread count)
BLOCK = 2048
#: points per tile (a tile's coordinates and terms stay in L1/L2)
TILE = 256
FULL, TIED, DIAG = 0, 1, 2

_REDUCE = dict(fastmath={"reassoc", "contract", "nsz", "arcp"}, error_model="numpy")


@register_jitable
def _copy_tile(x, n0, nl, xt):
    D = x.shape[1]
    for i in range(nl):
        for j in range(D):
            xt[j, i] = x[n0 + i, j]


@register_jitable
def _tile_logp(xt, nl, means, U, pd, cst, mode, dx, y, lp):
    """``lp[k, i] = cst[k] - |y_k(x_i)|^2 / 2`` for the tile's points, ``y = (x - mu_k) U_k``
    (``U_k`` upper triangular: scikit-learn's ``precisions_cholesky_``) or ``(x - mu_k) * pd_k``."""
    K, D = means.shape
    for k in range(K):
        for i in range(nl):
            lp[k, i] = 0.0
        if mode == DIAG:
            for j in range(D):
                m = means[k, j]
                p = pd[k, j]
                for i in range(nl):
                    t = (xt[j, i] - m) * p
                    lp[k, i] += t * t
        else:
            for j in range(D):
                m = means[k, j]
                for i in range(nl):
                    dx[j, i] = xt[j, i] - m
            for j in range(D):
                u = U[k, 0, j]
                for i in range(nl):
                    y[i] = dx[0, i] * u
                for l in range(1, j + 1):
                    u = U[k, l, j]
                    for i in range(nl):
                        y[i] += dx[l, i] * u
                for i in range(nl):
                    lp[k, i] += y[i] * y[i]
        c = cst[k]
        for i in range(nl):
            lp[k, i] = c - 0.5 * lp[k, i]


@register_jitable
def _tile_normalise(nl, K, lp, mx, s):
    """``lp[k, i] <- exp(lp[k, i] - mx[i])`` with ``mx`` the largest term, ``s`` their sum."""
    for i in range(nl):
        mx[i] = lp[0, i]
    for k in range(1, K):
        for i in range(nl):
            v = lp[k, i]
            mx[i] = v if v > mx[i] else mx[i]
    for i in range(nl):
        s[i] = 0.0
    for k in range(K):
        for i in range(nl):
            e = exp_neg(lp[k, i] - mx[i])
            lp[k, i] = e
            s[i] += e


@register_jitable(**_REDUCE)
def _tile_sum(v, nl):
    t = 0.0
    for i in range(nl):
        t += v[i]
    return t


@register_jitable(**_REDUCE)
def _tile_stats(nl, K, D, mode, xt, center, rw, pw, dc, rdc, acc):
    """Add the tile's weighted statistics to the block's ``acc`` (see the module notes).

    ``rw[k, i]``: responsibility times point weight; ``pw[i]``: point weight.
    """
    T = D * (D + 1) // 2
    o_sx = 1 + K
    o_ss = o_sx + K * D
    for k in range(K):
        t = 0.0
        for i in range(nl):
            t += rw[k, i]
        acc[1 + k] += t
        if mode == DIAG:  # one pass per coordinate, nothing stored
            for j in range(D):
                c = center[k, j]
                t1 = 0.0
                t2 = 0.0
                for i in range(nl):
                    d = xt[j, i] - c
                    rd = rw[k, i] * d
                    t1 += rd
                    t2 += rd * d
                acc[o_sx + k * D + j] += t1
                acc[o_ss + k * D + j] += t2
        else:
            for j in range(D):
                c = center[k, j]
                t = 0.0
                for i in range(nl):
                    d = xt[j, i] - c
                    dc[j, i] = d
                    rd = rw[k, i] * d
                    rdc[j, i] = rd
                    t += rd
                acc[o_sx + k * D + j] += t
            if mode == FULL:
                _tri_sums(nl, D, rdc, dc, acc, o_ss + k * T)
    if mode == TIED:
        for j in range(D):
            c = center[0, j]
            for i in range(nl):
                d = xt[j, i] - c
                dc[j, i] = d
                rdc[j, i] = pw[i] * d
        _tri_sums(nl, D, rdc, dc, acc, o_ss)


@register_jitable(**_REDUCE)
def _tri_sums(nl, D, a, b, acc, base):
    """``acc[base + j (j + 1) / 2 + l] += sum_i a[j, i] b[l, i]`` for ``l <= j``, in 2 x 2 blocks
    of ``(j, l)`` (each pass over the points loads four rows for four sums)."""
    for j in range(0, D - 1, 2):
        for l in range(0, j + 1, 2):
            t00 = 0.0
            t01 = 0.0
            t10 = 0.0
            t11 = 0.0
            for i in range(nl):
                a0 = a[j, i]
                a1 = a[j + 1, i]
                b0 = b[l, i]
                b1 = b[l + 1, i]
                t00 += a0 * b0
                t01 += a0 * b1
                t10 += a1 * b0
                t11 += a1 * b1
            acc[base + j * (j + 1) // 2 + l] += t00
            if l + 1 <= j:
                acc[base + j * (j + 1) // 2 + l + 1] += t01
            acc[base + (j + 1) * (j + 2) // 2 + l] += t10
            acc[base + (j + 1) * (j + 2) // 2 + l + 1] += t11
    if D % 2 == 1:  # the last row of an odd size
        j = D - 1
        for l in range(D):
            t = 0.0
            for i in range(nl):
                t += a[j, i] * b[l, i]
            acc[base + j * (j + 1) // 2 + l] += t


@register_jitable
def _estep_block(x, w, means, U, pd, cst, center, mode, n0, n1, acc):
    K, D = means.shape
    xt = np.empty((D, TILE))
    dx = np.empty((D, TILE))
    rdc = np.empty((D, TILE))
    lp = np.empty((K, TILE))
    y = np.empty(TILE)
    mx = np.empty(TILE)
    s = np.empty(TILE)
    pw = np.empty(TILE)
    for l in range(acc.shape[0]):
        acc[l] = 0.0
    has_w = w.shape[0] > 0
    for t0 in range(n0, n1, TILE):
        nl = min(TILE, n1 - t0)
        _copy_tile(x, t0, nl, xt)
        _tile_logp(xt, nl, means, U, pd, cst, mode, dx, y, lp)
        _tile_normalise(nl, K, lp, mx, s)
        if has_w:
            for i in range(nl):
                pw[i] = w[t0 + i]
        else:
            for i in range(nl):
                pw[i] = 1.0
        for i in range(nl):
            y[i] = pw[i] / s[i]
            # a zero weight contributes exactly nothing
            mx[i] = pw[i] * (mx[i] + log_pos(s[i])) if pw[i] != 0.0 else 0.0
        acc[0] += _tile_sum(mx, nl)
        for k in range(K):
            for i in range(nl):
                lp[k, i] *= y[i]
        _tile_stats(nl, K, D, mode, xt, center, lp, pw, dx, rdc, acc)


def estep(x, w, means, U, pd, cst, center, active, mode, group, out):
    """The statistics of every batch entry's points (module notes) into ``out`` ``(B, L)``.

    ``x`` ``(B, N, D)``; ``w`` ``(B, N)``, or ``(B, 0)`` for unit weights; ``means``,
    ``center`` ``(B, K, D)``; ``U`` ``(B, K, D, D)`` (or empty), ``pd`` ``(B, K, D)`` (or
    empty), ``cst`` ``(B, K)``; entries with ``active[b] == 0`` are skipped (their row of
    ``out`` is 0).  The (entry, block) pairs run in parallel, in groups of ``group``; each
    entry's blocks are added in block order (the same bits at any thread count).
    """
    B = x.shape[0]
    N = x.shape[1]
    L = out.shape[1]
    nb = (N + BLOCK - 1) // BLOCK
    nt = B * nb
    part = np.empty((group, L))
    for b in range(B):
        for l in range(L):
            out[b, l] = 0.0
    for g0 in range(0, nt, group):
        ng = min(group, nt - g0)
        for gi in prange(ng):
            t = g0 + gi
            b = t // nb
            if active[b] == 0:
                continue
            k = t - b * nb
            _estep_block(
                x[b], w[b], means[b], U[b], pd[b], cst[b], center[b], mode, k * BLOCK, min(N, (k + 1) * BLOCK), part[gi]
            )
        for gi in range(ng):  # block order: the same bits at any thread count
            b = (g0 + gi) // nb
            if active[b] == 0:
                continue
            for l in range(L):
                out[b, l] += part[gi, l]


@parts
def score(x, means, U, pd, cst, mode, ll, label, resp, part, nparts):
    """Per point: ``ll`` the log-density, ``label`` the most probable component and, when
    ``resp`` has ``N`` rows, the responsibilities."""
    N = x.shape[0]
    K, D = means.shape
    nt = (N + TILE - 1) // TILE
    full = resp.shape[0] == N
    nc = min(nt, 256)
    c0, c1 = span(nc, part, nparts)
    for c in range(c0, c1):
        xt = np.empty((D, TILE))
        dx = np.empty((D, TILE))
        lp = np.empty((K, TILE))
        y = np.empty(TILE)
        mx = np.empty(TILE)
        s = np.empty(TILE)
        for t in range(c * nt // nc, (c + 1) * nt // nc):
            t0 = t * TILE
            nl = min(TILE, N - t0)
            _copy_tile(x, t0, nl, xt)
            _tile_logp(xt, nl, means, U, pd, cst, mode, dx, y, lp)
            for i in range(nl):  # the first largest term (as numpy's argmax)
                best = 0
                v = lp[0, i]
                for k in range(1, K):
                    if lp[k, i] > v:
                        v = lp[k, i]
                        best = k
                label[t0 + i] = best
            _tile_normalise(nl, K, lp, mx, s)
            for i in range(nl):
                ll[t0 + i] = mx[i] + log_pos(s[i])
            if full:
                for i in range(nl):
                    y[i] = 1.0 / s[i]
                for k in range(K):
                    for i in range(nl):
                        resp[t0 + i, k] = lp[k, i] * y[i]
