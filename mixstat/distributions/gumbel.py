"""Gumbel distribution (of the maximum)."""

from __future__ import annotations

import math

import numpy as np

from .._typing import Array, ArrayLike
from . import constraints
from .distribution import KernelDistribution

__all__ = ["Gumbel"]

_EULER = 0.57721566490153286061
_PI2_6 = math.pi**2 / 6.0


class Gumbel(KernelDistribution):
    r"""Gumbel distribution (type I extreme value, of the maximum) with location ``loc`` and scale ``scale``.

    .. math::

        p(x) = \frac{1}{\sigma} e^{-(z + e^{-z})}, \qquad
        F(x) = e^{-e^{-z}}, \qquad z = \frac{x - \mu}{\sigma}

    (``torch.distributions.Gumbel``; SciPy's ``gumbel_r``).

    Parameters
    ----------
    loc : array_like
        Location (mode) :math:`\mu`; finite.
    scale : array_like
        Scale :math:`\sigma > 0`, finite; broadcast with ``loc``.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    loc, scale : numpy.ndarray
        Parameters broadcast to ``batch_shape`` (read-only copies).
    batch_shape : tuple
        ``broadcast(loc.shape, scale.shape)``.
    event_shape : tuple
        ``()``.

    Raises
    ------
    ValueError
        If the shapes do not broadcast, ``scale`` is not positive and finite or
        ``loc`` is not finite (NaN included).

    Notes
    -----
    Mean :math:`\mu + \gamma\sigma` (:math:`\gamma` Euler's constant), variance
    :math:`\pi^2\sigma^2/6`, entropy :math:`\log\sigma + \gamma + 1`.

    Sampling: inversion, :math:`\mu - \sigma\log(-\log U)` at an open uniform
    U from the Philox stream, with :math:`-\log U` as
    ``-log1p(-(1 - U))`` for :math:`U > 1/2` (full relative accuracy in the
    upper tail).

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Gumbel
    >>> d = Gumbel(np.array([0.0, 1.0]), 2.0)
    >>> np.round(d.mean, 6)
    array([1.154431, 2.154431])
    >>> np.round(d.cdf(0.0), 6)
    array([0.367879, 0.192296])
    """

    family = "gumbel"
    loc: Array
    scale: Array
    arg_constraints = {"loc": constraints.finite, "scale": constraints.positive_finite}
    support = constraints.real

    def __init__(self, loc: ArrayLike, scale: ArrayLike, validate_args: bool | None = None) -> None:
        self._init_params(validate_args, loc=loc, scale=scale)

    @property
    def mean(self) -> Array:
        """``loc + scale * euler_gamma``, shape ``batch_shape``."""
        return self._moment(np.asarray(self.loc, np.float64) + _EULER * np.asarray(self.scale, np.float64))

    @property
    def variance(self) -> Array:
        """``(pi scale)**2 / 6``, shape ``batch_shape``."""
        sc = np.asarray(self.scale, np.float64)
        return self._moment(_PI2_6 * sc * sc)

    def entropy(self) -> Array:
        """``log(scale) + euler_gamma + 1``, shape ``batch_shape``."""
        return self._moment(np.log(np.asarray(self.scale, np.float64)) + (_EULER + 1.0))
