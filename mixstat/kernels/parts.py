"""Kernels split in parts: the CPU loops' work shared among threads without numba's parfors.

A kernel marked with :func:`parts` is compiled serially (``parallel=False``, ``nogil``) with
two trailing ``int64`` arguments ``part, nparts``; it does the chunks (or points)
``span(n, part, nparts)`` of its ``n`` and returns (a partial count, where it returns one).
:class:`mixstat._jit.Parts` runs parts ``1 .. nparts - 1`` on a pool of threads and part 0
on the calling thread.  Results do not depend on the split: tiles, not chunks or parts, fix
the arithmetic (and the counter-based streams the draws).

Why: numba's ``prange`` compiles a kernel's loop body twice more (as the parfor's gufunc, and
linked again into the kernel), about 40 % of a tiled kernel's compile time (measured:
``log_prob`` of Gamma 7.0 s with ``parallel=True``, 4.2 s without), and every kernel
compiles on a user's first call and in the test suite's cold-cache warmup.
"""

from numba.extending import register_jitable


def parts(fn):
    """Mark a factory's kernel ``fn`` as one taking ``(..., part, nparts)``."""
    fn.parts = True
    return fn


@register_jitable
def span(n, part, nparts):
    """``(lo, hi)``: the contiguous share of ``range(n)`` of ``part`` out of ``nparts``."""
    return n * part // nparts, n * (part + 1) // nparts
