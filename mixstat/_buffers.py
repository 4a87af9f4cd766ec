"""A cache of large buffers for the arrays mixstat allocates (parameter copies, normalised
logits, packed tables, results), so that a loop which builds distributions or gets results
of one shape call after call does not fault fresh pages in every time.

A fresh large NumPy array is a fresh ``mmap``: the kernel zeroes and maps each of its pages on
first touch, which costs as much as a pass over the data (64 MB: ~8 ms of system time on the
development machine, against ~4.5 ms for the copy itself).  :func:`empty` hands out views of
buffers it keeps; a buffer is handed out again only when the cache holds its **only**
reference (CPython's reference count: no array, view, slice or memoryview of it is alive
anywhere), so an array that a user or a distribution still holds is never reused.  Unused
buffers are kept up to a limit in bytes (oldest dropped first); ``MIXSTAT_BUFFER_CACHE_MB``
sets it at import (default 512; 0 turns the cache off) and :func:`set_buffer_cache` at run time.
Arrays below :data:`MIN_BYTES` come from NumPy directly (malloc reuses its heap for them).
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np

__all__ = ["empty", "seal", "set_buffer_cache", "held", "owns"]

#: smaller arrays are not cached
MIN_BYTES = 1 << 20
#: at most this many buffers are kept, used or not
MAX_BUFFERS = 64


def _env_limit():
    raw = os.environ.get("MIXSTAT_BUFFER_CACHE_MB", "512")
    try:
        mb = float(raw)
    except ValueError:
        raise ValueError(f"MIXSTAT_BUFFER_CACHE_MB must be a number of megabytes, got {raw!r}") from None
    return max(0, int(mb * (1 << 20)))


_lock = threading.Lock()
_bufs: list[np.ndarray] = []  # least recently handed out first
_limit = _env_limit()
# the reference count of a buffer that only the cache holds, as seen by _is_free: the list's
# slot and getrefcount's argument.  A build whose counts are not exact (free-threaded CPython,
# PyPy) does not cache.
_FREE_COUNT = 2
_exact = hasattr(sys, "getrefcount") and getattr(sys, "_is_gil_enabled", lambda: True)()


def _is_free(i):
    return sys.getrefcount(_bufs[i]) == _FREE_COUNT


def set_buffer_cache(nbytes: int) -> int:
    """Set how many bytes of unused large buffers mixstat keeps for reuse.

    mixstat hands out arrays of 1 MiB and more (parameter copies, normalised logits,
    results) from a cache of buffers, so that a loop which builds distributions or gets
    results of the same sizes does not fault fresh pages in on every call.  A buffer is
    reused only when no array, view or memoryview of it is alive anywhere.

    Parameters
    ----------
    nbytes : int
        The most bytes of unused buffers kept (0: none, which turns the cache off).  Unused
        buffers beyond it are released at once.  The default is 512 MiB, or
        ``MIXSTAT_BUFFER_CACHE_MB`` megabytes when that is set at import.

    Returns
    -------
    int
        The previous limit, in bytes.

    Raises
    ------
    ValueError
        If ``nbytes`` is negative.

    Examples
    --------
    >>> import mixstat
    >>> old = mixstat.set_buffer_cache(0)  # no cache: every large array is a fresh one
    >>> _ = mixstat.set_buffer_cache(old)
    """
    global _limit
    n = int(nbytes)
    if n < 0:
        raise ValueError(f"set_buffer_cache: nbytes must be >= 0, got {nbytes!r}")
    with _lock:
        old, _limit = _limit, n
        _trim()
    return old


def held() -> tuple[int, int]:
    """``(used, unused)``: bytes of the cached buffers that some array still views, and of
    those that nothing but the cache holds."""
    with _lock:
        free = [_is_free(i) for i in range(len(_bufs))]
        used = sum(b.nbytes for b, f in zip(_bufs, free) if not f)
        return used, sum(b.nbytes for b, f in zip(_bufs, free) if f)


def _trim():
    """Drop unused buffers, oldest first, while they exceed the limit or the count cap."""
    i = 0
    unused = sum(_bufs[j].nbytes for j in range(len(_bufs)) if _is_free(j))
    while i < len(_bufs) and (unused > _limit or len(_bufs) > MAX_BUFFERS):
        if _is_free(i):
            unused -= _bufs[i].nbytes
            del _bufs[i]
        else:
            i += 1


def empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array, as :func:`numpy.empty`, from the cache when large."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    n = dtype.itemsize
    for s in shape:
        n *= int(s)
    if n < MIN_BYTES or _limit <= 0 or not _exact or dtype.hasobject:
        return np.empty(shape, dtype=dtype)
    with _lock:
        for i in range(len(_bufs) - 1, -1, -1):  # the most recently used first (warm in cache)
            if _bufs[i].nbytes == n and _is_free(i):
                buf = _bufs.pop(i)
                buf.flags.writeable = True  # sealed by its last user (seal)
                break
        else:
            buf = np.empty(n, dtype=np.uint8)
        _bufs.append(buf)
        out = buf.view(dtype).reshape(shape)
        del buf
        _trim()
    return out


def _root(arr):
    base = arr
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return base


def owns(arr) -> bool:
    """Whether the memory of ``arr`` (an array or view) is a buffer of this cache."""
    base = _root(arr)
    return any(b is base for b in _bufs)  # (at most MAX_BUFFERS of them)


def seal(arr) -> None:
    """Mark ``arr`` read-only, and its cached buffer too when it is one of this cache's: the
    caller made ``arr`` and holds no other writeable view of it, so that it is then read-only
    all the way down (a view of it cannot be made writeable, and ``frozen`` shares it rather
    than copying it).  The buffer is made writeable again only when it is handed out anew,
    after every view of it is gone."""
    arr.flags.writeable = False
    if owns(arr):
        _root(arr).flags.writeable = False
