"""``python -m mixstat``: the ``mixstat`` command (see :mod:`mixstat.cli` and ``docs/cli.md``).

``python -m mixstat warmup [--family NAME ...] [--dtype float64 float32] [--jobs N]``
    Compile the CPU kernels of the given families (default: every family) into
    the on-disk cache, in ``N`` processes at once (default: the CPU count), so
    that the first call of each operation in later processes loads its kernel
    in milliseconds instead of compiling it.  Prints one line per kernel with
    its compile time and the wall time of the whole warm-up.

``sample``, ``log-prob``, ``cdf``, ``icdf``, ``fit``, ``info``, ``bench``
    Saved models (:func:`mixstat.save`) over ``.npy`` files; ``python -m mixstat
    COMMAND --help`` describes each.
"""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m mixstat"))
