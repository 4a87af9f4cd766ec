"""CUDA loops over points, batches and components; the only module that imports ``numba.cuda``.

The loops are the CPU loops of :mod:`mixstat.kernels.cpu` turned into
grid-stride loops: thread ``t`` of a grid of ``T`` threads handles flat points
``n = t, t + T, t + 2 T, ...``; point ``n`` is sample ``s = n // B`` of batch
``b = n % B``.  Each loop calls the same scalar functions as the CPU loops (the
families' ``logpdf``/``cdf``/``draw``, :func:`mixstat.kernels.philox.search`
and :func:`~mixstat.kernels.philox.uniform`), which numba-cuda compiles as
device functions, so the formulas exist once.  The random stream is the CPU's:
element ``g`` chooses its component with block 0 of its Philox counter and
draws from it with blocks 1, 2, ..., so a seed chooses the same components on
both devices and the values agree to rounding.

Kernels are built lazily (decorating with an explicit signature needs a
driver), one dispatcher per ``(op, family)``; numba-cuda compiles and caches
one specialisation per argument types (dtype) on first launch.  Importing this
module needs numba-cuda (or numba's simulator, ``NUMBA_ENABLE_CUDASIM=1``) but
no driver; launching needs a GPU or the simulator.
"""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np
from numba import config, cuda
from numba.core.errors import NumbaPerformanceWarning

try:  # numba-cuda has its own warning classes
    from numba.cuda.core.errors import NumbaPerformanceWarning as _CudaPerformanceWarning
except ImportError:  # numba's built-in (deprecated) CUDA target
    _CudaPerformanceWarning = NumbaPerformanceWarning

from .lse import lse_add, lse_end
from .philox import search, uniform

__all__ = [
    "SIMULATOR",
    "status",
    "get_kernel",
    "launch",
    "to_device",
    "to_host",
    "as_device",
    "view",
    "empty",
    "make",
    "OPS",
]

#: True when numba runs CUDA kernels in its Python simulator (``NUMBA_ENABLE_CUDASIM=1``).
SIMULATOR = bool(config.ENABLE_CUDASIM)


def _ops():
    from . import registry

    return registry.pairs("cuda")


#: every (op, family) pair :func:`make` builds (family None for family-free
#: loops), derived from :mod:`.registry`
OPS = _ops()


# -- loops (the CPU's in mixstat.kernels.cpu, in the same order) -------------------
def make_log_prob(h):
    uni = h.uni
    NPRE = h.npre
    pre1 = h.pre1
    logpdf1 = h.logpdf1
    logpdf = h.logpdf

    def log_prob(x, logw, tab, out):
        B = x.shape[1]
        D = x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        N = x.shape[0] * B
        for n in range(cuda.grid(1), N, cuda.gridsize(1)):
            s = n // B
            b = n - s * B
            # one pass, running maximum: the CPU's exact path, mixstat.kernels.lse
            m = -math.inf
            acc = 0.0
            for k in range(K):
                if uni:
                    r = 0.0
                    out_ = False  # a coordinate outside the support: -inf, even beside a +inf
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
                else:
                    r = logpdf(x, s, b, tab, k)
                m, acc = lse_add(m, acc, logw[b, k] + r)
            out[n] = lse_end(m, acc)

    return log_prob


def make_cdf(h):
    cdf1 = h.cdf1

    def mixture_cdf(x, w, tab, out):
        B = x.shape[1]
        K = w.shape[1]
        N = x.shape[0] * B
        for n in range(cuda.grid(1), N, cuda.gridsize(1)):
            s = n // B
            b = n - s * B
            acc = 0.0
            tot = 0.0
            for k in range(K):
                acc += w[b, k] * cdf1(x[s, b, 0], tab, b, k, 0)  # NaN x gives NaN
                tot += w[b, k]
            # divided by the sum of the weights as stored: cdf(+inf) is exactly 1
            out[n] = min(acc / tot, 1.0)

    return mixture_cdf


def make_terms(h):
    uni = h.uni
    NPRE = h.npre
    pre1 = h.pre1
    logpdf1 = h.logpdf1
    logpdf = h.logpdf

    def terms(x, logw, tab, out):
        B = x.shape[1]
        D = x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        N = x.shape[0] * B
        for n in range(cuda.grid(1), N, cuda.gridsize(1)):
            s = n // B
            b = n - s * B
            for k in range(K):
                if uni:
                    r = 0.0
                    out_ = False  # a coordinate outside the support: -inf, even beside a +inf
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
                else:
                    r = logpdf(x, s, b, tab, k)
                out[n, k] = logw[b, k] + r

    return terms


def make_sample(h):
    uni = h.uni
    draw1 = h.draw1
    draw = h.draw

    def sample(cumw, tab, key0, key1, offset, out, index):
        B = cumw.shape[0]
        K = cumw.shape[1]
        N = out.shape[0]
        D = out.shape[1]
        P = tab.shape[2] // max(D, 1)
        for n in range(cuda.grid(1), N, cuda.gridsize(1)):
            g = offset + n
            b = g % B
            k = 0
            if K > 1:
                k = search(cumw, b, uniform(key0, key1, g, 0))
            index[n] = k
            if uni:
                for j in range(D):
                    out[n, j] = draw1(key0, key1, g, 4 * j, tab, b, k, j * P)
            else:
                draw(key0, key1, g, tab, b, k, out, n)

    return sample


def make_choose():
    def choose(cumw, key0, key1, offset, index):
        B = cumw.shape[0]
        N = index.shape[0]
        for n in range(cuda.grid(1), N, cuda.gridsize(1)):
            g = offset + n
            index[n] = search(cumw, g % B, uniform(key0, key1, g, 0))

    return choose


def make_moments():
    """Mixture mean and variance per coordinate from component moments.

    ``w (B, K)`` weights, ``mu``/``var`` ``(B, K, D)`` component means and
    variances; ``mean``/``variance`` ``(B * D,)``.  Law of total variance:
    ``sum_k w_k (var_k + (mu_k - mean)^2)``.
    """

    def moments(w, mu, var, mean, variance):
        B = w.shape[0]
        K = w.shape[1]
        D = mu.shape[2]
        for n in range(cuda.grid(1), B * D, cuda.gridsize(1)):
            b = n // D
            j = n - b * D
            m = 0.0
            for k in range(K):
                if w[b, k] > 0:  # zero weights contribute nothing, even for infinite moments
                    m += w[b, k] * mu[b, k, j]
            v = 0.0
            for k in range(K):
                if w[b, k] > 0:
                    d = mu[b, k, j] - m
                    v += w[b, k] * (var[b, k, j] + d * d)
            mean[n] = m
            variance[n] = v

    return moments


def make_exp():
    def exp(x, out):
        for n in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
            out[n] = math.exp(x[n])

    return exp


_FAMILY_FREE = {"choose": lambda: make_choose(), "moments": lambda: make_moments(), "exp": lambda: make_exp()}
_FACTORIES = {"log_prob": make_log_prob, "cdf": make_cdf, "terms": make_terms, "sample": make_sample}


def make(op, family):
    """The uncompiled loop for ``op`` on ``family`` (a family name, or None) (a plain function)."""
    if family is None:
        return _FAMILY_FREE[op]()
    from . import registry
    from .cpu import Hooks

    if op in _FAMILY_FACTORIES:  # loops that need the family record itself
        return _FAMILY_FACTORIES[op](registry.family(family))
    return _FACTORIES[op](Hooks(registry.family(family)))


# -- building and launching -------------------------------------------------------
_lock = threading.Lock()
_kernels: dict = {}
_launch: dict = {}


def get_kernel(op: str, family: str):
    """The lazily built ``cuda.jit`` dispatcher for ``(op, family)``.

    numba-cuda compiles one specialisation per argument types (float32 or
    float64 tables and values) on first launch and keeps it.
    """
    key = (op, family)
    k = _kernels.get(key)
    if k is None:
        with _lock:
            k = _kernels.get(key)
            if k is None:
                k = _kernels[key] = cuda.jit(make(op, family))
    return k


def _config(n):
    """(blocks, threads): enough blocks to fill the device, grid-stride beyond that."""
    if "tpb" not in _launch:
        if SIMULATOR:
            # the simulator runs each thread as a Python thread: few threads,
            # two blocks so the grid-stride step is exercised
            _launch.update(tpb=8, max_blocks=2)
        else:
            dev = cuda.get_current_device()
            _launch.update(tpb=256, max_blocks=32 * dev.MULTIPROCESSOR_COUNT)
    tpb = _launch["tpb"]
    return max(1, min(_launch["max_blocks"], -(-n // tpb))), tpb


def launch(op: str, family: str, n: int, *args) -> None:
    """Run ``(op, family)`` over ``n`` flat points (grid-stride)."""
    if n <= 0:
        return
    blocks, tpb = _config(n)
    kernel = get_kernel(op, family)
    with warnings.catch_warnings():
        # small problems launch few blocks on purpose: no occupancy warning for each call
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        warnings.simplefilter("ignore", _CudaPerformanceWarning)
        kernel[blocks, tpb](*args)


# -- device arrays ---------------------------------------------------------------
def status():
    """``(available, reason)``: whether kernels can run here, and why not."""
    if SIMULATOR:
        return True, "numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1)"
    try:
        from numba.cuda.cudadrv.driver import driver

        ok = driver.is_available
        reason = driver.initialization_error
    except Exception as exc:  # pragma: no cover - depends on the installation
        return False, f"{type(exc).__name__}: {exc}"
    if ok:
        try:
            name = cuda.get_current_device().name
        except Exception as exc:
            return False, f"a CUDA driver was found but no usable device: {exc}"
        if isinstance(name, bytes):
            name = name.decode()
        return True, str(name)
    return False, "no CUDA driver or GPU: " + " ".join(str(reason).split())


def as_device(x):
    """A numba device array viewing ``x`` (zero-copy)."""
    if getattr(x, "__cuda_ndarray__", False):
        return x
    if SIMULATOR:
        raise TypeError(
            f"{type(x).__name__} exposes __cuda_array_interface__, but numba's CUDA "
            "simulator is active; pass a numba device array (cuda.to_device) instead"
        )
    return cuda.as_cuda_array(x)


def to_device(a):
    """Copy a host array to the device; broadcast (stride-0) dims stay broadcast."""
    a = np.asarray(a)
    try:
        return cuda.to_device(a)
    except ValueError:  # the repeated core of a broadcast array is not contiguous
        return cuda.to_device(np.ascontiguousarray(a))


def to_host(x) -> np.ndarray:
    """Copy a device array (numba, or any ``__cuda_array_interface__`` object) to the host."""
    return as_device(x).copy_to_host()


def empty(shape, dtype):
    """An uninitialised C-contiguous device array."""
    return cuda.device_array(tuple(int(s) for s in shape), dtype=np.dtype(dtype))


def view(x, shape, strides):
    """A view of device array ``x`` (same first element) with ``shape`` and byte ``strides``."""
    shape = tuple(int(s) for s in shape)
    strides = tuple(int(s) for s in strides)
    if SIMULATOR:
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

        return FakeCUDAArray(np.lib.stride_tricks.as_strided(x._ary, shape, strides))
    from numba.cuda.cudadrv.devicearray import DeviceNDArray

    return DeviceNDArray(shape, strides, x.dtype, gpu_data=x.gpu_data)


def synchronize() -> None:
    cuda.synchronize()


# -- posteriors over the components (the CPU's make_posterior / make_mode) ----------
def make_posterior(h):
    """Normalised log-responsibilities, one thread per point; the same rules as the CPU loop
    (:func:`mixstat.kernels.cpu.make_posterior`).  No scratch row: the first pass finds the
    point's largest term, the second evaluates the terms again and writes ``t_k - m`` (exact
    in float64) while summing the others' ``exp`` (compensated), the third subtracts the log."""
    from .cpu import _exact_term

    uni = h.uni
    term = _exact_term(h)

    def posterior(x, logw, tab, out):
        B = x.shape[1]
        D = x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        N = x.shape[0] * B
        for n in range(cuda.grid(1), N, cuda.gridsize(1)):
            s = n // B
            b = n - s * B
            m = -math.inf
            kmax = 0
            nan = False
            for k in range(K):
                r = -math.inf
                if logw[b, k] > -math.inf:
                    r = logw[b, k] + term(x, s, b, tab, k, D, P)
                nan = nan or r != r
                if r > m:
                    m = r
                    kmax = k
            if nan or m == -math.inf:
                for k in range(K):
                    out[n, k] = math.nan
                continue
            acc = 0.0
            cmp = 0.0
            cnt = 0
            for k in range(K):
                r = -math.inf
                if logw[b, k] > -math.inf:
                    r = logw[b, k] + term(x, s, b, tab, k, D, P)
                if m == math.inf:  # the infinite terms share the mass
                    if r == math.inf:
                        out[n, k] = 0.0
                        cnt += 1
                    else:
                        out[n, k] = -math.inf
                else:
                    d = r - m
                    out[n, k] = d
                    if k != kmax:
                        e = math.exp(d)
                        tt = acc + e
                        if acc >= e:
                            cmp += (acc - tt) + e
                        else:
                            cmp += (e - tt) + acc
                        acc = tt
            lg = math.log(cnt) if m == math.inf else math.log1p(acc + cmp)
            for k in range(K):
                out[n, k] = out[n, k] - lg

    return posterior


def make_mode(h):
    """The component of the largest term, int64, ``-1`` where the posterior is undefined
    (the CPU's :func:`mixstat.kernels.cpu.make_mode`, with the exact functions throughout)."""
    from .cpu import _exact_term

    uni = h.uni
    term = _exact_term(h)

    def mode(x, logw, tab, out):
        B = x.shape[1]
        D = x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        N = x.shape[0] * B
        for n in range(cuda.grid(1), N, cuda.gridsize(1)):
            s = n // B
            b = n - s * B
            m = -math.inf
            kk = -1
            for k in range(K):
                if logw[b, k] > -math.inf:
                    r = logw[b, k] + term(x, s, b, tab, k, D, P)
                    if r != r:
                        kk = -1
                        break
                    if r > m:
                        m = r
                        kk = k
            out[n] = kk

    return mode


_FACTORIES["posterior"] = make_posterior
_FACTORIES["mode"] = make_mode


# -- log cdf and log survival (the CPU's make_log_tail) ---------------------------
def make_log_tail(h, hook, other, both):
    """``logsumexp_k(logw[b, k] + hook_k(x[s, b]))``, ``hook`` ``"logcdf1"`` or ``"logsf1"``
    (attributes of the family's :class:`.cpu.Hooks` ``h``); above ``cpu.TAIL_NEAR_ONE``
    ``log1p(-c)`` from the ``other`` tail (where the family has ``both``); capped at 0, as
    on the CPU."""
    from .cpu import TAIL_NEAR_ONE

    fn = getattr(h, hook)
    fo = getattr(h, other)

    def log_tail(x, logw, tab, out):
        B = x.shape[1]
        K = logw.shape[1]
        N = x.shape[0] * B
        for n in range(cuda.grid(1), N, cuda.gridsize(1)):
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
            out[n] = r if not r > 0.0 else 0.0

    return log_tail


def _tail_loop(hook, other):
    def make_for(h):
        both = h.has_tails
        return make_log_tail(h, hook, other, both)

    return make_for


_FACTORIES["log_cdf"] = _tail_loop("logcdf1", "logsf1")
_FACTORIES["log_sf"] = _tail_loop("logsf1", "logcdf1")


# -- quantiles (the CPU's make_icdf: the same per-point solver) ---------------------
def make_icdf(h):
    """``out[n]``: the quantile at ``x[s, b, 0]`` of batch row ``b``'s mixture (float64),
    by :func:`mixstat.kernels.quantile.make_solver`, one point per thread (grid-stride)."""
    from .quantile import make_solver

    solve = make_solver(h, h.discrete)

    def icdf(x, w, tab, out):
        B = x.shape[1]
        K = w.shape[1]
        N = x.shape[0] * B
        for n in range(cuda.grid(1), N, cuda.gridsize(1)):
            s = n // B
            b = n - s * B
            out[n] = solve(x[s, b, 0], w, tab, b, K)

    return icdf


_FACTORIES["icdf"] = make_icdf


# -- gradients (the CPU's make_log_prob_grad) ---------------------------------------
def make_log_prob_grad(h, NP):
    """The CPU's :func:`mixstat.kernels.cpu.make_log_prob_grad`, one thread per point: a
    first pass over the components gives the log-sum-exp, a second evaluates each
    component's derivatives (the family's ``grad1`` / ``grad``) into the thread's block of
    ``work`` and adds ``cot r_k`` times them to the row sums with atomic adds (so the
    sums' order, and their last bits, vary from run to run on a GPU).  ``work`` holds
    ``W`` floats per thread of the launch (:func:`launch_grad`)."""
    uni = h.uni
    NPRE = h.npre
    NG = 1 + NP
    pre1 = h.pre1
    grad1 = h.grad1
    grad = h.grad

    def log_prob_grad(x, logw, tab, cot, zero_w, lp, gx, gw, gp, work):
        B = x.shape[1]
        D = x.shape[2]
        K = logw.shape[1]
        P = tab.shape[2] // D if uni else tab.shape[2]
        N = x.shape[0] * B
        W = D * NG if uni else 2 * D + D * (D + 1) // 2
        Q = gp.shape[2]
        want_x = gx.shape[0] > 0
        want_w = gw.shape[0] > 0
        want_p = gp.shape[0] > 0
        zw = zero_w != 0 and want_w
        t0 = cuda.grid(1)
        j0 = t0 * W
        for n in range(t0, N, cuda.gridsize(1)):
            s = n // B
            b = n - s * B
            m = -math.inf
            acc = 0.0
            for ph in range(2):
                if ph == 1:
                    tot = lse_end(m, acc)
                    lp[n] = tot
                    if not abs(tot) < math.inf:
                        if want_x:
                            for j in range(D):
                                gx[n * D + j] = math.nan
                        break
                    cn = cot[n]
                    if want_x:
                        for j in range(D):
                            gx[n * D + j] = 0.0
                for k in range(K):
                    lw = logw[b, k]
                    live = lw > -math.inf
                    if not (live or (zw and ph == 1)):
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
                            lj = grad1(v, p0, p1, tab, b, k, j * P, work, j0 + j * NG)
                            out_ = out_ or lj == -math.inf
                            nan = nan or v != v
                            r += lj
                        if out_ and not nan:
                            r = -math.inf
                    else:
                        r = grad(x, s, b, tab, k, work, j0)
                    if ph == 0:
                        m, acc = lse_add(m, acc, lw + r)
                        continue
                    if not r > -math.inf:
                        continue
                    if live:
                        rk = math.exp(lw + r - tot)
                        if rk == 0.0:
                            continue
                        wr = cn * rk
                        if want_w:
                            cuda.atomic.add(gw, (b, k), wr)
                        if want_x:
                            for j in range(D):
                                gx[n * D + j] += rk * work[j0 + (j * NG if uni else j)]
                        if want_p:
                            if uni:
                                for j in range(D):
                                    for q in range(NP):
                                        cuda.atomic.add(gp, (b, k, j * NP + q), wr * work[j0 + j * NG + 1 + q])
                            else:
                                for q in range(Q):
                                    cuda.atomic.add(gp, (b, k, q), wr * work[j0 + D + q])
                    else:
                        cuda.atomic.add(gw, (b, k), cn * math.exp(r - tot))
                if ph == 1 and want_x:
                    for j in range(D):
                        gx[n * D + j] *= cn

    return log_prob_grad


def _make_grad(fam):
    from .cpu import grad_hooks

    return make_log_prob_grad(*grad_hooks(fam))


# -- implicit reparameterisation (the CPU's make_sample_grad) ---------------------------
def make_sample_grad(fam):
    """The CPU's :func:`mixstat.kernels.cpu.make_sample_grad`, one thread per point: a first
    pass over the components gives ``log p``, ``log F`` and ``log S`` of the mixture
    (log-sum-exp), a second evaluates each component again (no per-thread scratch: ``K`` is
    not known when the kernel compiles) and adds ``c r_k xgrad1_k,i`` and ``c (F - F_k) / p``
    (from the lower tail below the mixture's median, the upper one above it) to the row sums
    with atomic adds, so the sums' order, and their last bits, vary from run to run on a GPU.
    Zero cotangents are skipped; zero weights add nothing to ``p``, ``F`` and ``gth``."""
    from .cpu import Hooks

    h = Hooks(fam)
    xgrad1 = fam.module.xgrad1
    logpdf1 = h.logpdf1
    logcdf1 = h.logcdf1
    logsf1 = h.logsf1
    pre1 = h.pre1
    NPRE = h.npre

    def sample_grad(x, logw, tab, cot, gth, gw):
        B = x.shape[1]
        K = logw.shape[1]
        NP = gth.shape[2]
        N = x.shape[0] * B
        for n in range(cuda.grid(1), N, cuda.gridsize(1)):
            s = n // B
            b = n - s * B
            c = cot[s, b, 0]
            if c == 0.0:
                continue
            v = x[s, b, 0]
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
                lwk = logw[b, k]
                if lwk > -math.inf:
                    m, a = lse_add(m, a, lwk + logpdf1(v, p0, p1, tab, b, k, 0))
                    mf, af = lse_add(mf, af, lwk + logcdf1(v, tab, b, k, 0))
                    ms, a_s = lse_add(ms, a_s, lwk + logsf1(v, tab, b, k, 0))
            logp = lse_end(m, a)
            logf = lse_end(mf, af)
            logs = lse_end(ms, a_s)
            lower = logf <= logs
            for k in range(K):
                lwk = logw[b, k]
                if lwk > -math.inf:
                    r = math.exp(lwk + logpdf1(v, p0, p1, tab, b, k, 0) - logp)
                    if r != 0.0:  # (NaN passes)
                        cr = c * r
                        for i in range(NP):
                            cuda.atomic.add(gth, (b, k, i), cr * xgrad1(v, tab, b, k, 0, i))
                if lower:
                    g = math.exp(logf - logp) - math.exp(logcdf1(v, tab, b, k, 0) - logp)
                else:
                    g = math.exp(logsf1(v, tab, b, k, 0) - logp) - math.exp(logs - logp)
                cuda.atomic.add(gw, (b, k), c * g)

    return sample_grad


_FAMILY_FACTORIES = {"log_prob_grad": _make_grad, "sample_grad": make_sample_grad}


#: threads of a gradient launch at most (each holds a block of ``W`` floats of scratch)
GRAD_THREADS = 1 << 16


def launch_grad(family, n, width, *args):
    """Run ``log_prob_grad`` on ``family`` over ``n`` points with a scratch block of ``width``
    floats per thread (allocated here for the launch's threads)."""
    if n <= 0:
        return
    blocks, tpb = _config(n)
    blocks = max(1, min(blocks, GRAD_THREADS // tpb))
    work = cuda.device_array(blocks * tpb * max(int(width), 1), dtype=np.float64)
    kernel = get_kernel("log_prob_grad", family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        warnings.simplefilter("ignore", _CudaPerformanceWarning)
        kernel[blocks, tpb](*args, work)


# -- a Normal mixture's gradients over raw per-row parameters (the CPU's kernels.rows_grad) ------
def make_normal_mixture_rows_grad():
    """The CPU's :func:`mixstat.kernels.rows_grad.make_normal_mixture_rows_grad`, one thread per
    row: :func:`~mixstat.kernels.rows_grad.row_exact` (float64 arithmetic, a running maximum) for
    every sample of the row, so a row's sums need no atomics.  No parameter count (the caller
    checks the parameters first)."""
    from .rows_grad import row_exact

    def normal_mixture_rows_grad(x, logits, loc, scale, cot, lp, gx, gl, gm, gs):
        B = x.shape[1]
        for b in range(cuda.grid(1), B, cuda.gridsize(1)):
            row_exact(b, x, cot, logits, loc, scale, lp, gx, gl, gm, gs)

    return normal_mixture_rows_grad


_FAMILY_FREE["normal_mixture_rows_grad"] = make_normal_mixture_rows_grad


# -- a Normal mixture's log-density over raw per-row parameters (the CPU's kernels.rows) ---------
def make_normal_mixture_rows():
    """The CPU's :func:`mixstat.kernels.rows.make_normal_mixture_rows`, one thread per point
    ``n`` (sample ``n // B`` of row ``n % B``): :func:`~mixstat.kernels.rows.point_exact`
    (float64, a running maximum), the CPU's redo of the points its SIMD loop does not take.
    ``x`` is ``(S, B, 1)``; ``normalise`` as on the CPU (1: raw logits).  The caller checks
    the parameters first."""
    from .rows import point_exact

    def normal_mixture_rows(x, logits, loc, scale, normalise, out):
        S = x.shape[0]
        B = x.shape[1]
        for n in range(cuda.grid(1), S * B, cuda.gridsize(1)):
            s = n // B
            b = n - s * B
            out[n] = point_exact(x[s, b, 0], b, logits, loc, scale, normalise)

    return normal_mixture_rows


_FAMILY_FREE["normal_mixture_rows"] = make_normal_mixture_rows
