"""VonMises: the test reference (scipy.stats.vonmises) and the registry examples.

Tags: ``no-cdf`` (torch's VonMises has none: the generic cdf tests skip it and
check that ``cdf`` raises), ``no-moments`` (``mean``/``variance`` are torch's
circular ones, ``loc`` and ``1 - I1/I0``, not the linear moments of the draws
in [-pi, pi) that a Monte Carlo test would compare them with) and ``periodic``
(``log_prob`` is periodic over the real line and NaN at +-inf, as in scipy and
torch, not ``-inf``).
"""

import numpy as np
import reference as R
import registry as reg
from scipy import special, stats

from mixstat.distributions import VonMises


class VonMisesRef(R.ScipyRef):
    _core = {"loc": 0, "concentration": 0}

    def frozen(self):
        return stats.vonmises(kappa=self.concentration, loc=self.loc)

    def in_support(self, x):
        """The real line (torch's support for VonMises: the density is periodic)."""
        return ~np.isnan(np.asarray(x, np.float64))

    def cdf(self, x):
        """The cdf of the draws, which are wrapped to [-pi, pi) (for the sampler tests only:
        the distribution has no cdf).  scipy's vonmises cdf with loc 0 satisfies
        ``H(t + 2 pi) = H(t) + 1``, so the mass of [-pi, x] is ``H(x - w) - H(-pi - w)``
        with ``w`` the location wrapped to [-pi, pi)."""
        x = np.asarray(x, np.float64)
        w = np.mod(self.loc + np.pi, 2 * np.pi) - np.pi
        H = stats.vonmises(kappa=self.concentration).cdf
        with np.errstate(all="ignore"):
            return np.clip(H(x - w) - H(-np.pi - w), 0.0, 1.0)

    @property
    def mean(self):
        return np.array(np.broadcast_to(self.loc, self.batch_shape), dtype=np.float64)

    @property
    def variance(self):
        k = np.broadcast_to(self.concentration, self.batch_shape)
        return 1.0 - special.i1e(k) / special.i0e(k)


def params(rng, shape):
    return {"loc": rng.uniform(-3.0, 3.0, shape), "concentration": rng.uniform(0.5, 4.0, shape)}


reg.add_family("vonmises", VonMises, VonMisesRef, params, tags={"no-cdf", "no-moments", "periodic"})
