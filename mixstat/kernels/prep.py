"""CPU kernels that check and pack parameters in one pass, split in parts (:mod:`.parts`).

For large batches of small mixtures (mixture-density-network outputs, with
``B * K`` in the millions) building the distributions costs more than
evaluating them when it is done with NumPy: each check and each derived
constant is one more pass over memory, single-threaded, and reductions along a
short last axis are slow.  These kernels read each parameter once, in tiles of
rows with the inner loop over rows (SIMD), and count the invalid entries; the
façade falls back to its NumPy checks to name the first bad index when the
count is not zero.

``logits(param (R, K), out (R, K)) -> bad``
    ``out = (param - m) - log(sum(exp(param - m)))`` with ``m`` the row
    maximum; ``bad`` counts NaN / ``+inf``
    entries and rows with no finite entry.
``normal_rows(loc (R, D), scale (R, D), out (R, 4 D)) -> bad``
    the Normal rows of :mod:`.families.normal` (coordinate ``j`` at ``4 j``); ``bad`` counts non-finite
    ``loc`` and ``scale`` outside ``[2**-126, inf)`` (zero, negative,
    tiny, NaN, inf: tiny scales are valid but take the NumPy path).
"""

import math

import numpy as np

from .cpu import CHUNKS
from .fastmath import exp_neg, log_pos
from .parts import parts, span

TILE = 512
_SQRT_HALF = math.sqrt(0.5)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_TINY = 2.0**-126  # below (float32 subnormals, tiny float64 scales): the NumPy path


def make_logits():
    L0 = TILE

    @parts
    def logits(param, out, normalise, part, nparts):
        # normalise 0: a checked copy of the raw logits (a Categorical normalises them on first use)
        R = param.shape[0]
        K = param.shape[1]
        # rows per tile: at most L, and a tile of at most 2**15 entries (a single row of
        # 10**7 categories must not allocate a K x L tile)
        L = max(1, min(L0, R, 32768 // max(K, 1)))
        bad = 0
        ntiles = (R + L - 1) // L
        nchunks = min(ntiles, CHUNKS)
        lo, hi = span(nchunks, part, nparts)
        for c in range(lo, hi):
            # scratch, once per chunk (see mixstat.kernels.cpu.CHUNKS); the
            # tile is copied category-major: the loops below have unit stride
            # and no gathers, so they vectorise
            pk = np.empty((K, L))
            m = np.empty(L)
            acc = np.empty(L)
            nbad = 0
            if not normalise:
                # the checked copy: row-major, no transposes (a flat copy loop and integer
                # counts: SIMD), then rows without a finite entry
                for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
                    r0 = t * L
                    nl = min(L, R - r0)
                    prow = param[r0 : r0 + nl]
                    orow = out[r0 : r0 + nl]
                    for i in range(nl):
                        for k in range(K):
                            orow[i, k] = prow[i, k]
                    for i in range(nl):
                        nf = 0
                        for k in range(K):
                            v = prow[i, k]
                            nbad += (v != v) | (v == np.inf)
                            nf += v > -np.inf
                        nbad += nf == 0
                bad += nbad
                continue
            for t in range(c * ntiles // nchunks, (c + 1) * ntiles // nchunks):
                r0 = t * L
                nl = min(L, R - r0)
                # the tile's rows as slices indexed from 0 (an index ``r0 + i`` of unknown
                # sign keeps numba's negative-index wraparound in the loops)
                prow = param[r0 : r0 + nl]
                orow = out[r0 : r0 + nl]
                for i in range(nl):
                    for k in range(K):
                        pk[k, i] = prow[i, k]
                for i in range(nl):
                    m[i] = -np.inf
                    acc[i] = 0.0
                for k in range(K):
                    for i in range(nl):
                        v = pk[k, i]
                        nbad += (v != v) | (v == np.inf)
                        m[i] = v if v > m[i] else m[i]
                for i in range(nl):
                    nbad += m[i] == -np.inf
                for k in range(K):
                    for i in range(nl):
                        acc[i] += exp_neg(pk[k, i] - m[i])
                for i in range(nl):
                    acc[i] = log_pos(acc[i])  # acc >= 1 for a valid row
                # (param - m) - log(sum): adding m to the small log-sum first
                # would round it to the precision of m
                for i in range(nl):
                    for k in range(K):
                        orow[i, k] = (pk[k, i] - m[i]) - acc[i]
            bad += nbad
        return bad

    return logits


def make_normal_rows():
    L = TILE

    @parts
    def normal_rows(loc, scale, out, part, nparts):
        R = loc.shape[0]
        D = loc.shape[1]
        bad = 0
        ntiles = (R + L - 1) // L
        nchunks = min(ntiles, CHUNKS)
        lo, hi = span(nchunks, part, nparts)
        for ch in range(lo, hi):
            s = np.empty(L)  # scratch, once per chunk
            nbad = 0
            for t in range(ch * ntiles // nchunks, (ch + 1) * ntiles // nchunks):
                r0 = t * L
                nl = min(L, R - r0)
                for j in range(D):
                    o = 4 * j
                    for i in range(nl):
                        s[i] = scale[r0 + i, j]
                    # checks and logs in a gather/scatter-free loop (SIMD)
                    for i in range(nl):
                        mu = loc[r0 + i, j]
                        si = np.float64(s[i])
                        nbad += (mu - mu != 0) | ~(si >= _TINY) | (si == np.inf)
                        out[r0 + i, o + 2] = -log_pos(si) - _HALF_LOG_2PI
                    for i in range(nl):
                        out[r0 + i, o] = loc[r0 + i, j]
                        out[r0 + i, o + 1] = _SQRT_HALF / s[i]
                        out[r0 + i, o + 3] = s[i]
            bad += nbad
        return bad

    return normal_rows


OPS = ("logits", "normal_rows")


def make(op):
    if op == "logits":
        return make_logits()
    if op == "normal_rows":
        return make_normal_rows()
    raise KeyError(op)
