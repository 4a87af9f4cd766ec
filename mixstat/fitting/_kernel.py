"""The fused E-step of the scalar families: one pass, log-likelihood and weighted statistics.

One kernel per kernel family (float64, run-time event size ``D``), built from the
family's ``logpdf1_fast`` / ``logpdf1`` (and ``pre1``) of :mod:`mixstat.kernels.families`
and its statistics hook ``suff1`` below.  For every point the loop forms the ``K``
log terms, their log-sum-exp (the point's log-likelihood), the responsibilities, and
adds ``r_k`` times the family's statistics to the component's sums; the ``N x K``
responsibilities are never stored.  Inside a block the points go in tiles of
``TILE``: the log terms (the family's SIMD form, points where it gives NaN redone
with the exact one), their maximum and the polynomial ``exp`` of
:mod:`mixstat.kernels.fastmath` are loops over a tile's points that vectorise.  The points are cut into blocks of
``BLOCK`` rows (a constant, independent of the thread count); each block's partial
sums are written to their own slot and the caller adds the slots in block order, so
the result has the same bits with any number of threads.

``suff1(v, p0, p1, r, tab, b, k, o, acc, a)`` adds ``r`` times the family's
statistics of value ``v`` (``p0, p1`` from the family's ``pre1``) to
``acc[a : a + S]``, reading the current parameters of component ``k`` at
``tab[b, k, o + OFFSET]`` where it centres them (a location: the sums of
``x - loc`` and ``(x - loc)**2`` keep their precision where ``|loc|`` is large
beside the scale).

Compiled kernels are cached on disk beside the family's own kernels (a folder keyed
by the family module, the shared kernel sources and this file).
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from pathlib import Path

import numpy as np
from numba import njit, prange, types
from numba.extending import register_jitable

from .. import _jit
from ..kernels.families import lognormal as _lognormal, normal as _normal, studentt as _studentt, vonmises as _vonmises
from ..kernels.fastmath import exp_neg, log_pos
from ..kernels.parts import parts, span

__all__ = ["BLOCK", "estep_kernel", "SUFF"]

#: rows per block of partial sums (fixed: the sums do not depend on the thread count)
BLOCK = 2048
#: points per tile inside a block (the SIMD loops run over a tile's points)
TILE = 128

_INF = math.inf


@register_jitable
def _no_pre(v):
    return 0.0, 0.0


@register_jitable(inline="always")
def suff_value(v, p0, p1, r, tab, b, k, o, acc, a):
    """``S = 1``: ``x`` (Poisson, Exponential, Geometric, Binomial, Bernoulli)."""
    acc[a] += r * v


@register_jitable(inline="always")
def suff_normal(v, p0, p1, r, tab, b, k, o, acc, a):
    """``S = 2``: ``d, d**2`` with ``d = x - loc``."""
    d = v - tab[b, k, o + _normal.LOC]
    rd = r * d
    acc[a] += rd
    acc[a + 1] += rd * d


@register_jitable(inline="always")
def suff_lognormal(v, p0, p1, r, tab, b, k, o, acc, a):
    """``S = 2``: ``d, d**2`` with ``d = log x - loc`` (``p0 = log x``)."""
    d = p0 - tab[b, k, o + _lognormal.LOC]
    rd = r * d
    acc[a] += rd
    acc[a + 1] += rd * d


@register_jitable(inline="always")
def suff_gamma(v, p0, p1, r, tab, b, k, o, acc, a):
    """``S = 2``: ``x, log x`` (``p0 = log x``)."""
    acc[a] += r * v
    acc[a + 1] += r * p0


@register_jitable(inline="always")
def suff_vonmises(v, p0, p1, r, tab, b, k, o, acc, a):
    """``S = 2``: ``cos(x - loc), sin(x - loc)``."""
    d = v - tab[b, k, o + _vonmises.LOC]
    acc[a] += r * math.cos(d)
    acc[a + 1] += r * math.sin(d)


@register_jitable(inline="always")
def suff_categorical(v, p0, p1, r, tab, b, k, o, acc, a):
    """``S = C``: the one-hot vector of the category."""
    acc[a + int(v)] += r


@register_jitable(inline="always")
def suff_studentt(v, p0, p1, r, tab, b, k, o, acc, a):
    """``S = 4``: ``u, u d, u d**2, log u - u`` with ``d = x - loc`` and the latent
    precision's conditional mean ``u = (df + 1) / (df + (d / scale)**2)`` (ECM)."""
    df = tab[b, k, o + _studentt.DF]
    d = v - tab[b, k, o + _studentt.LOC]
    z = d / tab[b, k, o + _studentt.SCALE]
    u = (df + 1.0) / (df + z * z)
    ru = r * u
    acc[a] += ru
    acc[a + 1] += ru * d
    acc[a + 2] += ru * d * d
    acc[a + 3] += r * (math.log(u) - u)


#: the statistics hook of each kernel family
SUFF = {
    "normal": suff_normal,
    "lognormal": suff_lognormal,
    "gamma": suff_gamma,
    "vonmises": suff_vonmises,
    "studentt": suff_studentt,
    "categorical": suff_categorical,
    "poisson": suff_value,
    "exponential": suff_value,
    "geometric": suff_value,
    "binomial": suff_value,
    "bernoulli": suff_value,
}


def _make(mod, suff1):
    logpdf1 = mod.logpdf1
    fast = getattr(mod, "logpdf1_fast", mod.logpdf1)
    pre1 = mod.pre1 if getattr(mod, "NPRE", 0) else _no_pre

    @parts
    def fused_estep(x, sw, logw, tab, active, centres, hard, block, S, out_ll, out_st, part, nparts):
        B, N, D = x.shape
        K = logw.shape[1]
        NB = out_ll.shape[1]
        W = 1 + D * S
        P = tab.shape[2] // D if D > 0 else 0  # floats per coordinate (Categorical: 1 + 2 C)
        T = TILE
        t0, t1 = span(B * NB, part, nparts)
        for t in range(t0, t1):
            b = t // NB
            blk = t - b * NB
            if active[b] == 0:
                continue
            acc = np.zeros(K * W)
            L = np.empty((K, T))
            q0 = np.empty((D, T))
            q1 = np.empty((D, T))
            xt = np.empty((D, T))
            wt = np.empty(T)
            mt = np.empty(T)
            tot = np.empty(T)
            llt = np.empty(T)
            ll = 0.0
            lo0 = blk * block
            hi0 = min(N, lo0 + block)
            for lo in range(lo0, hi0, T):
                nl = min(T, hi0 - lo)
                # the tile's values, transposed, and their per-point quantities
                for j in range(D):
                    for i in range(nl):
                        v = x[b, lo + i, j]
                        xt[j, i] = v
                        p0, p1 = pre1(v)
                        q0[j, i] = p0
                        q1[j, i] = p1
                for i in range(nl):
                    wt[i] = sw[b, lo + i]
                if hard != 0:
                    # initialisation: the whole weight to the nearest centre (ties: the first)
                    for i in range(nl):
                        best = 0
                        bd = _INF
                        for k in range(K):
                            dd = 0.0
                            for j in range(D):
                                e = xt[j, i] - centres[b, k, j]
                                dd += e * e
                            if dd < bd:
                                bd = dd
                                best = k
                        for k in range(K):
                            L[k, i] = 0.0
                        L[best, i] = 1.0
                        tot[i] = 1.0
                else:
                    for k in range(K):
                        lw = logw[b, k]
                        for i in range(nl):
                            L[k, i] = lw
                        if not lw > -_INF:
                            continue
                        for j in range(D):
                            o = j * P
                            for i in range(nl):  # SIMD: arithmetic and selects only
                                L[k, i] += fast(xt[j, i], q0[j, i], q1[j, i], tab, b, k, o)
                        for i in range(nl):
                            if L[k, i] != L[k, i]:  # the SIMD form is not exact here: the exact one
                                s_ = lw
                                for j in range(D):
                                    s_ += logpdf1(xt[j, i], q0[j, i], q1[j, i], tab, b, k, j * P)
                                L[k, i] = s_
                    for i in range(nl):
                        mt[i] = L[0, i]
                    for k in range(1, K):
                        for i in range(nl):
                            mt[i] = max(mt[i], L[k, i])
                    for i in range(nl):
                        tot[i] = 0.0
                    for k in range(K):
                        for i in range(nl):
                            e = exp_neg(L[k, i] - mt[i])  # 2 ulp; 0 below -708
                            L[k, i] = e
                            tot[i] += e
                    for i in range(nl):
                        llt[i] = wt[i] * (mt[i] + log_pos(tot[i]))  # tot in [1, K]
                    for i in range(nl):
                        if wt[i] == 0.0:
                            continue  # a zero weight contributes exactly nothing
                        if not mt[i] > -_INF:
                            ll += -_INF  # no component gives the point a positive density
                            wt[i] = 0.0
                            continue
                        ll += llt[i]
                for i in range(nl):
                    wt[i] = wt[i] / tot[i]
                for k in range(K):
                    base = k * W
                    for i in range(nl):
                        r = L[k, i] * wt[i]
                        if r == 0.0:
                            continue  # a zero responsibility contributes exactly nothing
                        acc[base] += r
                        for j in range(D):
                            suff1(xt[j, i], q0[j, i], q1[j, i], r, tab, b, k, j * P, acc, base + 1 + j * S)
            out_ll[b, blk] = ll
            for k in range(K):
                for i in range(W):
                    out_st[b, blk, k, i] = acc[k * W + i]

    return fused_estep


_lock = threading.Lock()
_kernels: dict = {}
_hash = None


def _cache_dir(family):
    global _hash
    if _hash is None:
        _hash = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    path = os.path.join(_jit.cache_dir(family), f"fit-{_hash}")
    os.makedirs(path, exist_ok=True)
    return path


def _signature():
    f8 = types.float64
    ro3 = types.Array(f8, 3, "A", readonly=True)
    ro2 = types.Array(f8, 2, "A", readonly=True)
    ro1u = types.Array(types.uint8, 1, "A", readonly=True)
    i64 = types.int64
    return types.void(ro3, ro2, ro2, ro3, ro1u, ro3, i64, i64, i64, types.Array(f8, 2, "C"), types.Array(f8, 4, "C"))


def estep_kernel(family: str):
    """The compiled fused E-step of kernel family ``family`` (compiled, or loaded from the disk
    cache, on first use)."""
    k = _kernels.get(family)
    if k is not None:
        return k
    with _lock:
        k = _kernels.get(family)
        if k is None:
            from ..kernels import registry

            impl = _jit.unique_name(_make(registry.family(family).module, SUFF[family]), "estep", family)
            # the family's ``*_fast`` hooks are marked alwaysinline while this compiles
            with _jit.compiling_into(_cache_dir(family)):
                # a kernel of parts (mixstat.kernels.parts), run on mixstat's threads
                i64 = types.int64
                sig = _signature()
                disp = njit([sig.return_type(*sig.args, i64, i64)], **_jit.NJIT_OPTIONS)(impl)
                k = _jit.Parts(disp, False)
            _kernels[family] = k
    return k


def run_estep(family, x, sw, logw, tab, active, centres=None, hard=False, S=1):
    """One pass over ``x`` (B, N, D) float64: ``(loglik (B,), sums (B, K, 1 + D S))``.

    ``sw`` (B, N) sample weights, ``logw`` (B, K), ``tab`` (B, K, D P), ``active`` (B,) uint8
    (entries with 0 are skipped: zeros).  ``hard``: responsibilities 1 for the nearest of
    ``centres`` (B, K, D) (the initialisation) instead of the posterior.
    """
    B, N, D = x.shape
    K = logw.shape[1]
    NB = max(1, -(-N // BLOCK))
    out_ll = np.zeros((B, NB))
    out_st = np.zeros((B, NB, K, 1 + D * S))
    if centres is None:
        centres = np.zeros((1, 1, 1))
    kern = estep_kernel(family)
    _jit.call(
        kern,
        x,
        sw,
        logw,
        tab,
        active,
        centres,
        np.int64(1 if hard else 0),
        np.int64(BLOCK),
        np.int64(S),
        out_ll,
        out_st,
    )
    # block order: NumPy's reduction over axis 1 adds the blocks in a fixed order
    return out_ll.sum(axis=1), out_st.sum(axis=1)


def _lloyd_impl(pool, pw, centres, iters):
    B, M, D = pool.shape
    K = centres.shape[1]
    for b in prange(B):
        sums = np.zeros((K, D))
        cnt = np.zeros(K)
        for _ in range(iters):
            sums[:, :] = 0.0
            cnt[:] = 0.0
            for m in range(M):
                w = pw[b, m]
                if w == 0.0:
                    continue
                best = 0
                bd = _INF
                for k in range(K):
                    dd = 0.0
                    for j in range(D):
                        e = pool[b, m, j] - centres[b, k, j]
                        dd += e * e
                    if dd < bd:
                        bd = dd
                        best = k
                cnt[best] += w
                for j in range(D):
                    sums[best, j] += w * pool[b, m, j]
            changed = False
            for k in range(K):
                if cnt[k] > 0.0:
                    for j in range(D):
                        c = sums[k, j] / cnt[k]
                        if c != centres[b, k, j]:
                            changed = True
                            centres[b, k, j] = c
            if not changed:
                break


def lloyd(pool, pw, centres, iters):
    """Up to ``iters`` weighted Lloyd (k-means) steps on ``pool`` (B, M, D) from ``centres``
    (B, K, D, updated in place; a centre that loses its points stays), parallel over ``B``."""
    k = _kernels.get("lloyd")
    if k is None:
        with _lock:
            k = _kernels.get("lloyd")
            if k is None:
                f8 = types.float64
                sig = types.void(
                    types.Array(f8, 3, "A", readonly=True),
                    types.Array(f8, 2, "A", readonly=True),
                    types.Array(f8, 3, "C"),
                    types.int64,
                )
                with _jit.compiling_into(_cache_dir(None), width=False):
                    k = njit([sig], parallel=True, **_jit.NJIT_OPTIONS)(_lloyd_impl)
                _kernels["lloyd"] = k
    _jit.call(k, pool, pw, centres, np.int64(iters))
    return centres
