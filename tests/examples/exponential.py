"""Exponential: the test reference (scipy.stats.expon) and the registry examples."""

import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Exponential


class ExponentialRef(R.ScipyRef):
    _core = {"rate": 0}

    def frozen(self):
        return stats.expon(scale=1.0 / self.rate)


def params(rng, shape):
    return {"rate": rng.uniform(0.5, 2.0, shape)}


reg.add_family("exponential", Exponential, ExponentialRef, params)
