"""CPU seconds to compile one kernel from a cold cache, one fresh process per kernel.

    .venv/bin/python benchmarks/compile_time.py [op family dtype dim] ...

Without arguments: a representative set (mixture and one-component log_prob, cdf, sample).
Each kernel is compiled in a new process with an empty ``MIXSTAT_CACHE_DIR`` (so numba's import
and nothing else is shared), timed with ``time.process_time`` around
``mixstat._jit.get_kernel``; the count of numba compiles of each function is printed too (a
function compiled more than once is compile time spent twice).
"""

import os
import subprocess
import sys
import tempfile

DEFAULT = [
    ("log_prob", "normal", "float64", 1),
    ("log_prob1", "normal", "float64", 1),
    ("log_prob", "exponential", "float64", 0),
    ("log_prob1", "exponential", "float64", 0),
    ("log_prob", "gamma", "float64", 0),
    ("log_prob", "mvn", "float64", 0),
    ("cdf", "normal", "float64", 0),
    ("cdf", "exponential", "float64", 0),
    ("sample", "normal", "float64", 0),
]

CHILD = r"""
import sys, time
from collections import Counter
import numba
from numba.core import event as ev
import mixstat._jit as J
count = Counter()
class L(ev.Listener):
    def on_start(self, e): pass
    def on_end(self, e): count[getattr(e.data.get("dispatcher"), "__qualname__", "?")] += 1
ev.register("numba:compile", L())
op, fam, dt, dim = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t = time.process_time()
J.get_kernel(op, fam, dt, dim)
twice = sorted(q for q, n in count.items() if n > 1 and "<locals>.impl" not in q)
print(f"{op:9s} {fam:12s} {dt} D={dim}: {time.process_time() - t:6.2f} s CPU; compiled twice: {twice or 'none'}")
"""


def main(argv):
    keys = [tuple(argv[i : i + 4]) for i in range(0, len(argv), 4)] if argv else DEFAULT
    for key in keys:
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ, MIXSTAT_CACHE_DIR=d)
            subprocess.run([sys.executable, "-c", CHILD, *map(str, key)], env=env, check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
