"""CUDA kernels of the fused EM step (``fit_mixture(..., device="cuda")``).

The CPU's fused E-step (:mod:`._gaussian_kernels`, :mod:`._kernel`) as CUDA
grid-stride loops over the same scalar functions: the families' ``logpdf1`` /
``pre1`` and the statistics hooks ``SUFF`` of :mod:`._kernel` are compiled by
numba-cuda as device functions, and the Gaussian kernel evaluates the same
``cst_k - |(x - mu_k) U_k|^2 / 2`` (or ``(x - mu_k) * pd_k`` per coordinate) and
accumulates the same centred statistics in the same layout
(``[loglik | nk | sx | sxx]``, :mod:`._gaussian_kernels`).  The ``N x K``
responsibilities are never stored: a thread keeps the ``K`` terms of its
current point in its column of a ``(K, threads)`` scratch array.

Determinism: each batch entry's points are cut into *slots* of ``PTS``
consecutive points (a constant, not a function of the launch); one thread sums
a slot's statistics point by point, in float64, into its own column of the
partial sums ``part`` ``(B, L, slots)`` (adjacent threads write adjacent
addresses), and :func:`make_reduce` adds each entry's slots in slot order, one
thread per ``(entry, statistic)``.  No atomics: a fit has the same bits at any
launch configuration.  It agrees with the CPU's fit to rounding, not bit for
bit (the CPU sums in tiles and blocks, and uses its polynomial ``exp``/``log``;
the GPU calls libdevice's).

Kernels are built lazily, one ``cuda.jit`` dispatcher per kernel (the Gaussian
step, the reduction, one fused step per scalar family of :data:`._kernel.SUFF`);
:data:`KERNELS` lists them and :func:`signature` gives each one's float64
argument types (``tests/cuda_ptx.py`` compiles every one to PTX from these).
Importing this module imports numba-cuda (through :mod:`mixstat.kernels.cuda`,
the library's one importer of ``numba.cuda``).
"""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np

from .. import _jit
from ..kernels import cuda as kc
from ..kernels.cuda import cuda
from ._kernel import SUFF, _no_pre

__all__ = ["PTS", "KERNELS", "make", "signature", "gaussian_estep", "scalar_estep"]

#: points per slot (one thread's share of a batch entry's points; fixed, so the sums do not
#: depend on the launch configuration)
PTS = 128
FULL, TIED, DIAG = 0, 1, 2
_INF = math.inf


def make_gaussian():
    """The Gaussian E-step: ``part[b, :, s]`` the statistics of slot ``s`` of entry ``b``.

    Arguments as the CPU's :func:`._gaussian_kernels.estep` (``x`` ``(B, N, D)``, ``w``
    ``(B, N)`` or ``(B, 0)``, ``means``, ``U``, ``pd``, ``cst``, ``center``, ``active``,
    ``mode``), then ``pts`` (points per slot), the scratch ``work`` ``(K, B * slots)`` and
    ``part`` ``(B, L, slots)``.
    """

    def gaussian_estep(x, w, means, U, pd, cst, center, active, mode, pts, work, part):
        B = x.shape[0]
        N = x.shape[1]
        D = x.shape[2]
        K = means.shape[1]
        L = part.shape[1]
        SL = part.shape[2]
        has_w = w.shape[1] > 0
        TR = D * (D + 1) // 2
        o_sx = 1 + K
        o_ss = o_sx + K * D
        for t in range(cuda.grid(1), B * SL, cuda.gridsize(1)):
            b = t // SL
            s = t - b * SL
            for c in range(L):
                part[b, c, s] = 0.0
            if active[b] == 0:
                continue
            for n in range(s * pts, min(N, (s + 1) * pts)):
                pw = w[b, n] if has_w else 1.0
                if pw == 0.0:
                    continue  # a zero weight contributes exactly nothing
                m = -_INF
                for k in range(K):
                    q = 0.0
                    if mode == DIAG:
                        for j in range(D):
                            y = (x[b, n, j] - means[b, k, j]) * pd[b, k, j]
                            q += y * y
                    else:
                        for j in range(D):
                            y = 0.0
                            for i in range(j + 1):
                                y += (x[b, n, i] - means[b, k, i]) * U[b, k, i, j]
                            q += y * y
                    v = cst[b, k] - 0.5 * q
                    work[k, t] = v
                    if v > m:
                        m = v
                tot = 0.0
                for k in range(K):
                    e = math.exp(work[k, t] - m)
                    work[k, t] = e
                    tot += e
                part[b, 0, s] += pw * (m + math.log(tot))
                f = pw / tot
                for k in range(K):
                    r = work[k, t] * f
                    part[b, 1 + k, s] += r
                    for j in range(D):
                        d = x[b, n, j] - center[b, k, j]
                        rd = r * d
                        part[b, o_sx + k * D + j, s] += rd
                        if mode == DIAG:
                            part[b, o_ss + k * D + j, s] += rd * d
                        elif mode == FULL:
                            base = o_ss + k * TR + j * (j + 1) // 2
                            for i in range(j + 1):
                                part[b, base + i, s] += rd * (x[b, n, i] - center[b, k, i])
                if mode == TIED:
                    for j in range(D):
                        rd = pw * (x[b, n, j] - center[b, 0, j])
                        base = o_ss + j * (j + 1) // 2
                        for i in range(j + 1):
                            part[b, base + i, s] += rd * (x[b, n, i] - center[b, 0, i])

    return gaussian_estep


def make_scalar(family):
    """The fused E-step of scalar family ``family``: ``part[b, :, s]`` is
    ``[loglik, (nk, D x S statistics) per component]`` of slot ``s`` of entry ``b`` (the CPU's
    :func:`._kernel.run_estep` layout with the log-likelihood in front).

    Arguments: ``x`` ``(B, N, D)``, ``sw`` ``(B, N)``, ``logw`` ``(B, K)``, ``tab``
    ``(B, K, D P)``, ``active`` ``(B,)`` uint8, ``S``, ``pts``, ``work`` ``(K, B * slots)``,
    ``part`` ``(B, 1 + K (1 + D S), slots)``.
    """
    from ..kernels import registry

    mod = registry.family(family).module
    logpdf1 = mod.logpdf1
    pre1 = mod.pre1 if getattr(mod, "NPRE", 0) else _no_pre
    # the statistics hook as a device function of its own: its ``inline="always"`` (IR
    # inlining, for the CPU loops) fails to lower in numba-cuda
    suff1 = cuda.jit(device=True)(SUFF[family])

    def fused_estep(x, sw, logw, tab, active, S, pts, work, part):
        B = x.shape[0]
        N = x.shape[1]
        D = x.shape[2]
        K = logw.shape[1]
        L = part.shape[1]
        SL = part.shape[2]
        W = 1 + D * S
        P = tab.shape[2] // D if D > 0 else 0
        for t in range(cuda.grid(1), B * SL, cuda.gridsize(1)):
            b = t // SL
            s = t - b * SL
            for c in range(L):
                part[b, c, s] = 0.0
            if active[b] == 0:
                continue
            acc = part[b, :, s]
            ll = 0.0
            for n in range(s * pts, min(N, (s + 1) * pts)):
                wt = sw[b, n]
                if wt == 0.0:
                    continue  # a zero weight contributes exactly nothing
                m = -_INF
                for k in range(K):
                    v = logw[b, k]
                    if v > -_INF:
                        for j in range(D):
                            xv = x[b, n, j]
                            p0, p1 = pre1(xv)
                            v += logpdf1(xv, p0, p1, tab, b, k, j * P)
                    work[k, t] = v
                    if v > m:
                        m = v
                if not m > -_INF:
                    ll += -_INF  # no component gives the point a positive density
                    continue
                tot = 0.0
                for k in range(K):
                    e = math.exp(work[k, t] - m)
                    work[k, t] = e
                    tot += e
                ll += wt * (m + math.log(tot))
                f = wt / tot
                for k in range(K):
                    r = work[k, t] * f
                    if r == 0.0:
                        continue  # a zero responsibility contributes exactly nothing
                    base = 1 + k * W
                    acc[base] += r
                    for j in range(D):
                        xv = x[b, n, j]
                        p0, p1 = pre1(xv)
                        suff1(xv, p0, p1, r, tab, b, k, j * P, acc, base + 1 + j * S)
            acc[0] = ll

    return fused_estep


def make_reduce():
    """``out[b, l] = sum over s of part[b, l, s]``, in slot order, one thread per ``(b, l)``."""

    def reduce_slots(part, out):
        B = part.shape[0]
        L = part.shape[1]
        SL = part.shape[2]
        for i in range(cuda.grid(1), B * L, cuda.gridsize(1)):
            b = i // L
            c = i - b * L
            a = 0.0
            for s in range(SL):
                a += part[b, c, s]
            out[b, c] = a

    return reduce_slots


#: every kernel of this module: ``(name, family)`` (family None for the family-free ones)
KERNELS = [("gaussian_estep", None), ("reduce", None)] + [("fused_estep", f) for f in sorted(SUFF)]


def make(name, family=None):
    """The uncompiled kernel ``name`` (a plain function, named after its family)."""
    if name == "gaussian_estep":
        fn = make_gaussian()
    elif name == "reduce":
        fn = make_reduce()
    elif name == "fused_estep":
        fn = make_scalar(family)
    else:
        raise KeyError(name)
    return _jit.unique_name(fn, "cuda", family)


def signature(name, family=None):
    """The float64 argument types of kernel ``name`` (the ones :func:`gaussian_estep` and
    :func:`scalar_estep` launch with float64 data)."""
    from numba import types

    f8, i64 = types.float64, types.int64

    def A(nd, dt=f8):
        return types.Array(dt, nd, "A")

    def C(nd):
        return types.Array(f8, nd, "C")

    u1 = A(1, types.uint8)
    if name == "gaussian_estep":
        return (A(3), A(2), A(3), A(4), A(3), A(2), A(3), u1, i64, i64, C(2), C(3))
    if name == "reduce":
        return (C(3), C(2))
    if name == "fused_estep":
        return (A(3), A(2), A(2), A(3), u1, i64, i64, C(2), C(3))
    raise KeyError(name)


_lock = threading.Lock()
_kernels: dict = {}


def _get(name, family=None):
    key = (name, family)
    k = _kernels.get(key)
    if k is None:
        with _lock:
            k = _kernels.get(key)
            if k is None:
                k = _kernels[key] = cuda.jit(make(name, family))
    return k


def _launch(kernel, n, *args):
    blocks, tpb = kc._config(n)
    with warnings.catch_warnings():
        # small problems launch few blocks on purpose: no occupancy warning for each call
        warnings.simplefilter("ignore", kc.NumbaPerformanceWarning)
        warnings.simplefilter("ignore", kc._CudaPerformanceWarning)
        kernel[blocks, tpb](*args)


def _slots(N):
    return max(1, -(-N // PTS))


def _reduced(part):
    """The slots of ``part`` (device, ``(B, L, slots)``) added in slot order: host ``(B, L)``."""
    B, L = part.shape[0], part.shape[1]
    out = kc.empty((B, L), np.float64)
    _launch(_get("reduce"), B * L, part, out)
    return kc.to_host(out)


def _dev(a, dtype=np.float64):
    return kc.to_device(np.ascontiguousarray(a, dtype=dtype))


def gaussian_estep(xd, wd, means, U, pd, cst, center, active, mode, L):
    """The Gaussian statistics ``(B, L)`` (host float64) of device data ``xd`` ``(B, N, D)``
    (``wd`` ``(B, N)`` device weights or None), host parameters as
    :func:`._gaussian.estep_batch`'s."""
    B, N = xd.shape[0], xd.shape[1]
    K = means.shape[1]
    SL = _slots(N)
    part = kc.empty((B, L, SL), np.float64)
    work = kc.empty((K, B * SL), np.float64)
    w = wd if wd is not None else _dev(np.ones((B, N)))
    act = np.ones(B, np.uint8) if active is None else np.asarray(active, np.uint8)
    # the argument the mode does not read (U for diagonal models, pd for full ones) is empty on
    # the host: one element on the device instead (no zero-size device allocations)
    params = [_dev(a if a.size else np.zeros((1,) * a.ndim)) for a in (means, U, pd, cst, center)]
    _launch(
        _get("gaussian_estep"), B * SL, xd, w, *params, _dev(act, np.uint8), np.int64(mode), np.int64(PTS), work, part
    )
    return _reduced(part)


def scalar_estep(family, xd, wd, logw, tab, active, S):
    """``(loglik (B,), sums (B, K, 1 + D S))`` of device data ``xd`` ``(B, N, D)`` float64 with
    device weights ``wd`` ``(B, N)``: the CPU's :func:`._kernel.run_estep` (without the hard
    initial pass)."""
    B, N, D = xd.shape
    K = logw.shape[1]
    SL = _slots(N)
    W = 1 + D * S
    part = kc.empty((B, 1 + K * W, SL), np.float64)
    work = kc.empty((K, B * SL), np.float64)
    _launch(
        _get("fused_estep", family),
        B * SL,
        xd,
        wd,
        _dev(logw),
        _dev(tab),
        _dev(np.asarray(active, np.uint8), np.uint8),
        np.int64(S),
        np.int64(PTS),
        work,
        part,
    )
    out = _reduced(part)
    return out[:, 0], out[:, 1:].reshape(B, K, W)


class DeviceData:
    """A source's data on the GPU for the EM passes: an in-memory array is copied once (as
    ``(B, N, D)`` float64, with its ``(B, N)`` weights); other sources (memory maps, chunks,
    dask) are copied chunk by chunk on every pass."""

    def __init__(self, src):
        self.src = src
        self._whole = None

    def sum_over(self, fn, *args):
        """``sum over the chunks of fn(xd, wd, *args)`` (``xd``, ``wd`` device arrays; host
        results added in chunk order)."""
        if self.src.kind == "array":
            if self._whole is None:
                ((_, x, w),) = list(self.src.chunks())
                self._whole = (_dev(x), _dev(w))
            return fn(*self._whole, *args)
        total = None
        for _, x, w in self.src.chunks():
            r = fn(_dev(x), _dev(w), *args)
            total = r if total is None else tuple(a + b for a, b in zip(total, r))
        return total
