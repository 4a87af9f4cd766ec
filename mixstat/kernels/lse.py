"""The per-point log-sum-exp with a running maximum, shared by the CPU and CUDA loops.

``m, acc = -inf, 0.0``; ``m, acc = lse_add(m, acc, t)`` for every term ``t``;
``lse_end(m, acc)`` is ``log(sum(exp(t)))``.  One pass, no temporary, finite
however far out the terms are; ``-inf`` terms contribute nothing and a NaN term
makes the result NaN.  The CPU uses it for the points its tiled kernel
redoes exactly (far tails, infinite values, NaN); the CUDA loop for every point.
"""

import math

from numba.extending import register_jitable


@register_jitable
def lse_add(m, acc, t):
    """Add the term ``t`` to the running maximum ``m`` and scaled sum ``acc``."""
    if t > m:
        return t, acc * math.exp(m - t) + 1.0
    if t == -math.inf:
        return m, acc
    if t == m:
        return m, acc + 1.0
    return m, acc + math.exp(t - m)  # NaN propagates here


@register_jitable
def lse_end(m, acc):
    """``m + log(acc)``; ``-inf`` when every term was ``-inf`` (``acc == 0``,
    without calling log(0), which raises as plain Python in the CUDA simulator)."""
    if acc == 0.0:
        return m
    return m + math.log(acc)
