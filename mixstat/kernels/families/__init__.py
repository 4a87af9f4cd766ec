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
"""
FAMILIES = ("normal", "mvn", "categorical")
