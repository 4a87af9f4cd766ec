"""Estimators with scikit-learn's interface on mixstat's kernels (imports scikit-learn).

``mixstat.mixture`` is imported explicitly (``import mixstat`` does not import it).
"""

from ._gaussian_mixture import DegenerateComponentWarning, GaussianMixture

__all__ = ["GaussianMixture", "DegenerateComponentWarning"]
