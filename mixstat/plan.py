"""The step between façade and kernels.

It resolves shapes once (``value -> (S, B, D)`` views, parameters ->
``(B, K, P)`` tables, log-weights -> ``(B, K)``, broadcasting by stride 0, not by
copying), allocates the output and calls one kernel.  Every check on the user's
input has happened in the façade before anything here runs.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import _jit
from ._rng import key_for

__all__ = ["KernelSpec", "log_prob", "cdf", "sample", "choose", "flat_value", "moments", "exp"]


class KernelSpec(NamedTuple):
    """How a distribution looks to the kernels.

    family : str
        Name of a module in :mod:`mixstat.kernels.families`.
    table : ndarray, shape ``(*batch, P)`` (or ``(*batch, K, P)`` for components)
        One packed parameter row per distribution.
    dim : int
        ``D``, the flat size of one event.
    discrete : bool
        Values are integers (samples are returned as int64).
    """

    family: str
    table: np.ndarray
    dim: int
    discrete: bool = False


def _prod(shape):
    return int(math.prod(shape))


def _out_shapes(vshape, batch_shape, event_shape):
    """Output shape and effective batch shape for a value of shape ``vshape`` (see :func:`flat_value`)."""
    ne = len(event_shape)
    vb = tuple(vshape[: len(vshape) - ne])
    out_shape = tuple(np.broadcast_shapes(vb, tuple(batch_shape)))
    nb = len(batch_shape)
    return out_shape, out_shape[len(out_shape) - nb:]


def flat_value(value, batch_shape, event_shape):
    """View ``value`` (already checked) as ``(S, B, D)``.

    Returns the view, the output shape and the effective batch shape: the
    trailing ``len(batch_shape)`` dims of the output.  These differ from
    ``batch_shape`` where the value stretches a batch dim of size 1; the
    parameter rows are then broadcast (by stride 0) to the effective batch.
    """
    out_shape, eff_batch = _out_shapes(value.shape, batch_shape, event_shape)
    nb = len(batch_shape)
    full = np.broadcast_to(value, out_shape + tuple(event_shape))
    B = _prod(eff_batch)
    S = _prod(out_shape[: len(out_shape) - nb])
    D = max(_prod(event_shape), 1)
    return full.reshape(S, B, D), out_shape, eff_batch


def _rows(table, batch_shape, K):
    """``(*b, K, P)`` parameter rows -> ``(B, K, P)`` with stride-0 broadcasting."""
    P = table.shape[-1]
    t = np.broadcast_to(table, tuple(batch_shape) + (K, P))
    return t.reshape(_prod(batch_shape), K, P)


def _weights(w, batch_shape, K):
    return np.broadcast_to(w, tuple(batch_shape) + (K,)).reshape(_prod(batch_shape), K)


def _tables(spec, batch_shape, weights, neutral):
    """Parameter rows ``(B, K, P)`` and per-component weights ``(B, K)``.

    A non-mixture (``weights is None``) is a mixture of one component whose
    weight is ``neutral`` (0 for log-weights, 1 for weights and cumulative weights).
    """
    dtype = spec.table.dtype
    if weights is None:
        tab = _rows(spec.table[..., None, :], batch_shape, 1)
        w = np.broadcast_to(np.full((1, 1), neutral, dtype=dtype), (tab.shape[0], 1))
    else:
        K = weights.shape[-1]
        tab = _rows(spec.table, batch_shape, K)
        w = _weights(weights.astype(dtype, copy=False), batch_shape, K)
    return tab, w


def _evaluate(op, spec, value, batch_shape, event_shape, weights, neutral, device=None):
    if device is not None:
        return _evaluate_cuda(op, spec, value, batch_shape, event_shape, weights, neutral, device)
    x, out_shape, batch_shape = flat_value(value, batch_shape, event_shape)
    tab, w = _tables(spec, batch_shape, weights, neutral)
    dtype = spec.table.dtype
    out = np.empty(x.shape[0] * x.shape[1], dtype=dtype)
    if out.size:
        _jit.call(_jit.get_kernel(op, spec.family, dtype, x.shape[2]), x, w, tab, out)
    return out.reshape(out_shape)


# -- CUDA ----------------------------------------------------------------------
# ``device`` is a :class:`mixstat._device.Placement`: the CUDA kernel module and the
# distribution's cache of device copies.  Parameter tables and weights are packed
# on the host by the same NumPy code as for the CPU, copied to the device once per
# (distribution, dtype, effective batch) and cached there; broadcast (stride-0)
# dims stay broadcast on the device.  Values already on the device are viewed as
# (S, B, D) without a copy where strides allow; host values are copied over once.

def _device_value(kc, value, batch_shape, event_shape):
    """``value`` (host ndarray or device array) as a device ``(S, B, D)`` view."""
    from . import _device

    if isinstance(value, np.ndarray):
        x, out_shape, eff = flat_value(value, batch_shape, event_shape)
        return kc.to_device(x), out_shape, eff
    out_shape, eff = _out_shapes(tuple(value.shape), batch_shape, event_shape)
    if _prod(out_shape) == 0:
        return None, out_shape, eff
    x = _device.flat_device_value(kc, value, out_shape, event_shape, len(batch_shape))
    if x is None:  # no strided view reaches this layout: one copy through the host
        x, out_shape, eff = flat_value(kc.to_host(value), batch_shape, event_shape)
        x = kc.to_device(x)
    return x, out_shape, eff


def _evaluate_cuda(op, spec, value, batch_shape, event_shape, weights, neutral, dev):
    kc = dev.kernels
    x, out_shape, eff = _device_value(kc, value, batch_shape, event_shape)
    dtype = spec.table.dtype
    N = _prod(out_shape)
    out = kc.empty((N,), dtype)
    if N:
        tab, w = dev.upload((op, spec.family, id(spec.table), id(weights), eff),
                            lambda: _tables(spec, eff, weights, neutral))
        kc.launch(op, spec.family, N, x, w, tab, out)
    return out.reshape(out_shape)


def moments(device, w, mu, var, batch_shape, event_shape):
    """Mixture mean and variance on the device (one CUDA kernel) from host weights ``(*b, K)``
    and component means and variances ``(*b, K, *event)``."""
    kc = device.kernels
    K = w.shape[-1]
    B = _prod(batch_shape)
    D = max(_prod(event_shape), 1)
    dtype = mu.dtype
    full = tuple(batch_shape) + (K,) + tuple(event_shape)
    wd = kc.to_device(_weights(w.astype(dtype, copy=False), batch_shape, K))
    mud = kc.to_device(np.broadcast_to(mu, full).reshape(B, K, D))
    vard = kc.to_device(np.broadcast_to(var.astype(dtype, copy=False), full).reshape(B, K, D))
    mean = kc.empty((B * D,), dtype)
    variance = kc.empty((B * D,), dtype)
    kc.launch("moments", "none", B * D, wd, mud, vard, mean, variance)
    shape = tuple(batch_shape) + tuple(event_shape)
    return mean.reshape(shape), variance.reshape(shape)


def exp(device, x):
    """``exp`` of a C-contiguous device array, on the device."""
    kc = device.kernels
    flat = x.reshape((_prod(x.shape),))
    out = kc.empty(flat.shape, x.dtype)
    kc.launch("exp", "none", flat.shape[0], flat, out)
    return out.reshape(tuple(x.shape))


def log_prob(spec: KernelSpec, value, batch_shape, event_shape, logw=None, device=None):
    """``logsumexp_k(logw[b, k] + logpdf_k(x[s, b]))`` (or the plain log-density).

    ``device``: None for the CPU, or a :class:`mixstat._device.Placement` (CUDA).
    """
    return _evaluate("log_prob", spec, value, batch_shape, event_shape, logw, 0.0, device)


def cdf(spec: KernelSpec, value, batch_shape, probs=None, device=None):
    """``sum_k w[b, k] F_k(x[s, b])`` for univariate families."""
    return _evaluate("cdf", spec, value, batch_shape, (), probs, 1.0, device)


def sample(spec: KernelSpec, sample_shape, batch_shape, event_shape, rng, cumw=None,
           return_index=False, device=None):
    """Ancestral draws: component first (binary search on ``cumw``), then that component only."""
    dtype = spec.table.dtype
    N = _prod(sample_shape) * _prod(batch_shape)
    if device is not None:
        return _sample_cuda(spec, sample_shape, batch_shape, event_shape, rng, cumw, return_index,
                            device, N)
    tab, cw = _tables(spec, batch_shape, cumw, 1.0)
    out = np.empty((N, spec.dim), dtype=dtype)
    # the kernel writes the component indices only when asked (an empty array)
    index = np.empty(N if return_index else 0, dtype=np.int64)
    key0, key1 = key_for(rng)
    if N:
        _jit.call(_jit.get_kernel("sample", spec.family, dtype), cw, tab, key0, key1, 0, out, index)
    shape = tuple(sample_shape) + tuple(batch_shape)
    out = out.reshape(shape + tuple(event_shape))
    if spec.discrete:
        out = out.astype(np.int64)
    if return_index:
        return out, index.reshape(shape)
    return out


def _sample_cuda(spec, sample_shape, batch_shape, event_shape, rng, cumw, return_index, dev, N):
    kc = dev.kernels
    # discrete families write int64 directly (the CPU casts a float buffer afterwards)
    out = kc.empty((N, spec.dim), np.int64 if spec.discrete else spec.table.dtype)
    index = kc.empty((N,), np.int64)
    key0, key1 = key_for(rng)
    if N:
        tab, cw = dev.upload(("sample", spec.family, id(spec.table), id(cumw), tuple(batch_shape)),
                             lambda: _tables(spec, batch_shape, cumw, 1.0))
        kc.launch("sample", spec.family, N, cw, tab, key0, key1, np.int64(0), out, index)
    shape = tuple(sample_shape) + tuple(batch_shape)
    out = out.reshape(shape + tuple(event_shape))
    if return_index:
        return out, index.reshape(shape)
    return out


def choose(cumw, sample_shape, batch_shape, rng, key=None, device=None):
    """Category indices ``(*sample_shape, *batch_shape)`` from cumulative weights ``(*b, K)``.

    ``key`` (a Philox key from :func:`mixstat._rng.key_for`) replaces ``rng`` when given.
    """
    B = _prod(batch_shape)
    N = _prod(sample_shape) * B
    K = cumw.shape[-1]
    key0, key1 = key_for(rng) if key is None else key
    if device is not None:
        kc = device.kernels
        index = kc.empty((N,), np.int64)
        if N:
            (cw,) = device.upload(("choose", id(cumw), tuple(batch_shape)),
                                  lambda: (_weights(cumw, batch_shape, K),))
            kc.launch("choose", "none", N, cw, key0, key1, np.int64(0), index)
        return index.reshape(tuple(sample_shape) + tuple(batch_shape))
    cw = _weights(cumw, batch_shape, K)
    index = np.empty(N, dtype=np.int64)
    if N:
        _jit.call(_jit.get_kernel("choose", "none", cw.dtype), cw, key0, key1, 0, index)
    return index.reshape(tuple(sample_shape) + tuple(batch_shape))


#: parameters with at least this many entries are checked and packed by the
#: parallel prep kernels (:mod:`mixstat.kernels.prep`); below, NumPy is as fast
PREP_MIN = 1 << 16


def _prep_ok(*arrays):
    a = arrays[0]
    return (a.size >= PREP_MIN and a.dtype in (np.float32, np.float64)
            and all(x.flags.c_contiguous and x.dtype == a.dtype and x.shape == a.shape for x in arrays))


def normalized_logits(param):
    """``(param - logsumexp(param, -1), bad)`` in one parallel pass, or None if not applicable.

    ``bad`` counts NaN / ``+inf`` entries and rows without a finite entry.
    """
    if param.ndim < 1 or not _prep_ok(param):
        return None
    p2 = param.reshape(-1, param.shape[-1])
    out = np.empty(p2.shape, dtype=param.dtype)
    bad = _jit.call(_jit.get_kernel("logits", "none", param.dtype), p2, out)
    return out.reshape(param.shape), int(bad)


def normal_table(loc, scale):
    """Normal rows ``(*shape, 4)`` for scalar ``loc``/``scale`` of one shape, or None.

    None when not applicable or when some entry is invalid (or a subnormal
    scale): the caller then takes its NumPy checks and packing.
    """
    if not _prep_ok(loc, scale):
        return None
    out = np.empty((loc.size, 4), dtype=loc.dtype)
    bad = _jit.call(_jit.get_kernel("normal_rows", "none", loc.dtype),
                    loc.reshape(-1, 1), scale.reshape(-1, 1), out)
    if bad:
        return None
    return out.reshape(loc.shape + (4,))
