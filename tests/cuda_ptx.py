"""Compile every CUDA kernel of mixstat to PTX for one compute capability, without a GPU.

Usage: ``python tests/cuda_ptx.py 9.0`` (run by ``tests/test_cuda_ptx.py``, one
process per compute capability).  Needs numba-cuda with the NVVM compiler from
pip wheels (``pip install 'mixstat[cuda]'``).  The simulator does no type
checking; this does: every (op, family) loop of :mod:`mixstat.kernels.cuda` is
typed and lowered by numba-cuda and compiled by NVVM for every argument-type
combination the plan can launch it with, and the ``.target`` line of each PTX
is checked against the requested compute capability.  The full run compiles with NVVM's
optimiser off (``NVVM_OPT``); the ``--one-signature`` run with it on.

Device functions (the families' scalar math, Philox) are compiled for the
compute capability that ``numba.cuda`` believes the current device has, not
for the ``cc`` passed to ``compile_ptx``; in one process the first cc would
leak into the others.  So one process handles one cc, with
``NUMBA_FORCE_CUDA_CC`` set and a stand-in device that reports it.

The EM kernels of :mod:`mixstat.fitting._cuda` (its ``KERNELS``) are compiled too, one
float64 signature each, in the full run only (not with ``--one-signature``).

Prints one JSON line: ``{"cc": [9, 0], "kernels": N, "fit_kernels": [...], "seconds": t}``.
"""

import json
import os
import sys
import time

CC = tuple(int(c) for c in sys.argv[1].split("."))
# ``--device-cc X.Y`` makes the stand-in device report another cc: the leak this
# script guards against, reproduced so that a test can see the check fail
DEVICE_CC = (
    tuple(int(c) for c in sys.argv[sys.argv.index("--device-cc") + 1].split(".")) if "--device-cc" in sys.argv else CC
)
#: ``--one-signature``: the float64 signature only, of every op of the Normal family and the
#: family-free ops, and of every family's log_prob (the code of each loop and of each family's
#: scalar math for this cc; every signature of every pair is compiled for the other cc)
ONE_SIG = "--one-signature" in sys.argv
#: NVVM's optimiser: on for the ``--one-signature`` run (every loop and every family's scalar
#: math through the optimised pipeline), off (``-opt=0``) for the full run of every signature,
#: where it took 30.9 of 83 s for the Gamma family's 20 kernels (1.4 s without): the full run
#: checks that every kernel is typed, lowered and accepted by NVVM for its target
NVVM_OPT = None if ONE_SIG else False
os.environ["NUMBA_FORCE_CUDA_CC"] = "{}.{}".format(*DEVICE_CC)
os.environ.pop("NUMBA_ENABLE_CUDASIM", None)

import numba.cuda.compiler  # noqa: E402
import numba.cuda.dispatcher  # noqa: E402
from numba import cuda, types  # noqa: E402


class _StandInDevice:
    """What numba-cuda asks of the current device while compiling device functions."""

    compute_capability = DEVICE_CC
    name = "stand-in for sm_{}{}".format(*DEVICE_CC)


numba.cuda.dispatcher.get_current_device = _StandInDevice
numba.cuda.compiler.get_current_device = _StandInDevice

from mixstat.kernels import cuda as kc  # noqa: E402

F32, F64, I64, U64 = types.float32, types.float64, types.int64, types.uint64


def A(dt, nd):
    return types.Array(dt, nd, "A")


def C(dt, nd):
    return types.Array(dt, nd, "C")


def signatures(op, family):
    """Every argument-type tuple the plan launches ``(op, family)`` with (from the registry)."""
    from mixstat.kernels import registry

    reduction = registry.op(op).reduction
    discrete = family is not None and registry.family(family).discrete
    sigs = []
    for ft in (F32, F64):
        if reduction in ("logsumexp", "sum", "terms", "posterior", "argmax"):
            # values may be float32 or float64 whatever the table dtype: both for log_prob (the
            # values' load and cast, the same code in every loop over values), the table's for
            # the others (compiling the mixed pairs of every op took 2.5 minutes of the suite)
            outt = {"terms": C(ft, 2), "posterior": C(ft, 2), "argmax": C(I64, 1)}.get(reduction, C(ft, 1))
            for xt in (F32, F64) if op == "log_prob" else (ft,):
                sigs.append((A(xt, 3), A(ft, 2), A(ft, 3), outt))
        elif reduction == "quantile":
            if ft is F64:  # float64 only (registry.op("icdf").dtypes)
                sigs.append((A(F64, 3), A(F64, 2), A(F64, 3), C(F64, 1)))
        elif reduction == "grad":
            if ft is F64:  # float64 only (registry.op("log_prob_grad").dtypes); + the scratch
                sigs.append(
                    (
                        A(F64, 3),
                        A(F64, 2),
                        A(F64, 3),
                        A(F64, 1),
                        I64,
                        C(F64, 1),
                        C(F64, 1),
                        C(F64, 2),
                        C(F64, 3),
                        C(F64, 1),
                    )
                )
        elif reduction == "reparam":
            if ft is F64:  # float64 only (registry.op("sample_grad").dtypes)
                sigs.append((A(F64, 3), A(F64, 2), A(F64, 3), A(F64, 3), C(F64, 3), C(F64, 2)))
        elif reduction == "ancestral":
            outt = I64 if discrete else ft
            sigs.append((A(ft, 2), A(ft, 3), U64, U64, I64, C(outt, 2), C(I64, 1)))
        elif op == "choose":
            sigs.append((A(ft, 2), U64, U64, I64, C(I64, 1)))
        elif op == "moments":
            sigs.append((A(ft, 2), A(ft, 3), A(ft, 3), C(ft, 1), C(ft, 1)))
        elif op == "exp":
            sigs.append((C(ft, 1), C(ft, 1)))
        elif op == "normal_mixture_rows_grad":
            sigs.append((A(ft, 2),) * 4 + (A(ft, 1), C(ft, 1), C(ft, 1)) + (C(ft, 2),) * 3)
        elif op == "normal_mixture_rows":
            sigs.append((A(ft, 3),) + (A(ft, 2),) * 3 + (I64, C(ft, 1)))
        else:
            raise KeyError(op)
    return sigs[-1:] if ONE_SIG else sigs


def pairs():
    """The (op, family) pairs compiled: all of them, or the ``--one-signature`` subset."""
    return [(op, fam) for op, fam in kc.OPS if not ONE_SIG or fam in (None, "normal") or op == "log_prob"]


def expected_count():
    """How many PTX kernels :func:`main` must compile: derived from the registry's pairs."""
    return sum(len(signatures(op, fam)) for op, fam in pairs())


def main():
    t0 = time.perf_counter()
    target = ".target sm_{}{}".format(*CC)
    n = 0
    for op, family in pairs():
        for sig in signatures(op, family):
            ptx, _ = cuda.compile_ptx(kc.make(op, family), sig, cc=CC, opt=NVVM_OPT)
            lines = [ln.strip() for ln in ptx.splitlines() if ln.strip().startswith(".target")]
            if lines != [target]:
                raise SystemExit(f"{op}/{family} {sig}: asked for cc {CC}, PTX has {lines}")
            if ".entry" not in ptx:
                raise SystemExit(f"{op}/{family} {sig}: no kernel entry in the PTX")
            n += 1
    # the EM kernels of mixstat.fitting (fit_mixture(..., device="cuda")): one float64
    # signature each, for the full run's cc only (the same code for another target)
    from mixstat.fitting import _cuda as fc

    fit = [] if ONE_SIG else fc.KERNELS
    for name, family in fit:
        ptx, _ = cuda.compile_ptx(fc.make(name, family), fc.signature(name, family), cc=CC, opt=NVVM_OPT)
        lines = [ln.strip() for ln in ptx.splitlines() if ln.strip().startswith(".target")]
        if lines != [target] or ".entry" not in ptx:
            raise SystemExit(f"fitting {name}/{family}: asked for cc {CC}, PTX has {lines}")
    print(
        json.dumps(
            {
                "cc": list(CC),
                "fit_kernels": [f"{name}/{family}" if family else name for name, family in fit],
                "kernels": n,
                "nvvm_opt": NVVM_OPT is not False,
                "expected": expected_count(),
                "pairs": len(kc.OPS),
                "compiled_pairs": len(pairs()),
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
