"""Kernels split in parts (``mixstat.kernels.parts``, ``mixstat._jit.Parts``).

Every split of a call gives the same bits: each kernel is run here part by part, for
``nparts`` = 1, 2, 3 and 7 (out of order, one part at a time), and the outputs and the summed
counts are compared with the one-part call.  ``Parts`` itself: threads give the one-thread
bits, a call that finds the workers busy runs on its own thread, an exception raised in a
worker's part reaches the caller and leaves the workers usable.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

import mixstat.distributions as D
from mixstat import _jit

SPLITS = (2, 3, 7)


def _captured(monkeypatch, run):
    """The (kernel, args) of the kernel calls that ``run()`` makes."""
    seen = []
    orig = _jit.call

    def call(kernel, *args):
        seen.append((kernel, args))
        return orig(kernel, *args)

    monkeypatch.setattr(_jit, "call", call)
    run()
    monkeypatch.setattr(_jit, "call", orig)
    return [(k, a) for k, a in seen if isinstance(k, _jit.Parts)]


def _run_split(kernel, args, nparts):
    """Every part of ``nparts``, in reverse order, on fresh copies of the writable arrays:
    (those arrays afterwards, the summed count or None)."""
    args = [a.copy() if isinstance(a, np.ndarray) and a.flags.writeable else a for a in args]
    total = None
    for p in reversed(range(nparts)):
        r = kernel.dispatcher(*args, p, nparts)
        if kernel.returns:
            total = r if total is None else total + r
    return [a for a in args if isinstance(a, np.ndarray) and a.flags.writeable], total


def _mixture(comp):
    rng = np.random.default_rng(3)
    return D.MixtureSameFamily(D.Categorical(logits=rng.normal(size=(2, 5))), comp)


CASES = {
    "normal log_prob": lambda rng: (
        _mixture(D.Normal(rng.normal(size=(2, 5)), rng.uniform(0.5, 2, (2, 5)))),
        lambda d: d.log_prob(rng.normal(size=(7001, 2))),
    ),
    "gamma cdf": lambda rng: (
        _mixture(D.Gamma(rng.uniform(0.5, 4, (2, 5)), rng.uniform(0.5, 2, (2, 5)))),
        lambda d: d.cdf(rng.gamma(2.0, size=(5003, 2))),
    ),
    "poisson sample": lambda rng: (
        _mixture(D.Poisson(rng.uniform(0.5, 30, (2, 5)))),
        lambda d: d.sample((9000,), rng=11),
    ),
    "normal sample with index": lambda rng: (
        _mixture(D.Normal(rng.normal(size=(2, 5)), rng.uniform(0.5, 2, (2, 5)))),
        lambda d: d.sample((9000,), rng=12, return_index=True),
    ),
    "normal log_cdf": lambda rng: (
        _mixture(D.Normal(rng.normal(size=(2, 5)), rng.uniform(0.5, 2, (2, 5)))),
        lambda d: d.log_cdf(rng.normal(size=(4001, 2)) * 10),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_split_gives_the_same_bits(case, monkeypatch):
    rng = np.random.default_rng(0)
    d, run = CASES[case](rng)
    calls = _captured(monkeypatch, lambda: run(d))
    assert calls, "no kernel of parts was called"
    for kernel, args in calls:
        want, want_n = _run_split(kernel, args, 1)
        for n in SPLITS:
            got, got_n = _run_split(kernel, args, n)
            assert got_n == want_n
            for g, w in zip(got, want):
                assert np.array_equal(g, w, equal_nan=True), (case, n)


def test_counts_of_the_parts_add_up():
    """``copy_checked`` counts the invalid entries of each part; the sum is the count."""
    from mixstat.kernels import rows

    kernel = _jit.get_kernel("copy_checked", None, "float64")
    rng = np.random.default_rng(1)
    for size in (0, 1, 4095, 4096 * 3 + 17, 300_001):
        a = rng.normal(size=size)
        a[rng.random(size) < 0.01] = np.nan
        a.flags.writeable = False
        want = int(np.isnan(a).sum())
        for n in (1, *SPLITS):
            dst = np.empty(size)
            total = sum(kernel.dispatcher(a, dst, np.int64(rows.KINDS["real"]), p, n) for p in range(n))
            assert total == want, (size, n)
            assert np.array_equal(dst, a, equal_nan=True)
        # through Parts, on two threads
        old = numba.get_num_threads()
        try:
            numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
            assert kernel(a, np.empty(0), np.int64(rows.KINDS["real"])) == want
        finally:
            numba.set_num_threads(old)


def test_threads_busy_workers_and_one_thread_agree():
    rng = np.random.default_rng(2)
    d = _mixture(D.Normal(rng.normal(size=(2, 5)), rng.uniform(0.5, 2, (2, 5))))
    x = rng.normal(size=(50_000, 2))
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = d.log_prob(x)
        s1 = d.sample((30_000,), rng=5)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = d.log_prob(x)
        s2 = d.sample((30_000,), rng=5)
        with _jit._busy:  # another call holds the workers: this one runs on its own thread
            busy = d.log_prob(x)
    finally:
        numba.set_num_threads(old)
    assert np.array_equal(one, two) and np.array_equal(one, busy)
    assert np.array_equal(s1, s2)


def test_an_exception_in_a_worker_reaches_the_caller(monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads (NUMBA_NUM_THREADS=1 here)")

    def kernel(a, part, nparts):
        if part == 1:
            raise RuntimeError(f"part {part} of {nparts}")
        return part + 10

    k = _jit.Parts(kernel, True)
    k.per_entry = 1.0  # as if slow: split (a kernel's first call runs on this thread, timed)
    big = np.zeros(_jit.PARTS_MIN_SIZE)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        n = 2 * _jit.PARTS_PER_THREAD  # parts of a call split over 2 threads
        with pytest.raises(RuntimeError, match=f"part 1 of {n}"):
            k(big)
        # the workers still run parts afterwards; the parts' results are summed
        ok = _jit.Parts(lambda a, part, nparts: part + 10, True)
        ok.per_entry = 1.0
        for _ in range(20):  # whoever runs part 1 (its thread, or this one when it is late)
            ok.per_entry = 1.0
            assert ok(big) == sum(p + 10 for p in range(n))
        assert ok(big[:10]) == 10  # below PARTS_MIN_SIZE: one part, on this thread
    finally:
        numba.set_num_threads(old)


def test_a_call_splits_only_when_its_serial_time_pays_for_the_hand_off():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads (NUMBA_NUM_THREADS=1 here)")
    seen = []

    def kernel(a, part, nparts):
        seen.append(nparts)
        return 0

    k = _jit.Parts(kernel, True)
    big = np.zeros(10 * _jit.PARTS_MIN_SIZE)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        k(big)  # first call: not known yet, on this thread, timed
        assert seen == [1] and k.per_entry > 0
        k.per_entry = 0.5 * _jit._handoff() / big.size  # worth half a hand-off: one part
        seen.clear()
        k(big)
        assert seen == [1]
        k.per_entry = 10 * _jit._handoff() / big.size  # worth 10 hand-offs: split over 2 threads
        seen.clear()
        k(big)
        n = 2 * _jit.PARTS_PER_THREAD
        assert seen == [n] * n
        assert k.per_entry > 0  # then the measured call's estimate
    finally:
        numba.set_num_threads(old)
    assert 0 < _jit._handoff() < 0.05
