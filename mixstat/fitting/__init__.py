"""Fitting mixtures by expectation-maximisation: :func:`fit_mixture`, :func:`select_n_components`.

Importing this package imports NumPy and SciPy only; the fused E-step kernels
(:mod:`mixstat.fitting._kernel`) compile on first use.
"""

from ._em import ComponentWarning, FitResult, fit_mixture, select_n_components

__all__ = ["fit_mixture", "select_n_components", "FitResult", "ComponentWarning"]
