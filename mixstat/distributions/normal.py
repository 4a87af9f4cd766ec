"""Normal (Gaussian) distribution."""
from __future__ import annotations

import math

import numpy as np

from . import constraints
from .. import _device as _dev
from .._array import fmt_shape
from .distribution import Distribution, _broadcast_params, _float_params

__all__ = ["Normal"]

_HALF_LOG_2PI_E = 0.5 + 0.5 * math.log(2.0 * math.pi)


class Normal(Distribution):
    r"""Normal distribution with mean ``loc`` and standard deviation ``scale``.

    .. math:: p(x) = \frac{1}{\sigma\sqrt{2\pi}} \exp\!\left(-\frac{(x-\mu)^2}{2\sigma^2}\right)

    Parameters
    ----------
    loc : array_like
        Mean :math:`\mu`; finite.
    scale : array_like
        Standard deviation :math:`\sigma > 0`; broadcast with ``loc``.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    loc, scale : numpy.ndarray
        Parameters broadcast to ``batch_shape``.
    batch_shape : tuple
        ``broadcast(loc.shape, scale.shape)``.
    event_shape : tuple
        ``()``.

    Raises
    ------
    ValueError
        If the shapes do not broadcast, ``scale`` is not positive and finite or
        ``loc`` is not finite.

    Examples
    --------
    >>> import mixstat
    >>> from mixstat.distributions import Normal
    >>> d = Normal(mixstat.tensor([0.0, 1.0]), 2.0)
    >>> d.batch_shape
    (2,)
    >>> d.log_prob(0.0).shape
    (2,)
    """

    arg_constraints = {"loc": constraints.finite, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        p, dtype = _float_params("Normal", loc=loc, scale=scale)
        shape, (self.loc, self.scale) = _broadcast_params("Normal", loc=p["loc"], scale=p["scale"])
        self._dtype = dtype
        self._device = _dev.device_of(loc, scale)
        super().__init__(shape, (), validate_args)
        from .. import plan

        # large batches: checked and packed in one parallel pass (None: not
        # applicable, or some entry is invalid and the checks below name it)
        table = plan.normal_table(self.loc, self.scale)
        if table is not None:
            self._specs[np.dtype(table.dtype)] = plan.KernelSpec("normal", table, 1)
        else:
            self._check_params(
                loc=(self.loc, constraints.finite),
                scale=(self.scale, _positive_finite),
            )

    @property
    def mean(self):
        """``loc``, shape ``batch_shape``."""
        return np.array(self.loc)

    @property
    def variance(self):
        """``scale ** 2``, shape ``batch_shape``."""
        return self.scale * self.scale

    @property
    def stddev(self):
        """``scale``, shape ``batch_shape``."""
        return np.array(self.scale)

    def entropy(self):
        """``1/2 + 1/2 log(2 pi) + log(scale)``, shape ``batch_shape``."""
        return (_HALF_LOG_2PI_E + np.log(self.scale)).astype(self._dtype)

    def cdf(self, value):
        """``P(X <= value)``, shape ``(*sample, *batch_shape)``."""
        value, dtype = self._checked_value(value)
        from .. import plan

        return plan.cdf(self._kernel_spec(dtype), value, self._batch_shape, device=self._placement())

    def icdf(self, value):
        """Quantile function ``loc + scale * ndtri(value)`` for probabilities ``value`` in [0, 1].

        Values outside [0, 1] give NaN (a ``ValueError`` with ``validate_args=True``).
        """
        from scipy.special import ndtri

        value, dtype = self._checked_value(value, check_support=False)
        if self._validate_args and not np.all((value >= 0) & (value <= 1)):
            raise ValueError(f"Normal.icdf: value of shape {fmt_shape(value.shape)} must be "
                             "probabilities in [0, 1]")
        return (self.loc + self.scale * ndtri(value)).astype(dtype, copy=False)

    def expand(self, batch_shape):
        batch_shape = self._expanded_batch(batch_shape)
        new = self._expanded_copy(batch_shape)
        new.loc = np.broadcast_to(self.loc, batch_shape)
        new.scale = np.broadcast_to(self.scale, batch_shape)
        return new

    def _diag_normal_params(self):
        return self.loc, self.scale

    def _make_spec(self, dtype):
        from .. import plan
        from ..kernels.families import normal

        return plan.KernelSpec("normal", normal.pack(self.loc[..., None], self.scale[..., None], dtype), 1)


class _PositiveFinite(constraints.Constraint):
    def check(self, value):
        return (value > 0) & np.isfinite(value)

    def __repr__(self):
        return "positive (finite, > 0)"


_positive_finite = _PositiveFinite()
