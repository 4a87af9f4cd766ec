"""Scalar math per component family: one module per family.

Which families exist, and what kind of event each has, is said once, in
:mod:`mixstat.kernels.registry`; the hooks a module may define (``pack``,
``logpdf1``/``logpdf``, ``bound1``/``bound``, ``cdf1``, ``draw1``/``draw``, and
the CPU tile forms ``*_fast``, ``cdf1_tile``, ``logpdf_tile``, ``prep_tile``,
``draw_tile``) are listed in ``registry.HOOKS`` and described in
``docs/contributing.md``.  Tile forms order the loop over a tile's points
innermost with unit stride so that LLVM vectorises it; they use the same
random stream (draws) or give the same terms (densities) as the scalar hooks,
which the CUDA loops and the CPU fallbacks use, and the tests check that both
agree.  Families with a ``draw_tile``: Normal, LogNormal, HalfNormal, Laplace,
Weibull, Exponential, Cauchy, Gumbel.
"""
