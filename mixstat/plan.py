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

__all__ = ["KernelSpec", "log_prob", "cdf", "sample", "choose", "flat_value"]


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


def flat_value(value, batch_shape, event_shape):
    """View ``value`` (already checked) as ``(S, B, D)``.

    Returns the view, the output shape and the effective batch shape: the
    trailing ``len(batch_shape)`` dims of the output.  These differ from
    ``batch_shape`` where the value stretches a batch dim of size 1; the
    parameter rows are then broadcast (by stride 0) to the effective batch.
    """
    ne = len(event_shape)
    vb = value.shape[: value.ndim - ne]
    out_shape = tuple(np.broadcast_shapes(vb, batch_shape))
    nb = len(batch_shape)
    eff_batch = out_shape[len(out_shape) - nb:]
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


def _evaluate(op, spec, value, batch_shape, event_shape, weights, neutral):
    x, out_shape, batch_shape = flat_value(value, batch_shape, event_shape)
    tab, w = _tables(spec, batch_shape, weights, neutral)
    dtype = spec.table.dtype
    out = np.empty(x.shape[0] * x.shape[1], dtype=dtype)
    if out.size:
        _jit.call(_jit.get_kernel(op, spec.family, dtype, x.shape[2]), x, w, tab, out)
    return out.reshape(out_shape)


def log_prob(spec: KernelSpec, value, batch_shape, event_shape, logw=None):
    """``logsumexp_k(logw[b, k] + logpdf_k(x[s, b]))`` (or the plain log-density)."""
    return _evaluate("log_prob", spec, value, batch_shape, event_shape, logw, 0.0)


def cdf(spec: KernelSpec, value, batch_shape, probs=None):
    """``sum_k w[b, k] F_k(x[s, b])`` for univariate families."""
    return _evaluate("cdf", spec, value, batch_shape, (), probs, 1.0)


def sample(spec: KernelSpec, sample_shape, batch_shape, event_shape, rng, cumw=None,
           return_index=False):
    """Ancestral draws: component first (binary search on ``cumw``), then that component only."""
    dtype = spec.table.dtype
    N = _prod(sample_shape) * _prod(batch_shape)
    tab, cw = _tables(spec, batch_shape, cumw, 1.0)
    out = np.empty((N, spec.dim), dtype=dtype)
    index = np.empty(N, dtype=np.int64)
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


def choose(cumw, sample_shape, batch_shape, rng, key=None):
    """Category indices ``(*sample_shape, *batch_shape)`` from cumulative weights ``(*b, K)``.

    ``key`` (a Philox key from :func:`mixstat._rng.key_for`) replaces ``rng`` when given.
    """
    B = _prod(batch_shape)
    N = _prod(sample_shape) * B
    K = cumw.shape[-1]
    cw = _weights(cumw, batch_shape, K)
    index = np.empty(N, dtype=np.int64)
    key0, key1 = key_for(rng) if key is None else key
    if N:
        _jit.call(_jit.get_kernel("choose", "none", cw.dtype), cw, key0, key1, 0, index)
    return index.reshape(tuple(sample_shape) + tuple(batch_shape))
