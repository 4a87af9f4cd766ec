"""Cauchy: the test reference (scipy.stats.cauchy) and the registry examples.

Tagged ``no-moments``: the mean and variance do not exist (torch's convention,
followed here: mean NaN, variance inf), so Monte-Carlo moment tests skip it.
"""

import numpy as np
import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Cauchy


class CauchyRef(R.ScipyRef):
    _core = {"loc": 0, "scale": 0}

    def frozen(self):
        return stats.cauchy(loc=self.loc, scale=self.scale)

    @property
    def mean(self):
        return np.full(self.batch_shape, np.nan)

    @property
    def variance(self):
        return np.full(self.batch_shape, np.inf)


def params(rng, shape):
    return {"loc": rng.uniform(-2.0, 2.0, shape), "scale": rng.uniform(0.5, 2.0, shape)}


reg.add_family("cauchy", Cauchy, CauchyRef, params, tags={"no-moments"})
