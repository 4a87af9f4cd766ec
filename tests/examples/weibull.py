"""Weibull: the test reference (scipy.stats.weibull_min) and the registry examples."""

import numpy as np
import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Weibull


class WeibullRef(R.ScipyRef):
    _core = {"scale": 0, "concentration": 0}

    def frozen(self):
        return stats.weibull_min(c=self.concentration, scale=self.scale)

    def log_prob(self, x):
        # scipy gives NaN at +inf for concentration > 1 (inf - inf); the density is 0 there
        out = super().log_prob(x)
        xb = np.broadcast_to(np.asarray(x, np.float64), np.shape(out))
        return np.where(xb == np.inf, -np.inf, out)


def params(rng, shape):
    # concentrations below 1 (density unbounded at 0: the running-maximum path), at and above
    return {"scale": rng.uniform(0.5, 2.0, shape), "concentration": rng.uniform(0.6, 3.0, shape)}


reg.add_family("weibull", Weibull, WeibullRef, params)
