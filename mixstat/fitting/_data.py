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
        if sample_weight is not None and kind != "chunks":
            self._check_weight_shape()

    # -- shapes ---------------------------------------------------------------------
    def _set_shape(self, shape, dtype, what):
        ne = self.event_ndim
        if len(shape) < 1 + ne:
            raise ValueError(f"fit_mixture: {what} of shape {fmt_shape(shape)} needs at least {1 + ne} "
                             f"dim(s): (*batch, N{', *event' if ne else ''})")
        batch = tuple(shape[: len(shape) - 1 - ne])
        event = tuple(shape[len(shape) - ne:])
        if self.batch_shape is None:
            self.batch_shape, self.event_shape = batch, event
            self.in_dtype = np.dtype(dtype)
        elif batch != self.batch_shape or event != self.event_shape:
            raise ValueError(f"fit_mixture: chunk of shape {fmt_shape(shape)} does not match the first chunk's "
                             f"batch {fmt_shape(self.batch_shape)} and event {fmt_shape(self.event_shape)}")

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
            raise ValueError(f"fit_mixture: sample_weight of shape {fmt_shape(w.shape)} does not broadcast to "
                             f"(*batch, N) = {fmt_shape(want)}")
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
    def _chunks(self):
        lo = 0
        first = self.N is None
        for c in self._iterate():
            c = _as_float(c, "a chunk of x")
            self._set_shape(c.shape, c.dtype, "a chunk of x")
            n = c.shape[len(self.batch_shape)]
            B, D = self.B, self.D
            if not first and lo + n > self.N:
                raise ValueError("fit_mixture: the chunks of x changed between passes (more rows than the "
                                 f"first pass's {self.N})")
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
            raise ValueError(f"fit_mixture: the chunks of x changed between passes ({lo} rows, the first "
                             f"pass had {self.N})")

    def _iterate(self):
        obj = self.obj
        it = obj() if callable(obj) else obj
        return iter(it)


def _drop_pages(mm):
    """Drop the resident pages of a read-only file mapping (they are re-read from the file)."""
    import mmap

    try:
        mm.madvise(mmap.MADV_DONTNEED)
    except (AttributeError, OSError, ValueError):  # not on this platform: the OS evicts them
        pass


def make_source(x, event_ndim, sample_weight):
    """A :class:`Source` over ``x`` (array, memmap, callable or re-iterable of chunks)."""
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
            raise TypeError("fit_mixture: x is a one-shot iterator; EM reads the data once per iteration: pass a "
                            "callable that returns a fresh iterable of chunks, or a list of chunks")
        if isinstance(x, (list, tuple)):
            return Source("array", _as_float(x, "x"), event_ndim, sample_weight)
        return Source("chunks", x, event_ndim, sample_weight)
    raise TypeError(f"fit_mixture: x must be an array, a memory-mapped array, or a callable / re-iterable of "
                    f"chunks, got {type(x).__name__}")
