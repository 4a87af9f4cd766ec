"""mixstat beside its peers, in one process, on the same data.

    python benchmarks/compare.py [--quick] [--only W1,W3,...] [--json PATH] [--markdown PATH]

Each figure is the median of timed repeats after a warm-up call; the warm-up
call's values are cross-checked against mixstat's before anything is timed (a
mismatch aborts that row with a loud message and makes the exit status 1).
Peers that are not installed are skipped with a message (NumPy + SciPy are
always there).  Ratios are peer time / mixstat time per unit of work, so a
slow peer run on fewer points (said in its notes) is still compared fairly.

Workloads (float64 unless said):
  W1      log_prob, 1-D Normal mixture, shared parameters, N = 1e7, K = 16
  W1-f32  the same in float32
  W2      sample, the same mixture, N = 1e7 draws (and W2-f32)
  W3      log_prob, MultivariateNormal components with full covariance, D = 8, K = 16, N = 1e6
  W4      batched small mixtures (mixture-density-network outputs): batch 1e6, K = 8, one value
          each; building Categorical(logits), Normal(loc, scale), MixtureSameFamily is timed
          with log_prob, for every implementation
  memory  peak RSS of W1 at N = 1e8, K = 64 in a subprocess, against input + output bytes
  startup ``import mixstat`` and the first log_prob in a fresh process (warm and cold cache)
--quick divides the sizes by 10 (memory: N = 1e7) and uses fewer repeats; targets on
time are then judged per unit of work.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import peers as peer_mod  # noqa: E402
import workloads as wl  # noqa: E402
from common import BUSY_FLAG, CpuMonitor, CrossCheckError, Row, check_close, check_sampler, fmt_n, table, timeit  # noqa: E402

WORKLOADS = ("W1", "W1-f32", "W2", "W2-f32", "W3", "W4", "memory", "startup")

# Targets (2 cores, 2 threads).
W1_NS = 0.5  # ns per (point, component)
W1_VS_TORCH = 35.0
W1_VS_NUMPYRO = 7.0
F32_SPEEDUP = 1.6
F32_RTOL = 1e-5
W2_MS_PER_1E7 = 60.0
W3_MS = 60.0  # at N = 1e6, K = 16, D = 8
W4_VS_TORCH = 15.0
W4_GUFUNC_VS_TORCH = 20.0
MEM_FACTOR = 1.2
IMPORT_S = 0.3
FIRST_CALL_S = 1.0

# cross-check tolerances per dtype of the compared values
RTOL = {"float64": 1e-8, "float32": 1e-4}
ATOL = {"float64": 1e-10, "float32": 1e-5}


def met(ok):
    return "met" if ok else "missed"


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.rows: list[Row] = []
        self.failures: list[str] = []
        self.extra: dict = {}
        self.peers = [cls(args.threads) for cls in peer_mod.ALL if cls.name not in args.skip]
        for p in self.peers:
            if not p.available:
                print(f"-- peer {p.name} skipped: not importable ({p.error})", file=sys.stderr)
        self.peers = [p for p in self.peers if p.available]
        self.repeats = 3 if self.quick else 5
        self.budget = 4.0 if self.quick else 10.0
        self.scale = 10 if self.quick else 1

    # -- helpers -----------------------------------------------------------------
    def wait_quiet(self):
        """With --wait-quiet S: wait up to S seconds for other processes to leave the CPUs idle."""
        if not self.args.wait_quiet:
            return
        deadline = time.perf_counter() + self.args.wait_quiet
        while True:
            mon = CpuMonitor()
            time.sleep(1.0)
            other = mon.other_fraction()
            if other is None or other < BUSY_FLAG or time.perf_counter() > deadline:
                return
            print(f"   (other processes use {other:.0%} of the CPUs: waiting)", file=sys.stderr, flush=True)

    def _say(self, row):
        per = "" if row.per_unit_ns is None else f"{row.per_unit_ns:.3g} {row.unit}"
        rat = "" if row.ratio is None else f"  x{row.ratio:.3g}"
        busy = "" if row.other_cpu is None else f" [others {row.other_cpu:.0%}]"
        print(
            f"   {row.workload:<8} {row.impl:<58} {fmt_n(row.n):>5} "
            f"{'' if row.time_s is None else f'{row.time_s * 1e3:10.1f} ms'} "
            f"{'' if row.user_s is None else f'(user {row.user_s * 1e3:.0f}, sys {row.sys_s * 1e3:.0f} ms)'} "
            f"{per:>16}{rat} "
            f"{row.status}{busy} {row.notes}",
            file=sys.stderr,
            flush=True,
        )

    def add(self, row):
        self.rows.append(row)
        self._say(row)
        return row

    def measure(self, workload, impl, build, units, unit, check=None, ours=None, n=None, notes="", repeats=None):
        """Build, check, time one implementation; on failure add a row that says why."""
        try:
            made = build()
            label, fn = made if isinstance(made, tuple) else (impl, made)
            t, other = None, None
            for attempt in range(1 + self.args.retries):
                # with --retries, a timing taken while other processes were busy is taken again
                self.wait_quiet()
                mon = CpuMonitor()
                t1 = timeit(fn, check=check, repeats=repeats or self.repeats, budget_s=self.budget)
                o1 = mon.other_fraction()
                if t is None or (o1 is not None and other is not None and o1 < other):
                    t, other = t1, o1
                if other is None or other <= BUSY_FLAG:
                    break
                if attempt < self.args.retries:
                    print(
                        f"   ({impl}: other processes used {other:.0%} of the CPUs; timing again)",
                        file=sys.stderr,
                        flush=True,
                    )
        except CrossCheckError as e:
            msg = f"!!! CROSS-CHECK FAILED, {workload} / {impl}: {e}. Row not timed."
            print("\n" + "!" * 100 + "\n" + msg + "\n" + "!" * 100 + "\n", file=sys.stderr, flush=True)
            self.failures.append(msg)
            return self.add(Row(workload, impl, n, status="MISMATCH", notes=str(e)[:200]))
        except Exception as e:  # a peer that cannot run this workload, or ran out of memory
            traceback.print_exc()
            return self.add(
                Row(
                    workload,
                    impl,
                    n,
                    status="error",
                    notes=f"{type(e).__name__}: {str(e).splitlines()[0][:150] if str(e) else ''}",
                )
            )
        per = t.median_s / units * 1e9
        ratio = None if ours is None else per / ours.per_unit_ns
        return self.add(
            Row(
                workload,
                label,
                n,
                t.median_s,
                per,
                unit,
                ratio,
                notes=notes,
                other_cpu=other,
                repeats=t.repeats,
                times_s=t.times_s,
                user_s=t.user_s,
                sys_s=t.sys_s,
            )
        )

    def peers_for(self, method):
        return [p for p in self.peers if hasattr(p, method)]

    # -- W1 ----------------------------------------------------------------------
    def w1(self, dtype="float64"):
        name = "W1" if dtype == "float64" else "W1-f32"
        N, K = 10**7 // self.scale, 16
        p = wl.mix1d(N, K, dtype=dtype)
        ref = {}
        ours = self.measure(
            name,
            "mixstat",
            lambda: wl.mixstat_w1(p),
            N * K,
            "ns/pk",
            check=lambda r: ref.setdefault("v", np.asarray(r)),
            n=N,
        )
        if ours.per_unit_ns is None:
            return
        if dtype == "float64":
            self._ref_w1_f64 = (ours, ref["v"])
            ours.target = f"≤ {W1_NS} ns/pk"
            ours.status = met(ours.per_unit_ns <= W1_NS)
            # the same call into one reused output: no fresh 80 MB to fault in (docs/performance.md)
            reused = self.measure(
                name,
                "mixstat, out= (reused output)",
                lambda: wl.mixstat_w1_out(p),
                N * K,
                "ns/pk",
                check=self._checker("mixstat out=", ref["v"], dtype),
                n=N,
                notes="ratio = fresh-output time / out= time",
            )
            if reused.per_unit_ns is not None:
                reused.ratio = ours.per_unit_ns / reused.per_unit_ns
        else:
            f64 = getattr(self, "_ref_w1_f64", None)
            if f64 is None:
                ours.notes = "W1 float64 not run: no comparison"
            else:
                want = f64[1]
                err = float(np.max(np.abs(ref["v"].astype(np.float64) - want) / np.abs(want)))
                speed = f64[0].per_unit_ns / ours.per_unit_ns
                ours.ratio = speed
                ours.target = f"≥ {F32_SPEEDUP}× f64, rel err ≤ {F32_RTOL:g}"
                ours.status = met(speed >= F32_SPEEDUP and err <= F32_RTOL)
                ours.notes = f"ratio = mixstat f64 / f32 time; max rel err vs f64 {err:.2g}"
        slow = {"scipy": 10, "sklearn": 10}
        for peer in self.peers_for("w1"):
            if dtype == "float32" and peer.name in ("scipy", "sklearn"):
                continue  # they compute in float64 whatever the input
            n = N // slow.get(peer.name, 1)
            q = p.head(n)
            notes = f"N={fmt_n(n)}, per unit compared" if n != N else ""
            if peer.name == "sklearn":
                notes = ("1-D data, covariance_type='full' (1×1); " + notes).rstrip("; ")
            row = self.measure(
                name,
                peer.name,
                lambda: peer.w1(q),
                n * K,
                "ns/pk",
                check=self._checker(peer.name, ref["v"][:n], dtype),
                ours=ours,
                n=n,
                notes=notes,
                repeats=3,
            )
            if dtype == "float64" and row.ratio is not None:
                goal = {"torch": W1_VS_TORCH, "numpyro": W1_VS_NUMPYRO}.get(peer.name)
                if goal:
                    row.target = f"mixstat ≥ {goal:g}× faster"
                    row.status = met(row.ratio >= goal)

    def _checker(self, name, want, dtype):
        def check(r):
            r = np.asarray(r)
            check_close(name, r, want, RTOL[dtype], ATOL[dtype])

        return check

    # -- W2 ----------------------------------------------------------------------
    def w2(self, dtype="float64"):
        name = "W2" if dtype == "float64" else "W2-f32"
        N, K = 10**7 // self.scale, 16
        p = wl.mix1d(1, K, dtype=dtype)
        d64 = wl.mixstat_mix1d(wl.mix1d(1, K))
        cdf = d64.cdf
        ks = {}

        def check(label, n=N):
            def f(r):
                r = np.asarray(r)
                if r.shape != (n,):
                    raise CrossCheckError(f"{label}: shape {r.shape}, expected ({n},)")
                ks[label] = (check_sampler(label, r, cdf), str(r.dtype))

            return f

        ours = self.measure(name, "mixstat", lambda: wl.mixstat_w2(p, N), N, "ns/draw", check=check("mixstat"), n=N)
        if ours.per_unit_ns is None:
            return
        ours.notes = f"KS distance to mixstat cdf {ks['mixstat'][0]:.2g} (1e5 draws)"
        if dtype == "float64":
            ours.target = f"≤ {W2_MS_PER_1E7:g} ms per 1e7 draws"
            ours.status = met(ours.per_unit_ns * 1e7 * 1e-6 <= W2_MS_PER_1E7)
            if self.quick:
                ours.notes += "; quick: judged per draw"
        for peer in self.peers_for("w2"):
            # torch and NumPyro draw from all K components for every point: N / 10 of them
            n = N // 10 if peer.name in ("torch", "numpyro") else N
            row = self.measure(
                name,
                peer.name,
                lambda: peer.w2(p, n),
                n,
                "ns/draw",
                check=check(peer.name, n),
                ours=ours,
                n=n,
                repeats=3,
            )
            if peer.name in ks and row.time_s is not None:
                d, dt = ks[peer.name]
                row.notes = f"KS {d:.2g}" + ("" if dt == dtype else f"; returns {dt}")
                if n != N:
                    row.notes += f"; draws all K components per point; N={fmt_n(n)}, per draw compared"

    # -- W3 ----------------------------------------------------------------------
    def w3(self):
        N, K, D = 10**6 // self.scale, 16, 8
        p = wl.mix_mvn(N, K, D)
        ref = {}
        ours = self.measure(
            "W3",
            "mixstat",
            lambda: wl.mixstat_w3(p),
            N * K,
            "ns/pk",
            check=lambda r: ref.setdefault("v", np.asarray(r)),
            n=N,
            notes=f"D={D}, K={K}",
        )
        if ours.per_unit_ns is None:
            return
        ours.target = f"≤ {W3_MS:g} ms at N=1e6"
        ours.status = met(ours.per_unit_ns * 1e6 * K * 1e-9 * 1e3 <= W3_MS)
        if self.quick:
            ours.notes += "; quick: judged per unit"
        for peer in self.peers_for("w3"):
            n = N // 10 if peer.name in ("scipy", "sklearn") else N
            self.measure(
                "W3",
                peer.name,
                lambda: peer.w3(p.head(n)),
                n * K,
                "ns/pk",
                check=self._checker(peer.name, ref["v"][:n], "float64"),
                ours=ours,
                n=n,
                repeats=3,
                notes=f"N={fmt_n(n)}, per unit compared" if n != N else "",
            )

    # -- W4 ----------------------------------------------------------------------
    def w4(self):
        B, K = 10**6 // self.scale, 8
        p = wl.mdn(B, K)
        ref = {}
        ours = self.measure(
            "W4",
            "mixstat",
            lambda: wl.mixstat_w4(p),
            B,
            "ns/elem",
            check=lambda r: ref.setdefault("v", np.asarray(r)),
            n=B,
            notes=f"K={K}; construction + log_prob; default validation",
        )
        if ours.per_unit_ns is None:
            return
        self.measure(
            "W4",
            "mixstat, validate_args=False",
            lambda: wl.mixstat_w4(p, validate_args=False),
            B,
            "ns/elem",
            check=self._checker("mixstat novalidate", ref["v"], "float64"),
            ours=ours,
            n=B,
            notes="ratio vs mixstat with validation",
        )
        # the floor without the parameter copies: read-only arrays are owned as they are
        # (checked by one read each); the logits are still normalised into a new array
        ro = wl.MDN(*(np.array(a) for a in (p.logits, p.loc, p.scale, p.v)))
        for a in (ro.logits, ro.loc, ro.scale):
            a.flags.writeable = False
        self.measure(
            "W4",
            "mixstat, read-only parameters (no copies)",
            lambda: wl.mixstat_w4(ro),
            B,
            "ns/elem",
            check=self._checker("mixstat read-only", ref["v"], "float64"),
            ours=ours,
            n=B,
            notes="ratio vs mixstat with copies",
        )
        # the gufunc path: raw logits, loc and scale read by one whole-loop kernel, into out=
        out4 = np.empty(B)
        gu = self.measure(
            "W4",
            "mixstat gufunc normal_mixture_log_prob (out=)",
            lambda: wl.mixstat_w4_gufunc(p, out4),
            B,
            "ns/elem",
            check=self._checker("mixstat gufunc", ref["v"], "float64"),
            ours=ours,
            n=B,
            notes="ratio vs mixstat's objects; invalid parameters give NaN",
        )
        for peer in self.peers_for("w4"):
            row = self.measure(
                "W4",
                peer.name,
                lambda: peer.w4(p),
                B,
                "ns/elem",
                check=self._checker(peer.name, ref["v"], "float64"),
                ours=ours,
                n=B,
                repeats=3,
            )
            if peer.name == "torch":
                row.notes = "default validate_args (on)"
                if row.ratio is not None:
                    row.target = f"mixstat ≥ {W4_VS_TORCH:g}× faster"
                    row.status = met(row.ratio >= W4_VS_TORCH)
                    if gu.per_unit_ns is not None and row.per_unit_ns is not None:
                        g = row.per_unit_ns / gu.per_unit_ns
                        self.add(
                            Row(
                                "W4",
                                "torch / mixstat gufunc",
                                B,
                                ratio=g,
                                target=f"gufunc ≥ {W4_GUFUNC_VS_TORCH:g}× faster",
                                status=met(g >= W4_GUFUNC_VS_TORCH),
                                notes="the two rows above, same run",
                            )
                        )
                self.measure(
                    "W4",
                    "torch, validate_args=False",
                    lambda: peer.w4(p, validate_args=False),
                    B,
                    "ns/elem",
                    check=self._checker("torch", ref["v"], "float64"),
                    ours=ours,
                    n=B,
                    repeats=3,
                )
            elif peer.name == "numpyro":
                row.notes = "construction inside the jitted function"

    # -- memory --------------------------------------------------------------------
    def memory(self):
        import memory

        N = 10**7 if self.quick else 10**8
        K = 64
        self.wait_quiet()
        mon = CpuMonitor()
        try:
            r = memory.measure(N, K)
        except Exception as e:
            self.failures.append(f"memory run failed: {e}")
            return self.add(Row("memory", "mixstat W1 log_prob", N, status="error", notes=str(e)[:200]))
        self.extra["memory"] = r
        f = r["peak_rss"] / r["in_out_bytes"]
        above = (r["peak_rss"] - r["base_rss"]) / r["in_out_bytes"]
        gb = 1e-9
        notes = (
            f"peak RSS {r['peak_rss'] * gb:.2f} GB; input+output {r['in_out_bytes'] * gb:.2f} GB; "
            f"RSS before input {r['base_rss'] * gb:.2f} GB (interpreter, numba, kernel); "
            f"growth during the run {above:.2f}× input+output"
        )
        if self.quick:
            notes += "; quick: N=1e7, the target is judged at N=1e8 only"
        return self.add(
            Row(
                "memory",
                f"mixstat W1 log_prob, K={K}",
                N,
                r["time_s"],
                f,
                "× (in+out)",
                target=f"peak RSS ≤ {MEM_FACTOR}× input+output at N=1e8",
                status="" if self.quick else met(f <= MEM_FACTOR),
                other_cpu=mon.other_fraction(),
                notes=notes,
            )
        )

    # -- start-up --------------------------------------------------------------------
    def startup(self):
        import startup

        self.wait_quiet()
        mon = CpuMonitor()
        try:
            imp = startup.import_time(repeats=5 if self.quick else 7)
            warm = startup.first_call_warm(repeats=3 if self.quick else 5)
            cold = startup.first_call_cold(repeats=1 if self.quick else 2)
        except Exception as e:
            self.failures.append(f"start-up run failed: {e}")
            return self.add(Row("startup", "mixstat", status="error", notes=str(e)[:200]))
        self.extra["startup"] = {"import": imp, "warm": warm, "cold": cold}
        other = mon.other_fraction()
        ok = imp["import_s"] <= IMPORT_S and not imp["numba_imported"]
        self.add(
            Row(
                "startup",
                "import mixstat",
                None,
                imp["import_s"],
                target=f"≤ {IMPORT_S} s, numba not imported",
                status=met(ok),
                other_cpu=other,
                notes=f"numba in sys.modules after import: {imp['numba_imported']}; "
                f"median of {len(imp['runs'])} fresh processes",
            )
        )
        self.add(
            Row(
                "startup",
                "first log_prob, warm cache",
                None,
                warm["first_call_s"],
                target=f"≤ {FIRST_CALL_S:g} s",
                status=met(warm["first_call_s"] <= FIRST_CALL_S),
                other_cpu=other,
                notes=f"fresh process; includes importing numba; import→first result "
                f"{warm['import_to_first_result_s']:.2f} s; median of {len(warm['runs'])}",
            )
        )
        self.add(
            Row(
                "startup",
                "first log_prob, cold cache",
                None,
                cold["first_call_s"],
                other_cpu=other,
                notes=f"new empty MIXSTAT_CACHE_DIR (compiles the kernel); import→first result "
                f"{cold['import_to_first_result_s']:.2f} s; median of {len(cold['runs'])}",
            )
        )

    def run(self, which):
        for w in which:
            print(f"-- {w}", file=sys.stderr, flush=True)
            {
                "W1": lambda: self.w1("float64"),
                "W1-f32": lambda: self.w1("float32"),
                "W2": lambda: self.w2("float64"),
                "W2-f32": lambda: self.w2("float32"),
                "W3": self.w3,
                "W4": self.w4,
                "memory": self.memory,
                "startup": self.startup,
            }[w]()


# -- machine description -------------------------------------------------------------


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [x for x in ("avx2", "fma", "avx512f", "avx512vl") if x in flags]
    except OSError:
        pass
    return []


def _mem_total_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _git(*a):
    try:
        return subprocess.run(["git", *a], cwd=HERE, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""


def machine_info(bench):
    import numba

    import mixstat

    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "(no parallel kernel run yet)"
    commit = _git("log", "-1", "--format=%h", "--", os.path.join(os.path.dirname(HERE), "mixstat"))
    dirty = bool(_git("status", "--porcelain", "--", os.path.join(os.path.dirname(HERE), "mixstat")))
    versions = {
        "python": platform.python_version(),
        "mixstat": mixstat.__version__,
        "numba": numba.__version__,
        "llvmlite": peer_mod._version("llvmlite"),
    }
    for p in bench.peers:
        versions.update(p.versions())
    for name in ("numpy", "scipy"):
        versions.setdefault(name, peer_mod._version(name))
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cpu_flags": _cpu_flags(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "mem_gib": _mem_total_gib(),
        "os": platform.platform(),
        "numba_threading_layer": layer,
        "numba_threads": numba.get_num_threads(),
        "torch_threads": (
            __import__("torch").get_num_threads() if any(p.name == "torch" for p in bench.peers) else None
        ),
        "commit": commit + (" + uncommitted changes" if dirty else ""),
        "head": _git("rev-parse", "--short", "HEAD"),
        "command": " ".join(shlex.quote(a) for a in [os.path.relpath(sys.executable)] + sys.argv),
        "versions": versions,
        "peers_missing": {cls.name: "skipped" for cls in peer_mod.ALL if cls.name not in {p.name for p in bench.peers}},
    }


def markdown(info, rows, args, wall_s):
    v = info["versions"]
    vs = ", ".join(f"{k} {x}" for k, x in v.items() if x)
    lines = [
        f"## {info['date_utc']} — mixstat/ as of commit {info['commit']}{' (quick)' if args.quick else ''}",
        "",
        (
            f"- Machine: {info['cpu']} ({', '.join(info['cpu_flags'])}), {info['cores']} cores"
            f" ({info['cores_usable']} usable), {info['mem_gib']:.0f} GiB, {info['os']}"
        ),
        f"- Threads: numba {info['numba_threads']} ({info['numba_threading_layer']} layer)"
        + (f", torch {info['torch_threads']}" if info["torch_threads"] else "")
        + ", JAX/XLA and BLAS their defaults (all cores)",
        f"- Versions: {vs}",
        f"- Command: `{info['command']}` ({wall_s / 60:.1f} min)",
    ]
    if info["other_cpu"] is not None:
        lines.append(
            f"- Load: other processes used {info['other_cpu']:.0%} of the CPUs over the run "
            f"(rows measured above {BUSY_FLAG:.0%} are flagged ⚠; their figures are pessimistic)"
        )
    if info["peers_missing"]:
        lines.append(f"- Peers not installed (skipped): {', '.join(info['peers_missing'])}")
    lines += [
        (
            "- Units: ns/pk = ns per (point, component); ratio = peer time / mixstat time per unit "
            "(> 1: mixstat faster); median of repeats after a warm-up; every peer's values were "
            "checked against mixstat's before timing."
        ),
        "",
        table(rows),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    ap.add_argument("--quick", action="store_true", help="sizes / 10, fewer repeats")
    ap.add_argument("--only", default=",".join(WORKLOADS), help=f"comma-separated subset of {','.join(WORKLOADS)}")
    ap.add_argument("--skip", default="", help="comma-separated peers to leave out (scipy,torch,numpyro,sklearn)")
    ap.add_argument("--threads", type=int, default=2, help="numba and torch threads (default 2)")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="before each measurement wait up to S seconds for the other processes "
        "on the machine to go idle (default: do not wait)",
    )
    ap.add_argument(
        "--retries",
        type=int,
        default=0,
        metavar="R",
        help="time a row up to R more times while other processes were busy during it, "
        "keeping the timing taken on the quietest machine (default 0)",
    )
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--markdown", metavar="PATH", help="also write the Markdown section (for RESULTS.md)")
    ap.add_argument(
        "--from-json", metavar="PATH", help="print the Markdown section of an earlier run's --json file and exit"
    )
    args = ap.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        args.quick = saved["quick"]
        text = markdown(saved["machine"], [Row(**r) for r in saved["rows"]], args, saved["wall_s"])
        print(text)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(text)
        return 0
    args.skip = {s for s in args.skip.split(",") if s}
    which = [w.strip() for w in args.only.split(",") if w.strip()]
    bad = [w for w in which if w not in WORKLOADS]
    if bad:
        ap.error(f"--only: unknown workload(s) {bad}; choose from {WORKLOADS}")

    t0 = time.perf_counter()
    mon = CpuMonitor()
    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    bench = Bench(args)
    bench.run(which)
    wall = time.perf_counter() - t0
    info = machine_info(bench)
    info["other_cpu"] = mon.other_fraction()
    text = markdown(info, bench.rows, args, wall)
    print(text)
    if bench.failures:
        print("FAILURES:\n  " + "\n  ".join(bench.failures))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "machine": info,
                    "quick": args.quick,
                    "wall_s": wall,
                    "rows": [r.as_dict() for r in bench.rows],
                    "extra": bench.extra,
                    "failures": bench.failures,
                },
                f,
                indent=1,
                default=str,
            )
    return 1 if bench.failures else 0


if __name__ == "__main__":
    sys.exit(main())
