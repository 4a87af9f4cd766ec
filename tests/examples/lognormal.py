"""LogNormal: the test reference (scipy.stats.lognorm) and the registry examples."""

import numpy as np
import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import LogNormal


class LogNormalRef(R.ScipyRef):
    _core = {"loc": 0, "scale": 0}

    def frozen(self):
        return stats.lognorm(s=self.scale, scale=np.exp(self.loc))


def params(rng, shape):
    return {"loc": rng.uniform(-1.0, 1.0, shape), "scale": rng.uniform(0.3, 0.8, shape)}


reg.add_family("lognormal", LogNormal, LogNormalRef, params)
