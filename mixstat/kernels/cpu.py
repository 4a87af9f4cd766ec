"""CPU loops over points, batches and components (``prange`` over flat points).

Each ``make_*`` returns a plain function closing over one family's scalar
functions; :mod:`mixstat._jit` compiles it with the project's options.  Point
``n`` of a flat ``S * B`` range is sample ``s = n // B`` of batch ``b = n % B``.
"""
import importlib
import math

import numpy as np
from numba import prange
from numba.extending import register_jitable

from .fastmath import exp_neg_any, log_pos
from .lse import lse_add, lse_end
from .philox import block, search, u53


def _family(name):
    return importlib.import_module(f"{__package__}.families.{name}")


@register_jitable
def _no_tile(xt, nl, tab, b, k, t, y):
    pass


#: points per tile: a tile's values and accumulators stay in L1
TILE = 256
#: tiles are grouped into at most this many chunks for ``prange``; scratch
#: arrays are allocated once per chunk.  (Allocating them per tile meant
#: ~10^5 malloc/free pairs of 2 KiB per call from two threads; when those
#: threads shared a malloc arena, the lock made some processes 2.5x slower.)
#: Results do not depend on it: tiles, not chunks, fix the arithmetic.
CHUNKS = 256


def make_log_prob(fam, dtype, dim):
    """Tiled mixture log-density ``logsumexp_k(logw[b, k] + logpdf_k(x[s, b]))``.

    Work is split into tiles of up to ``TILE`` points that share ``b`` (when
    ``B < TILE``) or ``s``.  A tile's values are copied to a contiguous buffer,
    then for each component the inner loop over the tile's points calls the
    family ``logpdf`` and the polynomial ``exp``: no calls, no branches, so LLVM
    vectorises it.  ``dim`` (the event size, or 0 when only known at run time)
    is a compile-time constant, so the family's loop over coordinates unrolls.

    The log-sum-exp is scaled by ``M = max_k(logw[k] + bound_k)`` (``bound_k``
    is the log-density at component k's mode), which is computed once per tile
    instead of per point: every term is ``exp(t - M) <= 1``.  A point whose sum
    is below ``exp(-600)`` (float32: ``exp(-60)``: a far tail, or an infinite
    value) or NaN is recomputed with the scalar ``logpdf`` and its own running
    maximum, so the result stays finite and accurate however far out the point
    is, and NaN/Inf values get exactly the scalar function's semantics.
    """
    logpdf = fam.logpdf
    bound = fam.bound
    # families whose scalar logpdf has loops LLVM cannot vectorise over points
    # (MultivariateNormal's triangular solve) give the same math as a tile loop
    tiled = hasattr(fam, "logpdf_tile")
    tile = fam.logpdf_tile if tiled else _no_tile
    f32 = str(dtype) == "float32"
    F = np.float32 if f32 else np.float64
    zero = F(0.0)
    ninf = F(-np.inf)
    thresh = F(math.exp(-60.0 if f32 else -600.0))
    L = TILE

    def log_prob(x, logw, tab, out):
        S = x.shape[0]
        B = x.shape[1]
        D = dim if dim > 0 else x.shape[2]
        K = logw.shape[1]
        # tiles along the batch only for batches of a tile or more: the choice
        # depends on the parameters, not on how many values come, so a value
        # gets the same bits whether it is evaluated alone or with others
        along_s = B < L
        def exact(s, b):
            # one pass with a running maximum, scalar math.exp.  An inner
            # function (inlined by numba): a closure made in Python here would
            # change the on-disk cache key every process.
            m = -math.inf
            acc = 0.0
            for k in range(K):
                m, acc = lse_add(m, acc, logw[b, k] + logpdf(x, s, b, tab, k))
            return F(lse_end(m, acc))

        if along_s:
            per = (S + L - 1) // L
            ntiles = per * B
        else:
            per = (B + L - 1) // L
            ntiles = per * S
        nchunks = min(ntiles, CHUNKS)
        for c in prange(nchunks):
            # scratch for every tile of this chunk, allocated once (see CHUNKS)
            acc = np.empty(L, F)
            tv = np.empty(L, F)
            work = np.empty(L, F)
            xt = np.empty((D, 1, L), F)  # along s: coordinate-major, seen as (L, 1, D)
            xs = xt.T
            xq = np.empty((D, L, 1), F)  # along b: seen as (1, L, D)
            xb = xq.T
            for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
                r = t // per
                c0 = (t - r * per) * L
                if along_s:
                    b0 = r
                    s0 = c0
                    nl = min(L, S - c0)
                    for i in range(nl):
                        for j in range(D):
                            xs[i, 0, j] = x[s0 + i, b0, j]
                        acc[i] = zero
                    tb = tab[b0:b0 + 1]
                    mb = ninf
                    for k in range(K):
                        v = F(logw[b0, k] + bound(tab, b0, k))
                        mb = v if v > mb else mb
                    mb = mb if mb > ninf else zero
                    if tiled:
                        for k in range(K):
                            sh = logw[b0, k] - mb
                            tile(xt, nl, tab, b0, k, tv, work)
                            for i in range(nl):
                                acc[i] += exp_neg_any(F(tv[i] + sh))
                    else:
                        for k in range(K):
                            sh = logw[b0, k] - mb
                            for i in range(nl):
                                acc[i] += exp_neg_any(F(logpdf(xs, i, 0, tb, k) + sh))
                    # log by polynomial in a loop of its own (SIMD); then the few
                    # points that need it are redone exactly
                    nfix = 0
                    if B == 1:  # unit stride: a SIMD loop
                        for i in range(nl):
                            out[s0 + i] = mb + F(log_pos(np.float64(acc[i])))
                            nfix += not acc[i] >= thresh
                    else:
                        for i in range(nl):
                            out[(s0 + i) * B + b0] = mb + F(log_pos(np.float64(acc[i])))
                            nfix += not acc[i] >= thresh
                    if nfix:
                        for i in range(nl):
                            if not acc[i] >= thresh:
                                out[(s0 + i) * B + b0] = exact(s0 + i, b0)
                else:
                    s0 = r
                    b0 = c0
                    nl = min(L, B - c0)
                    mv = work
                    tb = tab[b0:b0 + nl]
                    lw = logw[b0:b0 + nl]
                    for i in range(nl):
                        for j in range(D):
                            xb[0, i, j] = x[s0, b0 + i, j]
                        mb = ninf
                        for k in range(K):
                            v = F(lw[i, k] + bound(tb, i, k))
                            mb = v if v > mb else mb
                        mv[i] = mb if mb > ninf else zero
                        acc[i] = zero
                    for k in range(K):
                        # two loops: with the gathers of this tile's parameter
                        # rows in it, LLVM does not vectorise the exp loop
                        for i in range(nl):
                            tv[i] = F(logpdf(xb, 0, i, tb, k) + (lw[i, k] - mv[i]))
                        for i in range(nl):
                            acc[i] += exp_neg_any(tv[i])
                    nfix = 0
                    for i in range(nl):
                        out[s0 * B + b0 + i] = mv[i] + F(log_pos(np.float64(acc[i])))
                        nfix += not acc[i] >= thresh
                    if nfix:
                        for i in range(nl):
                            if not acc[i] >= thresh:
                                out[s0 * B + b0 + i] = exact(s0, b0 + i)

    return log_prob


def make_cdf(cdf):
    def mixture_cdf(x, w, tab, out):
        B = x.shape[1]
        K = w.shape[1]
        N = x.shape[0] * B
        for n in prange(N):
            s = n // B
            b = n - s * B
            acc = 0.0
            tot = 0.0
            for k in range(K):
                acc += w[b, k] * cdf(x, s, b, tab, k)  # NaN x gives NaN
                tot += w[b, k]
            # divided by the sum of the weights as stored: cdf(+inf) is exactly 1
            out[n] = min(acc / tot, 1.0)

    return mixture_cdf


#: up to this many components, the choice counts ``cumw[k] <= t`` over all k
#: in SIMD (the same index as the binary search); above, binary search per point
LINEAR_CHOICE = 64


@register_jitable
def _choose_tile(cumw, key0, key1, g0, nl, bb, kk, u):
    """Component index of points ``g0 + i`` (block 0 of their streams) into ``kk``.

    Equal to ``philox.search(cumw, b, uniform(key0, key1, g, 0))`` point by
    point: the first ``k`` with ``cumw[b, k] > t`` is the number of ``k < K-1``
    with ``cumw[b, k] <= t`` (cumw is non-decreasing).
    """
    K = cumw.shape[1]
    # separate loops: a gather from cumw in the Philox loop stops LLVM from
    # vectorising it
    for i in range(nl):
        c0, c1, c2, c3 = block(key0, key1, g0 + i, 0)
        u[i] = u53(c0, c1)
    if K > LINEAR_CHOICE:
        for i in range(nl):
            kk[i] = search(cumw, bb[i], u[i])
        return
    if cumw.shape[0] == 1:
        tot = cumw[0, K - 1]
        for i in range(nl):
            u[i] = u[i] * tot
            kk[i] = 0
        for k in range(K - 1):
            c = cumw[0, k]
            for i in range(nl):
                kk[i] += c <= u[i]
    else:
        for i in range(nl):
            u[i] = u[i] * cumw[bb[i], K - 1]
            kk[i] = 0
        for k in range(K - 1):
            for i in range(nl):
                kk[i] += cumw[bb[i], k] <= u[i]


@register_jitable
def _batch_rows(g0, nl, B, bb):
    """``bb[i] = (g0 + i) % B`` without a division per point."""
    b = g0 % B
    for i in range(nl):
        bb[i] = b
        b += 1
        if b == B:
            b = 0


def make_sample(fam):
    """Tiled ancestral sampling: choose the component (block 0), then draw it.

    Families with a ``draw_tile`` (Normal) draw a whole tile in SIMD; others
    call the scalar ``draw`` point by point.  Either way point ``g`` uses only
    its own stream, so tiling and threads do not change the result.
    """
    draw = fam.draw
    tiled = hasattr(fam, "draw_tile")
    draw_tile = fam.draw_tile if tiled else draw
    L = TILE

    def sample(cumw, tab, key0, key1, offset, out, index):
        B = cumw.shape[0]
        N = out.shape[0]
        ntiles = (N + L - 1) // L
        nchunks = min(ntiles, CHUNKS)
        for c in prange(nchunks):
            bb = np.empty(L, np.int64)  # scratch, once per chunk (see CHUNKS)
            kk = np.empty(L, np.int64)
            u = np.empty(L, np.float64)
            z = np.empty(L, np.float64)
            for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
                n0 = t * L
                nl = min(L, N - n0)
                g0 = offset + n0
                _batch_rows(g0, nl, B, bb)
                if cumw.shape[1] > 1:
                    _choose_tile(cumw, key0, key1, g0, nl, bb, kk, u)
                else:
                    kk[:] = 0
                if index.shape[0] > 0:  # empty: the caller does not want them
                    for i in range(nl):
                        index[n0 + i] = kk[i]
                if tiled:
                    draw_tile(key0, key1, g0, nl, tab, bb, kk, out, n0, u, z)
                else:
                    for i in range(nl):
                        draw(key0, key1, g0 + i, tab, bb[i], kk[i], out, n0 + i)

    return sample


def make_choose():
    L = TILE

    def choose(cumw, key0, key1, offset, index):
        B = cumw.shape[0]
        N = index.shape[0]
        ntiles = (N + L - 1) // L
        nchunks = min(ntiles, CHUNKS)
        for c in prange(nchunks):
            bb = np.empty(L, np.int64)  # scratch, once per chunk (see CHUNKS)
            kk = np.empty(L, np.int64)
            u = np.empty(L, np.float64)
            for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
                n0 = t * L
                nl = min(L, N - n0)
                _batch_rows(offset + n0, nl, B, bb)
                _choose_tile(cumw, key0, key1, offset + n0, nl, bb, kk, u)
                for i in range(nl):
                    index[n0 + i] = kk[i]

    return choose


def make(op, family, dtype="float64", dim=0):
    """The uncompiled loop for ``op`` (log_prob, cdf, sample, choose) on ``family``.

    ``dim`` > 0 fixes the event size at compile time (see :func:`make_log_prob`).
    """
    if op == "choose":
        return make_choose()
    fam = _family(family)
    if op == "log_prob":
        return make_log_prob(fam, dtype, dim)
    if op == "cdf":
        return make_cdf(fam.cdf)
    if op == "sample":
        return make_sample(fam)
    raise KeyError(op)
