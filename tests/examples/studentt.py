"""StudentT: the test reference (scipy.stats.t) and the registry examples.

``df`` is drawn in [5, 10] (within the brief's [3, 10]): above 4 the fourth
moment is finite, so the Monte-Carlo variance z-tests (``test_generic``,
``test_samplers``) have a valid standard error.  Small ``df`` (0.5, 1, 1.5,
the sampler's switch at 2) is tested in ``tests/test_family_studentt.py``.
"""

import reference as R
import registry as reg
from scipy import stats

from mixstat.distributions import StudentT


class StudentTRef(R.ScipyRef):
    _core = {"df": 0, "loc": 0, "scale": 0}

    def frozen(self):
        return stats.t(self.df, loc=self.loc, scale=self.scale)


def params(rng, shape):
    return {
        "df": rng.uniform(5.0, 10.0, shape),
        "loc": rng.uniform(-2.0, 2.0, shape),
        "scale": rng.uniform(0.5, 2.0, shape),
    }


reg.add_family("studentt", StudentT, StudentTRef, params)
