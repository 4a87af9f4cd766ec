"""CPU kernels over raw per-row parameters: no packed table is written.

For a large batch of small mixtures whose every entry has its own parameters (the output of a
mixture density network: ``B`` rows of ``K`` logits, locs and scales) the packed table of the
general loops costs more than the evaluation: it is one more pass over ``B * K * P`` floats,
written to fresh pages.  These kernels read the distributions' own parameter arrays.

``copy_checked(src (R,), dst (R,) or (0,), kind) -> bad``
    copies ``src`` into ``dst`` (skipped when ``dst`` is empty: a check alone) and counts the
    entries that violate constraint ``kind`` (:data:`KINDS`), in one parallel pass.  The façade's
    parameters are made this way: the distribution's read-only copy and its validation at once.
``normal_mixture_rows(x (S, B), logits (B, K), loc (B, K), scale (B, K), normalise, out (S*B,))``
    ``log sum_k softmax(logits)_k N(x[s, b]; loc[b, k], scale[b, k])``: the log-density of a
    Normal mixture with per-row parameters.  ``normalise`` (0 or 1): whether the logits are to
    be normalised per row (1: raw logits, any finite shift; 0: already normalised, as a
    :class:`~mixstat.distributions.Categorical` stores them).  A tile of rows is transposed to
    component-major scratch, the per-component constants (``-log scale``, ``sqrt(1/2)/scale``)
    are computed there with :func:`~.fastmath.log_pos` in SIMD loops, and the log-sum-exp is
    that of :func:`mixstat.kernels.cpu.make_log_prob` along the batch (scaled by the largest
    ``logit + const``, the polynomial ``exp``); points whose scaled sum is below ``exp(-600)``
    (float32: ``exp(-60)``), NaN or infinite, and rows with a scale whose reciprocal overflows
    the dtype, are redone exactly (``math.log``, a division, a running maximum).
"""

import math

import numpy as np
from numba import prange
from numba.extending import register_jitable

from .cpu import CHUNKS, _named
from .fastmath import exp_neg_any, log_pos
from .lse import lse_add, lse_end
from .parts import parts, span

#: rows per tile of ``normal_mixture_rows`` (a tile's ``K x TILE`` scratch stays in L1/L2)
TILE = 256
#: tiles of ``normal_mixture_rows`` up to which a call runs on the calling thread (a parallel
#: launch costs a few microseconds; the gufunc's loop is called once per inner run of a
#: non-contiguous iteration)
SERIAL_TILES = 4
#: entries per block of ``copy_checked``
BLOCK = 4096
_SQRT_HALF = math.sqrt(0.5)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

#: the constraints ``copy_checked`` checks, by code: ``real`` (not NaN), ``finite``,
#: ``positive_finite`` of :mod:`mixstat.distributions.constraints`
KINDS = {"real": 0, "finite": 1, "positive_finite": 2}


def make_copy_checked(dtype):
    BL = BLOCK

    def chunk(c, nchunks, nblocks, src, dst, kind):
        R = src.shape[0]
        copy = dst.shape[0] > 0
        nb = 0  # valid entries
        for t in range(c * nblocks // nchunks, (c + 1) * nblocks // nchunks):
            lo = t * BL
            hi = min(R, lo + BL)
            # the block as a slice, indexed from 0: an index ``lo + i`` of unknown sign keeps
            # numba's negative-index wraparound in the loop, which then does not vectorise
            # (3-4x slower, measured)
            s = src[lo:hi]
            n = s.shape[0]
            # the check in a loop of its own (an integer reduction: SIMD), then the copy of
            # the block, still in L1
            # (counting the valid entries: a negated condition does not vectorise)
            if kind == 0:
                for i in range(n):
                    v = s[i]
                    nb += 1 if v == v else 0
            elif kind == 1:
                for i in range(n):
                    v = s[i]
                    nb += 1 if (v > -np.inf) & (v < np.inf) else 0
            elif kind == 2:
                for i in range(n):
                    v = s[i]
                    nb += 1 if (v > 0) & (v < np.inf) else 0
            else:
                nb += n
            if copy:
                d = dst[lo:hi]
                for i in range(n):
                    d[i] = s[i]
        return nb

    @parts
    def copy_checked(src, dst, kind, part, nparts):
        # this part's count of invalid entries (the caller sums the parts')
        nblocks = (src.shape[0] + BL - 1) // BL
        nchunks = min(nblocks, CHUNKS)
        ok = 0
        lo, hi = span(nchunks, part, nparts)
        for c in range(lo, hi):
            ok += chunk(c, nchunks, nblocks, src, dst, kind)
        if nchunks == 0:
            return 0
        # the entries of this part's blocks, less the valid ones
        R = src.shape[0]
        e0 = min(R, (lo * nblocks // nchunks) * BL)
        e1 = min(R, (hi * nblocks // nchunks) * BL)
        return (e1 - e0) - ok

    chunk = _named(chunk, "copy_checked", dtype)
    return copy_checked


@register_jitable
def point_exact(v, b, logits, loc, scale, normalise):
    """The log-density at ``v`` of row ``b``'s mixture, in float64 with ``math.log``, a division
    and a running maximum: the CPU kernel's redo of the points its SIMD loop cannot take, and
    every point of the CUDA twin (:func:`mixstat.kernels.cuda.make_normal_mixture_rows`)."""
    K = logits.shape[1]
    nm = 0.0
    if normalise:
        m = -math.inf
        a = 0.0
        for k in range(K):
            m, a = lse_add(m, a, np.float64(logits[b, k]))
        nm = lse_end(m, a)
    m = -math.inf
    a = 0.0
    xv = np.float64(v)
    for k in range(K):
        sc = np.float64(scale[b, k])
        zz = (xv - np.float64(loc[b, k])) / sc * _SQRT_HALF
        lp = (-math.log(sc) - _HALF_LOG_2PI) - zz * zz
        m, a = lse_add(m, a, (np.float64(logits[b, k]) - nm) + lp)
    return lse_end(m, a)


def make_normal_mixture_rows(dtype, validate=False, split=False):
    """The per-row kernel; ``validate``: rows with an invalid parameter (a NaN or ``+inf`` logit,
    no finite logit, a loc that is not finite, a scale that is not positive and finite) give NaN,
    as the gufuncs' contract says (:mod:`mixstat._gufunc_loops`); the façade validates first."""
    f32 = str(dtype) == "float32"
    F = np.float32 if f32 else np.float64
    zero = F(0.0)
    ninf = F(-np.inf)
    nan = F(np.nan)
    thresh = F(math.exp(-60.0 if f32 else -600.0))
    big = float(np.finfo(F).max)
    L = TILE

    def chunk(c, nchunks, ntiles, per, x, logits, loc, scale, normalise, out):
        B = x.shape[1]
        K = logits.shape[1]

        def exact(v, b, logits, loc, scale, normalise):
            return F(point_exact(v, b, logits, loc, scale, normalise))

        # scratch for every tile of this chunk (see mixstat.kernels.cpu.CHUNKS), component-major
        lt = np.empty((K, L), F)  # logits
        mt = np.empty((K, L), F)  # loc
        it = np.empty((K, L), F)  # scale, then sqrt(1/2) / scale
        ct = np.empty((K, L), F)  # -log(scale) - log(2 pi) / 2
        xv = np.empty(L, F)
        bad = np.zeros(L if validate else 0, np.int8)
        mb = np.empty(L, F)
        lm = np.empty(L, F)
        acc = np.empty(L, F)
        la = np.empty(L, F)
        shv = np.empty(L, F)  # the log-sum-exp's scale, less the normaliser of the logits
        # one mixture for every row (the gufuncs' broadcast parameters, stride 0): its
        # constants are computed for the chunk's first tile alone, over all L columns
        shared = (B == 1 or (logits.strides[0] == 0 and loc.strides[0] == 0 and scale.strides[0] == 0)) and B > 0
        ready = False
        for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
            s = t // per
            b0 = (t - s * per) * L
            nl = min(L, B - b0)
            # the tile's rows as slices indexed from 0 (an index ``b0 + i`` of unknown sign
            # keeps numba's negative-index wraparound in the loops, which then do not vectorise)
            xs = x[s, b0 : b0 + nl]
            orow = out[s * B + b0 : s * B + b0 + nl]
            for i in range(nl):
                xv[i] = xs[i]
            if not ready:
                nc = L if shared else nl
                if shared:
                    for k in range(K):
                        l0 = logits[0, k]
                        m0 = loc[0, k]
                        s0 = scale[0, k]
                        for i in range(L):
                            lt[k, i] = l0
                            mt[k, i] = m0
                            it[k, i] = s0
                else:
                    lr = logits[b0 : b0 + nl]
                    mr = loc[b0 : b0 + nl]
                    sr = scale[b0 : b0 + nl]
                    for i in range(nl):
                        for k in range(K):
                            lt[k, i] = lr[i, k]
                            mt[k, i] = mr[i, k]
                            it[k, i] = sr[i, k]
                if validate:  # SIMD over rows, as the loops below
                    for i in range(nc):
                        bad[i] = 0
                    for k in range(K):
                        for i in range(nc):
                            lv = lt[k, i]
                            mv = mt[k, i]
                            sv = it[k, i]
                            bad[i] |= (lv != lv) | (lv == -ninf) | ((mv - mv) != zero)
                            bad[i] |= not (sv > zero and sv < -ninf)
                for i in range(nc):
                    mb[i] = ninf
                    lm[i] = ninf
                # per-component constants and the scale of the log-sum-exp (SIMD loops over rows)
                for k in range(K):
                    for i in range(nc):
                        sc = np.float64(it[k, i])
                        cst = F(-log_pos(sc) - _HALF_LOG_2PI)
                        inv = _SQRT_HALF / sc
                        ct[k, i] = cst
                        it[k, i] = F(inv) if inv <= big else nan
                        lv = lt[k, i]
                        vk = F(lv + cst)
                        mb[i] = vk if vk > mb[i] else mb[i]
                        lm[i] = lv if lv > lm[i] else lm[i]
                if validate:
                    for i in range(nc):
                        bad[i] |= not lm[i] > ninf  # no finite logit (or no component)
                for i in range(nc):
                    mb[i] = mb[i] if mb[i] > ninf else zero
                    lm[i] = lm[i] if lm[i] > ninf else zero
                    la[i] = zero
                if normalise:
                    for k in range(K):
                        for i in range(nc):
                            la[i] += exp_neg_any(F(lt[k, i] - lm[i]))
                    for i in range(nc):
                        shv[i] = F(mb[i] - (lm[i] + F(log_pos(np.float64(la[i])))))
                else:
                    for i in range(nc):
                        shv[i] = mb[i]
                ready = shared
            for i in range(nl):
                acc[i] = zero
            for k in range(K):
                for i in range(nl):
                    z = (xv[i] - mt[k, i]) * it[k, i]
                    acc[i] += exp_neg_any(F((ct[k, i] - z * z) + (lt[k, i] - mb[i])))
            nfix = 0
            for i in range(nl):
                orow[i] = shv[i] + F(log_pos(np.float64(acc[i])))
                nfix += not acc[i] >= thresh
            if nfix:
                for i in range(nl):
                    # a row with an invalid parameter is not redone: NaN below
                    if not acc[i] >= thresh and not (validate and bad[i]):
                        orow[i] = exact(xv[i], b0 + i, logits, loc, scale, normalise)
            if validate:
                for i in range(nl):
                    if bad[i]:
                        orow[i] = nan

    def normal_mixture_rows(x, logits, loc, scale, normalise, out):
        S = x.shape[0]
        B = x.shape[1]
        per = (B + L - 1) // L
        ntiles = per * S
        if ntiles <= SERIAL_TILES:  # on the calling thread: a parallel launch costs more
            chunk(np.int64(0), 1, ntiles, per, x, logits, loc, scale, normalise, out)
            return
        nchunks = min(ntiles, CHUNKS)
        for c in prange(nchunks):
            chunk(np.int64(c), nchunks, ntiles, per, x, logits, loc, scale, normalise, out)

    @parts
    def normal_mixture_rows_parts(x, logits, loc, scale, normalise, out, part, nparts):
        S = x.shape[0]
        B = x.shape[1]
        per = (B + L - 1) // L
        ntiles = per * S
        nchunks = min(ntiles, CHUNKS)
        lo, hi = span(nchunks, part, nparts)
        for c in range(lo, hi):
            chunk(c, nchunks, ntiles, per, x, logits, loc, scale, normalise, out)

    chunk = _named(chunk, "normal_mixture_rows", dtype, *(("validated",) if validate else ()))
    # split: the kernel of mixstat._jit (parts on threads); else numba's prange (the gufunc's loop)
    return normal_mixture_rows_parts if split else normal_mixture_rows


OPS = ("copy_checked", "normal_mixture_rows")


def make(op, dtype="float64"):
    if op == "copy_checked":
        return make_copy_checked(dtype)
    if op == "normal_mixture_rows":
        return make_normal_mixture_rows(dtype, split=True)
    raise KeyError(op)
