"""Log-normal distribution."""

from __future__ import annotations

import math

import numpy as np

from .._typing import Array, ArrayLike
from . import constraints
from .distribution import KernelDistribution

__all__ = ["LogNormal"]

_HALF_LOG_2PI_E = 0.5 + 0.5 * math.log(2.0 * math.pi)


class LogNormal(KernelDistribution):
    r"""Log-normal distribution: ``log X`` is Normal with mean ``loc`` and standard deviation ``scale``.

    .. math:: p(x) = \frac{1}{x\,\sigma\sqrt{2\pi}}
              \exp\!\left(-\frac{(\log x-\mu)^2}{2\sigma^2}\right), \quad x > 0

    Parameters
    ----------
    loc : array_like
        Mean :math:`\mu` of ``log X``; finite.
    scale : array_like
        Standard deviation :math:`\sigma > 0` of ``log X``, finite; broadcast
        with ``loc``.
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
    support : Constraint
        ``positive``.

    Raises
    ------
    ValueError
        If the shapes do not broadcast, ``loc`` is not finite or ``scale`` is
        not positive and finite (NaN included).

    Notes
    -----
    Mean :math:`e^{\mu + \sigma^2/2}`, variance
    :math:`(e^{\sigma^2} - 1)\,e^{2\mu + \sigma^2}` (``inf`` where it
    overflows), entropy :math:`\mu + \tfrac12 + \tfrac12\log(2\pi) + \log\sigma`.
    ``log_prob`` is :math:`-(\log x-\mu)^2/(2\sigma^2) - \log x - \log\sigma -
    \tfrac12\log 2\pi` with ``log x`` computed once per point; ``cdf`` is
    :math:`\tfrac12\operatorname{erfc}(-(\log x - \mu)/(\sigma\sqrt2))`.
    Values ``x <= 0`` have log-density ``-inf`` and cdf 0.
    Sampling: ``exp(loc + scale * z)``, ``z`` standard normal by Box-Muller
    from the Philox stream.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import LogNormal
    >>> d = LogNormal([0.0, 1.0], 0.5)
    >>> np.round(d.mean, 4)
    array([1.1331, 3.0802])
    >>> np.round(d.log_prob(1.0), 4)
    array([-0.2258, -2.2258])
    >>> np.round(d.cdf(1.0), 4)
    array([0.5   , 0.0228])
    """

    family = "lognormal"
    loc: Array
    scale: Array
    arg_constraints = {"loc": constraints.finite, "scale": constraints.positive_finite}
    support = constraints.positive

    def __init__(self, loc: ArrayLike, scale: ArrayLike, validate_args: bool | None = None) -> None:
        self._init_params(validate_args, loc=loc, scale=scale)

    @property
    def mean(self) -> Array:
        """``exp(loc + scale**2 / 2)``, shape ``batch_shape``."""
        s = np.asarray(self.scale, np.float64)
        with np.errstate(over="ignore"):
            return self._moment(np.exp(np.asarray(self.loc, np.float64) + 0.5 * s * s))

    @property
    def variance(self) -> Array:
        """``expm1(scale**2) * exp(2 loc + scale**2)``, shape ``batch_shape``."""
        s2 = np.asarray(self.scale, np.float64) ** 2
        with np.errstate(over="ignore", invalid="ignore"):
            return self._moment(np.expm1(s2) * np.exp(2.0 * np.asarray(self.loc, np.float64) + s2))

    def entropy(self) -> Array:
        """``loc + 1/2 + log(2 pi)/2 + log(scale)``, shape ``batch_shape``."""
        return self._moment(
            np.asarray(self.loc, np.float64) + _HALF_LOG_2PI_E + np.log(np.asarray(self.scale, np.float64))
        )
