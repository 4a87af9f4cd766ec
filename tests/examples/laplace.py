"""Laplace: the test reference (scipy.stats.laplace) and the registry examples."""

import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Laplace


class LaplaceRef(R.ScipyRef):
    _core = {"loc": 0, "scale": 0}

    def frozen(self):
        return stats.laplace(loc=self.loc, scale=self.scale)


def params(rng, shape):
    return {"loc": rng.uniform(-2.0, 2.0, shape), "scale": rng.uniform(0.5, 2.0, shape)}


reg.add_family("laplace", Laplace, LaplaceRef, params)
