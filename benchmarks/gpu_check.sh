#!/usr/bin/env bash
# benchmarks/gpu_check.sh: everything worth running on a lent GPU machine, in one go, in under 8 minutes.
#
#     OUT=/some/dir bash benchmarks/gpu_check.sh        (from anywhere; it works in the repository root)
#
# Steps (each with a timeout; a failing step does not stop the others):
#   environment  nvidia-smi (if present) and the versions of python, numpy, scipy, numba,
#                numba-cuda, cupy, torch            -> $OUT/nvidia-smi.txt, $OUT/environment.txt
#   cuda         mixstat._device.cuda_status()      -> $OUT/cuda_status.txt
#   warmup       python -m mixstat warmup: the CPU kernels compiled into the on-disk cache in one
#                process per core, so that the steps below load them instead of compiling them
#                one by one                         -> $OUT/warmup.log
#   cuda_tests   (if pytest imports) MIXSTAT_CUDA_DEVICE_TESTS=1 pytest tests/test_cuda_sim.py
#                on the real device (with --noconftest where hypothesis, which tests/conftest.py
#                imports, is missing)               -> $OUT/cuda_tests.log
#   selfcheck    benchmarks/gpu_selfcheck.py: every registry example, GPU against CPU, no pytest
#                                                   -> $OUT/selfcheck.log, $OUT/selfcheck.json
#   gpu_float64, gpu_float32
#                benchmarks/gpu.py, W1-W4 and the family rows beside torch and CuPy
#                                                   -> $OUT/gpu_float64.{log,json}, $OUT/gpu_float32.{log,json},
#                                                      both in $OUT/gpu.json ({"float64": ..., "float32": ...})
# cuda_tests and selfcheck run at the same time (both are mostly kernel compilation, on the CPU
# cores); the two timing runs run alone, after them.  Every timeout is capped so that the whole
# script stays within GPU_CHECK_BUDGET_S seconds (default 450): a step gets
# min(its own cap, budget left - the time reserved for the steps after it), the reserves being
# fixed fractions of the budget (after the warm-up 70 %, after cuda_tests and selfcheck 24 %,
# after gpu_float64 12 %); with 450 s and every step timing out: warm-up 90 s, cuda_tests 240 s
# and selfcheck 150 s side by side, gpu_float64 ~55 s, gpu_float32 ~50 s.  The JSON files are
# rewritten after every example / row, so a step cut short by its timeout still leaves what it did.
# $OUT/summary.txt and $OUT/summary.json list every step: passed, FAILED (exit n), TIMED OUT,
# NOT RUN (the budget was spent: counts as a failure) or skipped (why: no pytest, no GPU).
#
# Exit status:
#   0  every check that ran passed (cuda_tests may be skipped where pytest is not installed; the
#      warm-up is not a check: if it fails or times out the steps after it compile what they need)
#   1  a step failed or timed out (see the summary)
#   2  no usable CUDA device: nothing was checked on a GPU.  The environment, the reason
#      ($OUT/cuda_status.txt) and the summary are still written; "no GPU" is printed.  This is
#      deliberately not 0, so that a machine without a GPU never reads as a passed GPU check.
#
# Environment: OUT (default ./gpu_out), PYTHON (default python3), GPU_CHECK_BUDGET_S (default 450),
# GPU_CHECK_WARMUP=0 to skip the warm-up, GPU_CHECK_SIMULATOR=1 to run every step under numba's CUDA
# simulator instead (a test of this script without a GPU: slow, tiny sizes, subsets).
# Nothing is written outside $OUT: MIXSTAT_CACHE_DIR, NUMBA_CACHE_DIR and CUPY_CACHE_DIR point
# into it, Python writes no bytecode and pytest no cache.
set -euo pipefail

OUT="${OUT:-./gpu_out}"  # relative to the directory the script is started from
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-python3}"
BUDGET="${GPU_CHECK_BUDGET_S:-450}"
SIM="${GPU_CHECK_SIMULATOR:-0}"
START=$SECONDS
GPU_OK=false

export PYTHONPATH=.
export PYTHONDONTWRITEBYTECODE=1
export MIXSTAT_CACHE_DIR="$OUT/mixstat-cache"
export NUMBA_CACHE_DIR="$OUT/numba-cache"
export CUPY_CACHE_DIR="$OUT/cupy-cache"
if [[ "$SIM" == "1" ]]; then
    export NUMBA_ENABLE_CUDASIM=1
    SIMFLAG=(--simulator)
else
    unset NUMBA_ENABLE_CUDASIM
    SIMFLAG=()
fi

STEPS="$OUT/steps"
rm -rf "$STEPS"
rm -f "$OUT"/{selfcheck,gpu_float64,gpu_float32,gpu}.json  # no figures of an earlier run
mkdir -p "$STEPS"
: > "$OUT/gpu_check.log"
ORDER=(environment cuda warmup cuda_tests selfcheck gpu_float64 gpu_float32)

say() { echo "gpu_check: $*" | tee -a "$OUT/gpu_check.log"; }

# record NAME STATUS SECONDS LOG: one file per step (steps may run in the background)
record() { printf '%s\t%s\t%s\n' "$2" "$3" "$4" > "$STEPS/$1"; say "$1: $2 (${3}s)"; }

# run_step NAME CAP RESERVE LOG CMD...: CMD with a timeout of min(CAP, budget left - RESERVE)
run_step() {
    local name=$1 cap=$2 reserve=$3 log=$4
    shift 4
    local left=$((BUDGET - (SECONDS - START) - reserve))
    local t=$((cap < left ? cap : left))
    if ((t < 10)); then
        record "$name" "NOT RUN (time budget of ${BUDGET}s spent)" 0 "$log"
        return 0
    fi
    say "$name: timeout ${t}s: $*"
    local t0=$SECONDS rc=0 status
    timeout --kill-after=10 "$t" "$@" > "$log" 2>&1 || rc=$?
    if ((rc == 0)); then
        status=passed
    elif ((rc == 124 || rc == 137)); then
        status="TIMED OUT after ${t}s"
    else
        status="FAILED (exit $rc)"
    fi
    record "$name" "$status" $((SECONDS - t0)) "$log"
    tail -n 2 "$log" | sed 's/^/    /' || true
}

summary() {
    local code=$1 name status secs log
    {
        echo "gpu_check summary ($((SECONDS - START))s of a ${BUDGET}s budget; OUT=$OUT)"
        for name in "${ORDER[@]}"; do
            if [[ -f "$STEPS/$name" ]]; then
                IFS=$'\t' read -r status secs log < "$STEPS/$name"
            else
                status="not run" secs=0 log=""
            fi
            printf '  %-12s %-40s %5ss  %s\n' "$name" "$status" "$secs" "${log#"$OUT"/}"
        done
    } | tee "$OUT/summary.txt"
    {
        printf '{\n  "exit_status": %d,\n  "gpu": %s,\n  "cuda_status": "%s",\n  "seconds": %d,\n  "steps": {\n' \
            "$code" "$GPU_OK" \
            "$(tr -d '"\\' < "$OUT/cuda_status.txt" 2>/dev/null | tr '\n\t' '  ' | sed 's/ *$//' || true)" $((SECONDS - START))
        local first=1
        for name in "${ORDER[@]}"; do
            if [[ -f "$STEPS/$name" ]]; then
                IFS=$'\t' read -r status secs log < "$STEPS/$name"
            else
                status="not run" secs=0 log=""
            fi
            ((first)) || printf ',\n'
            first=0
            status=${status//\"/\'}
            printf '    "%s": {"status": "%s", "seconds": %s, "log": "%s"}' "$name" "$status" "$secs" "$log"
        done
        printf '\n  }\n}\n'
    } > "$OUT/summary.json"
}

finish() {
    local code=0 name status
    for name in "${ORDER[@]}"; do
        [[ "$name" != warmup ]] || continue  # the warm-up only saves time: not a check
        if [[ ! -f "$STEPS/$name" ]]; then
            code=1  # a step that never recorded itself (killed?)
            continue
        fi
        status=$(cut -f1 "$STEPS/$name")
        case "$status" in
            passed* | skipped*) ;;
            *) code=1 ;;
        esac
    done
    [[ "${1:-}" == nogpu ]] && code=2
    summary "$code"
    case $code in
        0) say "every step passed (exit 0)" ;;
        1) say "some step FAILED or timed out (exit 1): see $OUT/summary.txt and the logs" ;;
        2) say "no GPU available: nothing was checked on a GPU (exit 2); reason in $OUT/cuda_status.txt" ;;
    esac
    exit "$code"
}

say "OUT=$OUT, python: $PY, budget ${BUDGET}s$([[ $SIM == 1 ]] && echo ', numba CUDA simulator')"

# -- environment -------------------------------------------------------------------------
t0=$SECONDS
if command -v nvidia-smi > /dev/null 2>&1; then
    timeout 30 nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "(nvidia-smi failed: exit $?)" >> "$OUT/nvidia-smi.txt"
else
    echo "nvidia-smi: not found on PATH" > "$OUT/nvidia-smi.txt"
fi
env_rc=0
timeout 90 "$PY" - > "$OUT/environment.txt" 2>&1 << 'EOF' || env_rc=$?
import importlib, platform, sys
print("python", sys.version.replace("\n", " "), "on", platform.platform())
for mod in ("numpy", "scipy", "numba", "numba_cuda", "llvmlite", "cupy", "torch", "pytest", "hypothesis"):
    try:
        m = importlib.import_module(mod)
        extra = ""
        if mod == "torch":
            extra = f" (cuda {m.version.cuda}, cuda available: {m.cuda.is_available()})"
        print(f"{mod:11s} {getattr(m, '__version__', '?')}{extra}")
    except Exception as exc:
        print(f"{mod:11s} not importable: {type(exc).__name__}: {exc}")
EOF
sed 's/^/    /' "$OUT/environment.txt"
if ((env_rc == 0)); then
    record environment passed $((SECONDS - t0)) "$OUT/environment.txt"
else
    record environment "FAILED (exit $env_rc)" $((SECONDS - t0)) "$OUT/environment.txt"
fi

# -- is there a GPU? ---------------------------------------------------------------------
t0=$SECONDS
cuda_rc=0
timeout 120 "$PY" -c "
import sys
from mixstat import _device
ok, reason = _device.cuda_status()
print(reason)
sys.exit(0 if ok else 3)
" > "$OUT/cuda_status.txt" 2>&1 || cuda_rc=$?
if ((cuda_rc == 3)); then
    record cuda "no GPU (reason in cuda_status.txt)" $((SECONDS - t0)) "$OUT/cuda_status.txt"
    for name in warmup cuda_tests selfcheck gpu_float64 gpu_float32; do
        record "$name" "skipped (no GPU)" 0 ""
    done
    say "no GPU available: $(cat "$OUT/cuda_status.txt")"
    finish nogpu
elif ((cuda_rc != 0)); then
    record cuda "FAILED (exit $cuda_rc): mixstat's CUDA status could not be read" $((SECONDS - t0)) "$OUT/cuda_status.txt"
    tail -n 3 "$OUT/cuda_status.txt" | sed 's/^/    /'
    for name in warmup cuda_tests selfcheck gpu_float64 gpu_float32; do
        record "$name" "skipped (CUDA status unknown)" 0 ""
    done
    finish
fi
record cuda "passed: $(head -n 1 "$OUT/cuda_status.txt")" $((SECONDS - t0)) "$OUT/cuda_status.txt"
GPU_OK=true

# -- CPU kernels into the cache ------------------------------------------------------------
if [[ "${GPU_CHECK_WARMUP:-1}" == "1" ]]; then
    run_step warmup 90 $((BUDGET * 70 / 100)) "$OUT/warmup.log" "$PY" -m mixstat warmup
else
    record warmup "skipped (GPU_CHECK_WARMUP=0)" 0 ""
fi

# -- (a) the CUDA tests on the device and (b) the self-check, side by side -------------------
if "$PY" -c "import pytest" > /dev/null 2>&1; then
    PYTEST_ARGS=(-q -p no:cacheprovider)
    if ! "$PY" -c "import hypothesis" > /dev/null 2>&1; then
        PYTEST_ARGS+=(--noconftest)  # tests/conftest.py imports hypothesis; test_cuda_sim.py needs neither
    fi
    if [[ "$SIM" == "1" ]]; then
        run_step cuda_tests 240 $((BUDGET * 24 / 100)) "$OUT/cuda_tests.log" \
            "$PY" -m pytest "${PYTEST_ARGS[@]}" tests/test_cuda_sim.py &
    else
        run_step cuda_tests 240 $((BUDGET * 24 / 100)) "$OUT/cuda_tests.log" \
            env MIXSTAT_CUDA_DEVICE_TESTS=1 "$PY" -m pytest "${PYTEST_ARGS[@]}" tests/test_cuda_sim.py &
    fi
    pid_a=$!
else
    record cuda_tests "skipped (pytest is not installed)" 0 ""
    pid_a=""
fi
run_step selfcheck 150 $((BUDGET * 24 / 100)) "$OUT/selfcheck.log" \
    "$PY" benchmarks/gpu_selfcheck.py ${SIMFLAG[@]+"${SIMFLAG[@]}"} --json "$OUT/selfcheck.json" &
pid_b=$!
if [[ -n "$pid_a" ]]; then
    wait "$pid_a" || true
fi
wait "$pid_b" || true

# -- (c) the timings, alone on the device -------------------------------------------------------
run_step gpu_float64 150 $((BUDGET * 12 / 100)) "$OUT/gpu_float64.log" \
    "$PY" benchmarks/gpu.py ${SIMFLAG[@]+"${SIMFLAG[@]}"} --dtype float64 --repeats 3 --json "$OUT/gpu_float64.json"
run_step gpu_float32 150 5 "$OUT/gpu_float32.log" \
    "$PY" benchmarks/gpu.py ${SIMFLAG[@]+"${SIMFLAG[@]}"} --dtype float32 --repeats 3 --json "$OUT/gpu_float32.json"
timeout 30 "$PY" - "$OUT" << 'EOF' || say "could not merge the gpu.py JSON files"
import json, os, sys
out = sys.argv[1]
merged = {}
for dt in ("float64", "float32"):
    p = os.path.join(out, f"gpu_{dt}.json")
    if os.path.exists(p):
        with open(p) as f:
            merged[dt] = json.load(f)
with open(os.path.join(out, "gpu.json"), "w") as f:
    json.dump(merged, f, indent=1)
EOF

finish
