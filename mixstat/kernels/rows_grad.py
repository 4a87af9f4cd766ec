"""The gradient of a Normal mixture with per-row raw parameters, in one pass (no packed table).

A mixture density network's loss is ``sum_n c_n log p(x_n)`` under ``B`` rows of ``K`` logits,
locs and scales (the network's outputs, one row each).  The kernel here reads those three
arrays directly and writes the log-density and the gradients in the parameters' own
``(B, K)`` layout, with the softmax of the logits inside:

``normal_mixture_rows_grad(x (S, B), logits (B, K), loc (B, K), scale (B, K), cot (S*B,),
lp (S*B,), gx (S*B,) or (0,), gl, gm, gs (B, K) or (0, K)) -> bad``
    ``lp[s B + b] = log sum_k softmax(logits[b])_k N(x[s, b]; loc[b, k], scale[b, k])``;
    ``gx = cot d lp / dx``; ``gl[b, k] = sum_s cot d lp / d logits[b, k]`` (``r_k - w_k``: the
    responsibility less the weight), ``gm = sum_s cot r_k q_k / scale_k``, ``gs = sum_s cot
    r_k (q_k**2 - 1) / scale_k`` with ``q_k = (x - loc_k) / scale_k``.  ``bad``: the number of
    invalid parameters (a NaN or ``+inf`` logit, a row of ``-inf`` logits, a loc that is not
    finite, a scale that is not positive and finite), counted in the same pass; the caller
    raises when it is not 0 (the outputs are then undefined).

A tile of ``TILE`` rows is transposed to component-major scratch; every loop over a tile's
rows is a SIMD loop (the polynomial :func:`~.fastmath.exp_neg` and :func:`~.fastmath.log_pos`),
each writing few arrays (LLVM vectorises a loop only while its runtime alias checks are few).
Per row: the softmax of the logits (shifted by their maximum) and ``w_k / (scale_k sqrt(2
pi))``; per point: ``p(x) = sum_k w_k N(x; loc_k, scale_k)`` as that times ``exp(-q_k**2 / 2)``
(no logarithm per component), the responsibilities ``w_k N_k / p(x)``, and the sums.  A
``-inf`` logit gives its component exactly nothing.  Points whose density is below
``exp(-600)`` (float32: ``exp(-60)``; far tails, where ``exp`` flushes every term), NaN or
infinite values, and rows with a scale whose reciprocal overflows or whose reciprocal
scales sum to more than ``1e30`` (float32: ``1e4``, so that the flushed terms stay below
``1e-8`` of the threshold) are redone by :func:`row_exact` (float64, ``math.exp``, a
running maximum: exact in far tails), the function the CUDA loop runs for every row.
float32 rows are computed in float32, their sums over the samples in float64.
"""

import math

import numpy as np
from numba import prange
from numba.extending import register_jitable

from .cpu import CHUNKS, _named
from .fastmath import exp_neg_any, log_pos
from .lse import lse_add, lse_end

#: rows per tile (the tile's scratch, about ten ``K x TILE`` arrays, stays in L2)
TILE = 128
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@register_jitable
def row_exact(b, x, cot, logits, loc, scale, lp, gx, gl, gm, gs):
    """Row ``b`` of ``normal_mixture_rows_grad`` in float64 with ``math.exp``/``math.log`` and a
    running maximum, every sample of the row; the outputs' entries of the row are written
    (overwritten), its gradients summed here.  CPU (the rows the SIMD tile cannot take) and
    CUDA (every row, one thread each)."""
    S = x.shape[0]
    B = x.shape[1]
    K = logits.shape[1]
    want_x = gx.shape[0] > 0
    want_l = gl.shape[0] > 0
    want_m = gm.shape[0] > 0
    want_s = gs.shape[0] > 0
    m = -math.inf
    a = 0.0
    for k in range(K):
        m, a = lse_add(m, a, np.float64(logits[b, k]))
    lse = lse_end(m, a) + _HALF_LOG_2PI
    for k in range(K):
        if want_l:
            gl[b, k] = 0.0
        if want_m:
            gm[b, k] = 0.0
        if want_s:
            gs[b, k] = 0.0
    csum = 0.0
    for s in range(S):
        n = s * B + b
        xv = np.float64(x[s, b])
        m = -math.inf
        a = 0.0
        for k in range(K):
            sc = np.float64(scale[b, k])
            q = (xv - np.float64(loc[b, k])) / sc
            t = ((np.float64(logits[b, k]) - lse) - math.log(sc)) - 0.5 * q * q
            m, a = lse_add(m, a, t)
        tot = lse_end(m, a)
        lp[n] = tot
        if not abs(tot) < math.inf:
            if want_x:
                gx[n] = math.nan
            continue
        cn = np.float64(cot[n])
        csum += cn
        g = 0.0
        for k in range(K):
            lw = np.float64(logits[b, k])
            if not lw > -math.inf:
                continue
            sc = np.float64(scale[b, k])
            q = (xv - np.float64(loc[b, k])) / sc
            t = ((lw - lse) - math.log(sc)) - 0.5 * q * q
            r = math.exp(t - tot)
            if r == 0.0:
                continue
            wr = cn * r
            d = q / sc
            g -= r * d
            if want_l:
                gl[b, k] += wr
            if want_m:
                gm[b, k] += wr * d
            if want_s:
                gs[b, k] += wr * ((q * q - 1.0) / sc)
        if want_x:
            gx[n] = cn * g
    if want_l:
        lse0 = lse - _HALF_LOG_2PI
        for k in range(K):
            lw = np.float64(logits[b, k])
            if lw > -math.inf:
                gl[b, k] -= math.exp(lw - lse0) * csum


@register_jitable
def tile_weights(lr, mr, sr, nl, wt, mt, iv, lm, ivs, acc, fix, rv, one, ivmax):
    """The per-row prologue of both tile loops: rows ``lr``, ``mr``, ``sr`` (``(nl, K)`` slices of
    the logits, locs and scales) transposed component-major into ``wt``, ``mt``, ``iv``; then
    ``iv = 1 / scale``, ``wt`` the softmax weights (shifted by the row's largest logit ``lm``, 0
    where every logit is ``-inf``), ``fix[i]`` 1 for a row the SIMD tile cannot take (weights'
    sum below 1: no finite logit or NaN; reciprocal scales summing above ``ivmax``).  Returns the
    number of invalid parameters.  SIMD loops over rows, each writing few arrays (LLVM vectorises
    a loop while its runtime alias checks are few)."""
    K = wt.shape[0]
    for k in range(K):
        for i in range(nl):
            wt[k, i] = lr[i, k]
    for k in range(K):
        for i in range(nl):
            mt[k, i] = mr[i, k]
    for k in range(K):
        for i in range(nl):
            iv[k, i] = sr[i, k]
    for i in range(nl):
        lm[i] = -np.inf
        ivs[i] = 0.0
        acc[i] = 0.0
    for k in range(K):
        for i in range(nl):
            lv = wt[k, i]
            lm[i] = lv if lv > lm[i] else lm[i]
    nb = 0
    for i in range(nl):
        nb += np.int64(not (lm[i] > -np.inf))  # a row of -inf logits (or NaN)
        lm[i] = lm[i] if lm[i] > -np.inf else 0.0
    # the checks: an integer reduction
    for k in range(K):
        for i in range(nl):
            lv = wt[k, i]
            mv = mt[k, i]
            sv = iv[k, i]
            nb += np.int64(not (lv < np.inf)) + np.int64(mv - mv != 0.0)
            nb += np.int64(not ((sv > 0.0) & (sv - sv == 0.0)))
    for k in range(K):
        for i in range(nl):
            inv = one / iv[k, i]
            iv[k, i] = inv
            ivs[i] += inv
    for k in range(K):
        for i in range(nl):
            wt[k, i] = exp_neg_any(wt[k, i] - lm[i])
    for k in range(K):
        for i in range(nl):
            acc[i] += wt[k, i]
    for i in range(nl):
        a = acc[i]
        fix[i] = np.int64(not ((a >= one) & (ivs[i] <= ivmax)))
        rv[i] = one / (a if a >= one else one)
    for k in range(K):
        for i in range(nl):
            wt[k, i] = wt[k, i] * rv[i]
    return nb


def make_normal_mixture_rows_grad(dtype):
    f32 = str(dtype) == "float32"
    F = np.float32 if f32 else np.float64
    zero = F(0.0)
    one = F(1.0)
    half = F(0.5)
    c0 = F(1.0 / math.sqrt(2.0 * math.pi))
    # a point whose density is below thresh is redone exactly; for a row whose reciprocal
    # scales sum to at most ivmax the terms exp() flushes to 0 are below thresh * 1e-8
    thresh = F(math.exp(-60.0 if f32 else -600.0))
    ivmax = F(1e4 if f32 else 1e30)
    L = TILE

    def chunk(c, nchunks, ntiles, x, logits, loc, scale, cot, lp, gx, gl, gm, gs):
        S = x.shape[0]
        B = x.shape[1]
        K = logits.shape[1]
        want_x = gx.shape[0] > 0
        want_l = gl.shape[0] > 0
        want_m = gm.shape[0] > 0
        want_s = gs.shape[0] > 0
        # component-major scratch of one tile
        wt = np.empty((K, L), F)  # logits, then the softmax weights
        mt = np.empty((K, L), F)  # loc
        iv = np.empty((K, L), F)  # scale, then 1 / scale
        wi = np.empty((K, L), F)  # weight / (scale sqrt(2 pi))
        te = np.empty((K, L), F)  # a sample's terms, then cot times the responsibilities
        qt = np.empty((K, L), F)  # (x - loc) / scale
        al = np.empty((K, L))  # the gradients' sums over the samples (float64)
        am = np.empty((K, L))
        asg = np.empty((K, L))
        lm = np.empty(L, F)  # the row's largest logit (0 where every logit is -inf)
        acc = np.empty(L, F)
        ivs = np.empty(L, F)  # the row's sum of 1 / scale
        rv = np.empty(L, F)
        gv = np.empty(L, F)
        xv = np.empty(L, F)
        cs = np.empty(L)
        fix = np.empty(L, np.int64)
        bad = 0
        for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
            b0 = t * L
            nl = min(L, B - b0)
            # the tile's rows as slices indexed from 0: an index ``b0 + i`` of unknown sign keeps
            # numba's negative-index wraparound in a loop, which then does not vectorise
            lr = logits[b0 : b0 + nl]
            mr = loc[b0 : b0 + nl]
            sr = scale[b0 : b0 + nl]
            bad += tile_weights(lr, mr, sr, nl, wt, mt, iv, lm, ivs, acc, fix, rv, one, ivmax)
            for i in range(nl):
                cs[i] = 0.0
            for k in range(K):
                for i in range(nl):
                    wi[k, i] = wt[k, i] * iv[k, i] * c0
            for k in range(K):
                for i in range(nl):
                    al[k, i] = 0.0
                    am[k, i] = 0.0
                    asg[k, i] = 0.0
            for s in range(S):
                for i in range(nl):
                    xv[i] = x[s, b0 + i]
                    acc[i] = zero
                    gv[i] = zero
                for k in range(K):
                    for i in range(nl):
                        qt[k, i] = (xv[i] - mt[k, i]) * iv[k, i]
                for k in range(K):
                    for i in range(nl):
                        q = qt[k, i]
                        e = wi[k, i] * exp_neg_any(F(-half * q * q))
                        te[k, i] = e
                        acc[i] += e
                for i in range(nl):
                    a = acc[i]
                    ok = a >= thresh  # (not NaN)
                    n = s * B + b0 + i
                    a = a if ok else one
                    lp[n] = F(log_pos(np.float64(a)))
                    cv = F(cot[n]) if ok else zero
                    rv[i] = cv / a
                    cs[i] += cv
                    fix[i] += np.int64(not ok)
                for k in range(K):
                    for i in range(nl):
                        r = te[k, i] * rv[i]  # the cotangent times the responsibility
                        r = r if abs(r) > zero else zero  # (0 for a NaN)
                        te[k, i] = r
                        al[k, i] += r
                for k in range(K):
                    for i in range(nl):
                        r = te[k, i]
                        q = qt[k, i]
                        inv = iv[k, i]
                        live = r != zero
                        rq = r * q * inv
                        am[k, i] += rq if live else zero
                        asg[k, i] += (rq * q - r * inv) if live else zero
                for k in range(K):
                    for i in range(nl):
                        r = te[k, i]
                        rq = r * qt[k, i] * iv[k, i]
                        gv[i] -= rq if r != zero else zero
                if want_x:
                    for i in range(nl):
                        gx[s * B + b0 + i] = gv[i]
            # back to the (B, K) layout
            for i in range(nl):
                b = b0 + i
                for k in range(K):
                    if want_l:
                        gl[b, k] = F(al[k, i] - np.float64(wt[k, i]) * cs[i])
                    if want_m:
                        gm[b, k] = F(am[k, i])
                    if want_s:
                        gs[b, k] = F(asg[k, i])
            for i in range(nl):
                if fix[i]:
                    row_exact(b0 + i, x, cot, logits, loc, scale, lp, gx, gl, gm, gs)
        return bad

    def chunk1(c, nchunks, ntiles, x, logits, loc, scale, cot, lp, gx, gl, gm, gs):
        # one sample per row (a network's batch, S == 1): the gradients straight from the
        # responsibilities, no sums over samples, fewer passes over the tile
        B = x.shape[1]
        K = logits.shape[1]
        want_x = gx.shape[0] > 0
        want_l = gl.shape[0] > 0
        want_m = gm.shape[0] > 0
        want_s = gs.shape[0] > 0
        wt = np.empty((K, L), F)  # logits, then the softmax weights
        mt = np.empty((K, L), F)  # loc
        iv = np.empty((K, L), F)  # scale, then 1 / scale
        te = np.empty((K, L), F)  # the point's terms, then cot times the responsibilities
        qt = np.empty((K, L), F)  # (x - loc) / scale
        lm = np.empty(L, F)
        acc = np.empty(L, F)
        ivs = np.empty(L, F)
        rv = np.empty(L, F)
        gv = np.empty(L, F)
        xv = np.empty(L, F)
        cv = np.empty(L, F)
        fix = np.empty(L, np.int64)
        bad = 0
        for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
            b0 = t * L
            nl = min(L, B - b0)
            # the tile's rows as slices indexed from 0 (see chunk)
            lr = logits[b0 : b0 + nl]
            mr = loc[b0 : b0 + nl]
            sr = scale[b0 : b0 + nl]
            xs = x[0, b0 : b0 + nl]
            cts = cot[b0 : b0 + nl]
            lps = lp[b0 : b0 + nl]
            bad += tile_weights(lr, mr, sr, nl, wt, mt, iv, lm, ivs, acc, fix, rv, one, ivmax)
            # the points and cotangents (maybe strided) into contiguous scratch: the loops over
            # rows below are then SIMD loops
            for i in range(nl):
                xv[i] = xs[i]
                cv[i] = cts[i]
                acc[i] = zero
            for k in range(K):
                for i in range(nl):
                    qt[k, i] = (xv[i] - mt[k, i]) * iv[k, i]
            for k in range(K):
                for i in range(nl):
                    q = qt[k, i]
                    e = (wt[k, i] * iv[k, i] * c0) * exp_neg_any(F(-half * q * q))
                    te[k, i] = e
                    acc[i] += e
            for i in range(nl):
                a = acc[i]
                ok = a >= thresh  # (not NaN)
                a = a if ok else one
                lps[i] = F(log_pos(np.float64(a)))
                c_ = cv[i] if ok else zero
                rv[i] = c_ / a
                cv[i] = c_
                fix[i] += np.int64(not ok)
                gv[i] = zero
            for k in range(K):
                for i in range(nl):
                    r = te[k, i] * rv[i]  # the cotangent times the responsibility
                    te[k, i] = r if abs(r) > zero else zero  # (0 for a NaN)
            if want_x:
                for k in range(K):
                    for i in range(nl):
                        r = te[k, i]
                        # (a term exp() flushed to 0 gives 0, not 0 * inf)
                        gv[i] -= r * qt[k, i] * iv[k, i] if r != zero else zero
                gxs = gx[b0 : b0 + nl]
                for i in range(nl):
                    gxs[i] = gv[i]
            # back to the (B, K) layout
            glr = gl[b0 : b0 + nl]
            gmr = gm[b0 : b0 + nl]
            gsr = gs[b0 : b0 + nl]
            for i in range(nl):
                for k in range(K):
                    r = te[k, i]
                    q = qt[k, i]
                    inv = iv[k, i]
                    rq = r * q * inv
                    live = r != zero
                    if want_l:
                        glr[i, k] = r - wt[k, i] * cv[i]
                    if want_m:
                        gmr[i, k] = rq if live else zero
                    if want_s:
                        gsr[i, k] = (rq * q - r * inv) if live else zero
            for i in range(nl):
                if fix[i]:
                    row_exact(b0 + i, x, cot, logits, loc, scale, lp, gx, gl, gm, gs)
        return bad

    # numba's prange, not parts (kernels.parts): this kernel runs between torch's operations
    # (mixstat.torch), whose OpenMP threads spin after each one and take the CPU from a
    # thread of mixstat's own (measured: the MDN step 12.7 ms in parts, 8.0 ms with prange);
    # one kernel per dtype, so its extra compile time is small
    def normal_mixture_rows_grad(x, logits, loc, scale, cot, lp, gx, gl, gm, gs):
        B = x.shape[1]
        ntiles = (B + L - 1) // L
        nchunks = min(ntiles, CHUNKS)
        bad = 0
        if x.shape[0] == 1:
            for c in prange(nchunks):
                bad += chunk1(np.int64(c), nchunks, ntiles, x, logits, loc, scale, cot, lp, gx, gl, gm, gs)
        else:
            for c in prange(nchunks):
                bad += chunk(np.int64(c), nchunks, ntiles, x, logits, loc, scale, cot, lp, gx, gl, gm, gs)
        return bad

    chunk = _named(chunk, "normal_mixture_rows_grad", dtype)
    chunk1 = _named(chunk1, "normal_mixture_rows_grad1", dtype)
    return normal_mixture_rows_grad


OPS = ("normal_mixture_rows_grad",)


def make(op, dtype="float64"):
    if op == "normal_mixture_rows_grad":
        return make_normal_mixture_rows_grad(dtype)
    raise KeyError(op)
