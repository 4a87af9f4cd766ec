"""The façade's side of ``icdf``: probabilities checked, the support's ends at ``q = 0`` and
``q = 1``, the kernel (:mod:`mixstat.kernels.quantile`) for ``0 < q < 1``."""

from __future__ import annotations

import numpy as np

from .. import _device as _dev
from .._array import fmt_shape
from . import constraints

__all__ = ["support_bounds", "checked_probs", "with_ends"]

_SCALAR_BOUNDS = {
    "real": (-np.inf, np.inf),
    "positive": (0.0, np.inf),
    "nonnegative": (0.0, np.inf),
    "positive_finite": (0.0, np.inf),
    "nonnegative_finite": (0.0, np.inf),
    "boolean": (0.0, 1.0),
}


def support_bounds(support):
    """``(lower, upper)`` ends of a univariate support constraint (floats or arrays, float64)."""
    lo = getattr(support, "lower_bound", None)
    hi = getattr(support, "upper_bound", None)
    if lo is None and hi is None:
        try:
            return _SCALAR_BOUNDS[repr(support)]
        except KeyError:
            raise NotImplementedError(f"icdf: no bounds known for the support {support!r}") from None
    lo = -np.inf if lo is None else np.asarray(lo, dtype=np.float64)
    hi = np.inf if hi is None else np.asarray(hi, dtype=np.float64)
    return lo, hi


def checked_probs(dist, value):
    """``(q as float64 host or device array, result dtype)``; ``ValueError`` under
    ``validate_args`` for probabilities outside [0, 1] (NaN included)."""
    value, dtype = dist._checked_value(value, check_support=False)
    if dist._validate_args:
        host = dist._placement().kernels.to_host(value) if _dev.is_device_array(value) else value
        ok = (host >= 0) & (host <= 1)
        if not np.all(ok):
            bad = tuple(int(i) for i in np.argwhere(~np.asarray(ok))[0])
            raise ValueError(
                f"{type(dist).__name__}.icdf: value of shape {fmt_shape(np.shape(host))} must be "
                f"probabilities in [0, 1] (first bad entry at index {bad}: {host[bad]!r})"
            )
    if isinstance(value, np.ndarray):
        value = value.astype(np.float64, copy=False)
    return value, dtype


def with_ends(dist, q, x64, lo, hi, dtype, out=None):
    """The kernel's quantiles ``x64`` with ``q == 0`` set to ``lo`` and ``q == 1`` to ``hi``,
    cast to ``dtype`` (on the device of ``dist``); into a host ``out`` when given (in place
    where the kernel wrote ``x64`` into it)."""
    if isinstance(out, np.ndarray) and isinstance(x64, np.ndarray):
        q = np.broadcast_to(q, x64.shape)
        with np.errstate(over="ignore"):
            if x64 is not out:
                np.copyto(out, x64, casting="same_kind")
            np.copyto(out, np.broadcast_to(lo, out.shape), casting="same_kind", where=q == 0.0)
            np.copyto(out, np.broadcast_to(hi, out.shape), casting="same_kind", where=q == 1.0)
        return out
    dev = dist._placement()
    on_device = _dev.is_device_array(x64)
    if on_device:
        x64 = dev.kernels.to_host(x64)
        q = dev.kernels.to_host(q) if _dev.is_device_array(q) else q
    q = np.broadcast_to(q, x64.shape)
    out = np.where(q == 0.0, lo, np.where(q == 1.0, hi, x64))
    with np.errstate(over="ignore"):
        out = np.asarray(out, dtype=dtype)
    if on_device:
        return _dev.to_device(np.ascontiguousarray(out))
    return out


def is_discrete(support):
    return bool(getattr(support, "is_discrete", False)) or isinstance(support, constraints.integer_interval)


#: bisection steps of the NumPy path (components without a kernel): a geometric bisection
#: closes any bracket of doubles in about 64 + 53 steps
NUMPY_MAXIT = 200
_DMAX = np.finfo(np.float64).max
_TINY = 5e-324


def np_mid(lo, hi):
    """The kernel's ``_mid`` (:mod:`mixstat.kernels.quantile`) over arrays."""
    with np.errstate(over="ignore", invalid="ignore"):
        m = lo + 0.5 * (hi - lo)
        a = np.maximum(lo, _TINY)
        geo_pos = np.sqrt(a) * np.sqrt(np.where(hi > 0, hi, 0.0))
        b = np.maximum(-hi, _TINY)
        geo_neg = -(np.sqrt(b) * np.sqrt(np.where(lo < 0, -lo, 0.0)))
        m = np.where((lo >= 0) & (hi > 4 * a), geo_pos, m)
        m = np.where((hi <= 0) & (-lo > 4 * b), geo_neg, m)
        m = np.where((lo < 0) & (hi > 0), 0.0, m)
        up = np.where(lo < 1, 2.0, np.where(lo < 1e154, lo * lo, np.minimum(lo * 2.0, _DMAX)))
        dn = np.where(hi > -1, -2.0, np.where(hi > -1e154, -(hi * hi), np.maximum(hi * 2.0, -_DMAX)))
        m = np.where(np.isposinf(hi), up, m)
        m = np.where(np.isneginf(lo), dn, m)
        m = np.where(np.isneginf(lo) & np.isposinf(hi), 0.0, m)
    return m


def np_mid_int(lo, hi):
    """An integer strictly between integers ``lo < hi - 1`` (doubling towards an infinite end)."""
    with np.errstate(over="ignore", invalid="ignore"):
        m = np.floor(lo + 0.5 * (hi - lo))
        m = np.where(np.isposinf(hi), np.maximum(2.0 * lo, lo + 1.0), m)
    return np.minimum(m, 2.0**62)


#: scipy's Sobol generator has direction numbers for this many dimensions
_SOBOL_MAX_DIM = 21201
_SOBOL_BITS = 53


def qmc_sample(dist, sample_shape, rng, method):
    """``sample(sample_shape, rng, method="qmc")``: scrambled Sobol points (one dimension per
    batch entry, ``prod(sample_shape)`` points) through ``dist.icdf``.

    The points ``k / 2**53`` are moved to the centres of their cells (``+ 2**-54``),
    so every one lies in ``(0, 1)``; scipy's generator is seeded from the Philox key
    that ``rng`` gives (one per call, as for ``method="random"``).
    """
    if method != "qmc":
        raise ValueError(f"{type(dist).__name__}.sample: method must be 'random' or 'qmc', got {method!r}")
    if dist.event_shape != ():
        raise ValueError(
            f"{type(dist).__name__}.sample: method='qmc' needs a univariate distribution "
            f"(event_shape {fmt_shape(dist.event_shape)})"
        )
    if not hasattr(dist, "icdf"):
        raise NotImplementedError(f"{type(dist).__name__}.sample: method='qmc' needs an icdf")
    import warnings

    from scipy.stats import qmc

    from .._rng import key_for

    batch = tuple(dist.batch_shape)
    d = int(np.prod(batch, dtype=np.int64)) if batch else 1
    n = int(np.prod(sample_shape, dtype=np.int64)) if sample_shape else 1
    if d > _SOBOL_MAX_DIM:
        raise ValueError(
            f"{type(dist).__name__}.sample: method='qmc' supports at most {_SOBOL_MAX_DIM} "
            f"batch entries (Sobol dimensions), got batch_shape {fmt_shape(batch)}"
        )
    k0, k1 = key_for(rng)
    seed = np.random.default_rng([int(k0), int(k1)])
    eng = qmc.Sobol(d=max(d, 1), scramble=True, bits=_SOBOL_BITS, seed=seed)
    with warnings.catch_warnings():
        # a sample size that is not a power of 2 is valid (its balance is merely weaker)
        warnings.simplefilter("ignore", UserWarning)
        u = eng.random(n) if n else np.empty((0, max(d, 1)))
    u = u + 2.0 ** -(_SOBOL_BITS + 1)
    u = u.reshape(tuple(sample_shape) + batch)
    x = dist.icdf(u)  # float64 points: the quantiles in float64, cast to the distribution's dtype
    if isinstance(x, np.ndarray) and x.dtype != dist.dtype:
        with np.errstate(over="ignore"):
            x = x.astype(dist.dtype)
    return x
