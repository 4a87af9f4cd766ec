"""Student's t distribution (location-scale)."""

from __future__ import annotations

import math

import numpy as np

from .._typing import Array, ArrayLike
from . import constraints
from .distribution import KernelDistribution

__all__ = ["StudentT"]

_HALF_LOG_2PI_E = 0.5 + 0.5 * math.log(2.0 * math.pi)


class StudentT(KernelDistribution):
    r"""Student's t distribution with ``df`` degrees of freedom, location ``loc`` and scale ``scale``.

    .. math::

        p(x) = \frac{\Gamma(\frac{\nu+1}{2})}{\Gamma(\frac{\nu}{2})\sqrt{\nu\pi}\,\sigma}
               \left(1 + \frac{z^2}{\nu}\right)^{-\frac{\nu+1}{2}},
        \qquad z = \frac{x - \mu}{\sigma}.

    Parameters
    ----------
    df : array_like
        Degrees of freedom :math:`\nu > 0`, finite (any positive value: the
        draws, density and cdf are exact for ``df`` well below 1 too).
    loc : array_like, default 0.0
        Location :math:`\mu`; finite.
    scale : array_like, default 1.0
        Scale :math:`\sigma > 0`, finite.  The three parameters broadcast together.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    df, loc, scale : numpy.ndarray
        Parameters broadcast to ``batch_shape`` (read-only copies).
    batch_shape : tuple
        ``broadcast(df.shape, loc.shape, scale.shape)``.
    event_shape : tuple
        ``()``.

    Raises
    ------
    ValueError
        If the shapes do not broadcast, ``df`` or ``scale`` is not positive and
        finite, or ``loc`` is not finite (NaN included).

    Notes
    -----
    As in ``torch.distributions.StudentT``: the mean is ``loc`` for ``df > 1``
    and NaN otherwise; the variance is :math:`\sigma^2 \nu / (\nu - 2)` for
    ``df > 2``, ``inf`` for ``1 < df <= 2`` and NaN for ``df <= 1``.  Entropy
    :math:`\frac{\nu+1}{2}\bigl(\psi(\frac{\nu+1}{2}) - \psi(\frac{\nu}{2})\bigr)
    + \frac12\log\nu + \log B(\frac{\nu}{2}, \frac12) + \log\sigma` (SciPy's
    asymptotic series in :math:`1/\nu` for ``df >= 100``).

    The cdf is :math:`I_x(\nu/2, 1/2)/2` below ``loc`` and
    :math:`1 - I_x(\nu/2, 1/2)/2` above, :math:`x = \nu / (\nu + z^2)`, with the
    regularised incomplete beta function and its complement each computed to
    full relative accuracy (both tails).

    Sampling: :math:`\mu + \sigma Z / \sqrt{G / h}`, :math:`h = \nu/2`, Z
    standard normal (Box-Muller) and G ~ Gamma(h) (Marsaglia-Tsang; for
    :math:`h < 1` through :math:`\log G` with the boost
    :math:`G(h) = G(h + 1) U^{1/h}`), on the counter-based Philox stream.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import StudentT
    >>> d = StudentT(np.array([1.0, 3.0, 5.0]))
    >>> d.mean
    array([nan,  0.,  0.])
    >>> d.variance
    array([       nan, 3.        , 1.66666667])
    >>> np.round(d.cdf(-1.0), 6)
    array([0.25    , 0.195501, 0.181609])
    """

    family = "studentt"
    df: Array
    loc: Array
    scale: Array
    arg_constraints = {
        "df": constraints.positive_finite,
        "loc": constraints.finite,
        "scale": constraints.positive_finite,
    }
    support = constraints.real

    def __init__(
        self, df: ArrayLike, loc: ArrayLike = 0.0, scale: ArrayLike = 1.0, validate_args: bool | None = None
    ) -> None:
        self._init_params(validate_args, df=df, loc=loc, scale=scale)

    @property
    def mean(self) -> Array:
        """``loc`` where ``df > 1``, NaN elsewhere; shape ``batch_shape``."""
        df = np.asarray(self.df, np.float64)
        return self._moment(np.where(df > 1, np.asarray(self.loc, np.float64), np.nan))

    @property
    def variance(self) -> Array:
        """``scale**2 df / (df - 2)`` where ``df > 2``, inf for ``1 < df <= 2``, NaN for
        ``df <= 1``; shape ``batch_shape``."""
        df = np.asarray(self.df, np.float64)
        sc = np.asarray(self.scale, np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            v = sc * sc * df / (df - 2.0)
        return self._moment(np.where(df > 2, v, np.where(df > 1, np.inf, np.nan)))

    def entropy(self) -> Array:
        """Differential entropy (closed form, see Notes), shape ``batch_shape``."""
        from scipy.special import betaln, digamma

        df = np.asarray(self.df, np.float64)
        sc = np.asarray(self.scale, np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            h, h1 = 0.5 * df, 0.5 * (df + 1.0)
            regular = h1 * (digamma(h1) - digamma(h)) + 0.5 * np.log(df) + betaln(h, 0.5)
            r = 1.0 / df
            asym = _HALF_LOG_2PI_E + r + r**2 / 4 - r**3 / 6 - r**4 / 8 + 3 * r**5 / 10 + r**6 / 4
            e = np.where(df >= 100, asym, regular) + np.log(sc)
        return self._moment(e)
