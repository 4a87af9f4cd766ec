"""Scalar math per component family.

Each family module defines, over one packed parameter row ``tab[b, k, :]``:

``logpdf(x, s, b, tab, k)``
    log-density of the event ``x[s, b, :]``.
``bound(tab, b, k)``
    an upper bound of ``logpdf`` over all ``x`` (the log-density at the
    mode); the CPU log-sum-exp scales by it instead of a per-point maximum.
``cdf(x, s, b, tab, k)`` (univariate families only)
    distribution function at ``x[s, b, 0]``.
``draw(key0, key1, n, tab, b, k, out, row)``
    one draw from component ``k`` into ``out[row, :]`` using the random
    stream of element ``n`` (blocks 1, 2, ...; block 0 chooses the component).

and a NumPy ``pack(...)`` that builds the rows from parameters.

A family may also give the CPU loops a tile version of the same math, ordered
so that the loop over a tile's points is innermost and has unit stride (LLVM
vectorises only innermost loops, and cannot unroll a triangular solve to get
there): ``logpdf_tile(xt, nl, tab, b, k, t, y)`` (MultivariateNormal) and
``draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1)`` (Normal,
same random stream as ``draw``).  The CUDA loops and the CPU fallbacks use the
scalar functions; tests check that both versions agree.
"""
FAMILIES = ("normal", "mvn", "categorical")
