"""mixstat's CUDA path against its CPU path, example by example, without pytest or hypothesis.

    python3 benchmarks/gpu_selfcheck.py [--json PATH] [--simulator] [--all] [-k SUBSTRING] [--n N]

For every example of ``tests/registry.py`` (the examples the test suite
iterates), ``g = d.to("cuda")`` is compared with the CPU distribution ``d``:

* ``log_prob`` at ``N`` CPU samples of ``d``, given as a host array and as a
  device array;
* ``cdf`` at the same points (univariate examples not tagged ``no-cdf``);
* ``mean`` and ``variance`` (NaN and inf must match: Cauchy's NaN mean);
* ``entropy`` (examples that have one);
* ``sample`` with the same seed on both devices: for mixtures the component
  indices (``return_index=True``) must be equal, and the values equal to
  rounding.

Every GPU result must be a device array of the CPU result's shape and dtype.
Tolerances: float64 ``rtol=1e-11, atol=1e-12`` (the device contracts into FMAs
and libdevice's functions are not the CPU's libm: a few ulp per call),
float32 ``rtol=1e-5, atol=1e-5``.  ``max_rel_err`` of an example is the
largest ``|gpu - cpu| / max(|cpu|, atol / rtol)`` over all its comparisons
(0 where every value agrees exactly; inf where a non-finite value differs).

Prints one line per example and a summary; ``--json PATH`` writes
``{example_id: {"ok": bool, "max_rel_err": float | null, "error": str | null}}``
(rewritten after every example, so a run cut short by a timeout leaves what it
checked).  Exit status: 0 if every example passed, 1 if any failed, 2 if no
CUDA device is usable (nothing checked; the reason is printed).

``--simulator`` sets ``NUMBA_ENABLE_CUDASIM=1`` before numba is imported and
checks, unless ``--all``, a subset chosen by a rule: for every distinct
``ex.family``, its first float64 and its first float32 example (as
``tests/test_cuda_sim.py``).  On a real device every example is checked.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback

if "--simulator" in sys.argv:  # must precede the first numba import
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from mixstat import _device  # noqa: E402


def simulator_subset(examples):
    """For every distinct ``ex.family``, its first float64 and its first float32 example."""
    seen, out = set(), []
    for e in examples:
        key = (e.family, np.dtype(e.dtype).name)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def tolerances(dtype):
    if np.dtype(dtype) == np.float32:
        return 1e-5, 1e-5
    return 1e-11, 1e-12


class Checker:
    """Compares GPU results with CPU ones for one example; collects errors instead of raising."""

    def __init__(self):
        self.max_rel = 0.0
        self.errors = []

    def host(self, what, x):
        if not _device.is_device_array(x):
            self.errors.append(f"{what}: expected a device array, got {type(x).__name__}")
            return np.asarray(x)
        return _device.to_host(x)

    def compare(self, what, gpu, cpu):
        g = self.host(what, gpu)
        c = np.asarray(cpu)
        if g.shape != c.shape:
            self.errors.append(f"{what}: shape {g.shape} on the GPU, {c.shape} on the CPU")
            return
        if g.dtype != c.dtype:
            self.errors.append(f"{what}: dtype {g.dtype} on the GPU, {c.dtype} on the CPU")
            return
        rtol, atol = tolerances(c.dtype if c.dtype.kind == "f" else np.float64)
        gf, cf = g.astype(np.float64).ravel(), c.astype(np.float64).ravel()
        if gf.size == 0:
            return
        fin = np.isfinite(gf) & np.isfinite(cf)
        same = (np.isnan(gf) & np.isnan(cf)) | (gf == cf)
        bad = ~(fin | same)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            self.max_rel = math.inf
            self.errors.append(
                f"{what}: {int(bad.sum())} non-finite values differ, first at flat index {i}: "
                f"gpu {float(gf[i])!r}, cpu {float(cf[i])!r}"
            )
        if fin.any():
            diff = np.abs(gf[fin] - cf[fin])
            ref = np.abs(cf[fin])
            rel = diff / np.maximum(ref, atol / rtol)
            self.max_rel = max(self.max_rel, float(rel.max()))
            over = diff > atol + rtol * ref
            if over.any():
                j = int(np.argmax(np.where(over, rel, -1.0)))
                self.errors.append(
                    f"{what}: {int(over.sum())} of {diff.size} values beyond rtol={rtol:g}, "
                    f"atol={atol:g}; worst gpu {float(gf[fin][j])!r}, cpu {float(cf[fin][j])!r} "
                    f"(rel {rel[j]:.3g})"
                )

    def exact(self, what, gpu, cpu):
        g = self.host(what, gpu)
        c = np.asarray(cpu)
        if g.shape != c.shape or not np.array_equal(g, c):
            n = int((g != c).sum()) if g.shape == c.shape else "shape"
            self.errors.append(f"{what}: differ ({n} entries) gpu {g.ravel()[:6]} cpu {c.ravel()[:6]}")


def check_example(ex, n_points, n_draws):
    from numba import cuda

    d = ex.make()
    g = d.to("cuda")
    chk = Checker()
    if g.device != "cuda" or d.device != "cpu":
        chk.errors.append(f"devices: g.device {g.device!r}, d.device {d.device!r}")
    if g.batch_shape != d.batch_shape or g.event_shape != d.event_shape:
        chk.errors.append(f"shapes: gpu {g.batch_shape}/{g.event_shape}, cpu {d.batch_shape}/{d.event_shape}")
    x = d.sample((n_points,), rng=11)
    lp = d.log_prob(x)
    chk.compare("log_prob (host value)", g.log_prob(x), lp)
    chk.compare("log_prob (device value)", g.log_prob(cuda.to_device(np.ascontiguousarray(x))), lp)
    if ex.event_shape == () and "no-cdf" not in ex.tags:
        chk.compare("cdf", g.cdf(x), d.cdf(x))
    chk.compare("mean", g.mean, np.asarray(d.mean))
    chk.compare("variance", g.variance, np.asarray(d.variance))
    if ex.has_entropy:
        chk.compare("entropy", g.entropy(), np.asarray(d.entropy()))
    if ex.is_mixture:
        s, i = g.sample((n_draws,), rng=7, return_index=True)
        s0, i0 = d.sample((n_draws,), rng=7, return_index=True)
        chk.exact("sample component indices", i, i0)
    else:
        s, s0 = g.sample((n_draws,), rng=7), d.sample((n_draws,), rng=7)
    chk.compare("sample", s, s0)
    return chk


def write_json(path, results):
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1, sort_keys=False)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", metavar="PATH", help="write the per-example results here")
    ap.add_argument(
        "--simulator",
        action="store_true",
        help="numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1); a rule-chosen subset unless --all",
    )
    ap.add_argument("--all", action="store_true", help="every example, in the simulator too")
    ap.add_argument("-k", dest="match", default=None, help="only examples whose id contains this")
    ap.add_argument(
        "--n", type=int, default=None, help="points and draws per example (default 64 on a device, 4 in the simulator)"
    )
    args = ap.parse_args(argv)

    ok, reason = _device.cuda_status()
    print(f"gpu_selfcheck: CUDA: {reason}", flush=True)
    if not ok:
        print(
            "gpu_selfcheck: no CUDA device is usable; nothing checked "
            "(--simulator runs the check under numba's CUDA simulator)"
        )
        return 2
    simulated = "simulator" in reason
    from registry import EXAMPLES

    examples = simulator_subset(EXAMPLES) if simulated and not args.all else list(EXAMPLES)
    if args.match:
        examples = [e for e in examples if args.match in e.id]
    n = args.n or (4 if simulated else 64)
    print(
        f"gpu_selfcheck: {len(examples)} of {len(EXAMPLES)} examples"
        + (
            " (simulator: first float64 and first float32 example of every family)"
            if simulated and not args.all
            else ""
        )
        + f", {n} points and draws each",
        flush=True,
    )

    results = {}
    t_all = time.perf_counter()
    for ex in examples:
        t = time.perf_counter()
        try:
            chk = check_example(ex, n, n)
            err = "; ".join(chk.errors) or None
            res = {"ok": err is None, "max_rel_err": chk.max_rel, "error": err}
        except Exception as exc:  # an example that raises fails; the others still run
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno})" if tb else ""
            res = {"ok": False, "max_rel_err": None, "error": f"{type(exc).__name__}: {exc}{where}"}
        if res["max_rel_err"] is not None and not math.isfinite(res["max_rel_err"]):
            res["max_rel_err"] = "inf"  # JSON has no infinity
        results[ex.id] = res
        write_json(args.json, results)
        rel = res["max_rel_err"]
        rel_s = "-" if rel is None else (rel if isinstance(rel, str) else f"{rel:.2e}")
        print(
            f"{'ok  ' if res['ok'] else 'FAIL'} {ex.id:40s} max rel err {rel_s:>9s} "
            f"{time.perf_counter() - t:7.2f} s" + ("" if res["ok"] else f"  {res['error']}"),
            flush=True,
        )

    failed = [k for k, v in results.items() if not v["ok"]]
    finite = [(v["max_rel_err"], k) for k, v in results.items() if isinstance(v["max_rel_err"], float)]
    worst = max(finite) if finite else None
    print(
        f"gpu_selfcheck: {len(results)} examples, {len(results) - len(failed)} ok, {len(failed)} failed"
        + (f" ({', '.join(failed[:10])}{', ...' if len(failed) > 10 else ''})" if failed else "")
        + (f"; largest max_rel_err {worst[0]:.2e} ({worst[1]})" if worst else "")
        + f"; {time.perf_counter() - t_all:.1f} s",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
