"""Numba kernels: scalar math per family, the counter-based RNG, and CPU loops.

Nothing here knows a façade class.  The scalar functions are plain Python
functions registered with :func:`numba.extending.register_jitable`, so the same
source compiles for the CPU (``njit``), for CUDA (``cuda.jit``) and runs as
plain Python in the CUDA simulator.
"""
