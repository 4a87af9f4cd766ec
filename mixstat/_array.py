"""Array coercion, dtype promotion and shape helpers shared by the façade.

Every user-supplied array passes through :func:`as_real_array` before it is
used, so that strings, ragged lists, complex numbers and object arrays are
rejected with an error that names the offending argument.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

__all__ = [
    "tensor",
    "as_real_array",
    "as_shape",
    "result_dtype",
    "broadcast_shapes",
    "fmt_shape",
    "check_out",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def fmt_shape(shape) -> str:
    """Format a shape as ``(a, b)`` for error messages."""
    shape = tuple(int(s) for s in shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _coerce(data, name: str) -> np.ndarray:
    if isinstance(data, np.ndarray):
        arr = data
    else:
        if isinstance(data, (str, bytes)):
            raise TypeError(f"{name} must be numeric, got a {type(data).__name__}")
        from . import _device

        if _device.is_device_array(data):  # one copy to the host (see docs/api/devices.md)
            arr = _device.to_host(data)
        elif hasattr(data, "__dlpack__") and not isinstance(data, np.generic):
            arr = _from_dlpack(data, name)
        else:
            try:
                arr = np.asarray(data)
            except ValueError as exc:  # ragged nested sequences
                raise ValueError(f"{name} is ragged or malformed: {exc}") from None
    if arr.dtype == object:
        raise ValueError(f"{name} is ragged or holds non-numeric objects (dtype=object)")
    kind = arr.dtype.kind
    if kind in "US":
        raise TypeError(f"{name} must be numeric, got strings (dtype={arr.dtype})")
    if kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    if kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    return arr


def _from_dlpack(data, name: str) -> np.ndarray:
    """A host array sharing memory with a CPU DLPack / array-API object (torch, JAX, ...), no copy.

    A torch tensor that requires grad is refused: mixstat does not track autograd, and a
    silent detach would drop the gradients the caller may expect.  Objects on another
    device, or whose export fails, are read by ``np.asarray``.
    """
    if getattr(data, "requires_grad", False):
        raise TypeError(
            f"{name} is a tensor with requires_grad=True: mixstat computes with NumPy "
            "arrays and does not track autograd; use the mixstat.torch adapter for "
            "gradients, or pass tensor.detach() for values only"
        )
    try:
        dev = data.__dlpack_device__()
        on_cpu = int(dev[0]) == 1  # DLDeviceType.kDLCPU
    except Exception:
        on_cpu = False
    if on_cpu:
        try:
            return np.from_dlpack(data)
        except (BufferError, TypeError, RuntimeError, ValueError):
            pass  # dtypes DLPack cannot carry to NumPy (bool in old exporters): the buffer protocol
    try:
        return np.asarray(data)
    except ValueError as exc:
        raise ValueError(f"{name} is ragged or malformed: {exc}") from None


def check_out(out, shape, dtype, inputs=(), device="cpu"):
    """Check a user's ``out=`` array against the result's ``shape`` and ``dtype``; return it.

    ``out`` must be a writeable, C-contiguous array (a ``numpy.memmap`` included) of exactly
    ``shape`` and ``dtype`` that shares no memory with ``inputs``; on ``device="cuda"`` a
    device array (``__cuda_array_interface__``) of that shape and dtype.  Raises before any
    kernel runs: ``TypeError`` for an object that is not an array of the right kind,
    ``ValueError`` naming ``out`` and the expected and given shape and dtype otherwise.
    """
    from . import _device

    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    want = f"shape {fmt_shape(shape)} and dtype {dtype}"
    if device == "cuda":
        if not _device.is_device_array(out):
            raise TypeError(
                f"out must be a CUDA device array (CuPy, torch CUDA, numba) of {want} for a "
                f"distribution on 'cuda', got {type(out).__name__}"
            )
        try:
            iface = out.__cuda_array_interface__
        except AttributeError:  # numba device arrays (the simulator's have no interface)
            iface = {"shape": out.shape, "typestr": np.dtype(out.dtype).str, "strides": out.strides, "data": (0, False)}
        got_shape = tuple(int(s) for s in iface["shape"])
        got_dtype = np.dtype(iface["typestr"])
        strides = iface.get("strides")
        contiguous = strides is None or all(
            n == 1 or st == got_dtype.itemsize * math.prod(got_shape[i + 1 :])
            for i, (n, st) in enumerate(zip(got_shape, strides))
        )
        writeable = not iface["data"][1]
    else:
        if _device.is_device_array(out):
            raise TypeError(
                f"out is a CUDA device array but the distribution is on 'cpu': pass a NumPy array of {want}"
            )
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray (or numpy.memmap) of {want}, got {type(out).__name__}")
        got_shape, got_dtype = tuple(out.shape), out.dtype
        contiguous, writeable = out.flags.c_contiguous, out.flags.writeable
    given = f"shape {fmt_shape(got_shape)} and dtype {got_dtype}"
    if got_shape != shape or got_dtype != dtype:
        raise ValueError(f"out must have {want}, got {given}")
    if not contiguous:
        raise ValueError(f"out must be C-contiguous ({want}), got a strided array of {given}")
    if not writeable:
        raise ValueError(f"out must be writeable ({want}), got a read-only array of {given}")
    if device != "cuda":
        for a in inputs:
            if isinstance(a, np.ndarray) and np.may_share_memory(out, a):
                raise ValueError(f"out ({given}) overlaps an input array: pass a separate array")
    return out


def _native(arr: np.ndarray) -> np.ndarray:
    """Byte-swapped floats as native ones of the same width (big-endian float32 stays float32)."""
    if arr.dtype.kind == "f" and not arr.dtype.isnative and arr.dtype.itemsize in (4, 8):
        return arr.astype(arr.dtype.newbyteorder("="))
    return arr


def tensor(data: ArrayLike, dtype: DTypeLike | None = None) -> np.ndarray:
    """Create a new array from ``data``, the way ``torch.tensor`` would.

    Parameters
    ----------
    data : array_like
        Nested sequences or arrays of numbers.
    dtype : dtype-like, optional
        ``float32`` or ``float64`` (or an integer dtype for category indices).
        By default floats become ``float64`` unless ``data`` is already a
        ``float32`` array; integers and booleans keep their kind.

    Returns
    -------
    numpy.ndarray
        A fresh array that does not share memory with ``data``.

    Raises
    ------
    ValueError
        If ``data`` is ragged.
    TypeError
        If ``data`` holds strings, complex numbers or other non-real values.

    Examples
    --------
    >>> import mixstat
    >>> mixstat.tensor([0.3, 0.7]).dtype
    dtype('float64')
    >>> mixstat.tensor([1, 2], dtype="float32").dtype
    dtype('float32')
    """
    arr = _native(_coerce(data, "data"))
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt.kind not in "biuf":
            raise TypeError(f"dtype must be a real numeric dtype, got {dt}")
        return np.array(arr, dtype=dt, copy=True)
    if arr.dtype.kind == "f" and arr.dtype not in _FLOATS:
        return np.array(arr, dtype=np.float64)  # float16 / longdouble -> float64
    return np.array(arr, copy=True)


def as_real_array(data, name: str, dtype=None) -> np.ndarray:
    """Coerce a parameter or value to a float32/float64 array.

    Integers and booleans become float64; float32 is kept; other floats become
    float64.  ``dtype`` forces a float dtype (used for Python scalars, which
    follow the dtype of the distribution).
    """
    arr = _native(_coerce(data, name))
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype in _FLOATS:
        return arr
    return arr.astype(np.float64)


def is_weak(data) -> bool:
    """True for Python numbers and (nested) lists of them: they take the dtype of the other side."""
    if isinstance(data, np.ndarray | np.generic):
        return False
    if isinstance(data, numbers.Number):
        return True
    return isinstance(data, (list, tuple))


def result_dtype(*dtypes) -> np.dtype:
    """float32 only when every participant is float32; float64 otherwise."""
    for dt in dtypes:
        if np.dtype(dt) != np.float32:
            return np.dtype(np.float64)
    return np.dtype(np.float32)


_MAX_SIZE = int(np.iinfo(np.intp).max)


def as_shape(shape, name: str, tail=()) -> tuple:
    """Validate a shape argument (int or sequence of non-negative ints).

    ``tail`` (batch and event shape) completes the shape of the array that
    will be allocated: its size in bytes must be addressable, else a
    ValueError names the argument (rather than NumPy's own error later).
    """
    if isinstance(shape, (bool, np.bool_)):
        raise TypeError(f"{name} must be a tuple of non-negative ints, got {shape!r}")
    if isinstance(shape, (numbers.Integral, np.integer)):
        shape = (shape,)
    if isinstance(shape, np.ndarray):
        shape = tuple(shape.tolist())
    try:
        items = tuple(shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of non-negative ints, got {type(shape).__name__}") from None
    out = []
    for s in items:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (numbers.Integral, np.integer)):
            raise TypeError(f"{name} must be a tuple of non-negative ints, got {shape!r}")
        if s < 0:
            raise ValueError(f"{name} must be a tuple of non-negative ints, got {shape!r}")
        out.append(int(s))
    full = tuple(out) + tuple(tail)
    if any(s > _MAX_SIZE for s in full) or math.prod(full) * 8 > _MAX_SIZE:
        raise ValueError(
            f"{name} {tuple(out)!r} with trailing shape {fmt_shape(tail)} gives an array too large to address"
        )
    return tuple(out)


def broadcast_shapes(*shapes, names=None) -> tuple:
    """``np.broadcast_shapes`` with a ValueError that names the participants."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        if names is None:
            names = [f"argument {i}" for i in range(len(shapes))]
        desc = ", ".join(f"{n} {fmt_shape(s)}" for n, s in zip(names, shapes))
        raise ValueError(f"shapes do not broadcast: {desc}") from None
