"""HalfNormal: the test reference (scipy.stats.halfnorm) and the registry examples."""

import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import HalfNormal


class HalfNormalRef(R.ScipyRef):
    _core = {"scale": 0}

    def frozen(self):
        return stats.halfnorm(scale=self.scale)


def params(rng, shape):
    return {"scale": rng.uniform(0.5, 2.0, shape)}


reg.add_family("halfnormal", HalfNormal, HalfNormalRef, params)
