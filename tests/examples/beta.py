"""Beta: the test reference (scipy.stats.beta) and the registry examples."""

import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import Beta


class BetaRef(R.ScipyRef):
    _core = {"concentration1": 0, "concentration0": 0}

    def frozen(self):
        return stats.beta(a=self.concentration1, b=self.concentration0)


def params(rng, shape):
    # concentrations from 0.8 (unbounded density at an end point) to 4; far below 1 in
    # tests/test_family_gamma.py (float32 draws round to 1 too often for the generic checks there)
    return {"concentration1": rng.uniform(0.8, 4.0, shape), "concentration0": rng.uniform(0.8, 4.0, shape)}


reg.add_family("beta", Beta, BetaRef, params)
