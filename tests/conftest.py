"""Hypothesis profiles and an honest count of the Hypothesis cases the suite runs.

Profiles
--------
``ci`` (the default, used by ``make test``)
    ``derandomize=True`` (the examples are a fixed function of the test, so CI
    is deterministic), no example database, ``deadline=None`` (first calls
    compile or load kernels), ``max_examples=CI_EXAMPLES``.
``fuzz`` (``make fuzz``)
    Random exploration, ``max_examples=FUZZ_EXAMPLES`` per test,
    ``deadline=None``; the failing example is printed with a reproduction blob.

Select one with ``HYPOTHESIS_PROFILE=fuzz`` in the environment or with
Hypothesis' own pytest option ``--hypothesis-profile=fuzz``.  Tests that are
much more (or less) expensive per case scale the profile's ``max_examples``
with :func:`examples` (in ``tests/test_fuzz.py`` and ``tests/test_numerics.py``).

Counting
--------
Every Hypothesis test's inner function is wrapped while the test runs, so that
each execution of its body (generation, and any shrinking or replay) is
counted; examples that Hypothesis rejects (``assume``/filters) are not.  The
count of each test travels in its report (``user_properties``, which
pytest-xdist carries to the controller) and the terminal summary prints the
total per file.  The wrapper also fails any single case that runs longer than
``CASE_TIME_LIMIT`` seconds (a hang that returns), and arms ``faulthandler`` to
dump every thread's stack and exit if a case never returns.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.errors import UnsatisfiedAssumption

CI_EXAMPLES = 40
FUZZ_EXAMPLES = 1000
CASE_TIME_LIMIT = 60.0  # seconds for one case: kernel compilation included
CASE_HANG_EXIT = 300.0  # seconds: dump all stacks and exit the worker

_common = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile("ci", max_examples=CI_EXAMPLES, derandomize=True, database=None, **_common)
settings.register_profile("fuzz", max_examples=FUZZ_EXAMPLES, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_PROP = "hypothesis_cases"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    handle = getattr(getattr(item, "obj", None), "hypothesis", None)
    inner = getattr(handle, "inner_test", None)
    if inner is None:
        yield
        return
    count = [0]

    def counted(*args, **kwargs):
        t0 = time.perf_counter()
        faulthandler.dump_traceback_later(CASE_HANG_EXIT, exit=True)
        try:
            inner(*args, **kwargs)
        except UnsatisfiedAssumption:
            raise
        except BaseException:
            count[0] += 1
            raise
        else:
            count[0] += 1
        finally:
            faulthandler.cancel_dump_traceback_later()
        elapsed = time.perf_counter() - t0
        assert elapsed < CASE_TIME_LIMIT, f"one case took {elapsed:.1f} s (limit {CASE_TIME_LIMIT} s)"

    handle.inner_test = counted
    try:
        yield
    finally:
        handle.inner_test = inner
        item.user_properties.append((_PROP, count[0]))


def pytest_terminal_summary(terminalreporter):
    per_file = Counter()
    tests = Counter()
    for reports in terminalreporter.stats.values():
        for rep in reports:
            if getattr(rep, "when", None) != "call":
                continue
            for name, value in getattr(rep, "user_properties", ()):
                if name == _PROP:
                    path = rep.nodeid.split("::")[0]
                    per_file[path] += int(value)
                    tests[path] += 1
    if not per_file:
        return
    profile = settings.get_current_profile_name()
    tr = terminalreporter
    tr.write_sep("-", f"Hypothesis cases run (profile {profile!r})")
    for path in sorted(per_file):
        tr.write_line(f"{path}: {per_file[path]} cases in {tests[path]} tests")
    tr.write_line(f"total: {sum(per_file.values())} cases in {sum(tests.values())} tests")
    sys.stdout.flush()


@pytest.fixture(autouse=True)
def _mpmath_precision():
    """Every test starts with mpmath at 50 digits: several test modules set ``mp.dps`` when
    they are imported, or in a test's body, and mpmath's context is shared by the whole
    process, so one module's setting must not decide another's references."""
    import mpmath

    mpmath.mp.dps = 50


@pytest.fixture(scope="session")
def dask_client(tmp_path_factory):
    """A ``dask.distributed`` client of one ``LocalCluster`` (2 worker processes, 1 thread each)
    for the whole session (tests/test_dask.py).

    The workers share this session's on-disk kernel cache (``MIXSTAT_CACHE_DIR``) and run
    1 numba thread each.  The dask tests form one ``xdist_group`` (``--dist loadgroup`` in the
    pytest options), so one pytest worker starts the cluster; a file lock beside the
    workers' temporary directories keeps two starts from overlapping if the tests are
    spread over pytest workers all the same.
    """
    import fcntl

    distributed = pytest.importorskip("distributed", reason="dask.distributed is in the test extra")
    cache = os.environ.get("MIXSTAT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "mixstat"
    )
    env = {"MIXSTAT_CACHE_DIR": cache, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    lock_path = tmp_path_factory.getbasetemp().parent / "mixstat-dask-cluster.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            cluster = distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                env=env,
                local_directory=str(tmp_path_factory.mktemp("dask")),
            )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
