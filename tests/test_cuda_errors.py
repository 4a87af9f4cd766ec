"""Device placement on a machine without CUDA (the normal test process: real numba.cuda, no driver).

``.to("cuda")`` and device-array inputs raise a ``RuntimeError`` that says why
CUDA cannot be used; the CPU path does not change.  The kernels themselves are
tested under the simulator (``test_cuda_sim.py``) and compiled to PTX
(``test_cuda_ptx.py``).
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import mixstat
from mixstat import _device
from mixstat.distributions import Categorical, MixtureSameFamily, Normal

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="runs without the simulator (see test_cuda_sim.py)"
)


def _mixture():
    return MixtureSameFamily(
        Categorical(probs=mixstat.tensor([0.3, 0.7])), Normal(mixstat.tensor([-2.0, 2.0]), mixstat.tensor([0.5, 1.0]))
    )


class FakeDeviceArray:
    """An object exposing ``__cuda_array_interface__`` (as CuPy and torch CUDA tensors do)."""

    __cuda_array_interface__ = {"shape": (2,), "typestr": "<f8", "data": (0, False), "version": 3}


def _no_gpu_here():
    ok, reason = _device.cuda_status()
    if ok:
        pytest.skip(f"a CUDA device is available here ({reason}); these tests need a machine without one")
    return reason


def test_default_device_is_cpu():
    d = _mixture()
    assert d.device == "cpu"
    assert d.component_distribution.device == "cpu"
    assert d.to("cpu") is d
    assert d.expand((3,)).device == "cpu"


def test_to_cuda_without_gpu_says_why():
    reason = _no_gpu_here()
    with pytest.raises(RuntimeError, match="CUDA is not available") as info:
        _mixture().to("cuda")
    msg = str(info.value)
    assert reason in msg
    if importlib.util.find_spec("numba_cuda") is None:
        assert "numba-cuda is not installed" in msg
    else:
        assert "driver" in msg


def test_device_array_parameter_without_gpu_says_why():
    _no_gpu_here()
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        Normal(FakeDeviceArray(), 1.0)


def test_numba_cuda_missing_message(monkeypatch):
    """Without numba-cuda installed the message names the package and the extra to install."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "numba_cuda" else real(name, *a))
    monkeypatch.setattr(_device, "_status", None)
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "0")
    with pytest.raises(RuntimeError) as info:
        Normal(0.0, 1.0).to("cuda")
    assert "numba-cuda is not installed" in str(info.value)
    assert "mixstat[cuda]" in str(info.value)


@pytest.mark.parametrize("bad", ["gpu", "cuda:1", "tpu", None, 0])
def test_bad_device_name(bad):
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        _mixture().to(bad)


def test_is_device_array():
    assert _device.is_device_array(FakeDeviceArray())
    assert not _device.is_device_array(np.zeros(3))
    assert not _device.is_device_array([1.0, 2.0])

    class Raises:  # a CPU torch tensor raises from __cuda_array_interface__
        @property
        def __cuda_array_interface__(self):
            raise AttributeError("not on CUDA")

    assert not _device.is_device_array(Raises())


def test_import_mixstat_imports_no_numba():
    code = (
        "import sys, mixstat; from mixstat.distributions import Normal; d = Normal(0.0, 1.0); "
        "assert d.device == 'cpu' and d.to('cpu') is d; "
        "assert not [m for m in sys.modules if m.startswith('numba')], 'numba imported'"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
