"""Gamma: the test reference (scipy.stats.gamma) and the registry examples."""

import numpy as np
import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Gamma


class GammaRef(R.ScipyRef):
    _core = {"concentration": 0, "rate": 0}

    def frozen(self):
        return stats.gamma(a=self.concentration, scale=1.0 / self.rate)

    def log_prob(self, x):
        # scipy gives NaN at +inf for concentration >= 1 (inf - inf); the density is 0 there
        out = super().log_prob(x)
        xb = np.broadcast_to(np.asarray(x, np.float64), np.shape(out))
        return np.where(xb == np.inf, -np.inf, out)


def params(rng, shape):
    # concentrations below 1 (unbounded density at 0: the running-maximum path) and above
    return {"concentration": rng.uniform(0.5, 4.0, shape), "rate": rng.uniform(0.5, 2.0, shape)}


reg.add_family("gamma", Gamma, GammaRef, params)
