"""Uniform: the test reference (scipy.stats.uniform, density 0 at ``high`` as torch) and the
registry examples."""

import numpy as np
import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Uniform


class UniformRef(R.ScipyRef):
    _core = {"low": 0, "high": 0}

    def frozen(self):
        return stats.uniform(loc=self.low, scale=self.high - self.low)

    def log_prob(self, x):
        # torch's convention: [low, high) (scipy's support is closed)
        out = super().log_prob(x)
        xb = np.broadcast_to(np.asarray(x, np.float64), np.shape(out))
        return np.where(xb == np.broadcast_to(self.high, np.shape(out)), -np.inf, out)


def params(rng, shape):
    # independent ranges (the registry broadcasts one parameter alone): high - low >= 0.5
    return {"low": rng.uniform(-2.0, 1.0, shape), "high": rng.uniform(1.5, 4.0, shape)}


reg.add_family("uniform", Uniform, UniformRef, params)
