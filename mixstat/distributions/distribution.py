"""The ``Distribution`` base class: the shape contract and validation.

Shapes follow ``torch.distributions``: a distribution object holds a batch of
independent distributions (``batch_shape``), each over events of
``event_shape``.  ``sample(sample_shape)`` has shape
``(*sample_shape, *batch_shape, *event_shape)``; ``log_prob(value)`` takes
values broadcastable to ``(*sample, *batch_shape, *event_shape)`` and returns
``(*sample, *batch_shape)``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _buffers, _device as _dev
from .._array import as_real_array, as_shape, fmt_shape, is_weak, result_dtype
from .._typing import Array, ArrayLike, RNGLike, Shape
from . import (
    _dask,  # imports no dask (dask arrays are recognised by their type's module)
    constraints,
)

__all__ = ["Distribution", "KernelDistribution", "frozen"]


class _DistributionType(type):
    """Metaclass: results of host computations are copied to the device for CUDA
    distributions (see :func:`_wrap_host_results`), for every subclass."""

    def __init__(cls, name, bases, ns, **kwargs):
        super().__init__(name, bases, ns, **kwargs)
        if "_wrap_host_results" in globals():
            _wrap_host_results(cls)
        if "_wrap_out" in globals():
            _wrap_out(cls)
        _dask.install(cls)  # last, so outermost: dask values reach no other wrapper


class Distribution(metaclass=_DistributionType):
    """Base class of every mixstat distribution.

    Parameters
    ----------
    batch_shape : tuple of int
        Shape of the batch of independent distributions.
    event_shape : tuple of int
        Shape of one event (one draw of one distribution).
    validate_args : bool or None, default None
        ``None``: shapes and cheap parameter constraints are checked.
        ``True``: additionally, values passed to ``log_prob``/``cdf`` must lie
        in the support.  ``False``: parameter constraints are not checked
        (shapes always are).

    Attributes
    ----------
    arg_constraints : dict
        Parameter name -> :class:`~mixstat.distributions.constraints.Constraint`.
    support : Constraint
        The set of values with positive density.
    has_rsample : bool
        Always False in mixstat (no reparameterised sampling).
    """

    arg_constraints: dict[str, constraints.Constraint] = {}
    support: constraints.Constraint | None = None
    has_rsample = False
    _device = "cpu"  # set by subclasses built from device arrays, and by ``to``
    _dtype: np.dtype

    def __init__(
        self, batch_shape: tuple[int, ...] = (), event_shape: tuple[int, ...] = (), validate_args: bool | None = None
    ) -> None:
        if validate_args is not None and not isinstance(validate_args, (bool, np.bool_)):
            raise TypeError(f"validate_args must be None, True or False, got {validate_args!r}")
        self._batch_shape = tuple(int(s) for s in batch_shape)
        self._event_shape = tuple(int(s) for s in event_shape)
        self._validate_args = None if validate_args is None else bool(validate_args)
        self._specs: dict[Any, Any] = {}

    # -- shapes ---------------------------------------------------------------
    @property
    def batch_shape(self) -> tuple:
        """Shape of the batch of independent distributions."""
        return self._batch_shape

    @property
    def event_shape(self) -> tuple:
        """Shape of a single event."""
        return self._event_shape

    @property
    def dtype(self) -> np.dtype:
        """Floating dtype of parameters, results and (continuous) samples."""
        return self._dtype

    @property
    def validate_args(self) -> bool | None:
        """The ``validate_args`` setting this distribution was built with."""
        return self._validate_args

    # -- devices -------------------------------------------------------------
    @property
    def device(self) -> str:
        """``"cpu"`` or ``"cuda"``: where ``log_prob``, ``cdf``, ``sample`` and the moments compute
        and where their results live (see ``docs/api/devices.md``)."""
        return self._device

    def to(self, device: str) -> Distribution:
        """Return this distribution on ``device`` (``"cpu"`` or ``"cuda"``); ``self`` if already there.

        Parameters stay as host arrays (they are validated and packed on the
        host); on ``"cuda"`` the packed tables are copied to the GPU once, on
        first use.

        Parameters
        ----------
        device : {"cpu", "cuda"}
            Where the new distribution computes.

        Raises
        ------
        RuntimeError
            If ``device`` is ``"cuda"`` and CUDA cannot be used here (the message says why).
        ValueError
            If ``device`` is not ``"cpu"``, ``"cuda"`` or ``"cuda:0"``.
        """
        device = _dev.parse(device)
        if device == "cuda":
            _dev.require_cuda()
        if device == self._device:
            return self
        new = copy.copy(self)
        new.__dict__.pop("_placement_", None)
        new._device = device
        for name, value in list(new.__dict__.items()):
            if isinstance(value, Distribution):
                setattr(new, name, value.to(device))
        return new

    def _placement(self):
        """None on the CPU (or inside :func:`mixstat._device.host_only`); on CUDA, the
        :class:`mixstat._device.Placement` that the plan runs kernels with."""
        if self._device == "cpu" or _dev.host_scope_active():
            return None
        p = self.__dict__.get("_placement_")
        if p is None:
            p = self.__dict__["_placement_"] = _dev.Placement()
        return p

    def _via_host(self, fn, *args):
        """Run ``fn`` (a path with no CUDA kernel) on the host; copy its result to the device."""
        return _via_host(fn, self, *args)

    # -- moments ---------------------------------------------------------------
    @property
    def mean(self) -> np.ndarray:
        """Mean, shape ``(*batch_shape, *event_shape)``."""
        raise NotImplementedError(f"{type(self).__name__} has no mean")

    @property
    def variance(self) -> np.ndarray:
        """Variance (per coordinate), shape ``(*batch_shape, *event_shape)``."""
        raise NotImplementedError(f"{type(self).__name__} has no variance")

    @property
    def stddev(self) -> np.ndarray:
        """Standard deviation, ``sqrt(variance)``."""
        return np.asarray(np.sqrt(self.variance))  # an array also for an empty batch_shape

    def entropy(self) -> np.ndarray:
        """Differential (or Shannon) entropy, shape ``batch_shape``."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form entropy")

    # -- densities -------------------------------------------------------------
    def log_prob(self, value: ArrayLike, out: Array | None = None) -> np.ndarray:
        """Log-density (or log-mass) at ``value``.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape, *event_shape)``; its
            rightmost dims must equal ``event_shape``.
        out : numpy.ndarray, optional
            A writeable C-contiguous array (a ``numpy.memmap`` too) of the result's
            shape and dtype, not overlapping ``value``: the kernel writes into it and it
            is returned.  Every array-returning method takes ``out`` (see
            ``docs/api/Distribution.md``).

        Returns
        -------
        numpy.ndarray
            Shape ``(*sample, *batch_shape)``.
        """
        value, dtype = self._checked_value(value)
        spec = self._kernel_spec(dtype)
        dev = self._placement()
        if spec is None:
            if dev is not None:
                return self._via_host(type(self)._log_prob_fallback, value)
            return self._log_prob_fallback(value)
        from .. import plan

        return plan.log_prob(spec, value, self._batch_shape, self._event_shape, device=dev, out=out)

    def log_prob_grad(
        self, value: ArrayLike, wrt: str | Sequence[str] = ("value",), cotangent: ArrayLike | None = None
    ) -> tuple[Array, dict[str, Array]]:
        """The log-density and its gradients, in one fused kernel pass.

        Parameters
        ----------
        value : array_like
            As for :meth:`log_prob`.
        wrt : str or sequence of str, default ("value",)
            What to differentiate with respect to: ``"value"``, the constructor parameters
            of the (component) family (``"loc"``, ``"scale"``, ...; MultivariateNormal:
            ``"loc"``, ``"scale_tril"``; the binary and count families: ``"probs"`` and
            ``"logits"``, NegativeBinomial also ``"total_count"``) and, for a
            :class:`MixtureSameFamily`, ``"logits"`` or ``"probs"`` of its weights.  In a
            mixture ``"mixture.logits"``, ``"mixture.probs"`` and ``"component.<name>"`` are
            accepted too, and needed where a bare name would be ambiguous (a mixture of
            Bernoulli components has ``probs`` twice).
        cotangent : array_like, optional
            Broadcastable to the shape of ``log_prob`` (default ones): the gradients are the
            vector-Jacobian products ``sum_n cotangent[n] d log_prob[n] / d theta``.

        Returns
        -------
        (numpy.ndarray, dict)
            ``log_prob(value)`` and a dict keyed by the names in ``wrt``, each gradient in
            that input's own shape and dtype (summed over the dims where it was broadcast).
            See ``docs/api/log_prob_grad.md``.

        Raises
        ------
        ValueError
            For a name that cannot be differentiated (the message lists the allowed ones),
            a distribution without derivative kernels, or a cotangent of the wrong shape.
        """
        from ._grad import log_prob_grad

        return log_prob_grad(self, value, wrt, cotangent)

    def prob(self, value: ArrayLike, out: Array | None = None) -> np.ndarray:
        """Density (or mass) ``exp(log_prob(value))``, shape ``(*sample, *batch_shape)``.

        Parameters
        ----------
        value : array_like
            As for :meth:`log_prob`.
        out : numpy.ndarray, optional
            The log-density is written into it and exponentiated in place.
        """
        lp = self.log_prob(value, out=out)
        if out is not None and lp is out and isinstance(out, np.ndarray):
            np.exp(out, out=out)
            return out
        dev = self._placement()
        if dev is not None and _dev.is_device_array(lp):
            from .. import plan

            return plan.exp(dev, lp)
        return np.asarray(np.exp(lp))

    def cdf(self, value: ArrayLike) -> np.ndarray:
        """Cumulative distribution function (univariate distributions only).

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no cdf")

    def log_cdf(self, value: ArrayLike) -> np.ndarray:
        """``log P(X <= value)`` (univariate distributions only).

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no log_cdf")

    def survival_function(self, value: ArrayLike) -> np.ndarray:
        """``P(X > value)`` (univariate distributions only).

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no survival_function")

    def log_survival_function(self, value: ArrayLike) -> np.ndarray:
        """``log P(X > value)`` (univariate distributions only).

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no log_survival_function")

    # -- sampling ------------------------------------------------------------
    def sample(
        self, sample_shape: Shape = (), rng: RNGLike = None, method: str = "random", out: Array | None = None
    ) -> np.ndarray:
        """Draw samples.

        Parameters
        ----------
        sample_shape : int or tuple of int, default ()
            Leading shape of the draws.
        rng : None, int or numpy.random.Generator
            Source of randomness (SPEC 7): ``None`` uses mixstat's default
            source (see :func:`mixstat.manual_seed`), an int is a seed, a
            Generator supplies the key.
        method : {"random", "qmc"}, default "random"
            ``"random"``: independent draws from the counter-based stream.
            ``"qmc"`` (univariate distributions with an ``icdf``): randomised
            quasi-Monte Carlo, scrambled Sobol points (``scipy.stats.qmc.Sobol``,
            one dimension per batch entry, seeded from ``rng``) through ``icdf``;
            the error of a mean estimate falls faster than Monte Carlo's
            ``n**-1/2`` (best with ``n`` a power of 2).
        out : numpy.ndarray, optional
            A writeable C-contiguous array of the samples' shape and dtype (int64 for
            discrete families): the draws are written into it and it is returned.

        Returns
        -------
        numpy.ndarray
            Shape ``(*sample_shape, *batch_shape, *event_shape)``.
        """
        sample_shape = as_shape(sample_shape, "sample_shape", self._batch_shape + self._event_shape)
        if method != "random":
            from ._quantile import qmc_sample

            return qmc_sample(self, sample_shape, rng, method)
        spec = self._kernel_spec(self._dtype)
        from .. import plan

        return plan.sample(
            spec, sample_shape, self._batch_shape, self._event_shape, rng, device=self._placement(), out=out
        )

    # -- saving ---------------------------------------------------------------
    def to_dict(self) -> dict:
        """Return this distribution as a dict of plain values with NumPy arrays as leaves.

        The in-memory form of the saved-model format (``docs/api/io.md``):
        :func:`mixstat.distributions.from_dict` rebuilds the distribution with the same
        bits (dtype kept), :func:`mixstat.save` writes it to a file.  Arrays are
        read-only host copies of the state (of a CUDA distribution too).

        Raises
        ------
        TypeError
            For a class that is not exported by :mod:`mixstat.distributions` (a subclass).
        """
        from ._serial import to_dict

        return to_dict(self)

    # -- broadcasting ----------------------------------------------------------
    def expand(self, batch_shape: Shape) -> Distribution:
        """A new distribution with parameters broadcast to ``batch_shape`` (no copy).

        Parameters
        ----------
        batch_shape : int or tuple of int
            The new batch shape; each existing dim must be 1 or equal.
        """
        raise NotImplementedError

    def _expanded_copy(self, batch_shape, event_shape=None):
        """A copy of this object (same class, so subclasses survive ``expand``) with
        ``batch_shape``, this one's settings and no cached tables.

        ``expand`` fills in the broadcast parameters; nothing is re-validated.
        """
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.pop("_placement_", None)
        Distribution.__init__(
            new, batch_shape, self._event_shape if event_shape is None else event_shape, self._validate_args
        )
        return new

    def _expanded_batch(self, batch_shape) -> tuple[int, ...]:
        batch_shape = as_shape(batch_shape, "batch_shape", self._event_shape)
        try:
            target = np.broadcast_shapes(self._batch_shape, batch_shape)
        except ValueError:
            target = None
        if target != batch_shape:
            raise ValueError(
                f"{type(self).__name__}.expand: batch_shape {fmt_shape(self._batch_shape)} "
                f"cannot be expanded to {fmt_shape(batch_shape)}"
            )
        return batch_shape

    # -- internals -----------------------------------------------------------
    def __getstate__(self):
        """The pickled state (a distribution shipped to Dask workers): parameters and settings,
        without the cached tables (``_specs``, a CUDA placement, cumulative weights), which are
        rebuilt on first use where it is unpickled."""
        state = dict(self.__dict__)
        state["_specs"] = {}
        for name in _CACHED:
            state.pop(name, None)
        return state

    def _sample_dtype(self):
        """dtype of ``sample``: int64 for a discrete support, else the distribution's dtype."""
        if self.support is not None and self.support.is_discrete:
            return np.dtype(np.int64)
        return np.dtype(self._dtype)

    def _kernel_spec(self, dtype):
        """A :class:`mixstat.plan.KernelSpec` for ``dtype`` (cached), or None."""
        dtype = np.dtype(dtype)
        spec = self._specs.get(dtype)
        if spec is None and dtype not in self._specs:
            spec = self._make_spec(dtype)
            self._specs[dtype] = spec
        return spec

    def _make_spec(self, dtype):
        return None

    def _log_prob_fallback(self, value):
        raise NotImplementedError(f"{type(self).__name__}.log_prob")

    def _value_dtype(self, value):
        if is_weak(value):
            return self._dtype
        return None

    def _checked_value(self, value, name="value", check_support=True) -> tuple[np.ndarray, np.dtype]:
        """Coerce ``value``, check its shape against the event and batch, and its support.

        On a CUDA distribution a float32/float64 device array is checked and
        returned as a numba device array (no copy); any other value takes the
        host path below (device arrays of other dtypes are copied to the host,
        cast, and copied back by the plan).
        """
        if _dev.is_device_array(value) and self._placement() is not None:
            checked = self._checked_device_value(value, name, check_support)
            if checked is not None:
                return checked
            value = self._placement().kernels.to_host(value)
        value = as_real_array(value, name, dtype=self._value_dtype(value))
        dtype = result_dtype(self._dtype, value.dtype)
        if self.support is not None and self.support.is_discrete:
            dtype = self._dtype
        with np.errstate(over="ignore", invalid="ignore"):  # huge values for a float32 support: inf
            value = value.astype(dtype, copy=False)
        self._check_value_shape(value.shape, name)
        if self._validate_args and check_support:
            ok = self.support.check(value)  # type: ignore[union-attr]  # set by every concrete class
            if not np.all(ok):
                bad = np.argwhere(~np.asarray(ok))[0]
                raise ValueError(
                    f"{type(self).__name__}: {name} of shape {fmt_shape(value.shape)} is outside the "
                    f"support {self.support!r} (first at index {tuple(int(i) for i in bad)})"
                )
        return value, dtype

    def _check_value_shape(self, shape, name):
        shape = tuple(shape)
        ne = len(self._event_shape)
        if len(shape) < ne or shape[len(shape) - ne :] != self._event_shape:
            raise ValueError(
                f"{type(self).__name__}: {name} of shape {fmt_shape(shape)} does not end "
                f"with event_shape {fmt_shape(self._event_shape)}"
            )
        vb = shape[: len(shape) - ne]
        try:
            np.broadcast_shapes(vb, self._batch_shape)
        except ValueError:
            raise ValueError(
                f"{type(self).__name__}: {name} of shape {fmt_shape(shape)} does not broadcast "
                f"with batch_shape {fmt_shape(self._batch_shape)} + event_shape "
                f"{fmt_shape(self._event_shape)}"
            ) from None

    def _checked_device_value(self, value, name, check_support):
        """A float device ``value`` checked like a host one: ``(device array, dtype)``, or
        None for other dtypes (the caller copies those through the host)."""
        x = self._placement().kernels.as_device(value)
        if np.dtype(x.dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            return None
        dtype = result_dtype(self._dtype, x.dtype)
        if self.support is not None and self.support.is_discrete:
            dtype = self._dtype
        self._check_value_shape(x.shape, name)
        if self._validate_args and check_support:  # one copy to the host for the check
            self._checked_value(x.copy_to_host(), name, check_support)
        return x, np.dtype(dtype)

    def _check_params(self, **params):
        """Check parameter constraints unless ``validate_args=False``."""
        if self._validate_args is False:
            return
        for name, (arr, constraint) in params.items():
            bad = ~np.asarray(constraint.check(arr))
            if bad.any():
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                example = np.array2string(np.asarray(arr[first]), threshold=8)
                raise ValueError(
                    f"{type(self).__name__}: parameter {name} of shape {fmt_shape(arr.shape)} must "
                    f"satisfy {constraint!r}; {int(bad.sum())} of {bad.size} violate it, the first "
                    f"at index {first}: {example}"
                )

    def __repr__(self):
        params = ", ".join(
            f"{k}: shape {fmt_shape(getattr(self, k).shape)}"
            for k in self.arg_constraints
            if k in self.__dict__ or isinstance(getattr(type(self), k, None), property)
        )
        return f"{type(self).__name__}({params})"


#: cached attributes that pickling leaves out (see ``Distribution.__getstate__``)
_CACHED = ("_placement_", "_cum")


def _made_here(arr):
    """Whether ``arr`` holds its memory itself or as a view of a buffer of mixstat's cache (an
    array ``fresh`` from mixstat, not a view into someone else's)."""
    return arr.flags.owndata or _buffers.owns(arr)


def frozen(arr: np.ndarray, fresh: bool = False) -> np.ndarray:
    """A read-only array with the values of ``arr`` that no one else can change.

    ``arr`` itself when it is already read-only all the way down (no writable
    array beneath a view); otherwise a read-only copy.  ``fresh=True``: ``arr``
    was just made by mixstat and nobody else holds it, so it is only marked
    read-only.
    """
    if fresh and _made_here(arr):
        _buffers.seal(arr)
        return arr
    base = arr
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            break
        if base.base is None:
            return arr
        base = base.base
    else:
        if isinstance(base, bytes):
            return arr
    out = np.array(arr, copy=True)
    out.flags.writeable = False
    return out


def _float_params(owner: str, **raw) -> tuple[dict[str, Any], np.dtype]:
    """Coerce parameters to one float dtype; Python scalars/lists follow the arrays."""
    arrays = {}
    strong = [as_real_array(v, k).dtype for k, v in raw.items() if v is not None and not is_weak(v)]
    dtype = result_dtype(*strong) if strong else np.dtype(np.float64)
    for k, v in raw.items():
        arrays[k] = None if v is None else as_real_array(v, k).astype(dtype, copy=False)
    return arrays, dtype


def _broadcast_params(owner, **arrays):
    names = list(arrays)
    shapes = [arrays[n].shape for n in names]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        desc = ", ".join(f"{n} {fmt_shape(s)}" for n, s in zip(names, shapes))
        raise ValueError(f"{owner}: parameter shapes do not broadcast: {desc}") from None
    return shape, [np.broadcast_to(arrays[n], shape) for n in names]


#: the family hook each log-tail operation needs, and the method's name
_TAIL_HOOKS = {"log_cdf": "logcdf1", "log_sf": "logsf1"}
_TAIL_NAMES = {"log_cdf": "log_cdf", "log_sf": "log_survival_function"}


def _as_f64(value):
    """A host value as float64 (exact); device values are passed on (the CUDA loops take
    float32 or float64 values with float64 tables)."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float64, copy=False)
    return value


def _wide_out(out):
    """``out`` where a float64 kernel can write into it (a float64 host array), else None."""
    if isinstance(out, np.ndarray) and out.dtype == np.float64:
        return out
    return None


def _exp_cast(dist, log64, dtype, out=None):
    """``exp`` of a float64 log-probability, cast to ``dtype`` at the end (on the device of
    ``dist``: a device array stays there, through the host for a float32 result).  With a
    host ``out`` the exponential is written into it (in place where ``log64`` is ``out``)."""
    if isinstance(out, np.ndarray) and isinstance(log64, np.ndarray):
        np.exp(log64, out=out, casting="same_kind")
        return out
    dev = dist._placement()
    if dev is not None and _dev.is_device_array(log64):
        from .. import plan

        out = plan.exp(dev, log64)
        if np.dtype(dtype) == np.float64:
            return out
        return _dev.to_device(np.asarray(dev.kernels.to_host(out), dtype=dtype))
    return np.asarray(np.exp(log64), dtype=dtype)


# -- device results of host computations ------------------------------------------
#: methods and properties computed from the parameters on the host; on a CUDA
#: distribution their results are copied to the device.  A function marked with
#: :func:`cuda_native` handles CUDA itself and is left alone.
_HOST_RESULTS = ("mean", "variance", "stddev", "entropy", "icdf")


def cuda_native(fn):
    """Mark ``fn`` as computing on the device itself (not wrapped by ``_wrap_host_results``)."""
    fn._cuda_native = True
    return fn


def _via_host(fn, self, *args, **kwargs):
    with _dev.host_only():
        args = tuple(_dev.to_host(a) if _dev.is_device_array(a) else a for a in args)
        result = fn(self, *args, **kwargs)
    if isinstance(result, tuple):
        return tuple(_dev.to_device(np.asarray(r)) for r in result)
    return _dev.to_device(np.asarray(result))


def _host_then_device(fn):
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        if self._device == "cpu" or _dev.host_scope_active():
            return fn(self, *args, **kwargs)
        return _via_host(fn, self, *args, **kwargs)

    return wrapper


def _wrap_host_results(cls):
    for name in _HOST_RESULTS:
        attr = cls.__dict__.get(name)
        if isinstance(attr, property):
            if attr.fget is not None and not getattr(attr.fget, "_cuda_native", False):
                setattr(cls, name, property(_host_then_device(attr.fget), doc=attr.__doc__))
        elif callable(attr) and not getattr(attr, "_cuda_native", False):
            setattr(cls, name, _host_then_device(attr))


_wrap_host_results(Distribution)


# -- ``out=``: checked before anything runs, written in place, returned -----------
#: the array-returning methods that take ``out=``
_OUT_METHODS = (
    "log_prob",
    "prob",
    "cdf",
    "log_cdf",
    "survival_function",
    "log_survival_function",
    "icdf",
    "sample",
    "posterior_mode",
)


def _out_meta(dist, name, args, kwargs):
    """``(shape, dtype, inputs)`` of the result of ``dist.<name>(*args, **kwargs)``, from the
    arguments alone (nothing is computed); shape errors in the arguments are raised here."""
    from .._array import as_shape

    if name == "sample":
        sample_shape = args[0] if args else kwargs.get("sample_shape", ())
        shape = as_shape(sample_shape, "sample_shape", dist._batch_shape + dist._event_shape)
        return shape + dist._batch_shape + dist._event_shape, dist._sample_dtype(), ()
    value = args[0] if args else kwargs["value"]
    if _dev.is_device_array(value):
        vshape, vdtype, inputs = tuple(value.shape), np.dtype(value.dtype), ()
        if vdtype.kind != "f":
            vdtype = np.dtype(np.float64)
    else:
        arr = as_real_array(value, "value", dtype=dist._value_dtype(value))
        vshape, vdtype, inputs = arr.shape, arr.dtype, (arr,)
    dist._check_value_shape(vshape, "value")
    ne = len(dist._event_shape)
    shape = tuple(np.broadcast_shapes(tuple(vshape[: len(vshape) - ne]), dist._batch_shape))
    if name == "posterior_mode":
        return shape, np.dtype(np.int64), inputs
    if dist.support is not None and dist.support.is_discrete:
        return shape, np.dtype(dist._dtype), inputs
    return shape, result_dtype(dist._dtype, vdtype), inputs


def _deliver(out, result):
    """``out`` holding ``result``: a no-op where the kernel wrote into ``out``; a copy for the
    paths computed outside a kernel (NumPy fallbacks, host computations of CUDA distributions)."""
    if result is out:
        return out
    if isinstance(out, np.ndarray):
        with np.errstate(over="ignore"):
            np.copyto(out, np.asarray(result), casting="same_kind")
        return out
    from .._device import require_cuda

    kc = require_cuda()
    src = result if _dev.is_device_array(result) else kc.to_device(np.ascontiguousarray(result))
    kc.as_device(out).copy_to_device(kc.as_device(src))
    return out


def _with_out(fn, name):
    import inspect

    takes_out = "out" in inspect.signature(fn).parameters

    @functools.wraps(fn)
    def wrapper(self, *args, out=None, **kwargs):
        if out is None:
            return fn(self, *args, **kwargs)
        from .._array import check_out

        shape, dtype, inputs = _out_meta(self, name, args, kwargs)
        on = "cuda" if self._device == "cuda" and not _dev.host_scope_active() else "cpu"
        check_out(out, shape, dtype, inputs, device=on)
        r = fn(self, *args, out=out, **kwargs) if takes_out else fn(self, *args, **kwargs)
        if isinstance(r, tuple):  # sample(..., return_index=True): out holds the samples
            return (_deliver(out, r[0]),) + tuple(r[1:])
        return _deliver(out, r)

    wrapper._out_wrapped = True
    if not takes_out:
        wrapper.__doc__ = _doc_with_out(fn.__doc__)
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
        params.insert(at, inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None))
        wrapper.__signature__ = sig.replace(parameters=params)
    return wrapper


def _doc_with_out(doc):
    """``doc`` with ``out`` added to its Parameters section (made if missing), in numpydoc form."""
    lines = (doc or "").rstrip().split("\n")
    heads = [
        i - 1
        for i in range(1, len(lines))
        if lines[i].strip() and set(lines[i].strip()) == {"-"} and lines[i - 1].strip()
    ]
    p = next((h for h in heads if lines[h].strip() == "Parameters"), None)
    indent = " " * 8 if p is None else lines[p][: len(lines[p]) - len(lines[p].lstrip())]
    entry = [
        f"{indent}out : numpy.ndarray, optional",
        (
            f"{indent}    An array of the result's shape and dtype; this method's result is computed by"
            " NumPy and copied into it."
        ),
    ]
    if p is None:
        return "\n".join([*lines, "", f"{indent}Parameters", f"{indent}----------", *entry, indent])
    end = next((h for h in heads if h > p), len(lines))
    while end > p and not lines[end - 1].strip():
        end -= 1
    lines[end:end] = entry
    return "\n".join([*lines, indent])


def _wrap_out(cls):
    for name in _OUT_METHODS:
        attr = cls.__dict__.get(name)
        if callable(attr) and not getattr(attr, "_out_wrapped", False):
            setattr(cls, name, _with_out(attr, name))


_wrap_out(Distribution)


class KernelDistribution(Distribution):
    """Base of the distributions a kernel family computes (see ``docs/contributing.md``).

    A subclass sets

    ``family``
        the name of its :class:`mixstat.kernels.registry.Family`;
    ``arg_constraints``
        parameter name -> constraint, in the order the family's ``pack``
        takes them.  These drive validation: every parameter is checked
        against its constraint unless ``validate_args=False``;

    and calls ``self._init_params(validate_args, name=value, ...)`` from its
    ``__init__``.  The base owns coercion (one float dtype, Python numbers
    follow the arrays), broadcasting, immutable copies of the parameters,
    ``expand``, the packed rows (``family.pack``), ``cdf``, and the rows of a
    diagonal event for ``Independent``.

    Parameters
    ----------
    batch_shape, event_shape : tuple of int
        Set by ``_init_params`` from the broadcast parameters (see :class:`Distribution`).
    validate_args : bool or None, default None
        See :class:`Distribution`; passed to ``_init_params``.

    Attributes
    ----------
    family : str
        The kernel family's name in :mod:`mixstat.kernels.registry`.
    arg_constraints : dict
        Parameter name -> constraint, in the order of the family's ``pack``.

    Examples
    --------
    >>> from mixstat.distributions import Exponential, KernelDistribution
    >>> issubclass(Exponential, KernelDistribution), Exponential.family
    (True, 'exponential')
    """

    family = ""
    support = constraints.real

    def _init_params(self, validate_args, **raw):
        owner = type(self).__name__
        p, dtype = _float_params(owner, **raw)
        shape, arrays = _broadcast_params(owner, **p)
        # parameters checked while they were copied (one parallel pass each): the NumPy checks
        # of _validate_params skip them
        self._checked_params = set()
        for (name, a), _b in zip(p.items(), arrays):
            r = raw[name]
            fresh = a is not r and not (isinstance(r, np.ndarray) and np.may_share_memory(a, r))
            own, ok = frozen_checked(a, self.arg_constraints.get(name), fresh, validate_args is not False)
            if ok:
                self._checked_params.add(name)
            setattr(self, name, np.broadcast_to(own, shape))
        self._dtype = dtype
        self._device = _dev.device_of(*raw.values())
        Distribution.__init__(self, shape, (), validate_args)
        self._param_shapes = {name: a.shape for name, a in p.items()}  # (log_prob_grad)
        self._validate_params()

    def _validate_params(self):
        done = getattr(self, "_checked_params", ())
        self._check_params(**{n: (getattr(self, n), c) for n, c in self.arg_constraints.items() if n not in done})

    @property
    def _kfamily(self):
        from ..kernels import registry

        return registry.family(self.family)

    def _params(self, shape=None):
        """The parameters in ``arg_constraints`` order, broadcast to ``shape`` (default: the batch)."""
        shape = self._batch_shape if shape is None else tuple(shape)
        return [np.broadcast_to(getattr(self, n), shape) for n in self.arg_constraints]

    def _pack(self, dtype, shape=None):
        """Packed rows ``(*shape, P)`` (see the family module's ``pack``)."""
        return self._kfamily.module.pack(*self._params(shape), dtype)

    def _make_spec(self, dtype):
        from .. import plan

        return plan.KernelSpec(self.family, self._pack(dtype), 1, self._kfamily.discrete)

    def _diag_table(self, dtype):
        """Rows ``(*batch_shape, P)``: this univariate distribution as one coordinate
        (None for a vector family)."""
        return self._pack(dtype) if self._kfamily.univariate else None

    def cdf(self, value: ArrayLike, out: Array | None = None) -> Array:
        """``P(X <= value)``, shape ``(*sample, *batch_shape)`` (written into ``out`` when given).

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)`` (univariate: no event dims).
        out : numpy.ndarray, optional
            Written with the result and returned (see :meth:`Distribution.log_prob`).
        """
        if not self._kfamily.has("cdf1"):
            raise NotImplementedError(f"{type(self).__name__} has no cdf")
        value, dtype = self._checked_value(value)
        from .. import plan

        return plan.cdf(self._kernel_spec(dtype), value, self._batch_shape, device=self._placement(), out=out)

    def log_cdf(self, value: ArrayLike, out: Array | None = None) -> Array:
        """``log P(X <= value)``, shape ``(*sample, *batch_shape)``.

        Computed in log space by the family's ``logcdf1`` hook (never ``log(cdf)``), so it
        stays finite and accurate far in the lower tail: ``Normal(0, 1).log_cdf(-40)`` is
        ``-804.608...``, where ``cdf`` underflows to 0.  ``-inf`` below the support, NaN for NaN.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)`` (univariate: no event dims).
        out : numpy.ndarray, optional
            Written with the result and returned (see :meth:`Distribution.log_prob`).

        Raises
        ------
        NotImplementedError
            If the family has no log-space cdf (a vector family, VonMises).
        """
        return self._log_tail(value, "log_cdf", out=out)

    def log_survival_function(self, value: ArrayLike, out: Array | None = None) -> Array:
        """``log P(X > value)``, shape ``(*sample, *batch_shape)``.

        In log space by the family's ``logsf1`` hook (never ``log(1 - cdf)``): exact in
        the upper tail (``Normal(0, 1).log_survival_function(40)`` is ``-804.608...``)
        and near 0 in the lower tail.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)`` (univariate: no event dims).
        out : numpy.ndarray, optional
            Written with the result and returned (see :meth:`Distribution.log_prob`).
        """
        return self._log_tail(value, "log_sf", out=out)

    def survival_function(self, value: ArrayLike, out: Array | None = None) -> Array:
        """``P(X > value) = exp(log_survival_function(value))``, shape ``(*sample, *batch_shape)``.

        Formed in float64 and cast to the distribution's dtype at the end, so a float64
        tail probability of 1e-300 is 1e-300 and not 0 (``1 - cdf`` would be 0 from
        about 1e-16 on).  With a float64 ``out`` the kernel writes the log into it and it is
        exponentiated in place; a float32 ``out`` receives the cast of a float64 temporary.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)`` (univariate: no event dims).
        out : numpy.ndarray, optional
            Written with the result and returned (see :meth:`Distribution.log_prob`).
        """
        log64, dtype = self._log_tail(value, "log_sf", wide=True, out=out)
        return _exp_cast(self, log64, dtype, out=out)

    @cuda_native
    def icdf(self, value: ArrayLike, out: Array | None = None) -> Array:
        """The quantile function: the smallest ``x`` with ``cdf(x) >= value``, shape
        ``(*sample, *batch_shape)`` (into ``out`` when given: the float64 kernel writes into a
        float64 ``out``; a float32 one receives the cast).

        Computed in the kernel (:mod:`mixstat.kernels.quantile`): a bracket from the
        family's closed-form or approximate quantile, then a safeguarded Newton iteration
        on the log of the tail probability (the survival function for ``value > 1/2``, so
        ``icdf(1 - 1e-15)`` is as accurate as ``icdf(1e-15)``), in float64 and cast to the
        distribution's dtype.  Discrete families return the smallest support point with
        ``cdf(x) >= value``.  ``value`` 0 and 1 give the support's ends; values outside
        [0, 1] or NaN give NaN (a ``ValueError`` with ``validate_args=True``).

        Parameters
        ----------
        value : array_like
            Probabilities in [0, 1], broadcastable to ``(*sample, *batch_shape)``.
        out : numpy.ndarray, optional
            Written with the result and returned (see :meth:`Distribution.log_prob`).

        Raises
        ------
        NotImplementedError
            For a family without a cdf kernel (vector families, VonMises).
        """
        if not (self._kfamily.univariate and self._kfamily.has("cdf1") and self._kfamily.has("logpdf1")):
            raise NotImplementedError(
                f"{type(self).__name__} has no icdf (the {self.family!r} kernel family has no univariate cdf)"
            )
        from .. import plan
        from ._quantile import checked_probs, support_bounds, with_ends

        q, dtype = checked_probs(self, value)
        x = plan.icdf(self._kernel_spec(np.float64), q, self._batch_shape, device=self._placement(), out=_wide_out(out))
        lo, hi = support_bounds(self.support)
        return with_ends(self, q, x, lo, hi, dtype, out=out)

    def _log_tail(self, value, op, wide=False, out=None):
        """``log_cdf`` (``op="log_cdf"``) or the log survival function (``"log_sf"``) by the
        kernel; ``wide``: computed with the float64 kernel, returned with the result dtype.
        ``out`` (checked by the caller) receives the kernel's result where its dtype is the
        kernel's (with ``wide``, a float64 ``out`` only)."""
        hook = _TAIL_HOOKS[op]
        if not self._kfamily.has(hook):
            raise NotImplementedError(
                f"{type(self).__name__} has no {_TAIL_NAMES[op]} (the {self.family!r} "
                f"kernel family defines no {hook} hook)"
            )
        value, dtype = self._checked_value(value)
        from .. import plan

        fn = plan.log_cdf if op == "log_cdf" else plan.log_sf
        if not wide:
            return fn(self._kernel_spec(dtype), value, self._batch_shape, device=self._placement(), out=out)
        return fn(
            self._kernel_spec(np.float64),
            _as_f64(value),
            self._batch_shape,
            device=self._placement(),
            out=_wide_out(out),
        ), dtype

    def expand(self, batch_shape: Shape) -> Distribution:
        """A new distribution with parameters broadcast to ``batch_shape`` (no copy).

        Parameters
        ----------
        batch_shape : int or tuple of int
            The new batch shape; each existing dim must be 1 or equal.
        """
        batch_shape = self._expanded_batch(batch_shape)
        new = self._expanded_copy(batch_shape)
        for name in self.arg_constraints:
            setattr(new, name, np.broadcast_to(getattr(self, name), batch_shape))
        return new

    def sample_grad(
        self, samples: ArrayLike, cotangent: ArrayLike | None = None, wrt: str | Sequence[str] | None = None
    ) -> dict[str, Array]:
        """Implicit reparameterisation gradients of ``sum(cotangent * samples)``.

        ``dx/dtheta = -(dF(x)/dtheta) / p(x)`` at a fixed cdf value, by the family's
        ``xgrad1`` hook (univariate continuous families; see
        :meth:`mixstat.distributions.MixtureSameFamily.sample_grad` and
        ``docs/api/sample_grad.md``).

        Parameters
        ----------
        samples : array_like
            Draws of this distribution, shape ``(*sample, *batch_shape)``.
        cotangent : array_like, optional
            Broadcastable to the samples' shape (default: ones).
        wrt : str or sequence of str, optional
            Parameter names with a closed-form cdf derivative (the family's ``XGRAD``);
            default: all of them.

        Returns
        -------
        dict
            Name -> gradient in that parameter's shape, in the distribution's dtype.

        Raises
        ------
        NotImplementedError
            For families without the hook (Beta, VonMises, discrete families, vector
            families) and parameters without a closed form.
        ValueError
            For unknown names in ``wrt`` or samples that do not end with ``batch_shape``.
        """
        from ._sample_grad import sample_grad

        return sample_grad(self, samples, cotangent, wrt)

    def _moment(self, values):
        """``values`` (computed in float64) as an array of this distribution's dtype and batch shape."""
        return np.asarray(np.broadcast_to(values, self._batch_shape), dtype=self._dtype).copy()


_dask.install(Distribution)  # over the wrappers added to Distribution above


def _frozen_all_the_way(arr):
    """Whether ``frozen(arr)`` would return ``arr`` itself (read-only, no writable array beneath)."""
    base = arr
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            return False
        if base.base is None:
            return True
        base = base.base
    return isinstance(base, bytes)


def frozen_checked(arr, constraint, fresh=False, check=True):
    """``(own, ok)``: :func:`frozen` of ``arr``, and whether ``arr`` was checked against
    ``constraint`` on the way and satisfies it (``ok`` False: not checked here, or some entry
    violates it: the caller's NumPy checks then name it).

    Large C-contiguous float arrays under a constraint that :func:`mixstat.plan.copy_checked`
    knows (``real``, ``finite``, ``positive_finite``) are copied and checked in one parallel
    pass, and the copy is marked read-only; an array that needs no copy (``fresh``, or already
    read-only all the way down) is checked by one parallel read.  Nothing else is allocated.
    """
    from .. import plan

    kind = _COPY_KINDS.get(id(constraint))
    if kind is None or not plan.can_copy_checked(arr):
        return frozen(arr, fresh=fresh), False
    if (fresh and _made_here(arr)) or _frozen_all_the_way(arr):
        own = frozen(arr, fresh=fresh)
        if not check:
            return own, False
        _, bad = plan.copy_checked(own, kind, copy=False)
        return own, bad == 0
    own, bad = plan.copy_checked(arr, kind)
    return own, check and bad == 0


#: the constraints :func:`frozen_checked` checks in its parallel pass (codes of
#: :data:`mixstat.kernels.rows.KINDS`), by identity
_COPY_KINDS = {id(constraints.real): 0, id(constraints.finite): 1, id(constraints.positive_finite): 2}
