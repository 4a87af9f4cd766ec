"""Binomial: the test reference (scipy.stats.binom) and the registry examples."""

import numpy as np
import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Binomial


class BinomialRef(R.ScipyRef):
    _core = {"total_count": 0, "probs": 0}
    discrete = True

    def frozen(self):
        return stats.binom(self.total_count, self.probs)

    def log_prob(self, x):
        out = super().log_prob(x)
        xb = np.broadcast_to(np.asarray(x, np.float64), np.shape(out))
        return np.where(np.isinf(xb), -np.inf, out)


def params(rng, shape):
    # both sampler branches, alternating: inversion for n min(p, 1-p) < 10 (p on both sides
    # of 1/2: the symmetry n - X), BTRS at and above
    n_lo, p_lo = rng.integers(1, 30, shape), rng.uniform(0.02, 0.3, shape)
    p_lo = np.where(rng.uniform(size=shape) < 0.5, p_lo, 1.0 - p_lo)
    n_hi, p_hi = rng.integers(40, 120, shape), rng.uniform(0.3, 0.7, shape)
    pick = (np.arange(int(np.prod(shape))) % 2 == 1).reshape(shape)
    return {"total_count": np.where(pick, n_hi, n_lo).astype(np.float64), "probs": np.where(pick, p_hi, p_lo)}


reg.add_family("binomial", Binomial, BinomialRef, params)
