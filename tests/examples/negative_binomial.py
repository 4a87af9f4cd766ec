"""NegativeBinomial: the test reference (scipy.stats.nbinom with p = 1 - probs) and the registry
examples."""

import numpy as np
import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import NegativeBinomial


class NegativeBinomialRef(R.ScipyRef):
    _core = {"total_count": 0, "probs": 0}
    discrete = True

    def frozen(self):
        # torch counts successes (probability probs) before total_count failures: scipy's p = 1 - probs
        return stats.nbinom(n=self.total_count, p=1.0 - self.probs)

    def log_prob(self, x):
        out = super().log_prob(x)
        xb = np.broadcast_to(np.asarray(x, np.float64), np.shape(out))
        return np.where(np.isinf(xb), -np.inf, out)

    def entropy(self):
        return None


def params(rng, shape):
    # total_count below and above 1 (Gamma boost and Marsaglia-Tsang), rates below and above
    # the Poisson switch at 10
    return {"total_count": rng.uniform(0.5, 6.0, shape), "probs": rng.uniform(0.1, 0.75, shape)}


reg.add_family("negative_binomial", NegativeBinomial, NegativeBinomialRef, params, tags={"no-entropy"})
