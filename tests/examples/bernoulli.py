"""Bernoulli: the test reference (scipy.stats.bernoulli) and the registry examples."""

import numpy as np
import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Bernoulli


class BernoulliRef(R.ScipyRef):
    _core = {"probs": 0}
    discrete = True

    def frozen(self):
        return stats.bernoulli(self.probs)

    def log_prob(self, x):
        out = super().log_prob(x)  # scipy: -inf off {0, 1}; NaN at NaN
        xb = np.broadcast_to(np.asarray(x, np.float64), np.shape(out))
        return np.where(np.isinf(xb), -np.inf, out)


def params(rng, shape):
    return {"probs": rng.uniform(0.05, 0.95, shape)}


reg.add_family("bernoulli", Bernoulli, BernoulliRef, params)
