"""The ``mixstat`` command, run as the installed console script in subprocesses.

Every subprocess inherits this process's environment, so all of them share one kernel
cache (``MIXSTAT_CACHE_DIR`` or the default); sizes are small.  Outputs are compared bit
for bit with the same computation done here through the library.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import mixstat
from mixstat import cli
from mixstat.distributions import Categorical, MixtureSameFamily, MultivariateNormal, Normal, from_dict

SCRIPT = os.path.join(os.path.dirname(sys.executable), "mixstat")


def run(*args, cwd=None, expect=0):
    """Run the console script; returns ``(stdout, stderr)`` after checking the exit status."""
    assert os.path.exists(SCRIPT), (
        f"the console script {SCRIPT} is not installed (pip install -e . installs it from [project.scripts])"
    )
    r = subprocess.run(
        [SCRIPT, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONWARNINGS="error"),
    )
    assert r.returncode == expect, f"exit {r.returncode} (expected {expect})\n{r.stdout}\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr
    return r.stdout, r.stderr


def _mixture(dtype=np.float64, batch=()):
    w = np.broadcast_to(np.array([0.3, 0.7], dtype=dtype), batch + (2,))
    return MixtureSameFamily(
        Categorical(probs=np.ascontiguousarray(w)),
        Normal(np.array([-2.0, 2.0], dtype=dtype), np.array([0.5, 1.0], dtype=dtype)),
    )


@pytest.fixture
def model(tmp_path):
    """A saved two-component Normal mixture under a name that says nothing of its format."""
    d = _mixture()
    path = tmp_path / "model.bin"
    mixstat.save(d, path)
    return d, path


def _bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    assert a.tobytes() == b.tobytes()


def test_sample_in_chunks_has_the_bits_of_one_call(model, tmp_path):
    d, path = model
    out, err = run("sample", path, "-n", "2.5e3", "-o", tmp_path / "x.npy", "--seed", 7, "--chunk", 300)
    assert "2,500 samples" in out and err == ""  # no progress bar where stderr is not a terminal
    _bits(np.load(tmp_path / "x.npy"), d.sample((2500,), rng=7))
    # a float32 batch of 3 saved as JSON; an inline JSON model
    d32 = _mixture(np.float32, (3,))
    mixstat.save(d32, tmp_path / "m32.json")
    run("sample", tmp_path / "m32.json", "-n", 1000, "-o", tmp_path / "y.npy", "--seed", 3, "--chunk", 77)
    _bits(np.load(tmp_path / "y.npy"), d32.sample((1000,), rng=3))
    inline = json.dumps({"type": "Normal", "params": {"loc": [0.0, 10.0], "scale": 1.0}})
    run("sample", inline, "-n", 10, "-o", tmp_path / "z.npy", "--seed", 1, "--no-progress")
    _bits(np.load(tmp_path / "z.npy"), Normal(np.array([0.0, 10.0]), 1.0).sample((10,), rng=1))
    assert sorted(os.listdir(tmp_path)) == ["m32.json", "model.bin", "x.npy", "y.npy", "z.npy"]


def test_sample_rows_equals_slices_of_one_call(monkeypatch):
    """The offset draws behind ``--chunk``, here in-process, with the generic path of nested
    mixtures cut into steps of a few rows (so that chunks cross steps)."""
    from mixstat._rng import key_for
    from mixstat._sample_at import sample_rows
    from mixstat.distributions import mixture_same_family as msf

    monkeypatch.setattr(msf, "_FALLBACK_ELEMENTS", 24)
    inner = MixtureSameFamily(
        Categorical(probs=np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])),
        Normal(np.array([[-1.0, 1.0], [0.0, 3.0], [5.0, 6.0]]), np.ones((3, 2))),
    )
    cases = [
        MixtureSameFamily(Categorical(probs=np.array([0.4, 0.3, 0.3])), inner),
        _mixture(batch=(3,)),
        Categorical(probs=np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])),
        Normal(np.zeros(3), 1.0),
    ]
    rng = np.random.default_rng(1)
    for d in cases:
        full = d.sample((400,), rng=9)
        key = key_for(9)
        parts, a = [], 0
        while a < 400:
            c = min(int(rng.integers(1, 50)), 400 - a)
            parts.append(sample_rows(d, key, a, c))
            a += c
        _bits(np.concatenate(parts), full)
        _bits(sample_rows(d, key, 123, 0), full[123:123])


def test_log_prob_cdf_icdf(model, tmp_path):
    d, path = model
    x = np.linspace(-6.0, 6.0, 1001)
    np.save(tmp_path / "x.npy", x)
    q = np.concatenate([[0.0, 1e-300, 1e-9], np.linspace(0.01, 0.99, 97), [1 - 1e-9, 1.0]])
    np.save(tmp_path / "q.npy", q)
    run("log-prob", path, tmp_path / "x.npy", "-o", tmp_path / "lp.npy", "--chunk", 128)
    _bits(np.load(tmp_path / "lp.npy"), d.log_prob(x))
    run("cdf", path, tmp_path / "x.npy", "-o", tmp_path / "c.npy")
    _bits(np.load(tmp_path / "c.npy"), d.cdf(x))
    run("icdf", path, tmp_path / "q.npy", "-o", tmp_path / "iq.npy", "--chunk", 10)
    _bits(np.load(tmp_path / "iq.npy"), d.icdf(q))
    # a batch of 3 mixtures: values (N, 1) broadcast to (N, 3); float32 on request
    d3 = _mixture(batch=(3,))
    mixstat.save(d3, tmp_path / "m3.npz")
    np.save(tmp_path / "x1.npy", x[:, None])
    run("log-prob", tmp_path / "m3.npz", tmp_path / "x1.npy", "-o", tmp_path / "lp3.npy", "--dtype", "float32")
    d32 = from_dict(mixstat.distributions._serial.cast_dict(d3.to_dict(), "float32"))
    assert d32.dtype == np.float32
    _bits(np.load(tmp_path / "lp3.npy"), d32.log_prob(x[:, None].astype(np.float32)))


def test_fit_prints_the_log_likelihood_and_bic(tmp_path):
    from mixstat.data import faithful

    x = faithful()
    np.save(tmp_path / "faithful.npy", x)
    out, _ = run(
        "fit",
        tmp_path / "faithful.npy",
        "-k",
        2,
        "--family",
        "normal",
        "--covariance",
        "full",
        "-o",
        tmp_path / "model.json",
        "--seed",
        0,
    )
    ll = float(re.search(r"log-likelihood (\S+)", out).group(1))
    bic = float(re.search(r"BIC (\S+)", out).group(1))
    fitted = mixstat.load(tmp_path / "model.json")
    assert isinstance(fitted, MixtureSameFamily)
    assert isinstance(fitted.component_distribution, MultivariateNormal)
    # the printed figures are those of the saved model: log L = sum log p(x), BIC = -2 log L + p log n
    # with p = (K - 1) + K (D + D (D + 1) / 2) = 1 + 2 * 5 free parameters
    ref = float(np.sum(fitted.log_prob(x)))
    assert abs(ll - ref) <= 1e-6 * abs(ref)
    assert abs(bic - (-2 * ref + 11 * np.log(272))) <= 1e-6 * abs(bic)
    # the two clusters of Old Faithful: short eruptions after short waits, long ones after long waits
    means = np.sort(fitted.component_distribution.loc[:, 0])
    assert 1.9 < means[0] < 2.2 and 4.2 < means[1] < 4.4


def test_info_and_bench(model, tmp_path):
    d, path = model
    out, _ = run("info", path)
    assert "MixtureSameFamily: K = 2" in out and "Normal" in out
    mean = float(re.search(r"^mean\s+(\S+)", out, re.MULTILINE).group(1))
    assert abs(mean - float(d.mean)) <= 1e-6
    assert "quantiles (icdf)" in out
    median = float(re.search(r"^\s+0\.50\s+(\S+)", out, re.MULTILINE).group(1))
    assert abs(median - float(d.icdf(0.5))) <= 1e-5 * abs(median)
    mvn = MultivariateNormal(np.array([1.0, -1.0]), covariance_matrix=np.array([[1.0, 0.5], [0.5, 2.0]]))
    mixstat.save(mvn, tmp_path / "mvn.npz")
    out, _ = run("info", tmp_path / "mvn.npz", "--samples", 20000)
    assert "estimated from 20,000 samples" in out and "event_shape (2,)" in out
    out, _ = run("bench", path, "-n", 2000, "--repeats", 1)
    assert out.count("ns/row") == 3


def test_python_m_mixstat(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "mixstat", "info", ('{"type": "Normal", "params": {"loc": 1.0, "scale": 2.0}}')],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert re.search(r"^mean\s+1\b", r.stdout, re.MULTILINE) and re.search(r"^stddev\s+2\b", r.stdout, re.MULTILINE)


def test_user_errors_exit_2_with_a_message_naming_the_file_or_field(model, tmp_path):
    d, path = model
    np.save(tmp_path / "x.npy", np.zeros(5))
    np.save(tmp_path / "x2.npy", np.zeros((5, 2)))
    (tmp_path / "garbage.bin").write_bytes(b"\x00garbage")
    (tmp_path / "half.bin").write_bytes(path.read_bytes()[:200])
    mixstat.save(MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2)), tmp_path / "mvn.json")
    mixstat.save(_mixture(batch=(3,)), tmp_path / "m3.npz")
    out = tmp_path / "out.npy"
    cases = [
        (("sample", tmp_path / "nosuch", "-n", 5, "-o", out), "nosuch: no such file"),
        (("sample", tmp_path / "x.npy", "-n", 5, "-o", out), "not a mixstat model file"),
        (("sample", tmp_path / "garbage.bin", "-n", 5, "-o", out), "garbage.bin: not a mixstat model"),
        (("sample", tmp_path / "half.bin", "-n", 5, "-o", out), "half.bin: damaged"),
        (
            ("sample", '{"type": "Normal", "params": {"loc": 0, "scale": -1}}', "-n", 5, "-o", out),
            "field 'params'.*scale",
        ),
        (("sample", '{"type": "Normal", "parms": {}}', "-n", 5, "-o", out), "field 'parms'"),
        (("sample", path, "-n", "2.5", "-o", out), "-n"),
        (("sample", path, "-n", 5, "-o", tmp_path / "no" / "dir.npy"), "does not exist"),
        (("log-prob", path, path, "-o", out), "model.bin: not a .npy file"),
        (("log-prob", path, tmp_path / "missing.npy", "-o", out), "missing.npy"),
        (
            ("log-prob", tmp_path / "m3.npz", tmp_path / "x2.npy", "-o", out),
            ("x2.npy: shape \\(5, 2\\) does not broadcast"),
        ),
        (("log-prob", tmp_path / "m3.npz", tmp_path / "x.npy", "-o", out), "x.npy: shape \\(5,\\) must be"),
        (("cdf", tmp_path / "mvn.json", tmp_path / "x.npy", "-o", out), "needs a univariate model"),
        (("frobnicate",), "invalid choice"),
        (("fit", tmp_path / "x.npy", "-k", 2, "--family", "nosuch", "-o", tmp_path / "f.json"), "nosuch"),
    ]
    for args, message in cases:
        _, err = run(*args, expect=2)
        assert re.search(message, err), (args, err)
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == [
        "garbage.bin",
        "half.bin",
        "m3.npz",
        "model.bin",
        "mvn.json",
        "x.npy",
        "x2.npy",
    ]


def test_other_failures_exit_1_and_leave_the_old_output(model, tmp_path, monkeypatch, capsys):
    """In-process: a failure in the middle of the output leaves the old file and no temporary one."""
    d, path = model
    out = tmp_path / "x.npy"
    np.save(out, np.arange(3.0))
    before = out.read_bytes()
    from mixstat import _sample_at

    real = _sample_at.sample_rows
    calls = []

    def failing(*a):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the disk caught fire")
        return real(*a)

    monkeypatch.setattr(_sample_at, "sample_rows", failing)
    rc = cli.main(["sample", str(path), "-n", "1000", "-o", str(out), "--chunk", "100", "--seed", "1"])
    err = capsys.readouterr().err
    assert rc == 1 and "the disk caught fire" in err and "Traceback" not in err
    assert out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.bin", "x.npy"]


def test_count_arguments():
    assert cli._count("1e9") == 10**9 and cli._count("1_000") == 1000 and cli._count("7") == 7
    for bad in ("1.5", "-3", "abc", "inf"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli._count(bad)


def test_demo_runs(tmp_path):
    """``make demo`` at a small size: the fit picks K = 2 on Old Faithful, the saved model loads
    back bit for bit, the figure is written."""
    pytest.importorskip("matplotlib", reason="the demo's figure needs matplotlib (mixstat's demo extra)")
    r = subprocess.run(
        [sys.executable, "-m", "mixstat.demo", "--n", "20000", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert re.search(r"^\s+2\s.*<- lowest BIC", r.stdout, re.MULTILINE), r.stdout
    assert "log_prob bit-identical: True" in r.stdout
    assert sorted(os.listdir(tmp_path / "out")) == ["faithful.png", "faithful_model.npz"]
    fitted = mixstat.load(tmp_path / "out" / "faithful_model.npz")
    assert fitted.event_shape == (2,) and fitted.mixture_distribution.probs.shape == (2,)
