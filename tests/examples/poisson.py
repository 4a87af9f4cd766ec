"""Poisson: the test reference (scipy.stats.poisson) and the registry examples."""

import numpy as np
import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Poisson


class PoissonRef(R.ScipyRef):
    _core = {"rate": 0}
    discrete = True

    def frozen(self):
        return stats.poisson(mu=self.rate)

    def log_prob(self, x):
        # scipy gives NaN at +inf (and for rate 0 off 0); the mass is 0 there
        out = super().log_prob(x)
        xb = np.broadcast_to(np.asarray(x, np.float64), np.shape(out))
        return np.where(np.isinf(xb), -np.inf, out)


def params(rng, shape):
    # both sampler branches, alternating: inversion below rate 10, PTRS at and above
    lo, hi = rng.uniform(0.3, 9.5, shape), rng.uniform(10.0, 40.0, shape)
    pick = (np.arange(int(np.prod(shape))) % 2 == 1).reshape(shape)
    return {"rate": np.where(pick, hi, lo)}


reg.add_family("poisson", Poisson, PoissonRef, params)
