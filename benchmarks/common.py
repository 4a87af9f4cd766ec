"""Timing, cross-checking, result rows and the printed table, shared by the benchmark modules."""

from __future__ import annotations

import math
import os
import resource
import statistics
import time
from dataclasses import asdict, dataclass, field

import numpy as np

#: a row measured while other processes used more than this fraction of the CPUs is flagged
BUSY_FLAG = 0.05


class CpuMonitor:
    """How busy the CPUs were with *other* processes over an interval.

    From ``/proc/stat`` (all CPUs' busy time) less this process's own CPU time
    (``os.times``, all threads and waited-for children), as a fraction of the
    wall time times the number of CPUs.  Other work on the machine slows every
    figure; a row measured while this was high is flagged in its notes.
    """

    def __init__(self):
        self.start()

    @staticmethod
    def _busy_s():
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
        return busy / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own_s():
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def start(self):
        self.t0, self.b0, self.o0 = time.perf_counter(), self._busy_s(), self._own_s()

    def other_fraction(self):
        """Fraction of all CPUs used by other processes since ``start()`` (None if unknown)."""
        b = self._busy_s()
        if b is None or self.b0 is None:
            return None
        wall = time.perf_counter() - self.t0
        other = (b - self.b0) - (self._own_s() - self.o0)
        return max(0.0, other / (wall * (os.cpu_count() or 1))) if wall > 0 else None


class CrossCheckError(AssertionError):
    """A peer's values disagree with mixstat's: the row is not timed."""


@dataclass
class Timing:
    median_s: float
    times_s: list
    repeats: int
    user_s: float | None = None  # median user CPU time per call (all threads)
    sys_s: float | None = None  # median system CPU time per call (page faults show here)


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def timeit(fn, check=None, repeats=5, budget_s=10.0, min_repeats=3):
    """Warm-up call, optional check of its result, then the median of timed repeats.

    The warm-up call compiles / loads caches and its result is handed to
    ``check`` (which raises :class:`CrossCheckError` on a mismatch) before any
    timing.  The number of timed repeats is ``repeats`` unless one call is so
    slow that they would take longer than ``budget_s``; never fewer than
    ``min_repeats``.
    """
    result = fn()
    if check is not None:
        check(result)
    del result
    times, users, systems = [], [], []

    def once():
        u0, s0 = _cpu()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        u1, s1 = _cpu()
        users.append(u1 - u0)
        systems.append(s1 - s0)

    once()
    n = max(min_repeats, min(repeats, math.ceil(budget_s / max(times[0], 1e-9))))
    for _ in range(n - 1):
        once()
    return Timing(statistics.median(times), times, len(times), statistics.median(users), statistics.median(systems))


def check_close(name, got, want, rtol, atol=0.0):
    """Raise :class:`CrossCheckError` unless ``got`` matches ``want`` elementwise."""
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    want = np.asarray(want, dtype=np.float64).reshape(-1)
    if got.shape != want.shape:
        raise CrossCheckError(f"{name}: {got.size} values, mixstat gave {want.size}")
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol)
    bad |= np.isnan(got) != np.isnan(want)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        err = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
        raise CrossCheckError(
            f"{name}: {int(bad.sum())} of {got.size} values differ from mixstat beyond rtol={rtol:g}, "
            f"atol={atol:g}; first at [{i}]: peer {float(got[i])!r} vs mixstat {float(want[i])!r}; "
            f"max relative difference {np.nanmax(err):.3g}, max absolute {np.nanmax(np.abs(got - want)):.3g}"
        )


def ks_statistic(sample, cdf):
    """Kolmogorov-Smirnov distance between ``sample`` and the distribution function ``cdf``."""
    s = np.sort(np.asarray(sample, dtype=np.float64))
    n = s.size
    F = np.asarray(cdf(s), dtype=np.float64)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))


def check_sampler(name, sample, cdf, n_check=100_000, seed=12345):
    """Raise :class:`CrossCheckError` if a random subset of ``sample`` fails a KS test against ``cdf``.

    The threshold 1.95 / sqrt(n) is the KS critical value for a false-alarm rate of 0.001.
    A random subset (not the first draws) is tested because some samplers
    return their draws grouped by component.
    """
    sample = np.asarray(sample).reshape(-1)
    if not np.all(np.isfinite(sample)):
        raise CrossCheckError(f"{name}: non-finite draws")
    idx = np.random.default_rng(seed).choice(sample.size, size=min(n_check, sample.size), replace=False)
    d = ks_statistic(sample[idx], cdf)
    crit = 1.95 / math.sqrt(idx.size)
    if d > crit:
        raise CrossCheckError(
            f"{name}: KS distance {d:.4g} to mixstat's cdf on {idx.size} draws "
            f"exceeds {crit:.4g} (false-alarm rate 0.001)"
        )
    return d


@dataclass
class Row:
    """One line of the results table."""

    workload: str
    impl: str
    n: int | None = None
    time_s: float | None = None
    per_unit_ns: float | None = None
    unit: str = ""
    ratio: float | None = None  # peer per-unit time / mixstat per-unit time (or as `notes` says)
    target: str = ""
    status: str = ""  # met / missed / MISMATCH / error / skipped / ""
    notes: str = ""
    other_cpu: float | None = None  # fraction of the CPUs other processes used meanwhile
    repeats: int | None = None
    times_s: list = field(default_factory=list)
    user_s: float | None = None  # median user CPU time per call (all threads of this process)
    sys_s: float | None = None  # median system CPU time per call

    def as_dict(self):
        return asdict(self)


def fmt_n(n):
    if n is None:
        return ""
    e = math.floor(math.log10(n)) if n > 0 else 0
    m = n / 10**e
    return f"1e{e}" if m == 1 else f"{m:g}e{e}"


def fmt_time(t):
    if t is None:
        return ""
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.1f} ms"
    return f"{t * 1e6:.0f} µs"


def fmt_ratio(r):
    if r is None:
        return ""
    return f"{r:.3g}×" if r < 100 else f"{r:.0f}×"


def table(rows):
    """A Markdown table (aligned, so it also reads in a terminal)."""
    head = ["workload", "impl", "N", "time", "user", "sys", "per unit", "peer / mixstat", "target", "met?", "notes"]
    body = []
    last = None
    for r in rows:
        per = "" if r.per_unit_ns is None else f"{r.per_unit_ns:.3g} {r.unit}"
        notes = r.notes
        if r.other_cpu is not None and r.other_cpu > BUSY_FLAG:
            notes = (notes + "; " if notes else "") + f"⚠ other processes used {r.other_cpu:.0%} of the CPUs"
            if len(r.times_s) > 1:
                notes += f" (fastest repeat {fmt_time(min(r.times_s))})"
        body.append(
            [
                r.workload if r.workload != last else "",
                r.impl,
                fmt_n(r.n),
                fmt_time(r.time_s),
                fmt_time(r.user_s),
                fmt_time(r.sys_s),
                per,
                fmt_ratio(r.ratio),
                r.target,
                r.status,
                notes,
            ]
        )
        last = r.workload
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)
