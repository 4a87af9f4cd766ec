"""Devices: where a distribution lives, CUDA availability, host <-> device copies.

``import mixstat`` imports no numba; everything that touches ``numba.cuda``
goes through :mod:`mixstat.kernels.cuda`, imported on first use.

* :func:`cuda_status` says whether CUDA kernels can run and, if not, why
  (numba-cuda not installed, no driver or no GPU, ``NUMBA_DISABLE_CUDA``).
* :func:`is_device_array` recognises numba device arrays and any object with
  ``__cuda_array_interface__`` (CuPy, torch CUDA tensors) without importing
  numba.
* :func:`flat_device_value` views a device value as ``(S, B, D)`` the way
  :func:`mixstat.plan.flat_value` views a host one (broadcasting by stride 0).
* :func:`host_only` is a scope in which CUDA distributions compute on the host
  (used for the paths that have no CUDA kernel; their results are then copied
  to the device).
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import math
import os
import threading

import numpy as np

__all__ = [
    "parse",
    "cuda_status",
    "require_cuda",
    "is_device_array",
    "to_host",
    "to_device",
    "host_only",
    "host_scope_active",
    "Placement",
    "flat_device_value",
]

DEVICES = ("cpu", "cuda")
_status = None
_scope = threading.local()


def parse(device) -> str:
    """``"cpu"`` or ``"cuda"`` from ``device`` (``"cuda:0"`` is ``"cuda"``)."""
    name = getattr(device, "type", device)  # torch.device("cuda") works too
    if isinstance(name, str):
        base, _, index = name.partition(":")
        if base in DEVICES and (index == "" or (base == "cuda" and index == "0")):
            return base
    raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:0'), got {device!r}")


def _simulator_requested() -> bool:
    import sys

    numba = sys.modules.get("numba")
    if numba is not None:  # the setting numba read at import
        return bool(numba.config.ENABLE_CUDASIM)
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def cuda_status():
    """``(available, reason)``.  ``reason`` names the device, or says why CUDA cannot be used."""
    global _status
    if _status is not None:
        return _status
    if not _simulator_requested() and importlib.util.find_spec("numba_cuda") is None:
        _status = (
            False,
            (
                "numba-cuda is not installed; install mixstat's cuda extra "
                "(pip install 'mixstat[cuda]', which installs numba-cuda[cu13] with the "
                "NVVM compiler from pip wheels)"
            ),
        )
        return _status
    try:
        from .kernels import cuda as kc
    except Exception as exc:  # pragma: no cover - broken installations
        _status = (False, f"numba.cuda could not be imported: {type(exc).__name__}: {exc}")
        return _status
    _status = kc.status()
    return _status


def require_cuda():
    """Raise ``RuntimeError`` saying why CUDA cannot be used; return the CUDA kernel module otherwise."""
    ok, reason = cuda_status()
    if not ok:
        raise RuntimeError(f"mixstat: CUDA is not available: {reason}")
    from .kernels import cuda as kc

    return kc


def is_device_array(x) -> bool:
    """True for numba device arrays and objects exposing ``__cuda_array_interface__``."""
    if isinstance(x, (np.ndarray, np.generic, int, float, list, tuple)):
        return False
    if getattr(x, "__cuda_ndarray__", False):
        return True
    try:
        return getattr(x, "__cuda_array_interface__", None) is not None
    except Exception:  # a CPU torch tensor raises here
        return False


def device_of(*params) -> str:
    """``"cuda"`` if any of ``params`` is a device array, else ``"cpu"``."""
    return "cuda" if any(is_device_array(p) for p in params) else "cpu"


def to_host(x):
    """A host ``numpy.ndarray`` copy of device array ``x`` (one copy)."""
    return require_cuda().to_host(x)


def to_device(a):
    """A device copy of host array ``a`` (broadcast dims stay stride 0)."""
    return require_cuda().to_device(a)


@contextlib.contextmanager
def host_only():
    """Within this scope CUDA distributions compute on the host and return host arrays."""
    depth = getattr(_scope, "depth", 0)
    _scope.depth = depth + 1
    try:
        yield
    finally:
        _scope.depth = depth


def host_scope_active() -> bool:
    return getattr(_scope, "depth", 0) > 0


class Placement:
    """A CUDA distribution's handle for the plan: the kernel module and a cache of
    device copies of its parameter tables and weights (filled on first use)."""

    __slots__ = ("cache", "kernels")

    def __init__(self):
        self.kernels = require_cuda()
        self.cache = {}

    def upload(self, key, make):
        """The device copy cached under ``key``; ``make()`` gives the host arrays on a miss."""
        hit = self.cache.get(key)
        if hit is None:
            host = make()
            dev = tuple(self.kernels.to_device(a) for a in host)
            # keep the host arrays: ids in ``key`` must not be reused while cached
            hit = self.cache[key] = (dev, host)
        return hit[0]


def _merge(shape, strides):
    """Byte stride of dims ``shape``/``strides`` merged into one, or None if no view can do it."""
    dims = [(n, s) for n, s in zip(shape, strides) if n != 1]
    if not dims:
        return 0
    for (_n0, s0), (n1, s1) in itertools.pairwise(dims):
        if s0 != s1 * n1:
            return None
    return dims[-1][1]


def flat_device_value(kc, x, out_shape, event_shape, nb):
    """View device array ``x`` as ``(S, B, D)`` over ``out_shape + event_shape``, or None.

    ``nb`` trailing dims of ``out_shape`` are the batch.  Returns None when the
    broadcast value cannot be viewed without a copy (the caller then copies).
    """
    full = tuple(out_shape) + tuple(event_shape)
    if any(st < 0 for st in x.strides):  # the view below starts at element 0: not for reversed arrays
        return None
    pad = len(full) - len(x.shape)
    shape = (1,) * pad + tuple(x.shape)
    strides = (0,) * pad + tuple(x.strides)
    strides = tuple(0 if n == 1 and f != 1 else st for n, f, st in zip(shape, full, strides))
    ns = len(out_shape) - nb
    groups = ((0, ns), (ns, len(out_shape)), (len(out_shape), len(full)))
    new_shape, new_strides = [], []
    for lo, hi in groups:
        st = _merge(full[lo:hi], strides[lo:hi])
        if st is None:
            return None
        new_shape.append(math.prod(full[lo:hi]))
        new_strides.append(st)
    if 0 in full:
        return None
    return kc.view(x, new_shape, new_strides)
