"""Categorical distribution over ``0 .. K-1``."""

from __future__ import annotations

from typing import cast

import numpy as np

from .. import _buffers, _device as _dev
from .._array import as_real_array, fmt_shape, is_weak
from .._typing import Array, ArrayLike, RNGLike, Shape
from . import constraints
from .distribution import Distribution

__all__ = ["Categorical"]


def _normalise(param):
    """``param - logsumexp(param, -1)`` in NumPy (rows of ``-inf`` stay ``-inf``)."""
    m = param.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    # (param - m) - log(sum exp(param - m)): adding m back to the small log-sum first would
    # round it to the precision of m (3e-5 absolute for float32 logits near 512)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        shifted = param - m
        return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


class Categorical(Distribution):
    r"""Categorical distribution over the integers ``0 .. K-1``.

    Give exactly one of ``probs`` and ``logits``; the rightmost dim indexes
    the ``K`` categories and the others are the batch.

    Parameters
    ----------
    probs : array_like, optional
        Non-negative weights, shape ``(*batch, K)``; normalised to sum to one.
    logits : array_like, optional
        Unnormalised log-weights, shape ``(*batch, K)``; ``-inf`` gives a zero
        weight.  Stored normalised: ``logits - logsumexp(logits)``.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    probs, logits : numpy.ndarray
        Normalised probabilities and log-probabilities, each derived lazily
        from the other.
    batch_shape : tuple
        ``param.shape[:-1]``.
    event_shape : tuple
        ``()``.

    Raises
    ------
    ValueError
        If both or neither of ``probs``/``logits`` are given, the parameter
        has no category dim, probs are negative/non-finite or sum to zero, or
        logits are NaN/``+inf`` or all ``-inf`` in a row.

    Notes
    -----
    Samples are ``int64`` indices.  ``mean`` and ``variance`` are NaN (the
    categories are labels, not numbers), as in ``torch.distributions``.

    Examples
    --------
    >>> import mixstat
    >>> from mixstat.distributions import Categorical
    >>> c = Categorical(probs=mixstat.tensor([0.3, 0.7]))
    >>> c.sample((4,), rng=0).dtype
    dtype('int64')
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    #: the checked, read-only copy of logits given raw (large batches), until ``logits`` is
    #: first read; None otherwise
    _raw_logits: np.ndarray | None = None

    def __init__(
        self, probs: ArrayLike | None = None, logits: ArrayLike | None = None, validate_args: bool | None = None
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Categorical: give exactly one of probs or logits")
        name = "probs" if probs is not None else "logits"
        raw = probs if probs is not None else logits
        param = as_real_array(raw, name)
        self._weak_dtype = is_weak(raw)
        if param.ndim < 1:
            raise ValueError(
                f"Categorical: {name} must have at least one dim (the K categories), got shape {fmt_shape(param.shape)}"
            )
        if param.shape[-1] < 1:
            raise ValueError(f"Categorical: {name} of shape {fmt_shape(param.shape)} has no categories")
        self._dtype = param.dtype
        self._device = _dev.device_of(raw)
        super().__init__(param.shape[:-1], (), validate_args)
        check = self._validate_args is not False
        self._probs = self._logits = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if probs is not None:
                if check:
                    bad = ~(np.isfinite(param) & (param >= 0))
                    if bad.any():
                        self._fail("probs", param, bad, "non-negative and finite")
                # divide by the row maximum first: the sum of huge weights must not overflow
                peak = param.max(-1, keepdims=True)
                scaled = param / np.where((peak > 0) & np.isfinite(peak), peak, 1)
                total = scaled.sum(-1, keepdims=True)
                if check and not (total > 0).all():
                    self._fail("probs", param, ~(total[..., 0] > 0), "a positive sum in every row")
                self._probs = scaled / total
            else:
                from .. import plan

                # a checked copy in one parallel pass, normalised on first use (the per-row
                # kernels of Normal mixtures normalise rows themselves, in their own pass)
                fast = plan.normalized_logits(param, normalise=False) if param.shape[-1] > 1 else None
                if fast is not None and fast[1] == 0:
                    self._raw_logits = fast[0]
                    check = False
                if check:
                    bad = np.isnan(param) | (param == np.inf)
                    if bad.any():
                        self._fail("logits", param, bad, "not NaN and not +inf")
                    finite_row = (param > -np.inf).any(-1)
                    if not finite_row.all():
                        self._fail("logits", param, ~finite_row, "finite in at least one entry of every row")
                if self._raw_logits is None:
                    self._logits = _normalise(param)
        for stored in (self._probs, self._logits, self._raw_logits):
            if stored is not None:  # made here: nobody else holds them
                _buffers.seal(stored)
        self._num_events = param.shape[-1]
        self.support = constraints.integer_interval(0, self._num_events - 1)

    @classmethod
    def _from_normalized_logits(cls, logits, validate_args=None, device="cpu"):
        """A Categorical over already-normalised log-probabilities, without checks or copies.

        ``logits`` (``(*batch, K)``, float32/float64) is kept as it is and made
        read-only; the caller guarantees ``logsumexp(logits, -1) == 0`` (rows of
        NaN are kept: an undefined distribution).  ``probs`` is derived lazily.
        """
        self = cls.__new__(cls)
        Distribution.__init__(self, logits.shape[:-1], (), validate_args)
        _buffers.seal(logits)
        self._weak_dtype = False
        self._dtype = logits.dtype
        self._device = device
        self._probs = None
        self._logits = logits
        self._num_events = logits.shape[-1]
        self.support = constraints.integer_interval(0, self._num_events - 1)
        return self

    def _fail(self, name, param, bad, what):
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"Categorical: parameter {name} of shape {fmt_shape(param.shape)} must be "
            f"{what}; violated first at index {first}"
        )

    @property
    def probs(self) -> Array:
        """Normalised probabilities, shape ``(*batch_shape, K)``."""
        if self._probs is None:
            probs = np.exp(self.logits)
            probs.flags.writeable = False
            self._probs = probs
        return self._probs

    @property
    def logits(self) -> Array:
        """Normalised log-probabilities, shape ``(*batch_shape, K)``; ``-inf`` for zero weight."""
        if self._logits is None:
            raw = self._raw_logits
            if raw is not None:
                from .. import plan

                made = plan.normalized_logits(raw)
                if made is not None:
                    logits = made[0]
                    _buffers.seal(logits)
                else:  # (a broadcast view of expand)
                    logits = _normalise(raw)
                    logits.flags.writeable = False
            else:
                with np.errstate(divide="ignore"):
                    logits = np.log(cast("np.ndarray", self._probs))
                logits.flags.writeable = False
            self._logits = logits
        return self._logits

    def _logits_for_rows(self):
        """``(logits, normalised)`` for the per-row kernels: the raw copy (``normalised`` False:
        the kernel normalises each row) while the normalised logits are not made yet."""
        if self._logits is None and self._raw_logits is not None:
            return self._raw_logits, False
        return self.logits, True

    @property
    def param_shape(self) -> tuple[int, ...]:
        """``(*batch_shape, K)``."""
        return self._batch_shape + (self._num_events,)

    @property
    def mean(self) -> Array:
        """NaN, shape ``batch_shape``: categories are labels (as in torch.distributions)."""
        return np.full(self._batch_shape, np.nan, dtype=self._dtype)

    @property
    def variance(self) -> Array:
        """NaN, shape ``batch_shape``: categories are labels (as in torch.distributions)."""
        return np.full(self._batch_shape, np.nan, dtype=self._dtype)

    def entropy(self) -> Array:
        """``-sum_k p_k log p_k`` (zero-weight terms count as 0), shape ``batch_shape``."""
        p, lp = self.probs, self.logits
        return -np.where(p > 0, p * np.where(p > 0, lp, 0), 0).sum(-1)

    def _cumw(self):
        c = self.__dict__.get("_cum")
        if c is None:
            c = self.__dict__["_cum"] = np.cumsum(self.probs, axis=-1)
        return c

    def sample(self, sample_shape: Shape = (), rng: RNGLike = None, out: Array | None = None) -> Array:  # type: ignore[override]
        from .. import plan
        from .._array import as_shape

        sample_shape = as_shape(sample_shape, "sample_shape", self._batch_shape)
        return plan.choose(self._cumw(), sample_shape, self._batch_shape, rng, device=self._placement(), out=out)

    def _gather(self, value, table):
        shape = np.broadcast_shapes(value.shape, self._batch_shape)
        K = self._num_events
        with np.errstate(invalid="ignore"):
            valid = (value >= 0) & (value < K) & (value == np.floor(value))
        idx = np.where(valid, value, 0).astype(np.intp)
        idx = np.broadcast_to(idx, shape)[..., None]
        t = np.broadcast_to(table, shape + (K,))
        return np.take_along_axis(t, idx, axis=-1)[..., 0], np.broadcast_to(valid, shape)

    # (out= is added to log_prob and cdf by the metaclass wrapper, which copies into it)
    def log_prob(self, value: ArrayLike) -> Array:  # type: ignore[override]
        """Log-probability ``logits[value]``; ``-inf`` outside ``0 .. K-1`` or for non-integers, NaN for NaN.

        Parameters
        ----------
        value : array_like
            Category indices, broadcast against ``batch_shape``.
        """
        value, _ = self._checked_value(value)
        if (dev := self._placement()) is not None:  # the categorical kernel: same values
            from .. import plan

            return plan.log_prob(self._kernel_spec(self._dtype), value, self._batch_shape, (), device=dev)
        out, valid = self._gather(value, self.logits)
        out = np.where(valid, out, np.where(np.isnan(value), np.nan, -np.inf))
        return out.astype(self._dtype, copy=False)

    def cdf(self, value: ArrayLike) -> Array:
        """Cumulative distribution ``P(X <= value) = sum_{k <= floor(value)} p_k``.

        Parameters
        ----------
        value : array_like
            Values, broadcast against ``batch_shape``.
        """
        value, _ = self._checked_value(value)
        if (dev := self._placement()) is not None:
            from .. import plan

            return plan.cdf(self._kernel_spec(self._dtype), value, self._batch_shape, device=dev)
        cum = self._cumw() / self._cumw()[..., -1:]
        K = self._num_events
        with np.errstate(invalid="ignore"):
            fl = np.clip(np.floor(value), 0, K - 1)
        out, _ = self._gather(fl, cum)
        out = np.where(value < 0, 0.0, np.where(value >= K - 1, 1.0, out))
        out = np.where(np.isnan(value), np.nan, out)
        return out.astype(self._dtype, copy=False)

    def expand(self, batch_shape: Shape) -> Categorical:
        batch_shape = self._expanded_batch(batch_shape)
        new = self._expanded_copy(batch_shape)
        new._weak_dtype = self._weak_dtype
        new._num_events = self._num_events
        new.support = self.support
        shape = batch_shape + (self._num_events,)
        # keep whichever of probs/logits is not derived yet lazy
        new._logits = None if self._logits is None else np.broadcast_to(self._logits, shape)
        if self._raw_logits is not None:
            new._raw_logits = np.broadcast_to(self._raw_logits, shape)
        new._probs = None if self._probs is None else np.broadcast_to(self._probs, shape)
        return new

    family = "categorical"

    @property
    def _kfamily(self):
        from ..kernels import registry

        return registry.family(self.family)

    def _diag_table(self, dtype):
        """Rows ``(*batch_shape, 1 + 2 K)``: this distribution as one coordinate."""
        return self._kfamily.module.pack(self.logits, dtype)

    def _make_spec(self, dtype):
        from .. import plan

        return plan.KernelSpec(self.family, self._diag_table(dtype), 1, discrete=True)

    def __repr__(self):
        return f"Categorical(probs: shape {fmt_shape(self.param_shape)})"
