"""Geometric: the test reference (scipy.stats.geom shifted by one: failures before the first
success) and the registry examples, parameterised by logits."""

import numpy as np
import reference as R
import registry as reg
from scipy import special, stats

from mixstat.distributions import Geometric


class GeometricRef(R.ScipyRef):
    _core = {"logits": 0}
    discrete = True

    def frozen(self):
        return stats.geom(special.expit(self.logits), loc=-1)

    def log_prob(self, x):
        out = super().log_prob(x)
        xb = np.broadcast_to(np.asarray(x, np.float64), np.shape(out))
        return np.where(np.isinf(xb), -np.inf, out)


def params(rng, shape):
    p = rng.uniform(0.15, 0.9, shape)
    return {"logits": np.log(p) - np.log1p(-p)}


reg.add_family("geometric", Geometric, GeometricRef, params)
