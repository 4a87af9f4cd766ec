"""Start-up costs, each measured in fresh interpreters (``subprocess``).

* ``import mixstat``: wall time of the import, and whether it imported numba
  (it must not: importing mixstat compiles nothing).
* first ``log_prob`` (W1's mixture, K = 16, 1000 points, float64) in a fresh
  process, with the on-disk kernel cache warm (it was filled by an earlier
  process) and cold (a new, empty ``MIXSTAT_CACHE_DIR``).  The first call
  includes importing numba and loading or compiling the kernel.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

_IMPORT = r"""
import json, sys, time
t = time.perf_counter()
import mixstat
dt = time.perf_counter() - t
print(json.dumps({"import_s": dt, "numba_imported": "numba" in sys.modules,
                  "llvmlite_imported": "llvmlite" in sys.modules}))
"""

_FIRST_CALL_TEMPLATE = r"""
import json, sys, time
t0 = time.perf_counter()
import mixstat
sys.path.insert(0, %r)
from workloads import mix1d, mixstat_mix1d
p = mix1d(1000, K=16)
d = mixstat_mix1d(p)
t1 = time.perf_counter()
d.log_prob(p.x)
t2 = time.perf_counter()
d.log_prob(p.x)
t3 = time.perf_counter()
print(json.dumps({"first_call_s": t2 - t1, "import_to_first_result_s": t2 - t0,
                  "second_call_s": t3 - t2}))
"""
_FIRST_CALL = _FIRST_CALL_TEMPLATE % HERE  # %-formatting: the template has literal braces


def _py(code, env=None):
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600
    )
    if r.returncode != 0:
        raise RuntimeError(f"start-up run failed (exit {r.returncode}): {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _median(runs, key):
    return statistics.median(r[key] for r in runs)


def import_time(repeats=7):
    _py(_IMPORT)  # warm the OS file cache and the .pyc files
    runs = [_py(_IMPORT) for _ in range(repeats)]
    return {
        "import_s": _median(runs, "import_s"),
        "runs": runs,
        "numba_imported": any(r["numba_imported"] for r in runs),
        "llvmlite_imported": any(r["llvmlite_imported"] for r in runs),
    }


def first_call_warm(repeats=5):
    _py(_FIRST_CALL)  # fills the cache in MIXSTAT_CACHE_DIR (or the default folder) if empty
    runs = [_py(_FIRST_CALL) for _ in range(repeats)]
    return {
        "first_call_s": _median(runs, "first_call_s"),
        "import_to_first_result_s": _median(runs, "import_to_first_result_s"),
        "runs": runs,
    }


def first_call_cold(repeats=2):
    runs = []
    for _ in range(repeats):
        d = tempfile.mkdtemp(prefix="mixstat-cold-cache-")
        try:
            runs.append(_py(_FIRST_CALL, env={"MIXSTAT_CACHE_DIR": d}))
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return {
        "first_call_s": _median(runs, "first_call_s"),
        "import_to_first_result_s": _median(runs, "import_to_first_result_s"),
        "runs": runs,
    }


if __name__ == "__main__":
    print(json.dumps({"import": import_time(), "warm": first_call_warm(), "cold": first_call_cold()}, indent=1))
