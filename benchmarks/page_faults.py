"""Where the "placement effect" of W1 comes from: page faults on a fresh output array.

    python benchmarks/page_faults.py [--n 10000000] [--k 16] [--repeats 15] [--json PATH]

W1 (``log_prob`` of N points, a K = 16 Normal mixture) timed per call four ways, interleaved
so that the machine's load falls on each alike:

``fresh``
    ``d.log_prob(x)``: a new 80 MB output every call (NumPy allocates it with ``mmap`` and
    ``madvise(MADV_HUGEPAGE)``, frees it with ``munmap``: every call faults it in again);
``out=``
    ``d.log_prob(x, out=o)`` into one reused array;
``prefaulted``
    a fresh array whose pages were touched (``fill``) before the timed call;
``fresh, no THP``
    ``fresh`` in a child process with transparent huge pages disabled for it
    (``prctl(PR_SET_THP_DISABLE)``): 4 KiB faults instead of 2 MiB ones.

plus ``np.empty(N)`` + ``fill`` alone (the cost of faulting the pages in, without the kernel).
For each: wall time, user and system CPU time (``getrusage``, all threads), minor page faults
(``/proc/self/stat``), medians over the repeats.  The system time and fault count of
``fresh`` minus ``out=`` is the cost of the fresh output.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workloads as wl


def _minflt():
    with open("/proc/self/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])  # field 10: minflt


_VMSTAT = ("thp_fault_alloc", "thp_fault_fallback", "compact_stall", "compact_success")


def _vmstat():
    """System-wide counters of huge-page faults and direct compaction (``/proc/vmstat``)."""
    try:
        with open("/proc/vmstat") as f:
            rows = dict(line.split() for line in f)
        return {k: int(rows.get(k, 0)) for k in _VMSTAT}
    except OSError:
        return dict.fromkeys(_VMSTAT, 0)


def _sample(fn):
    r0, f0, t0 = resource.getrusage(resource.RUSAGE_SELF), _minflt(), time.perf_counter()
    fn()
    t1, f1, r1 = time.perf_counter(), _minflt(), resource.getrusage(resource.RUSAGE_SELF)
    return {"wall": t1 - t0, "user": r1.ru_utime - r0.ru_utime, "sys": r1.ru_stime - r0.ru_stime, "minflt": f1 - f0}


def _thp_settings():
    out = {}
    for name in ("enabled", "defrag"):
        try:
            with open(f"/sys/kernel/mm/transparent_hugepage/{name}") as f:
                out[name] = f.read().strip()
        except OSError:
            out[name] = "unknown"
    return out


def _cases(n, k):
    p = wl.mix1d(n, k)
    d = wl.mixstat_mix1d(p)
    o = np.empty(n)
    d.log_prob(p.x, out=o)  # compile / load, and fault ``o`` in once

    def prefaulted():
        a = np.empty(n)
        a.fill(0.0)
        return a

    state = {}

    def pre_setup():
        state["a"] = prefaulted()

    return {
        "fresh": (None, lambda: d.log_prob(p.x)),
        "out=": (None, lambda: d.log_prob(p.x, out=o)),
        "prefaulted": (pre_setup, lambda: d.log_prob(p.x, out=state["a"])),
        "empty+fill alone": (None, prefaulted),
    }


def measure(n, k, repeats, only=None):
    cases = _cases(n, k)
    if only:
        cases = {c: cases[c] for c in only}
    samples = {c: [] for c in cases}
    vm = {c: dict.fromkeys(_VMSTAT, 0) for c in cases}
    for _ in range(repeats):
        for name, (setup, fn) in cases.items():
            if setup is not None:
                setup()
            v0 = _vmstat()
            samples[name].append(_sample(fn))
            v1 = _vmstat()
            for k in _VMSTAT:  # system-wide: other processes' faults count too
                vm[name][k] += v1[k] - v0[k]
    return {
        name: {key: statistics.median(s[key] for s in rows) for key in rows[0]}
        | {
            "repeats": len(rows),
            "sys_max": max(s["sys"] for s in rows),
            "wall_min": min(s["wall"] for s in rows),
            "calls_sys_over_50ms": sum(s["sys"] > 0.05 for s in rows),
            "sys_all": [s["sys"] for s in rows],
            "wall_all": [s["wall"] for s in rows],
        }
        | {"vmstat_" + k: v for k, v in vm[name].items()}
        for name, rows in samples.items()
    }


def _child_no_thp(n, k, repeats):
    """``fresh`` (and ``out=``) with transparent huge pages disabled for this process."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_THP_DISABLE = 41
    if libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0:
        return {"error": f"prctl failed: errno {ctypes.get_errno()}"}
    return measure(n, k, repeats, only=("fresh", "out=", "empty+fill alone"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10**7)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--json")
    ap.add_argument("--child-no-thp", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child_no_thp:
        print(json.dumps(_child_no_thp(a.n, a.k, a.repeats)))
        return 0
    import numba

    res = {
        "n": a.n,
        "k": a.k,
        "threads": numba.get_num_threads(),
        "thp": _thp_settings(),
        "loadavg_before": os.getloadavg(),
    }
    res["cases"] = measure(a.n, a.k, a.repeats)
    child = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--child-no-thp",
            "--n",
            str(a.n),
            "--k",
            str(a.k),
            "--repeats",
            str(a.repeats),
        ],
        capture_output=True,
        text=True,
    )
    try:
        res["no_thp"] = json.loads(child.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        res["no_thp"] = {"error": (child.stderr or child.stdout)[-300:]}
    res["loadavg_after"] = os.getloadavg()
    mb = a.n * 8 / 1e6
    print(
        f"W1 log_prob, N={a.n:g}, K={a.k}, output {mb:.0f} MB, {res['threads']} threads; "
        f"THP enabled={res['thp']['enabled']} defrag={res['thp']['defrag']}; "
        f"load average {res['loadavg_before'][0]:.2f} -> {res['loadavg_after'][0]:.2f}"
    )
    print(
        f"{'case':<32} {'wall ms':>9} {'user ms':>9} {'sys ms':>9} {'minor faults':>13} "
        f"{'min wall':>9} {'max sys':>8} {'sys>50ms':>8} {'compact stalls':>14} {'THP faults':>10}"
        f"  (medians; min / max / counts over the repeats)"
    )
    for title, block in (("", res["cases"]), (" (THP disabled)", res["no_thp"])):
        if "error" in block:
            print(f"THP-disabled child: {block['error']}")
            continue
        for name, r in block.items():
            print(
                f"{name + title:<32} {r['wall'] * 1e3:9.1f} {r['user'] * 1e3:9.1f} {r['sys'] * 1e3:9.1f} "
                f"{r['minflt']:13.0f} {r['wall_min'] * 1e3:9.1f} {r['sys_max'] * 1e3:8.1f} "
                f"{r['calls_sys_over_50ms']:>5}/{r['repeats']:<2} {r['vmstat_compact_stall']:14d} "
                f"{r['vmstat_thp_fault_alloc']:10d}"
            )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
