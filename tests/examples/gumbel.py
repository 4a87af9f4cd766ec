"""Gumbel: the test reference (scipy.stats.gumbel_r, torch's Gumbel) and the registry examples."""

import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Gumbel


class GumbelRef(R.ScipyRef):
    _core = {"loc": 0, "scale": 0}

    def frozen(self):
        return stats.gumbel_r(loc=self.loc, scale=self.scale)


def params(rng, shape):
    return {"loc": rng.uniform(-2.0, 2.0, shape), "scale": rng.uniform(0.5, 2.0, shape)}


reg.add_family("gumbel", Gumbel, GumbelRef, params)
