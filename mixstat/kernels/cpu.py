"""CPU loops, one per kind of operation, built from a family's scalar functions.

Each ``make_*`` is a module-level factory that returns a plain function closing
over one family's hooks (see :mod:`.registry`); :mod:`mixstat._jit` compiles it
with the project's options.  (Closures made at run time inside other closures,
or ``exec``-generated code, would break numba's on-disk cache.)  The CUDA
versions of the same loops are in :mod:`.cuda`, in the same order.

Point ``n`` of a flat ``S * B`` range is sample ``s = n // B`` of batch
``b = n % B``.  For univariate ("scalar") families the event has ``D``
coordinates (``D = 1`` for a scalar event, more for ``Independent``), each with
``P = tab.shape[2] // D`` floats of the row, coordinate ``j`` at offset ``j P``.

Loop kinds:

``make_log_prob``
    log-sum-exp over components (tiled, bound-scaled, exact redo of far tails).
``make_cdf``
    weighted sum over components (tiled, SIMD erfc where the family has it).
``make_terms``
    the per-component terms ``logw[b, k] + log p_k(x)`` (responsibilities, EM).
``make_sample``
    ancestral sampling: the component first, then only that component is drawn.
``make_choose``
    component (category) indices only.
``make_log_tail``
    log-sum-exp of ``logw[b, k] + log F_k(x)`` (or ``log(1 - F_k(x))``) per point.
"""

import math

import numpy as np
from numba import prange
from numba.extending import register_jitable

from .fastmath import exp_neg_any, log_pos
from .lse import lse_add, lse_end
from .parts import parts, span
from .philox import block, search, u53
from .quantile import jitable_named


@register_jitable
def _no_tile(xt, nl, tab, b, k, t, y):
    pass


@register_jitable
def _no_prep_tile(xt, nl, w):
    pass


@register_jitable
def _no_logpdf(x, s, b, tab, k):
    return tab[b, k, 0] * 0


@register_jitable
def _no_logpdf1(v, p0, p1, tab, b, k, o):
    return tab[b, k, o] * 0


@register_jitable
def _no_term1_fast(v, p0, p1, tab, b, k, o, sh):
    return math.nan


@register_jitable
def _no_bound1(tab, b, k, o):
    return tab[b, k, o] * 0 + math.inf


@register_jitable
def _no_bound(tab, b, k):
    return tab[b, k, 0] * 0 + math.inf


@register_jitable
def _no_pre1(v):
    return v, v


@register_jitable
def _no_cdf1(v, tab, b, k, o):
    return np.float64(v) * 0


@register_jitable
def _no_cdf1_tile(xv, nl, xlo, xhi, tab, b, k, o, wk, acc):
    pass


@register_jitable
def _no_icdf1(p, upper, tab, b, k, o):
    return math.nan


@register_jitable
def _no_draw1(key0, key1, n, c, tab, b, k, o):
    return tab[b, k, o] * 0


@register_jitable
def _no_draw(key0, key1, n, tab, b, k, out, row):
    pass


@register_jitable
def _no_draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    pass


#: points per tile: a tile's values and accumulators stay in L1
TILE = 256
#: tiles are grouped into at most this many chunks (split among threads, :mod:`.parts`); scratch
#: arrays are allocated once per chunk.  (Allocating them per tile meant
#: ~10^5 malloc/free pairs of 2 KiB per call from two threads; when those
#: threads shared a malloc arena, the lock made some processes 2.5x slower.)
#: Results do not depend on it: tiles, not chunks, fix the arithmetic.
CHUNKS = 256
#: a mixture cdf below this is recomputed with the exact scalar functions
#: (the SIMD erfc's relative error grows like 2 z**2 eps in the lower tail;
#: above this total the tail terms' share of the error is below 1e-14)
CDF_THRESH = 1e-10
#: a shared mixture (``B == 1``) with at least this many components is evaluated
#: on sorted points when its family has a ``cdf1_tile`` hook (sorting N points
#: costs about as much as ~100 components' erfc terms per point)
CDF_SORT_K = 128


def _named(fn, *key):
    """A loop's per-chunk function (an inner function of a factory) as a dispatcher of its own.

    Compiled once.  As a ``register_jitable`` overload it was compiled twice:
    when the kernel is typed and again for the parfor's gufunc body, because
    numba keys overloads by the compile flags, which differ there (and the
    prange index is uint64 in the gufunc: the loops pass ``np.int64(c)``).
    The options match those of the overloads it calls (no CPython wrapper, the
    GIL held), so the family's hooks are compiled once too.

    numba's on-disk cache keys a kernel by a pickle of its closure, which
    holds this dispatcher.  So that the pickle is the same in every process,
    the function gets a module-level name unique to its kernel (pickled by
    reference), the dispatcher a UUID derived from that name, and its options
    no sets (a set's pickle follows the process's string hashing).
    """
    import numba

    name = "_chunk_" + "_".join(str(k) for k in key)
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    globals()[name] = fn
    disp = numba.njit(
        error_model="numpy", no_cpython_wrapper=True, fastmath={"arcp": True, "contract": True, "nsz": True}
    )(fn)
    disp._set_uuid(f"{__name__}.{name}")
    return disp


class Hooks:
    """A family's hooks, with stand-ins for the ones it does not define.

    Plain attributes (module-level functions), read by the factories below
    and by :mod:`.cuda`; the flags say which stand-ins are in use.
    """

    def __init__(self, fam):
        m = fam.module
        self.uni = fam.univariate
        self.name = fam.name
        self.discrete = fam.discrete
        self.npre = getattr(m, "NPRE", 0)
        self.pre1 = getattr(m, "pre1", _no_pre1)
        # the SIMD per-point quantities of the CPU tiles (within a few ulp of pre1; NaN where
        # not exact, so that the point is redone with pre1 and logpdf1)
        self.pre1_fast = getattr(m, "pre1_fast", self.pre1)
        # ``exp(logpdf1_fast + sh)`` in one (cheaper) SIMD form, for the fused mixture loop
        self.term1_fast = getattr(m, "term1_fast", _no_term1_fast)
        self.has_term = hasattr(m, "term1_fast")
        # the fused D == 1 loop of the any-D log_prob kernel, for families that measured faster
        # with it (a term1_fast, or FUSED_D1 = True); the others keep the two-loop tile
        self.fused_d1 = self.has_term or getattr(m, "FUSED_D1", False)
        # the SIMD form's -inf is exact (only its NaN points need the exact function)
        self.fast_ninf_exact = getattr(m, "FAST_EXACT_NINF", False)
        self.logpdf1 = getattr(m, "logpdf1", _no_logpdf1)
        self.logpdf1_fast = getattr(m, "logpdf1_fast", self.logpdf1)
        self.bound1 = getattr(m, "bound1", _no_bound1)
        self.cdf1 = getattr(m, "cdf1", _no_cdf1)
        self.cdf1_fast = getattr(m, "cdf1_fast", self.cdf1)
        self.cdf1_tile = getattr(m, "cdf1_tile", _no_cdf1_tile)
        self.cdf_tiled = hasattr(m, "cdf1_tile")
        self.logcdf1 = getattr(m, "logcdf1", _no_cdf1)
        self.logsf1 = getattr(m, "logsf1", _no_cdf1)
        self.has_tails = hasattr(m, "logcdf1") and hasattr(m, "logsf1")
        # the survival function for quantiles above 1/2: the family's own ``sf1``, else
        # ``exp(logsf1)``, else ``1 - cdf1``; ``icdf1``: component quantiles (the bracket)
        self.sf1 = getattr(m, "sf1", _no_cdf1)
        self.sf_kind = 0 if hasattr(m, "sf1") else (1 if hasattr(m, "logsf1") else 2)
        self.icdf1 = getattr(m, "icdf1", _no_icdf1)
        self.has_icdf1 = hasattr(m, "icdf1")
        self.draw1 = getattr(m, "draw1", _no_draw1)
        self.logpdf = getattr(m, "logpdf", _no_logpdf)
        self.bound = getattr(m, "bound", _no_bound)
        self.logpdf_tile = getattr(m, "logpdf_tile", _no_tile)
        self.tiled = hasattr(m, "logpdf_tile")
        # once per tile before logpdf_tile (per-point quantities such as log x, shared by the components)
        self.prep_tile = getattr(m, "prep_tile", _no_prep_tile)
        self.draw = getattr(m, "draw", _no_draw)
        self.draw_tile = getattr(m, "draw_tile", _no_draw_tile)
        self.draw_tiled = hasattr(m, "draw_tile")
        # a bound hook, and whether it is finite for every valid parameter (registry);
        # the running-maximum code is compiled only where it can be needed
        self.has_bound = hasattr(m, "bound1") or hasattr(m, "bound")
        self.bounded = fam.bounded and self.has_bound


@register_jitable
def _tiles(S, B):
    """``(per, ntiles)`` of the log_prob loops' tiling of ``S`` samples by ``B`` batch rows:
    tiles of up to ``TILE`` points along the samples (one batch row each) for batches below a
    tile, else along the batch (one sample each); ``per`` tiles per row (or per sample)."""
    if B < TILE:
        per = (S + TILE - 1) // TILE
        return per, per * B
    per = (B + TILE - 1) // TILE
    return per, per * S


def make_log_prob(fam, dtype, dim):
    """Tiled mixture log-density ``logsumexp_k(logw[b, k] + logpdf_k(x[s, b]))``.

    Work is split into tiles of up to ``TILE`` points that share ``b`` (when
    ``B < TILE``) or ``s``.  A tile's values (and, for families with per-point
    quantities such as ``log x``, those, computed once per point) are copied to
    a contiguous buffer, then for each component the inner loop over the tile's
    points calls the family's SIMD log-density and the polynomial ``exp``: no
    calls, no branches, so LLVM vectorises it.  ``dim`` (the event size, or 0
    when only known at run time) is a compile-time constant.

    The log-sum-exp is scaled by ``M = max_k(logw[k] + bound_k)`` (``bound_k``
    an upper bound of component k's log-density), computed once per tile
    instead of per point: every term is ``exp(t - M) <= 1``.  Where a family
    has no bound, or a bound is infinite, the tile first takes the maximum
    term of each point (the running-maximum path).  A point whose sum is below
    ``exp(-600)`` (float32: ``exp(-60)``: a far tail, or an infinite value) or
    NaN is recomputed with the exact scalar functions and its own running
    maximum, so the result stays finite and accurate however far out the point
    is, and NaN/Inf values get exactly the scalar function's semantics.
    """
    h = Hooks(fam)
    uni = h.uni
    NPRE = h.npre
    NF = 1 + NPRE  # floats per coordinate in the tile buffer
    pre1 = h.pre1
    pre1_fast = h.pre1_fast
    logpdf1 = h.logpdf1
    logpdf1_fast = h.logpdf1_fast
    term1_fast = h.term1_fast
    has_term = h.has_term
    fused_d1 = h.fused_d1
    bound1 = h.bound1
    logpdf = h.logpdf
    bound = h.bound
    bounded = h.bounded
    has_bound = h.has_bound
    tiled = h.tiled
    tile = h.logpdf_tile
    prep_tile = h.prep_tile
    # a scalar event (D = 1 at compile time) or a vector family without a tile
    # loop: log-density, shift and exp in one loop per component
    fused = (uni and dim == 1) or not (uni or tiled)
    f32 = str(dtype) == "float32"
    F = np.float32 if f32 else np.float64
    zero = F(0.0)
    ninf = F(-np.inf)
    pinf = F(np.inf)
    thresh = F(math.exp(-60.0 if f32 else -600.0))
    L = TILE

    def exact(x, logw, tab, s, b):
        # the exact log-density of point (s, b): one pass with a running maximum, scalar
        # math.exp.  A function of its own (compiled once, called from the three places
        # that redo points; as an inner function numba inlined a copy of it into each)
        D = dim if dim > 0 else x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        m = -math.inf
        acc = 0.0
        for k in range(K):
            if uni:
                r = zero
                out = False  # a coordinate outside the support: -inf, even beside a +inf
                nan = False
                for j in range(D):
                    v = x[s, b, j]
                    p0, p1 = pre1(v) if NPRE > 0 else (v, v)
                    lj = logpdf1(v, p0, p1, tab, b, k, j * P)
                    out = out | (lj == -math.inf)
                    nan = nan | (v != v)
                    r += lj
                lk = r if (nan or not out) else ninf
            else:
                lk = logpdf(x, s, b, tab, k)
            m, acc = lse_add(m, acc, logw[b, k] + lk)
        return F(lse_end(m, acc))

    def eval_tile(xt, xs, tab, tb, b0, nl, k, tv, work, D, P):
        # tv[i] = log-density of tile point i under component k of batch row b0 (a function
        # of its own, as exact: four places call it)
        if tiled:  # a vector family's own tile loop (MultivariateNormal)
            tile(xt, nl, tab, b0, k, tv, work)
        elif uni:  # coordinate by coordinate, each a unit-stride SIMD loop
            for i in range(nl):
                tv[i] = zero
            for j in range(D):
                o = j * P
                r0 = j * NF
                for i in range(nl):
                    v = xt[r0, 0, i]
                    p0 = xt[r0 + 1, 0, i] if NPRE > 0 else v
                    p1 = xt[r0 + 2, 0, i] if NPRE > 1 else v
                    tv[i] += logpdf1_fast(v, p0, p1, tb, 0, k, o)
        else:
            for i in range(nl):
                tv[i] = logpdf(xs, i, 0, tb, k)

    exact = _named(exact, "log_prob_exact", fam.name, dtype, dim)
    eval_tile = _named(eval_tile, "log_prob_tile", fam.name, dtype, dim)

    def chunk(c, nchunks, ntiles, per, x, logw, tab, out):
        # one prange iteration, a function of its own: numba's parfor passes then see a
        # small loop body (their copy propagation is quadratic in the body's size)
        S = x.shape[0]
        B = x.shape[1]
        D = dim if dim > 0 else x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        DF = D * NF if uni else D
        # tiles along the batch only for batches of a tile or more: the choice
        # depends on the parameters, not on how many values come, so a value
        # gets the same bits whether it is evaluated alone or with others
        along_s = B < L

        def term(xv, s, b, tb, bt, k):
            # exact log-density of point (s, b) of xv under component k of tb[bt]
            if uni:
                r = zero
                out = False  # a coordinate outside the support: -inf, even beside a +inf
                nan = False
                for j in range(D):
                    v = xv[s, b, j]
                    p0, p1 = pre1(v) if NPRE > 0 else (v, v)
                    lj = logpdf1(v, p0, p1, tb, bt, k, j * P)
                    out = out | (lj == -math.inf)
                    nan = nan | (v != v)
                    r += lj
                return r if (nan or not out) else ninf
            return logpdf(xv, s, b, tb, k)

        def fast(xs, i, tb, bt, k):
            # SIMD log-density of tile point i (features already in xs[i, 0, :])
            if uni:
                r = zero
                for j in range(D):
                    v = xs[i, 0, j * NF]
                    p0 = xs[i, 0, j * NF + 1] if NPRE > 0 else v
                    p1 = xs[i, 0, j * NF + 2] if NPRE > 1 else v
                    r += logpdf1_fast(v, p0, p1, tb, bt, k, j * P)
                return r
            return logpdf(xs, i, 0, tb, k)

        def top(tb, bt, k):
            if not has_bound:
                return pinf
            if uni:
                r = zero
                for j in range(D):
                    r += bound1(tb, bt, k, j * P)
                return r
            return bound(tb, bt, k)

        # scratch for every tile of this chunk, allocated once (see CHUNKS)
        acc = np.empty(L, F)
        tv = np.empty(L, F)
        work = np.empty(L, F)
        mv = np.empty(L, F)
        xt = np.empty((DF, 1, L), F)  # along s: coordinate-major, seen as (L, 1, DF)
        xs = xt.T
        xq = np.empty((DF, L, 1), F)  # along b: seen as (1, L, DF)
        xb = xq.T
        for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
            r = t // per
            c0 = (t - r * per) * L
            if along_s:
                b0 = r
                s0 = c0
                nl = min(L, S - c0)
                # the tile's points as a slice indexed from 0: an index ``s0 + i`` of unknown
                # sign keeps numba's negative-index wraparound in a loop, which then does not
                # vectorise
                xr = x[s0 : s0 + nl, b0]
                simd_fill = fused_d1 and uni and D == 1 and NPRE > 0
                if simd_fill:
                    # a scalar event: the per-point quantities in a SIMD loop of their own
                    for i in range(nl):
                        v = xr[i, 0]
                        xt[0, 0, i] = v
                        p0, p1 = pre1_fast(v)
                        xt[1, 0, i] = p0
                        if NPRE > 1:
                            xt[2, 0, i] = p1
                        acc[i] = zero
                for i in range(0 if simd_fill else nl):
                    if uni:
                        for j in range(D):
                            v = xr[i, j]
                            xs[i, 0, j * NF] = v
                            if NPRE > 0:
                                p0, p1 = pre1(v)
                                xs[i, 0, j * NF + 1] = p0
                                if NPRE > 1:
                                    xs[i, 0, j * NF + 2] = p1
                    else:
                        for j in range(D):
                            xs[i, 0, j] = xr[i, j]
                    acc[i] = zero
                if tiled:  # a vector family's per-point quantities, once for all components
                    prep_tile(xt, nl, work)
                tb = tab[b0 : b0 + 1]
                one = False
                mb = ninf
                for k in range(K):
                    vk = F(logw[b0, k] + top(tab, b0, k))
                    mb = vk if vk > mb else mb
                if not bounded and mb == pinf:
                    # no finite bound: each point's own maximum term first
                    for i in range(nl):
                        mv[i] = ninf
                    for k in range(K):
                        eval_tile(xt, xs, tab, tb, b0, nl, k, tv, work, D, P)
                        sh = logw[b0, k]
                        for i in range(nl):
                            vk = F(tv[i] + sh)
                            mv[i] = vk if vk > mv[i] else mv[i]
                    for i in range(nl):
                        mv[i] = mv[i] if mv[i] > ninf else zero
                    for k in range(K):
                        eval_tile(xt, xs, tab, tb, b0, nl, k, tv, work, D, P)
                        sh = logw[b0, k]
                        for i in range(nl):
                            acc[i] += exp_neg_any(F(tv[i] + sh - mv[i]))
                else:
                    mb = mb if mb > ninf else zero
                    for i in range(nl):
                        mv[i] = mb
                    if fused:
                        # one loop per component: log-density, shift and exp (SIMD)
                        for k in range(K):
                            sh = logw[b0, k] - mb
                            for i in range(nl):
                                acc[i] += exp_neg_any(F(fast(xs, i, tb, 0, k) + sh))
                    elif fused_d1 and uni and D == 1:
                        # a scalar event in the kernel compiled for any D: the same fused
                        # loop, with the family's cheaper form of the term where it has one
                        for k in range(K):
                            sh = logw[b0, k] - mb
                            for i in range(nl):
                                v = xt[0, 0, i]
                                p0 = xt[1, 0, i] if NPRE > 0 else v
                                p1 = xt[2, 0, i] if NPRE > 1 else v
                                if has_term:
                                    acc[i] += F(term1_fast(v, p0, p1, tb, 0, k, 0, sh))
                                else:
                                    acc[i] += exp_neg_any(F(logpdf1_fast(v, p0, p1, tb, 0, k, 0) + sh))
                    else:
                        if tiled:  # a plain vector distribution (univariate ones have log_prob1)
                            one = K == 1
                        for k in range(K):
                            eval_tile(xt, xs, tab, tb, b0, nl, k, tv, work, D, P)
                            if one:  # the log-density itself, below: no exp or log
                                break
                            sh = logw[b0, k] - mb
                            for i in range(nl):
                                acc[i] += exp_neg_any(F(tv[i] + sh))
                nfix = 0
                if tiled and one:
                    for i in range(nl):
                        tv[i] = F(tv[i] + logw[b0, 0])
                        out[(s0 + i) * B + b0] = tv[i]
                        nfix += not tv[i] > ninf
                    if nfix:
                        for i in range(nl):
                            if not tv[i] > ninf:
                                out[(s0 + i) * B + b0] = exact(x, logw, tab, s0 + i, b0)
                    continue
                # log by polynomial in a loop of its own (SIMD); then the few
                # points that need it are redone exactly
                if B == 1:  # unit stride: a SIMD loop
                    orow = out[s0 : s0 + nl]
                    for i in range(nl):
                        orow[i] = mv[i] + F(log_pos(np.float64(acc[i])))
                        nfix += not acc[i] >= thresh
                else:
                    for i in range(nl):
                        out[(s0 + i) * B + b0] = mv[i] + F(log_pos(np.float64(acc[i])))
                        nfix += not acc[i] >= thresh
                if nfix:
                    for i in range(nl):
                        if not acc[i] >= thresh:
                            out[(s0 + i) * B + b0] = exact(x, logw, tab, s0 + i, b0)
            else:
                s0 = r
                b0 = c0
                nl = min(L, B - c0)
                tb = tab[b0 : b0 + nl]
                lw = logw[b0 : b0 + nl]
                for i in range(nl):
                    if uni:
                        for j in range(D):
                            v = x[s0, b0 + i, j]
                            xb[0, i, j * NF] = v
                            if NPRE > 0:
                                p0, p1 = pre1(v)
                                xb[0, i, j * NF + 1] = p0
                                if NPRE > 1:
                                    xb[0, i, j * NF + 2] = p1
                    else:
                        for j in range(D):
                            xb[0, i, j] = x[s0, b0 + i, j]
                    mb = ninf
                    for k in range(K):
                        vk = F(lw[i, k] + top(tb, i, k))
                        mb = vk if vk > mb else mb
                    if not bounded and mb == pinf:
                        mb = ninf
                        for k in range(K):
                            vk = F(lw[i, k] + term(x, s0, b0 + i, tab, b0 + i, k))
                            mb = vk if vk > mb else mb
                    mv[i] = mb if mb > ninf else zero
                    acc[i] = zero
                for k in range(K):
                    # two loops: with the gathers of this tile's parameter
                    # rows in it, LLVM does not vectorise the exp loop
                    if uni:
                        for i in range(nl):
                            r2 = zero
                            for j in range(D):
                                v = xb[0, i, j * NF]
                                p0 = xb[0, i, j * NF + 1] if NPRE > 0 else v
                                p1 = xb[0, i, j * NF + 2] if NPRE > 1 else v
                                r2 += logpdf1_fast(v, p0, p1, tb, i, k, j * P)
                            tv[i] = F(r2 + (lw[i, k] - mv[i]))
                    else:
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
                            out[s0 * B + b0 + i] = exact(x, logw, tab, s0, b0 + i)

    @parts
    def log_prob(x, logw, tab, out, part, nparts):
        per, ntiles = _tiles(x.shape[0], x.shape[1])
        nchunks = min(ntiles, CHUNKS)
        lo, hi = span(nchunks, part, nparts)
        for c in range(lo, hi):
            chunk(c, nchunks, ntiles, per, x, logw, tab, out)

    chunk = _named(chunk, "log_prob", fam.name, dtype, dim)

    return log_prob


def make_log_prob1(fam, dtype, dim):
    """The log-density of a plain (one-component) distribution of a univariate family.

    ``out[n] = logw[b, 0] + sum_j logpdf1(x[s, b, j])``: no exp or log, and
    a kernel of its own, far smaller than the mixture's (which need not
    carry a one-component path: compile time).  Tiles of up to ``TILE``
    points along the samples for batches below a tile (the values, and the
    family's per-point quantities, copied to contiguous buffers once, then one
    SIMD loop per coordinate with ``logpdf1_fast``); per point along larger
    batches.  Points whose fast form gives NaN or ``-inf`` (where it is not
    exact, and NaN values) are redone with the exact ``logpdf1``.
    """
    h = Hooks(fam)
    NPRE = h.npre
    NF = 1 + NPRE
    pre1 = h.pre1
    pre1_fast = h.pre1_fast
    logpdf1 = h.logpdf1
    logpdf1_fast = h.logpdf1_fast
    ninf_exact = h.fast_ninf_exact  # only NaN points are redone
    F = np.float32 if str(dtype) == "float32" else np.float64
    zero = F(0.0)
    ninf = F(-np.inf)
    L = TILE

    def chunk(c, nchunks, ntiles, per, x, logw, tab, out):
        S = x.shape[0]
        B = x.shape[1]
        D = dim if dim > 0 else x.shape[2]
        P = tab.shape[2] // D

        def exact(s, b):
            # the exact log-density of point (s, b); a coordinate outside the support
            # gives -inf even beside a +inf, a NaN coordinate NaN
            r = zero
            out_ = False
            nan = False
            for j in range(D):
                v = x[s, b, j]
                p0, p1 = pre1(v) if NPRE > 0 else (v, v)
                lj = logpdf1(v, p0, p1, tab, b, 0, j * P)
                out_ = out_ | (lj == -math.inf)
                nan = nan | (v != v)
                r += lj
            return F(logw[b, 0] + (r if (nan or not out_) else ninf))

        tv = np.empty(L, F)
        xt = np.empty((NF, L), F)
        for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
            r = t // per
            c0 = (t - r * per) * L
            if B < L:  # along the samples: batch row b0, points s0 .. s0 + nl
                b0 = r
                s0 = c0
                nl = min(L, S - c0)
                tb = tab[b0 : b0 + 1]
                for i in range(nl):
                    tv[i] = zero
                for j in range(D):
                    o = j * P
                    for i in range(nl):
                        v = x[s0 + i, b0, j]
                        xt[0, i] = v
                        if NPRE > 0:
                            p0, p1 = pre1_fast(v)
                            xt[1, i] = p0
                            if NPRE > 1:
                                xt[2, i] = p1
                    for i in range(nl):  # SIMD
                        v = xt[0, i]
                        p0 = xt[1, i] if NPRE > 0 else v
                        p1 = xt[2, i] if NPRE > 1 else v
                        tv[i] += logpdf1_fast(v, p0, p1, tb, 0, 0, o)
                lw = logw[b0, 0]
                nfix = 0
                for i in range(nl):
                    tv[i] = F(tv[i] + lw)
                    out[(s0 + i) * B + b0] = tv[i]
                    nfix += (tv[i] != tv[i]) if ninf_exact else not tv[i] > ninf
                if nfix:
                    for i in range(nl):
                        if (tv[i] != tv[i]) if ninf_exact else not tv[i] > ninf:
                            out[(s0 + i) * B + b0] = exact(s0 + i, b0)
            else:  # along the batch: sample s0, rows b0 .. b0 + nl, each its own parameters
                s0 = r
                b0 = c0
                nl = min(L, B - c0)
                for i in range(nl):
                    b = b0 + i
                    q = zero
                    for j in range(D):
                        v = x[s0, b, j]
                        p0, p1 = pre1(v) if NPRE > 0 else (v, v)
                        q += logpdf1_fast(v, F(p0), F(p1), tab, b, 0, j * P)
                    q = F(q + logw[b, 0])
                    out[s0 * B + b] = q if q > ninf else exact(s0, b)

    @parts
    def log_prob1(x, logw, tab, out, part, nparts):
        per, ntiles = _tiles(x.shape[0], x.shape[1])
        nchunks = min(ntiles, CHUNKS)
        lo, hi = span(nchunks, part, nparts)
        for c in range(lo, hi):
            chunk(c, nchunks, ntiles, per, x, logw, tab, out)

    chunk = _named(chunk, "log_prob1", fam.name, dtype, dim)

    return log_prob1


def make_cdf(fam, dtype):
    """Tiled mixture cdf ``sum_k w[b, k] F_k(x) / sum_k w[b, k]`` (univariate families).

    Tiles of ``TILE`` consecutive flat points; for each component the inner
    loop over the tile calls the family's SIMD cdf (``cdf1_fast``: for Normal a
    polynomial erfc).  Points whose total is below :data:`CDF_THRESH` (lower
    tails, where the SIMD terms lose relative accuracy) or NaN are redone with
    the exact ``cdf1``.  Divided by the sum of the weights as stored, so
    ``cdf(+inf)`` is exactly 1.

    One mixture for every point (``B == 1``) and a family with a ``cdf1_tile``
    hook: the hook adds a whole tile's terms of one component, given the
    tile's range of values, so it can take each (tile, component) pair's
    cheapest exact path (for Normal: nothing to compute where every term is 1
    or below 5.6e-30, one region of the erfc where the tile lies in it).  With
    at least :data:`CDF_SORT_K` components the points are visited in sorted
    order (an argsort of the values), so that tiles are narrow and those paths
    are taken; each point's result does not depend on its tile (the hook gives
    the same terms, bit for bit, as ``cdf1_fast``).
    """
    h = Hooks(fam)
    cdf1 = h.cdf1
    cdf1_fast = h.cdf1_fast
    cdf1_tile = h.cdf1_tile
    tiled = h.cdf_tiled
    F = np.float32 if str(dtype) == "float32" else np.float64
    L = TILE

    def chunk(c, nchunks, ntiles, srt, perm, tot0, step, x, w, tab, out):
        B = x.shape[1]
        K = w.shape[1]
        N = x.shape[0] * B
        acc = np.empty(L, np.float64)
        tot = np.empty(L, np.float64)
        xv = np.empty(L, np.float64)
        bb = np.empty(L, np.int64)
        idx = np.empty(L, np.int64)
        for tc in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
            # sorted tiles' costs vary along the sort (tails against the bulk): the chunks,
            # which the threads take in contiguous runs, get tiles spread over all of it
            t = (tc * step) % ntiles
            n0 = t * L
            nl = min(L, N - n0)
            _batch_rows(n0, nl, B, bb)
            xlo = math.inf
            xhi = -math.inf
            for i in range(nl):
                n = perm[n0 + i] if srt else n0 + i
                idx[i] = n
                v = np.float64(x[n // B, bb[i], 0])
                xv[i] = v
                xlo = min(xlo, v)
                xhi = max(xhi, v)
                acc[i] = 0.0
                tot[i] = 0.0
            if B == 1:
                ok = tiled
                for i in range(nl):
                    ok = ok and xv[i] == xv[i]  # a NaN: the plain loop (and NaN results)
                if ok:
                    for k in range(K):
                        cdf1_tile(xv, nl, xlo, xhi, tab, 0, k, 0, np.float64(w[0, k]), acc)
                else:
                    for k in range(K):
                        wk = np.float64(w[0, k])
                        for i in range(nl):
                            acc[i] += wk * cdf1_fast(xv[i], tab, 0, k, 0)
                for i in range(nl):
                    tot[i] = tot0
            else:
                for k in range(K):
                    for i in range(nl):
                        b = bb[i]
                        acc[i] += np.float64(w[b, k]) * cdf1_fast(xv[i], tab, b, k, 0)
                        tot[i] += np.float64(w[b, k])
            nfix = 0
            for i in range(nl):
                r = acc[i] / tot[i]
                out[idx[i]] = F(min(r, 1.0))
                nfix += not r >= CDF_THRESH
            if nfix:
                for i in range(nl):
                    if not acc[i] / tot[i] >= CDF_THRESH:
                        b = bb[i]
                        a = 0.0
                        s = 0.0
                        for k in range(K):
                            a += np.float64(w[b, k]) * cdf1(xv[i], tab, b, k, 0)  # NaN x: NaN
                            s += np.float64(w[b, k])
                        out[idx[i]] = F(min(a / s, 1.0))

    @parts
    def mixture_cdf(x, w, tab, out, part, nparts):
        B = x.shape[1]
        K = w.shape[1]
        N = x.shape[0] * B
        ntiles = (N + L - 1) // L
        nchunks = min(ntiles, CHUNKS)
        srt = tiled and B == 1 and K >= CDF_SORT_K and N > L
        if srt:
            xs = np.empty(N, np.float64)
            for n in range(N):
                xs[n] = x[n, 0, 0]
            perm = np.argsort(xs)  # NaNs last
        else:
            perm = np.empty(0, np.int64)
        tot0 = 0.0
        if B == 1:
            for k in range(K):
                tot0 += np.float64(w[0, k])
        step = _spread_step(ntiles) if srt else 1
        lo, hi = span(nchunks, part, nparts)
        for c in range(lo, hi):
            chunk(c, nchunks, ntiles, srt, perm, tot0, step, x, w, tab, out)

    chunk = _named(chunk, "cdf", fam.name, dtype)

    return mixture_cdf


def make_terms(fam, dtype):
    """Per-component terms ``out[n, k] = logw[b, k] + log p_k(x[s, b])`` (exact functions).

    The loop the responsibilities, EM statistics and gradients build on: one
    row of ``K`` terms per point, no reduction.
    """
    h = Hooks(fam)
    uni = h.uni
    NPRE = h.npre
    pre1 = h.pre1
    logpdf1 = h.logpdf1
    logpdf = h.logpdf
    F = np.float32 if str(dtype) == "float32" else np.float64

    @parts
    def terms(x, logw, tab, out, part, nparts):
        B = x.shape[1]
        D = x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        N = x.shape[0] * B
        lo, hi = span(N, part, nparts)
        for n in range(lo, hi):
            s = n // B
            b = n - s * B
            for k in range(K):
                if uni:
                    r = F(0.0)
                    out_ = False
                    nan = False
                    for j in range(D):
                        v = x[s, b, j]
                        p0, p1 = pre1(v) if NPRE > 0 else (v, v)
                        lj = logpdf1(v, p0, p1, tab, b, k, j * P)
                        out_ = out_ | (lj == -math.inf)
                        nan = nan | (v != v)
                        r += lj
                    if out_ and not nan:
                        r = F(-np.inf)
                else:
                    r = logpdf(x, s, b, tab, k)
                out[n, k] = F(logw[b, k] + r)

    return terms


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


def make_sample(fam, dtype):
    """Tiled ancestral sampling: choose the component (block 0), then draw it.

    Families with a ``draw_tile`` (Normal) draw a whole tile in SIMD; others
    call the scalar draw point by point (univariate families: ``draw1`` per
    coordinate ``j`` on counter words ``4 j ..``).  Either way point ``g`` uses
    only its own stream, so tiling and threads do not change the result.
    """
    h = Hooks(fam)
    uni = h.uni
    draw1 = h.draw1
    draw = h.draw
    tiled = h.draw_tiled
    draw_tile = h.draw_tile
    L = TILE

    @parts
    def sample(cumw, tab, key0, key1, offset, out, index, part, nparts):
        B = cumw.shape[0]
        N = out.shape[0]
        D = out.shape[1]
        P = tab.shape[2] // max(D, 1)
        ntiles = (N + L - 1) // L
        nchunks = min(ntiles, CHUNKS)
        lo, hi = span(nchunks, part, nparts)
        for c in range(lo, hi):
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
                elif uni:
                    for i in range(nl):
                        for j in range(D):
                            out[n0 + i, j] = draw1(key0, key1, g0 + i, 4 * j, tab, bb[i], kk[i], j * P)
                else:
                    for i in range(nl):
                        draw(key0, key1, g0 + i, tab, bb[i], kk[i], out, n0 + i)

    return sample


def make_choose():
    L = TILE

    @parts
    def choose(cumw, key0, key1, offset, index, part, nparts):
        B = cumw.shape[0]
        N = index.shape[0]
        ntiles = (N + L - 1) // L
        nchunks = min(ntiles, CHUNKS)
        lo, hi = span(nchunks, part, nparts)
        for c in range(lo, hi):
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


#: the factory of each operation, by name (the operations are listed in :mod:`.registry`)
FACTORIES = {
    "log_prob": lambda fam, dtype, dim: make_log_prob(fam, dtype, dim),
    "log_prob1": lambda fam, dtype, dim: make_log_prob1(fam, dtype, dim),
    "cdf": lambda fam, dtype, dim: make_cdf(fam, dtype),
    "terms": lambda fam, dtype, dim: make_terms(fam, dtype),
    "sample": lambda fam, dtype, dim: make_sample(fam, dtype),
    "choose": lambda fam, dtype, dim: make_choose(),
}


def make(op, family, dtype="float64", dim=0):
    """The uncompiled loop for ``op`` on ``family`` (a :class:`.registry.Family` or None)."""
    return FACTORIES[op](family, dtype, dim)


# -- posteriors over the components (responsibilities and their mode) ---------------
def _exact_term(h):
    """``term(x, s, b, tab, k, D, P)``: the exact ``log p_k(x[s, b])`` in float64 (the
    log_prob loop's exact term: a coordinate outside the support gives ``-inf`` even beside
    a ``+inf`` one, a NaN coordinate NaN).  Used by the posterior loops on both devices."""
    uni = h.uni
    NPRE = h.npre
    pre1 = h.pre1
    logpdf1 = h.logpdf1
    logpdf = h.logpdf

    def term(x, s, b, tab, k, D, P):
        if uni:
            r = 0.0
            out_ = False
            nan = False
            for j in range(D):
                v = x[s, b, j]
                if NPRE > 0:
                    p0, p1 = pre1(v)
                else:
                    p0 = v
                    p1 = v
                lj = logpdf1(v, p0, p1, tab, b, k, j * P)
                out_ = out_ or lj == -math.inf
                nan = nan or v != v
                r += lj
            if out_ and not nan:
                r = -math.inf
            return r
        return np.float64(logpdf(x, s, b, tab, k))

    return jitable_named(term, h.name, "term")


def make_posterior(fam, dtype):
    """Normalised log-responsibilities ``out[n, k] = t_k - logsumexp_j t_j``, ``t_k = logw[b, k] + log p_k(x)``.

    One pass per point in float64 over a row of ``K`` terms (scratch, once per
    chunk), with the point's own maximum ``m = t_{k*}``: ``out[n, k] = (t_k - m)
    - log1p(sum_{j != k*} exp(t_j - m))`` (the sum compensated), so that far
    tails, where every ``exp(t_k)`` underflows, give exact responsibilities and
    ``sum_k exp(out[n, k])`` is 1 to a few ulp.  A zero weight (``logw = -inf``)
    gives ``-inf`` (also where its density is ``+inf`` or NaN).  Where a term is
    NaN, or every term is ``-inf`` (a value outside every support), the
    posterior is undefined: the row is NaN.  Where some terms are ``+inf``, they
    share the mass equally and the others get ``-inf``.
    """
    h = Hooks(fam)
    uni = h.uni
    term = _exact_term(h)
    F = np.float32 if str(dtype) == "float32" else np.float64

    def chunk(c, nchunks, N, x, logw, tab, out):
        B = x.shape[1]
        D = x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        t = np.empty(K, np.float64)
        for n in range(c * N // nchunks, (c + 1) * N // nchunks):
            s = n // B
            b = n - s * B
            m = -math.inf
            kmax = 0
            nan = False
            for k in range(K):
                lw = logw[b, k]
                r = -math.inf
                if lw > -math.inf:
                    r = np.float64(lw) + term(x, s, b, tab, k, D, P)
                t[k] = r
                nan = nan or r != r
                if r > m:
                    m = r
                    kmax = k
            if nan or m == -math.inf:
                for k in range(K):
                    out[n, k] = F(np.nan)
            elif m == math.inf:
                cnt = 0
                for k in range(K):
                    cnt += t[k] == math.inf
                share = -math.log(cnt)
                for k in range(K):
                    out[n, k] = F(share if t[k] == math.inf else -math.inf)
            else:
                acc = 0.0
                cmp = 0.0
                for k in range(K):
                    if k != kmax:
                        e = math.exp(t[k] - m)
                        tt = acc + e
                        if acc >= e:
                            cmp += (acc - tt) + e
                        else:
                            cmp += (e - tt) + acc
                        acc = tt
                lg = math.log1p(acc + cmp)
                for k in range(K):
                    out[n, k] = F((t[k] - m) - lg)

    @parts
    def posterior(x, logw, tab, out, part, nparts):
        N = x.shape[0] * x.shape[1]
        nchunks = min(N, CHUNKS)
        lo, hi = span(nchunks, part, nparts)
        for c in range(lo, hi):
            chunk(c, nchunks, N, x, logw, tab, out)

    chunk = _named(chunk, "posterior", fam.name, dtype)

    return posterior


def make_mode(fam, dtype):
    """``out[n] = argmax_k (logw[b, k] + log p_k(x))`` (int64), ties to the lowest index; no ``(N, K)`` array.

    Tiles of ``TILE`` consecutive flat points.  For univariate families the
    tile's values (and per-point quantities) are copied coordinate-major, and
    for each component the loop over the tile's points evaluates the family's
    SIMD log-density and keeps the running maximum and its index by selects
    (it vectorises).  A point where some term of a component with a positive
    weight comes out NaN or ``-inf`` (a NaN value, a value outside a support,
    a form that is not exact there) is redone with the exact functions.
    Vector families with a ``logpdf_tile`` hook do the same with it when one
    mixture serves every point (``B == 1``); otherwise they evaluate the exact
    log-density point by point.

    ``-1`` where the posterior is undefined (as in ``make_posterior``): a NaN
    term, or every term ``-inf``.  Components with zero weight are never chosen.
    """
    h = Hooks(fam)
    uni = h.uni
    NPRE = h.npre
    NF = 1 + NPRE
    pre1 = h.pre1
    logpdf1_fast = h.logpdf1_fast
    term = _exact_term(h)
    tiled = h.tiled
    tile = h.logpdf_tile
    prep_tile = h.prep_tile
    F = np.float32 if str(dtype) == "float32" else np.float64
    zero = F(0.0)
    ninf = F(-np.inf)
    L = TILE

    def chunk(c, nchunks, ntiles, x, logw, tab, out):
        S = x.shape[0]
        B = x.shape[1]
        D = x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        N = S * B

        def exact(s, b):
            m = -math.inf
            kk = -1
            for k in range(K):
                lw = logw[b, k]
                if lw > -math.inf:
                    r = np.float64(lw) + term(x, s, b, tab, k, D, P)
                    if r != r:
                        return -1
                    if r > m:
                        m = r
                        kk = k
            return kk

        xt = np.empty((D * NF if uni else 1, L), F)
        # a vector family's tile (coordinate-major, seen as (L, 1, D)) for its logpdf_tile
        xv = np.empty((D if tiled else 1, 1, L), F)
        xvs = xv.T
        work = np.empty(L, F)
        tv = np.empty(L, F)
        best = np.empty(L, F)
        idx = np.empty(L, np.int64)
        fix = np.empty(L, np.int64)
        bb = np.empty(L, np.int64)
        for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
            n0 = t * L
            nl = min(L, N - n0)
            _batch_rows(n0, nl, B, bb)
            if not uni:
                if tiled and B == 1:  # one mixture for every point: the family's SIMD tile loop
                    for i in range(nl):
                        for j in range(D):
                            xvs[i, 0, j] = x[n0 + i, 0, j]
                        best[i] = ninf
                        idx[i] = -1
                        fix[i] = 0
                    prep_tile(xv, nl, work)
                    for k in range(K):
                        sh = logw[0, k]
                        if not sh > ninf:
                            continue
                        tile(xv, nl, tab, 0, k, tv, work)
                        for i in range(nl):
                            vk = F(tv[i] + sh)
                            fix[i] += not vk > ninf
                            up = vk > best[i]
                            best[i] = vk if up else best[i]
                            idx[i] = k if up else idx[i]
                    for i in range(nl):
                        out[n0 + i] = idx[i] if fix[i] == 0 else exact(n0 + i, 0)
                else:
                    for i in range(nl):
                        n = n0 + i
                        out[n] = exact(n // B, bb[i])
                continue
            for i in range(nl):
                n = n0 + i
                s = n // B
                b = bb[i]
                for j in range(D):
                    v = x[s, b, j]
                    xt[j * NF, i] = v
                    if NPRE > 0:
                        p0, p1 = pre1(v)
                        xt[j * NF + 1, i] = p0
                        if NPRE > 1:
                            xt[j * NF + 2, i] = p1
                best[i] = ninf
                idx[i] = -1
                fix[i] = 0
            for k in range(K):
                if B == 1:  # one mixture for every point: unit-stride SIMD loops
                    sh = logw[0, k]
                    if not sh > ninf:
                        continue  # zero weight: never chosen
                    for i in range(nl):
                        tv[i] = zero
                    for j in range(D):
                        o = j * P
                        r0 = j * NF
                        for i in range(nl):
                            v = xt[r0, i]
                            p0 = xt[r0 + 1, i] if NPRE > 0 else v
                            p1 = xt[r0 + 2, i] if NPRE > 1 else v
                            tv[i] += logpdf1_fast(v, p0, p1, tab, 0, k, o)
                    for i in range(nl):
                        vk = F(tv[i] + sh)
                        fix[i] += not vk > ninf
                        up = vk > best[i]
                        best[i] = vk if up else best[i]
                        idx[i] = k if up else idx[i]
                else:
                    for i in range(nl):
                        b = bb[i]
                        sh = logw[b, k]
                        r2 = zero
                        for j in range(D):
                            r0 = j * NF
                            v = xt[r0, i]
                            p0 = xt[r0 + 1, i] if NPRE > 0 else v
                            p1 = xt[r0 + 2, i] if NPRE > 1 else v
                            r2 += logpdf1_fast(v, p0, p1, tab, b, k, j * P)
                        live = sh > ninf
                        vk = F(r2 + sh) if live else ninf
                        fix[i] += live and not vk > ninf
                        up = vk > best[i]
                        best[i] = vk if up else best[i]
                        idx[i] = k if up else idx[i]
            for i in range(nl):
                out[n0 + i] = idx[i]
            for i in range(nl):
                if fix[i]:
                    n = n0 + i
                    out[n] = exact(n // B, bb[i])

    @parts
    def mode(x, logw, tab, out, part, nparts):
        N = x.shape[0] * x.shape[1]
        ntiles = (N + L - 1) // L
        nchunks = min(ntiles, CHUNKS)
        lo, hi = span(nchunks, part, nparts)
        for c in range(lo, hi):
            chunk(c, nchunks, ntiles, x, logw, tab, out)

    chunk = _named(chunk, "mode", fam.name, dtype)

    return mode


FACTORIES["posterior"] = lambda fam, dtype, dim: make_posterior(fam, dtype)
FACTORIES["mode"] = lambda fam, dtype, dim: make_mode(fam, dtype)


#: a mixture log-probability above this (a probability above ~0.61) is recomputed as
#: ``log1p(-other)`` from the other tail's log-sum-exp: the log-sum-exp of terms near 0
#: is exact only to ~1e-16 absolute, the complement keeps relative accuracy there
TAIL_NEAR_ONE = -0.5


def make_log_tail(fam, dtype, hook, other):
    """Mixture ``log F`` or ``log(1 - F)`` (univariate families):
    ``logsumexp_k(logw[b, k] + hook_k(x[s, b]))``, ``hook`` the family's ``logcdf1`` or
    ``logsf1`` (exact in log space in both tails), ``other`` the opposite hook.

    One point at a time (the points split among threads, :mod:`.parts`), one pass over the components with a running
    maximum (:mod:`.lse`), all in float64, cast at the end: finite however far out
    the point is; a zero weight (``-inf``) contributes nothing, a NaN value gives NaN.
    Where the result is above :data:`TAIL_NEAR_ONE` it is ``log1p(-c)`` with ``c`` the
    other tail's mixture probability (when the family has both hooks), so that values
    near 0 keep their relative accuracy.  Capped at 0 (the normalised log-weights may
    sum to ``1 + 1 ulp``).
    """
    h = Hooks(fam)
    fn = getattr(h, hook)
    fo = getattr(h, other)
    both = h.has_tails
    F = np.float32 if str(dtype) == "float32" else np.float64

    def point(n, x, logw, tab, out):
        # one point (a function of its own, as the other loops' chunks: the hooks are then
        # compiled once, not for the kernel's typing and again for the parfor body)
        B = x.shape[1]
        K = logw.shape[1]
        s = n // B
        b = n - s * B
        v = x[s, b, 0]
        m = -math.inf
        acc = 0.0
        for k in range(K):
            m, acc = lse_add(m, acc, np.float64(logw[b, k]) + fn(v, tab, b, k, 0))
        r = lse_end(m, acc)
        if both and r > TAIL_NEAR_ONE:
            m = -math.inf
            acc = 0.0
            for k in range(K):
                m, acc = lse_add(m, acc, np.float64(logw[b, k]) + fo(v, tab, b, k, 0))
            c = math.exp(lse_end(m, acc))
            r = math.log1p(-c) if not c >= 1.0 else -math.inf
        out[n] = F(r if not r > 0.0 else 0.0)

    point = _named(point, "log_tail", hook, fam.name, dtype)

    @parts
    def log_tail(x, logw, tab, out, part, nparts):
        N = x.shape[0] * x.shape[1]
        lo, hi = span(N, part, nparts)
        for n in range(lo, hi):
            point(n, x, logw, tab, out)

    return log_tail


FACTORIES["log_cdf"] = lambda fam, dtype, dim: make_log_tail(fam, dtype, "logcdf1", "logsf1")
FACTORIES["log_sf"] = lambda fam, dtype, dim: make_log_tail(fam, dtype, "logsf1", "logcdf1")


# -- quantiles (univariate families and their mixtures) ------------------------------
def make_icdf(fam, dtype):
    """Mixture quantiles ``out[n] = inf {x : sum_k w[b, k] F_k(x) >= q[s, b]}`` (float64), one
    point per ``prange`` iteration by the solver of :mod:`.quantile` (shared with CUDA)."""
    from . import quantile as quantile_mod
    from .quantile import FAST_Q, TABLE_H, TABLE_M, TABLE_MIN_POINTS, TABLE_T, make_solver

    h = Hooks(fam)
    solve = make_solver(h, fam.discrete)
    dens = h.q_dens
    polish = h.q_polish
    solve_tail = h.q_tail
    tabled = not fam.discrete  # a discrete quantile function is a step function: no table
    cdf1_fast = h.cdf1_fast
    logpdf1_fast = h.logpdf1_fast
    pre1 = h.pre1
    NPRE = h.npre
    accepted_step = quantile_mod.accepted_step
    bound1 = h.bound1
    # the SIMD step over tiles is compiled only for families with a SIMD cdf and a density
    # bound (elsewhere it would repeat the exact hooks: compile time for nothing)
    simd = fam.has("cdf1_fast") and h.bounded

    def fast_step(q, x0, F, f):
        """The table's Newton step on ``F`` itself from the SIMD sums ``F(x0)``, ``f(x0)`` (for
        ``FAST_Q <= q <= 1 - FAST_Q``, where ``F`` and ``1 - F`` are at least ``FAST_Q`` and the
        SIMD cdf's tail error is immaterial); NaN where not accepted."""
        if not (0.0 < f < math.inf):
            return math.nan
        return accepted_step(x0, -(F - q) / f, min(F, 1.0 - F) / f)

    fast_step = jitable_named(fast_step, fam.name, "icdf", dtype)

    def chunk(c, nch, ntiles, N, x, w, tab, out, xt, st, fast, mb):
        # one prange iteration of the table path, a function of its own (compiled once; numba's
        # parfor passes then see a small loop body)
        K = w.shape[1]
        x0s = np.empty(TILE)
        xv = np.empty(TILE)
        Fa = np.empty(TILE)
        fa = np.empty(TILE)
        for tt in range(c * ntiles // nch, (c + 1) * ntiles // nch):
            i0 = tt * TILE
            nl = min(TILE, N - i0)
            for i in range(nl):
                q = np.float64(x[i0 + i, 0, 0])
                x0 = math.nan
                if q > 0.0 and q < 1.0:
                    t = math.log(q) - math.log1p(-q)
                    if -TABLE_T < t < TABLE_T:
                        u = (t + TABLE_T) / TABLE_H
                        j = min(int(u), TABLE_M - 2)
                        a = u - j
                        a2 = a * a
                        a3 = a2 * a
                        x0 = (
                            (2.0 * a3 - 3.0 * a2 + 1.0) * xt[j]
                            + (a3 - 2.0 * a2 + a) * TABLE_H * st[j]
                            + (3.0 * a2 - 2.0 * a3) * xt[j + 1]
                            + (a3 - a2) * TABLE_H * st[j + 1]
                        )
                x0s[i] = x0
                xv[i] = x0 if (fast and FAST_Q <= q <= 1.0 - FAST_Q and abs(x0) < math.inf) else 0.0
                Fa[i] = 0.0
                fa[i] = 0.0
            if simd and fast:
                for k in range(K):
                    wk = np.float64(w[0, k])
                    if not wk > 0.0:  # zero weights: nothing (their bounds are not in mb)
                        continue
                    for i in range(nl):
                        v = xv[i]
                        if NPRE > 0:
                            p0, p1 = pre1(v)
                        else:
                            p0 = v
                            p1 = v
                        Fa[i] += wk * cdf1_fast(v, tab, 0, k, 0)
                        fa[i] += wk * exp_neg_any(np.float64(logpdf1_fast(v, p0, p1, tab, 0, k, 0)) - mb)
            em = math.exp(mb) if fast else 0.0
            for i in range(nl):
                q = np.float64(x[i0 + i, 0, 0])
                x0 = x0s[i]
                r = math.nan
                if simd and fast and FAST_Q <= q <= 1.0 - FAST_Q and abs(x0) < math.inf:
                    r = fast_step(q, x0, Fa[i], fa[i] * em)
                elif abs(x0) < math.inf:
                    r = polish(q, x0, w, tab, 0, K)
                out[i0 + i] = r if r == r else solve(q, w, tab, 0, K)

    def node(j, w, tab, xt, st):
        # node j of the quantile table
        K = w.shape[1]
        t = -TABLE_T + j * TABLE_H
        e = math.exp(-abs(t))
        pj = e / (1.0 + e)  # the tail probability on the node's side (t > 0: upper)
        xj = solve_tail(pj, t > 0.0, w, tab, 0, K)
        f = dens(xj, w, tab, 0, K) if abs(xj) < math.inf else 0.0
        xt[j] = xj
        # dx/dt = q (1 - q) / f(x)
        st[j] = pj * (1.0 - pj) / f if 0.0 < f < math.inf else math.nan

    def point(n, x, w, tab, out):
        # one point solved by bracketing (each batch row its own mixture)
        B = x.shape[1]
        s = n // B
        b = n - s * B
        out[n] = solve(x[s, b, 0], w, tab, b, w.shape[1])

    # every prange body a function of its own: the solver's functions are then compiled once
    # (with the flags of these functions; a parfor body has others), and the parfor passes see
    # small bodies
    chunk = _named(chunk, "icdf", fam.name, dtype)
    node = _named(node, "icdf_node", fam.name, dtype)
    point = _named(point, "icdf_point", fam.name, dtype)

    def icdf(x, w, tab, out):
        B = x.shape[1]
        K = w.shape[1]
        N = x.shape[0] * B
        if tabled and B == 1 and N >= TABLE_MIN_POINTS:
            # a shared mixture and many points: the quantile table (nodes uniform in logit q)
            xt = np.empty(TABLE_M)
            st = np.empty(TABLE_M)
            for j in prange(TABLE_M):
                node(np.int64(j), w, tab, xt, st)
            mb = -math.inf  # the largest density bound (log) of the components: the fast
            if simd:  # step's exp(logpdf - mb) is then vectorisable
                for k in range(K):
                    if w[0, k] > 0:
                        mb = max(mb, np.float64(bound1(tab, 0, k, 0)))
            fast = simd and -math.inf < mb < math.inf
            # tiles of points: the starts, then one pass per component over the tile's points
            # (the SIMD forms, vectorised along the points), then each point's step
            ntiles = (N + TILE - 1) // TILE
            nch = min(CHUNKS, ntiles)
            for c in prange(nch):
                chunk(np.int64(c), nch, ntiles, N, x, w, tab, out, xt, st, fast, mb)
            return
        for n in prange(N):
            point(np.int64(n), x, w, tab, out)

    return icdf


FACTORIES["icdf"] = lambda fam, dtype, dim: make_icdf(fam, dtype)


# -- implicit reparameterisation gradients (univariate families and their mixtures) ---------
#: the private per-chunk accumulators of :func:`make_sample_grad` (when the batch is too small
#: to parallelise over its rows) hold at most this many float64 numbers
SG_ACC = 1 << 22
#: batches of at least this many rows are parallelised over their rows (each row owns its sums)
SG_ROWS = 64


def make_sample_grad(fam, dtype):
    """Implicit reparameterisation gradients of samples ``x`` of a mixture, summed per batch
    row ``b`` and component ``k`` with the cotangent ``c`` (float64, one pass, no ``(N, K)``
    array):

    ``gth[b, k, i] = sum_s c r_k(x) xgrad1_k,i(x)``, with the responsibilities
    ``r_k = w_k p_k(x) / p(x)`` and the family's ``xgrad1`` (``dx/dtheta_i`` of the component
    alone at a fixed cdf value): ``dx/dtheta_k,i = -w_k (dF_k/dtheta_i) / p(x)`` is that product;

    ``gw[b, k] = sum_s c (F(x) - F_k(x)) / p(x)``, so that ``dx/dlogit_k = w_k gw`` and
    ``dx/dprob_k = gw`` (before the normalisation's chain rule).  ``F - F_k`` is taken from the
    log-space cdfs on the lower side of the mixture's median and from the survival functions
    (``S_k - S``) above it, so that it keeps its relative accuracy in both tails.

    Zero weights (``-inf`` log-weights) contribute nothing to ``p``, ``F`` and ``gth``; points
    with a zero cotangent are skipped; NaN values, and values where every density is 0, give NaN.
    """
    h = Hooks(fam)
    xgrad1 = fam.module.xgrad1
    logpdf1 = h.logpdf1
    logcdf1 = h.logcdf1
    logsf1 = h.logsf1
    pre1 = h.pre1
    NPRE = h.npre

    def point(v, c, logw, tab, b, K, NP, gth, gw, row, lp, lf, ls):
        if NPRE > 0:
            p0, p1 = pre1(v)
        else:
            p0 = v
            p1 = v
        m = -math.inf
        a = 0.0
        mf = -math.inf
        af = 0.0
        ms = -math.inf
        a_s = 0.0
        for k in range(K):
            lwk = np.float64(logw[b, k])
            lp[k] = np.float64(logpdf1(v, p0, p1, tab, b, k, 0))
            lf[k] = np.float64(logcdf1(v, tab, b, k, 0))
            ls[k] = np.float64(logsf1(v, tab, b, k, 0))
            if lwk > -math.inf:
                m, a = lse_add(m, a, lwk + lp[k])
                mf, af = lse_add(mf, af, lwk + lf[k])
                ms, a_s = lse_add(ms, a_s, lwk + ls[k])
        logp = lse_end(m, a)
        logf = lse_end(mf, af)
        logs = lse_end(ms, a_s)
        lower = logf <= logs
        for k in range(K):
            lwk = np.float64(logw[b, k])
            if lwk > -math.inf:
                r = math.exp(lwk + lp[k] - logp)
                if r != 0.0:  # (NaN passes)
                    cr = c * r
                    for i in range(NP):
                        gth[row, k, i] += cr * xgrad1(v, tab, b, k, 0, i)
            if lower:
                g = math.exp(logf - logp) - math.exp(lf[k] - logp)
            else:
                g = math.exp(ls[k] - logp) - math.exp(logs - logp)
            gw[row, k] += c * g

    # a dispatcher of its own (as the loops' chunk functions): compiled once, not once for the
    # kernel's typing and again for each parfor body (numba keys overloads by the compile flags)
    point = _named(point, "sample_grad_point", fam.name, dtype)

    def sample_grad(x, logw, tab, cot, gth, gw):
        S = x.shape[0]
        B = x.shape[1]
        K = logw.shape[1]
        NP = gth.shape[2]
        if B >= SG_ROWS or S == 1:
            for b in prange(B):
                lp = np.empty(K)
                lf = np.empty(K)
                ls = np.empty(K)
                for k in range(K):
                    gw[b, k] = 0.0
                    for i in range(NP):
                        gth[b, k, i] = 0.0
                for s in range(S):
                    c = np.float64(cot[s, b, 0])
                    if c != 0.0:
                        bi = np.int64(b)
                        point(np.float64(x[s, b, 0]), c, logw, tab, bi, K, NP, gth, gw, bi, lp, lf, ls)
            return
        nch = max(1, min(CHUNKS, S, SG_ACC // max(B * K * (NP + 1), 1)))
        at = np.zeros((nch * B, K, NP))
        aw = np.zeros((nch * B, K))
        for ch in prange(nch):
            lp = np.empty(K)
            lf = np.empty(K)
            ls = np.empty(K)
            for s in range(ch * S // nch, (ch + 1) * S // nch):
                for b in range(B):
                    c = np.float64(cot[s, b, 0])
                    if c != 0.0:
                        row = np.int64(ch * B + b)
                        point(np.float64(x[s, b, 0]), c, logw, tab, np.int64(b), K, NP, at, aw, row, lp, lf, ls)
        for b in range(B):
            for k in range(K):
                tw = 0.0
                for ch in range(nch):
                    tw += aw[ch * B + b, k]
                gw[b, k] = tw
                for i in range(NP):
                    t = 0.0
                    for ch in range(nch):
                        t += at[ch * B + b, k, i]
                    gth[b, k, i] = t

    return sample_grad


FACTORIES["sample_grad"] = lambda fam, dtype, dim: make_sample_grad(fam, dtype)


# -- gradients: log-density, value and parameter derivatives in one pass ----------------
@register_jitable
def _no_grad1(v, p0, p1, tab, b, k, o, g, j):
    return np.float64(tab[b, k, o]) * 0


@register_jitable
def _no_score1_fast(v, p0, p1, tab, b, k, o):
    z = tab[b, k, o] * 0
    return z, z


@register_jitable
def _no_grad1_fast(v, p0, p1, tab, b, k, o):
    z = tab[b, k, o] * 0
    return z, z, z, z


@register_jitable
def _no_grad(x, s, b, tab, k, g, j):
    return np.float64(tab[b, k, 0]) * 0


def grad_hooks(fam):
    """``(hooks, NP)``: the family's :class:`Hooks` with its derivative hooks (``grad1`` /
    ``score1_fast`` for univariate families, ``grad`` for vector ones) and the number of
    differentiated parameters per coordinate (``len(GRAD_PARAMS)``; vector families: 0,
    their width depends on ``D``)."""
    h = Hooks(fam)
    m = fam.module
    h.grad1 = getattr(m, "grad1", _no_grad1)
    h.score1_fast = getattr(m, "score1_fast", _no_score1_fast)
    h.score_fast = hasattr(m, "score1_fast") and h.uni and h.bounded
    h.grad = getattr(m, "grad", _no_grad)
    NP = len(m.GRAD_PARAMS) if h.uni else 0
    h.grad1_fast = getattr(m, "grad1_fast", _no_grad1_fast)
    h.grad_fast = hasattr(m, "grad1_fast") and h.uni and NP <= 3
    return h, NP


def grad_width(uni, NP, D):
    """Floats of one component's derivative block: univariate, ``D`` coordinates of
    ``1 + NP`` (``d/dv`` then the parameters); vector, ``d/dx`` (``D``) then ``loc`` (``D``)
    and the packed lower triangle of ``scale_tril`` (``D (D + 1) / 2``)."""
    return D * (1 + NP) if uni else 2 * D + D * (D + 1) // 2


def make_log_prob_grad(fam, dtype):
    """Mixture log-density and its derivatives, one fused pass per point.

    ``log_prob_grad(x, logw, tab, cot, zero_w, lp, gx, gw, gp)``: ``lp[n]`` the
    log-density of point ``n``; ``gx[n D + j] = cot[n] d lp[n] / d x[n, j]``;
    ``gw[b, k] += cot[n] r_k(x_n)`` (the derivative with respect to the normalised
    log-weight ``logw[b, k]``; ``r_k`` the responsibility), and ``gp[b, k, q] += cot[n]
    r_k(x_n) d log p_k(x_n) / d theta_q`` (the family's ``GRAD_PARAMS`` per coordinate,
    or MultivariateNormal's ``loc`` and ``scale_tril``), summed over the points of batch
    row ``b``.  An output with a leading dim of 0 is not wanted and not computed.
    ``zero_w`` 1: for components of zero weight, ``gw[b, k]`` gets
    ``sum cot[n] p_k(x_n) / p(x_n)`` instead (for the chain rule of ``probs``).

    Per point: the family's ``grad1`` (or ``grad``) gives every component's log-density and
    derivatives into a per-chunk scratch row (``K`` blocks, no ``N x K`` array), a running
    maximum their log-sum-exp, then ``r_k = exp(logw_k + log p_k - lp)`` (log space: far
    tails keep their responsibilities) weights the sums.  A zero weight contributes
    nothing (its parameters' derivatives are exactly 0, also where its density is NaN or
    infinite); a point whose log-density is not finite (a value outside every support, a
    NaN) gives a NaN value derivative and adds nothing.

    The value derivative alone (the score) of a family with a ``score1_fast`` hook takes
    tiles of ``TILE`` points: one SIMD loop per component computes the log-density, its
    ``d/dv``, ``exp`` scaled by the tile's bound and both sums; points whose sum is below
    ``exp(-600)`` (far tails) or NaN are redone exactly.

    Deterministic: the partition of the work depends only on the shapes.  Batches below a
    tile (``B < TILE``): each chunk is one row's range of samples with sums of its own,
    added row by row in chunk order after the parallel loop; larger batches: each chunk
    owns a range of rows and visits their samples in order.
    """
    h, NP = grad_hooks(fam)
    uni = h.uni
    NPRE = h.npre
    NG = 1 + NP
    pre1 = h.pre1
    grad1 = h.grad1
    grad = h.grad
    bound1 = h.bound1
    score1_fast = h.score1_fast
    score_fast = h.score_fast
    thresh = math.exp(-600.0)
    L = TILE

    def point(s, b, n, slot, x, logw, tab, cot, zw, lp, gx, aw, ap, gk, tk):
        # every component's log-density and derivatives, their log-sum-exp, the sums
        D = x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        W = D * NG if uni else 2 * D + D * (D + 1) // 2
        Q = ap.shape[2]
        want_x = gx.shape[0] > 0
        want_w = aw.shape[0] > 0
        want_p = ap.shape[0] > 0
        m = -math.inf
        acc = 0.0
        for k in range(K):
            lw = logw[b, k]
            live = lw > -math.inf
            tk[k] = -math.inf
            if not (live or zw):
                continue
            if uni:
                r = 0.0
                out_ = False
                nan = False
                for j in range(D):
                    v = x[s, b, j]
                    if NPRE > 0:
                        p0, p1 = pre1(v)
                    else:
                        p0 = v
                        p1 = v
                    lj = grad1(v, p0, p1, tab, b, k, j * P, gk, k * W + j * NG)
                    out_ = out_ or lj == -math.inf
                    nan = nan or v != v
                    r += lj
                if out_ and not nan:
                    r = -math.inf
            else:
                r = np.float64(grad(x, s, b, tab, k, gk, k * W))
            tk[k] = r
            if live:
                m, acc = lse_add(m, acc, np.float64(lw) + r)
        tot = lse_end(m, acc)
        lp[n] = tot
        if not abs(tot) < math.inf:
            if want_x:
                for j in range(D):
                    gx[n * D + j] = math.nan
            return
        cn = np.float64(cot[n])
        if want_x:
            for j in range(D):
                gx[n * D + j] = 0.0
        for k in range(K):
            t = tk[k]
            if not t > -math.inf:
                continue
            lw = logw[b, k]
            if lw > -math.inf:
                rk = math.exp(np.float64(lw) + t - tot)
                if rk == 0.0:
                    continue
                wr = cn * rk
                if want_w:
                    aw[slot, k] += wr
                if want_x:
                    for j in range(D):
                        gx[n * D + j] += rk * gk[k * W + (j * NG if uni else j)]
                if want_p:
                    if uni:
                        for j in range(D):
                            for q in range(NP):
                                ap[slot, k, j * NP + q] += wr * gk[k * W + j * NG + 1 + q]
                    else:
                        for q in range(Q):
                            ap[slot, k, q] += wr * gk[k * W + D + q]
            elif zw:
                aw[slot, k] += cn * math.exp(t - tot)
        if want_x:
            for j in range(D):
                gx[n * D + j] *= cn

    point = _named(point, "log_prob_grad_point", fam.name, dtype)

    grad1_fast = h.grad1_fast
    logpdf1_fast = h.logpdf1_fast
    grad_fast = h.grad_fast

    def tile(along_s, s0, b0, nl, slot, x, logw, tab, cot, lp, gx, aw, ap, gk, tk, sc):
        # a tile of nl points of a univariate scalar event (D = 1) with the family's SIMD forms:
        # points (s0 + i, b0) (along_s: sums per point lane in sc, reduced by the caller) or
        # (s0, b0 + i) (each its own row: sums straight into aw[b0 + i], ap[b0 + i])
        B = x.shape[1]
        K = logw.shape[1]
        want_x = gx.shape[0] > 0
        want_w = aw.shape[0] > 0
        want_p = ap.shape[0] > 0
        xv = sc[1, 0]
        mx = sc[1, 1]
        acc = sc[1, 2]
        cv = sc[1, 3]
        gv = sc[1, 4]
        for i in range(nl):
            xv[i] = x[s0 + i, b0, 0] if along_s else x[s0, b0 + i, 0]
            mx[i] = -math.inf
            acc[i] = 0.0
            gv[i] = 0.0
        for k in range(K):
            Tk = sc[0, k]
            if along_s:
                lw = np.float64(logw[b0, k])
                for i in range(nl):  # SIMD
                    v = xv[i]
                    if NPRE > 0:
                        p0, p1 = pre1(v)
                    else:
                        p0 = v
                        p1 = v
                    t = lw + np.float64(logpdf1_fast(v, p0, p1, tab, b0, k, 0))
                    Tk[i] = t
                    mx[i] = t if t > mx[i] else mx[i]
            else:
                for i in range(nl):
                    v = xv[i]
                    if NPRE > 0:
                        p0, p1 = pre1(v)
                    else:
                        p0 = v
                        p1 = v
                    t = np.float64(logw[b0 + i, k]) + np.float64(logpdf1_fast(v, p0, p1, tab, b0 + i, k, 0))
                    Tk[i] = t
                    mx[i] = t if t > mx[i] else mx[i]
        for k in range(K):
            Tk = sc[0, k]
            for i in range(nl):
                acc[i] += exp_neg_any(Tk[i] - mx[i])
        nfix = 0
        for i in range(nl):
            m = mx[i]
            ok = abs(m) < math.inf and acc[i] == acc[i]
            lse = m + log_pos(acc[i])
            mx[i] = lse if ok else math.inf  # not ok: every r below is 0 (NaN or exp(-inf))
            n = (s0 + i) * B + b0 if along_s else s0 * B + b0 + i
            cv[i] = np.float64(cot[n]) if ok else 0.0
            nfix += not ok
        for k in range(K):
            Tk = sc[0, k]
            if along_s:
                pw = sc[2, k]
                q0 = sc[3, k]
                q1 = sc[3 + min(1, NP - 1), k]
                q2 = sc[3 + min(2, NP - 1), k]
                for i in range(nl):  # SIMD: responsibilities, derivatives, lane sums
                    v = xv[i]
                    if NPRE > 0:
                        p0, p1 = pre1(v)
                    else:
                        p0 = v
                        p1 = v
                    gr = grad1_fast(v, p0, p1, tab, b0, k, 0)
                    r = exp_neg_any(Tk[i] - mx[i])
                    live = r > 0.0
                    r = r if live else 0.0
                    wr = cv[i] * r
                    gv[i] += r * gr[1] if live else 0.0
                    pw[i] += wr
                    q0[i] += wr * gr[2] if live else 0.0
                    if NP > 1:
                        q1[i] += wr * gr[3] if live else 0.0
                    if NP > 2:
                        q2[i] += wr * gr[4] if live else 0.0
            else:  # each lane its own row: the lanes' terms, then added to their rows
                pw = sc[2, k]
                q0 = sc[3, k]
                q1 = sc[3 + min(1, NP - 1), k]
                q2 = sc[3 + min(2, NP - 1), k]
                for i in range(nl):
                    b = b0 + i
                    v = xv[i]
                    if NPRE > 0:
                        p0, p1 = pre1(v)
                    else:
                        p0 = v
                        p1 = v
                    gr = grad1_fast(v, p0, p1, tab, b, k, 0)
                    r = exp_neg_any(Tk[i] - mx[i])
                    live = r > 0.0
                    r = r if live else 0.0
                    wr = cv[i] * r
                    gv[i] += r * gr[1] if live else 0.0
                    pw[i] = wr
                    q0[i] = wr * gr[2] if live else 0.0
                    if NP > 1:
                        q1[i] = wr * gr[3] if live else 0.0
                    if NP > 2:
                        q2[i] = wr * gr[4] if live else 0.0
                if want_w:
                    for i in range(nl):
                        aw[b0 + i, k] += pw[i]
                if want_p:
                    for i in range(nl):
                        ap[b0 + i, k, 0] += q0[i]
                        if NP > 1:
                            ap[b0 + i, k, 1] += q1[i]
                        if NP > 2:
                            ap[b0 + i, k, 2] += q2[i]
        for i in range(nl):
            n = (s0 + i) * B + b0 if along_s else s0 * B + b0 + i
            lp[n] = mx[i]
            if want_x:
                gx[n] = cv[i] * gv[i]
        if nfix:
            for i in range(nl):
                s = s0 + i if along_s else s0
                b = b0 if along_s else b0 + i
                # redo the points whose fast terms were not all exact (NaN, every term -inf)
                m = -math.inf
                bad = False
                for k in range(K):
                    t = sc[0, k, i]
                    bad = bad or t != t
                    m = t if t > m else m
                if bad or not abs(m) < math.inf:
                    no = np.bool_(False)
                    point(s, b, s * B + b, slot if along_s else b, x, logw, tab, cot, no, lp, gx, aw, ap, gk, tk)

    tile = _named(tile, "log_prob_grad_tile", fam.name, dtype)

    def chunk(c, along_s, nsub, per, nrb, nch, x, logw, tab, cot, zero_w, lp, gx, aw, ap):
        S = x.shape[0]
        B = x.shape[1]
        D = x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        W = D * NG if uni else 2 * D + D * (D + 1) // 2
        want_x = gx.shape[0] > 0
        want_w = aw.shape[0] > 0
        want_p = ap.shape[0] > 0
        zw = zero_w != 0 and want_w
        gk = np.empty(K * W)
        tk = np.empty(K)
        # the SIMD tiles for the parameters' gradients (a univariate scalar event)
        use_tile = grad_fast and D == 1 and (want_w or want_p or not along_s) and not zw
        R = max(K, 5)
        sc = np.zeros((3 + NP, R, L) if use_tile else (3 + NP, 1, 1))

        if along_s and use_tile:  # one row b, its tiles of samples; sums per point lane
            b = c // nsub
            sub = c - b * nsub
            for t in range(sub * per // nsub, (sub + 1) * per // nsub):
                s0 = t * L
                tile(along_s, s0, b, min(L, S - s0), c, x, logw, tab, cot, lp, gx, aw, ap, gk, tk, sc)
            for k in range(K):  # the lanes' sums, in lane order
                if want_w:
                    for i in range(L):
                        aw[c, k] += sc[2, k, i]
                if want_p:
                    for q in range(NP):
                        for i in range(L):
                            ap[c, k, q] += sc[3 + q, k, i]
        elif use_tile:  # row tiles: every sample of each, rows owned by this chunk
            for rt in range(c * nrb // nch, (c + 1) * nrb // nch):
                b0 = rt * L
                for s in range(S):
                    tile(along_s, s, b0, min(L, B - b0), np.int64(0), x, logw, tab, cot, lp, gx, aw, ap, gk, tk, sc)
        elif along_s:  # one row b, its tiles of samples [t0, t1): sums in slot c
            b = c // nsub
            sub = c - b * nsub
            t0 = sub * per // nsub
            t1 = (sub + 1) * per // nsub
            fast = False
            mb = -math.inf
            if score_fast and not (want_w or want_p):  # (compiled only for families with the hook)
                for k in range(K):
                    vk = np.float64(logw[b, k])
                    for j in range(D):
                        vk += bound1(tab, b, k, j * P)
                    mb = vk if vk > mb else mb
                fast = abs(mb) < math.inf
            if fast:
                xt = np.empty((D, L))
                acc = np.empty(L)
                ev = np.empty(L)
                tv = np.empty(L)
                ga = np.empty((D, L))
                dv = np.empty((D, L))
                x1 = np.empty(L)
                g1 = np.empty(L)
            else:
                xt = np.empty((1, 1))
                acc = np.empty(1)
                ev = acc
                tv = acc
                ga = xt
                dv = xt
                x1 = acc
                g1 = acc
            for t in range(t0, t1):
                s0 = t * L
                nl = min(L, S - s0)
                if not (score_fast and fast):
                    for i in range(nl):
                        s = s0 + i
                        point(s, b, s * B + b, c, x, logw, tab, cot, zw, lp, gx, aw, ap, gk, tk)
                    continue
                if D == 1:
                    for i in range(nl):
                        x1[i] = x[s0 + i, b, 0]
                        g1[i] = 0.0
                        acc[i] = 0.0
                else:
                    for i in range(nl):
                        for j in range(D):
                            xt[j, i] = x[s0 + i, b, j]
                            ga[j, i] = 0.0
                        acc[i] = 0.0
                for k in range(K):
                    sh = np.float64(logw[b, k]) - mb
                    if not sh > -math.inf:
                        continue
                    if D == 1:
                        for i in range(nl):  # SIMD: log-density, d/dv, exp, both sums
                            v = x1[i]
                            if NPRE > 0:
                                p0, p1 = pre1(v)
                            else:
                                p0 = v
                                p1 = v
                            lv, d = score1_fast(v, p0, p1, tab, b, k, 0)
                            e = exp_neg_any(lv + sh)
                            acc[i] += e
                            g1[i] += e * d
                    else:
                        for i in range(nl):
                            tv[i] = sh
                        for j in range(D):
                            for i in range(nl):
                                v = xt[j, i]
                                if NPRE > 0:
                                    p0, p1 = pre1(v)
                                else:
                                    p0 = v
                                    p1 = v
                                lv, d = score1_fast(v, p0, p1, tab, b, k, j * P)
                                tv[i] += lv
                                dv[j, i] = d
                        for i in range(nl):
                            ev[i] = exp_neg_any(tv[i])
                            acc[i] += ev[i]
                        for j in range(D):
                            for i in range(nl):
                                ga[j, i] += ev[i] * dv[j, i]
                # the log by polynomial and the quotients in loops of their own (SIMD), then the
                # few points that need it (far tails, NaN) redone exactly
                nfix = 0
                for i in range(nl):
                    a = acc[i]
                    ev[i] = mb + log_pos(a)
                    tv[i] = 1.0 / a
                    nfix += not a >= thresh
                if D == 1:
                    for i in range(nl):
                        g = g1[i] * tv[i]
                        g1[i] = g
                        nfix += not abs(g) < math.inf
                    if B == 1:
                        for i in range(nl):
                            lp[s0 + i] = ev[i]
                        if want_x:
                            for i in range(nl):
                                gx[s0 + i] = np.float64(cot[s0 + i]) * g1[i]
                    else:
                        for i in range(nl):
                            n = (s0 + i) * B + b
                            lp[n] = ev[i]
                            if want_x:
                                gx[n] = np.float64(cot[n]) * g1[i]
                    if nfix:
                        for i in range(nl):
                            if not (acc[i] >= thresh and abs(g1[i]) < math.inf):
                                s = s0 + i
                                point(s, b, s * B + b, c, x, logw, tab, cot, zw, lp, gx, aw, ap, gk, tk)
                    continue
                for j in range(D):
                    for i in range(nl):
                        g = ga[j, i] * tv[i]
                        ga[j, i] = g
                        nfix += not abs(g) < math.inf
                if B == 1:
                    for i in range(nl):
                        lp[s0 + i] = ev[i]
                    if want_x:
                        for i in range(nl):
                            for j in range(D):
                                gx[(s0 + i) * D + j] = np.float64(cot[s0 + i]) * ga[j, i]
                else:
                    for i in range(nl):
                        n = (s0 + i) * B + b
                        lp[n] = ev[i]
                        if want_x:
                            for j in range(D):
                                gx[n * D + j] = np.float64(cot[n]) * ga[j, i]
                if nfix:
                    for i in range(nl):
                        ok = acc[i] >= thresh
                        for j in range(D):
                            ok = ok and abs(ga[j, i]) < math.inf
                        if not ok:
                            s = s0 + i
                            point(s, b, s * B + b, c, x, logw, tab, cot, zw, lp, gx, aw, ap, gk, tk)
        else:  # row tiles [r0, r1): every sample of each row, rows owned by this chunk
            r0 = c * nrb // nch
            r1 = (c + 1) * nrb // nch
            for rt in range(r0, r1):
                b0 = rt * L
                nl = min(L, B - b0)
                for s in range(S):
                    for i in range(nl):
                        b = b0 + i
                        point(s, b, s * B + b, b, x, logw, tab, cot, zw, lp, gx, aw, ap, gk, tk)

    def log_prob_grad(x, logw, tab, cot, zero_w, lp, gx, gw, gp):
        S = x.shape[0]
        B = x.shape[1]
        K = logw.shape[1]
        Q = gp.shape[2]
        # run-time values, not literals, in the calls of chunk: a literal True / False (or 1, 0)
        # made numba compile chunk once per literal
        along = B < L
        if along:
            per = (S + L - 1) // L
            nsub = max(1, min(CHUNKS // B, per))
            nch = B * nsub
            aw = np.zeros((nch if gw.shape[0] > 0 else 0, K))
            ap = np.zeros((nch if gp.shape[0] > 0 else 0, K, Q))
            for c in prange(nch):
                chunk(np.int64(c), along, nsub, per, np.int64(0), nch, x, logw, tab, cot, zero_w, lp, gx, aw, ap)
            # each row's chunk sums, in chunk order
            if aw.shape[0] > 0:
                for b in range(B):
                    for sub in range(nsub):
                        for k in range(K):
                            gw[b, k] += aw[b * nsub + sub, k]
            if ap.shape[0] > 0:
                for b in range(B):
                    for sub in range(nsub):
                        for k in range(K):
                            for q in range(Q):
                                gp[b, k, q] += ap[b * nsub + sub, k, q]
        else:
            nrb = (B + L - 1) // L
            nch = min(nrb, CHUNKS)
            for c in prange(nch):
                chunk(np.int64(c), along, np.int64(1), np.int64(0), nrb, nch, x, logw, tab, cot, zero_w, lp, gx, gw, gp)

    chunk = _named(chunk, "log_prob_grad", fam.name, dtype)

    return log_prob_grad


FACTORIES["log_prob_grad"] = lambda fam, dtype, dim: make_log_prob_grad(fam, dtype)


@register_jitable
def _spread_step(n):
    """A step ``p`` coprime to ``n`` near ``0.618 n``: ``t -> t p mod n`` permutes ``range(n)``
    so that every run of consecutive ``t`` maps to indices spread over the whole range (the
    sorted cdf's tiles dealt to the threads' contiguous runs of chunks)."""
    if n <= 2:
        return 1
    p = max(1, int(0.6180339887498949 * n))
    while _gcd(p, n) != 1:
        p += 1
    return p


@register_jitable
def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a
