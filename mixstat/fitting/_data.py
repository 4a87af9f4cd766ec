"""Data sources for fitting: in-memory arrays, memory-mapped ``.npy`` files, and chunks.

A source presents the data as ``(B, n, D)`` float64 chunks along the point axis
(``B`` the flattened batch, ``D`` the flattened event) with their sample weights,
and can be read any number of times (one pass per EM iteration).

* An in-memory array is one chunk (a view where it is float64 already).
* A ``numpy.memmap`` (``np.load(path, mmap_mode="r")``) is read in chunks of
  about ``CHUNK_BYTES`` that are copied out; after each one the mapping's pages are
  dropped (``madvise(MADV_DONTNEED)``), so the resident memory stays about one chunk.
* A callable returning an iterable of chunks, or a re-iterable object (a list, an
  object whose ``__iter__`` starts over), yields arrays ``(*batch, n_i, *event)``.
* A ``dask.array.Array`` is read block by block along the point axis (the batch and
  event dims are made one chunk each): :meth:`Source.sum_over` computes a per-block
  function in one task per block and adds the results by a tree reduction, in one
  compute (one per EM iteration); :meth:`Source.map_chunks` returns a per-block result
  of every block (the validation pass, one compute); :meth:`Source.rows` gathers the
  initialisation's subsample (one compute).
"""

from __future__ import annotations

import math

import numpy as np

from .._array import fmt_shape

__all__ = ["Source", "make_source", "CHUNK_BYTES"]

#: bytes of float64 data per chunk read from a memory map
CHUNK_BYTES = 1 << 23


def _as_float(a, name):
    a = np.asarray(a)
    if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating):
        return a
    raise TypeError(f"fit_mixture: {name} must hold real numbers, got dtype {a.dtype}")


class Source:
    """A re-readable sequence of ``(lo, x (B, n, D), w (B, n))`` chunks (see the module notes)."""

    def __init__(self, kind, obj, event_ndim, sample_weight):
        self.kind = kind
        self.obj = obj
        self.event_ndim = event_ndim
        self.sample_weight = sample_weight
        self.batch_shape = None
        self.event_shape = None
        self.N = None
        self.in_dtype = None
        if kind != "chunks":
            self._set_shape(obj.shape, obj.dtype, "x")
            self.N = obj.shape[len(self.batch_shape)]
        if kind == "dask":
            nb = len(self.batch_shape)
            self.obj = obj.rechunk({a: -1 for a in range(obj.ndim) if a != nb})
        if sample_weight is not None and kind != "chunks":
            self._check_weight_shape()

    # -- shapes ---------------------------------------------------------------------
    def _set_shape(self, shape, dtype, what):
        ne = self.event_ndim
        if len(shape) < 1 + ne:
            raise ValueError(
                f"fit_mixture: {what} of shape {fmt_shape(shape)} needs at least {1 + ne} "
                f"dim(s): (*batch, N{', *event' if ne else ''})"
            )
        batch = tuple(shape[: len(shape) - 1 - ne])
        event = tuple(shape[len(shape) - ne :])
        if self.batch_shape is None:
            self.batch_shape, self.event_shape = batch, event
            self.in_dtype = np.dtype(dtype)
        elif batch != self.batch_shape or event != self.event_shape:
            raise ValueError(
                f"fit_mixture: chunk of shape {fmt_shape(shape)} does not match the first chunk's "
                f"batch {fmt_shape(self.batch_shape)} and event {fmt_shape(self.event_shape)}"
            )

    @property
    def B(self):
        return math.prod(self.batch_shape)

    @property
    def D(self):
        return math.prod(self.event_shape)

    def _check_weight_shape(self):
        w = np.asarray(self.sample_weight) if not isinstance(self.sample_weight, np.ndarray) else self.sample_weight
        want = self.batch_shape + (self.N,)
        try:
            np.broadcast_shapes(w.shape, want)
            ok = len(w.shape) <= len(want) and np.broadcast_shapes(w.shape, want) == want
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"fit_mixture: sample_weight of shape {fmt_shape(w.shape)} does not broadcast to "
                f"(*batch, N) = {fmt_shape(want)}"
            )
        self.sample_weight = w

    # -- reading --------------------------------------------------------------------
    def _weights(self, lo, hi):
        B = self.B
        if self.sample_weight is None:
            return np.broadcast_to(np.float64(1.0), (B, hi - lo))
        w = np.broadcast_to(self.sample_weight, self.batch_shape + (self.N,))[..., lo:hi]
        return np.ascontiguousarray(w, dtype=np.float64).reshape(B, hi - lo)

    def chunks(self):
        """Yield ``(lo, x, w)``: rows ``lo ..`` of the data as ``(B, n, D)`` float64 and their weights."""
        if self.kind == "chunks":
            yield from self._chunks()
            return
        B, D = self.B, self.D
        if self.kind == "array":
            a = self.obj
            x = np.asarray(a, dtype=np.float64).reshape(B, self.N, D)
            yield 0, x, self._weights(0, self.N)
            return
        if self.kind == "dask":
            import dask

            for lo, block in self._dask_blocks():
                (x,) = dask.compute(block)
                n = x.shape[len(self.batch_shape)]
                yield lo, np.asarray(x, dtype=np.float64).reshape(B, n, D), self._weights(lo, lo + n)
            return
        if self.kind == "memmap":
            a = self.obj
            nb = len(self.batch_shape)
            rows = max(1, CHUNK_BYTES // max(1, 8 * B * D))
            mm = getattr(a, "_mmap", None)
            for lo in range(0, self.N, rows):
                hi = min(self.N, lo + rows)
                part = a[(slice(None),) * nb + (slice(lo, hi),)]
                x = np.array(part, dtype=np.float64, order="C").reshape(B, hi - lo, D)
                del part
                if mm is not None:
                    _drop_pages(mm)
                yield lo, x, self._weights(lo, hi)
            return

    def sum_over(self, fn, *args):
        """``sum over the chunks of fn(x, w, *args)``: a tuple of arrays, added in chunk order
        (for a dask array: one task per block, a tree reduction, one compute).  ``w`` is
        None for unit weights."""
        if self.kind == "dask":
            return self._dask_sum(fn, args)
        total = None
        unit = self.sample_weight is None
        for _, x, w in self.chunks():
            r = fn(x, None if unit else w, *args)
            total = r if total is None else tuple(a + b for a, b in zip(total, r))
        return total

    def map_chunks(self, fn, *args):
        """``[(lo, fn(x, w, *args)) for each chunk]`` (for a dask array: one task per block, one
        compute)."""
        if self.kind == "dask":
            import dask

            nb = len(self.batch_shape)
            shared = dask.delayed(args, pure=True, traverse=False)
            los, parts = [], []
            lo = 0
            for n, block in zip(self.obj.chunks[nb], self.obj.to_delayed().reshape(-1)):
                los.append(lo)
                parts.append(dask.delayed(_block_call, pure=True)(fn, block, self.B, n, self.D, None, shared))
                lo += n
            return list(zip(los, dask.compute(*parts)))
        return [(lo, fn(x, w, *args)) for lo, x, w in self.chunks()]

    def rows(self, idx):
        """Rows ``idx`` (sorted int64) of every batch entry, ``(B, len(idx), D)`` float64, and their
        weights ``(B, len(idx))``."""
        if self.kind == "dask":
            import dask

            nb = len(self.batch_shape)
            (x,) = dask.compute(self.obj[(slice(None),) * nb + (idx,)])
            x = np.asarray(x, dtype=np.float64).reshape(self.B, len(idx), self.D)
        else:
            x = np.empty((self.B, len(idx), self.D))
            for lo, c, _ in self.chunks():
                sel = (idx >= lo) & (idx < lo + c.shape[1])
                if sel.any():
                    x[:, sel] = c[:, idx[sel] - lo]
        w = (
            np.broadcast_to(np.float64(1.0), (self.B, len(idx)))
            if self.sample_weight is None
            else np.broadcast_to(self.sample_weight, self.batch_shape + (self.N,))[..., idx].reshape(self.B, len(idx))
        )
        return x, w

    def _dask_blocks(self):
        """``(lo, block)`` along the point axis of the (rechunked) dask array."""
        nb = len(self.batch_shape)
        blocks = self.obj.to_delayed().reshape(-1)
        lo = 0
        for n, block in zip(self.obj.chunks[nb], blocks):
            yield lo, block
            lo += n

    def _dask_sum(self, fn, args):
        weights = None if self.sample_weight is None else self._weights
        return dask_sum(self.obj, len(self.batch_shape), fn, args, self.B, self.D, weights)

    def _chunks(self):
        lo = 0
        first = self.N is None
        for c in self._iterate():
            c = _as_float(c, "a chunk of x")
            self._set_shape(c.shape, c.dtype, "a chunk of x")
            n = c.shape[len(self.batch_shape)]
            B, D = self.B, self.D
            if not first and lo + n > self.N:
                raise ValueError(
                    f"fit_mixture: the chunks of x changed between passes (more rows than the first pass's {self.N})"
                )
            x = np.asarray(c, dtype=np.float64).reshape(B, n, D)
            if first:
                yield lo, x, None
            else:
                yield lo, x, self._weights(lo, lo + n)
            lo += n
        if first:
            self.N = lo
            if self.sample_weight is not None:
                self._check_weight_shape()
        elif lo != self.N:
            raise ValueError(
                f"fit_mixture: the chunks of x changed between passes ({lo} rows, the first pass had {self.N})"
            )

    def _iterate(self):
        obj = self.obj
        it = obj() if callable(obj) else obj
        return iter(it)


def dask_sum(x, axis, fn, args, B, D, weights=None):
    """``sum over the blocks of x along axis of fn(block, w, *args)`` in one compute: one task per
    block (``block`` as ``(B, n, D)`` float64, ``w`` = ``weights(lo, hi)`` or None), a binary
    tree of additions (results are tuples of arrays); ``args`` are one key of the graph (shipped
    once to each worker).  ``x`` has one chunk along every other axis."""
    import dask

    shared = dask.delayed(args, pure=True, traverse=False)
    parts = []
    lo = 0
    for n, block in zip(x.chunks[axis], x.to_delayed().reshape(-1)):
        w = None if weights is None else weights(lo, lo + n)
        parts.append(dask.delayed(_block_call, pure=True)(fn, block, B, n, D, w, shared))
        lo += n
    while len(parts) > 1:
        parts = [
            dask.delayed(_add, pure=True)(*parts[i : i + 2]) if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    (total,) = dask.compute(parts[0])
    return total


def _block_call(fn, block, B, n, D, w, args):
    """``fn(x, w, *args)`` of one dask block, as ``(B, n, D)`` float64."""
    return fn(np.asarray(block, dtype=np.float64).reshape(B, n, D), w, *args)


def _add(a, b):
    return tuple(x + y for x, y in zip(a, b))


def _is_dask(x):
    return type(x).__module__.startswith("dask") and hasattr(x, "__dask_graph__") and hasattr(x, "chunks")


def _drop_pages(mm):
    """Drop the resident pages of a read-only file mapping (they are re-read from the file)."""
    import mmap

    try:
        mm.madvise(mmap.MADV_DONTNEED)
    except (AttributeError, OSError, ValueError):  # not on this platform: the OS evicts them
        pass


def make_source(x, event_ndim, sample_weight):
    """A :class:`Source` over ``x`` (array, memmap, dask array, callable or re-iterable of chunks)."""
    if _is_dask(x):
        _as_float(np.empty(0, dtype=x.dtype), "x")
        if sample_weight is not None and _is_dask(sample_weight):
            sample_weight = np.asarray(sample_weight)  # (*batch, N): small beside x
        return Source("dask", x, event_ndim, sample_weight)
    if isinstance(x, np.memmap):
        return Source("memmap", x, event_ndim, sample_weight)
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return Source("array", _as_float(x, "x"), event_ndim, sample_weight)
    if isinstance(x, (list, tuple)) and x and all(isinstance(c, np.ndarray) for c in x):
        return Source("chunks", x, event_ndim, sample_weight)
    if callable(x):
        return Source("chunks", x, event_ndim, sample_weight)
    if hasattr(x, "__iter__"):
        if iter(x) is x:
            raise TypeError(
                "fit_mixture: x is a one-shot iterator; EM reads the data once per iteration: pass a "
                "callable that returns a fresh iterable of chunks, or a list of chunks"
            )
        if isinstance(x, (list, tuple)):
            return Source("array", _as_float(x, "x"), event_ndim, sample_weight)
        return Source("chunks", x, event_ndim, sample_weight)
    raise TypeError(
        f"fit_mixture: x must be an array, a memory-mapped array, or a callable / re-iterable of "
        f"chunks, got {type(x).__name__}"
    )
