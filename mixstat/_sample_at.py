"""Rows ``start .. start + count`` of a big sample, drawn alone (``mixstat sample --chunk``).

Draws come from counter-based streams: element ``n`` of a call (``n = s B + b`` for
sample row ``s`` and batch entry ``b`` of ``B``) uses only the Philox counter of
position ``n`` under the call's key (see :mod:`mixstat._rng` and the ``offset``
argument of the ``sample`` and ``choose`` loops in :mod:`mixstat.kernels.cpu`).  So
the rows of ``dist.sample((S,), rng)`` in ``[start, start + count)`` are the draws of
positions ``start B ..`` under the same key, and :func:`sample_rows` computes them
without the others: a sample of ``10**9`` rows written chunk by chunk has the bits
of the single call.

Mixtures whose components have no kernel (nested mixtures) are sampled by
:meth:`MixtureSameFamily._sample_fallback` in steps of a fixed number of rows, each
step drawing all components under the next key of a NumPy Generator seeded by the
call's key; :func:`sample_rows` replays that: it skips the keys of the earlier steps
and draws the rows of each step it needs (recursively, at their offset in the step).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["sample_rows"]

#: keys skipped per NumPy call when seeking a fallback step (bounded memory)
_SKIP_BLOCK = 1 << 20


def sample_rows(dist, key, start, count):
    """``dist.sample((S,), rng)[start:start + count]`` for any ``S >= start + count``,
    where ``key = mixstat._rng.key_for(rng)`` (the one key of that call).

    Returns an array of shape ``(count, *batch_shape, *event_shape)`` (int64 for
    discrete distributions), on the distribution's device.

    Raises
    ------
    NotImplementedError
        For a distribution class whose ``sample`` is not one of those replayed here.
    """
    from .distributions import (
        Categorical,
        Distribution,
        Independent,
        KernelDistribution,
        LowRankMultivariateNormal,
        MixtureSameFamily,
        MultivariateNormal,
    )

    start, count = int(start), int(count)
    if start < 0 or count < 0:
        raise ValueError(f"sample_rows: start and count must be non-negative, got {start}, {count}")
    if isinstance(dist, Independent):
        return sample_rows(dist.base_dist, key, start, count)  # Independent.sample is the base's
    batch, event = tuple(dist.batch_shape), tuple(dist.event_shape)
    dev = dist._placement()
    if isinstance(dist, Categorical):
        return _choose(dist._cumw(), batch, key, start, count, dev)
    if isinstance(dist, MixtureSameFamily):
        cumw = dist.mixture_distribution._cumw()
        spec = dist.component_distribution._kernel_spec(dist._dtype)
        if spec is not None:
            return _draw(spec, batch, event, key, start, count, cumw, dev)
        if dev is not None:
            from . import _device as _dev

            with _dev.host_only():
                return _dev.to_device(np.asarray(_fallback(dist, key, start, count)))
        return _fallback(dist, key, start, count)
    if type(dist).sample is Distribution.sample and isinstance(
        dist, (KernelDistribution, MultivariateNormal, LowRankMultivariateNormal)
    ):
        spec = dist._kernel_spec(dist._dtype)
        if spec is not None:
            return _draw(spec, batch, event, key, start, count, None, dev)
    raise NotImplementedError(f"sample_rows: no offset draws for {type(dist).__name__}")


def _draw(spec, batch, event, key, start, count, cumw, dev):
    """:func:`mixstat.plan.sample` at row offset ``start``."""
    from . import plan

    be = plan.backend(dev)
    dtype = spec.table.dtype
    B = math.prod(batch)
    N = count * B
    odt = np.int64 if spec.discrete else dtype
    shape = (count,) + batch
    if spec.dim == 0:  # an empty event: nothing to draw
        return plan._dev_result(be, np.empty(shape + event, dtype=odt))
    out = be.empty((N, spec.dim), odt)
    index = be.empty((N if be.name == "cuda" else 0,), np.int64)
    if N:
        tab, cw = be.tables(
            ("sample", spec.family, id(spec.table), id(cumw), batch), lambda: plan._tables(spec, batch, cumw, 1.0)
        )
        be.launch("sample", spec.family, dtype, spec.dim, N, cw, tab, key[0], key[1], np.int64(start * B), out, index)
    return out.reshape(shape + event)


def _choose(cumw, batch, key, start, count, dev):
    """:func:`mixstat.plan.choose` at row offset ``start``."""
    from . import plan

    be = plan.backend(dev)
    B = math.prod(batch)
    N = count * B
    K = cumw.shape[-1]
    index = be.empty((N,), np.int64)
    if N:
        (cw,) = be.tables(("choose", id(cumw), batch), lambda: (plan._weights(cumw, batch, K),))
        be.launch("choose", None, cw.dtype, 0, N, cw, key[0], key[1], np.int64(start * B), index)
    return index.reshape((count,) + batch)


def _skip_keys(gen, n):
    """Advance ``gen`` past ``n`` calls of :func:`mixstat._rng.key_for` (one pair of words each)."""
    while n > 0:
        m = min(n, _SKIP_BLOCK)
        gen.integers(0, 2**32, size=(m, 2), dtype=np.uint64)
        n -= m


def _fallback(dist, key, start, count):
    """:meth:`MixtureSameFamily._sample_fallback` for rows ``start .. start + count`` only."""
    from ._rng import key_for
    from .distributions import mixture_same_family as msf

    batch, event = tuple(dist.batch_shape), tuple(dist.event_shape)
    idx = _choose(dist.mixture_distribution._cumw(), batch, key, start, count, None)
    K = dist._num_component
    comp = dist.component_distribution.expand(batch + (K,))
    B = math.prod(batch)
    step = max(1, msf._FALLBACK_ELEMENTS // max(B * K, 1))
    flat_idx = idx.reshape(count, B)
    gen = np.random.default_rng([int(key[0]), int(key[1]), 1])
    parts = []
    if count:
        first, last = start // step, (start + count - 1) // step
        _skip_keys(gen, first)
        for j in range(first, last + 1):
            kj = key_for(gen)
            s0 = j * step
            lo, hi = max(start, s0), min(start + count, s0 + step)
            draws = sample_rows(comp, kj, lo - s0, hi - lo).reshape((hi - lo, B, K) + event)
            sel = flat_idx[lo - start : hi - start].reshape((hi - lo, B, 1) + (1,) * len(event))
            parts.append(np.take_along_axis(draws, sel, axis=2)[:, :, 0])
    out = np.concatenate(parts, axis=0) if parts else np.empty((0, B) + event, dtype=sample_rows(comp, key, 0, 0).dtype)
    return out.reshape((count,) + batch + event)
