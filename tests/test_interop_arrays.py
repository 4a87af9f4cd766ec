"""Arrays of other libraries as values and parameters: DLPack / array-API objects on the CPU
are read without a copy, results are NumPy arrays, and a torch tensor that requires grad is
refused with a ``TypeError`` that says why (mixstat does not track autograd).

The torch checks test the interop itself (torch is not a reference here): the values are
compared with the same computation on the NumPy arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixstat._array import as_real_array
from mixstat.distributions import Categorical, MixtureSameFamily, Normal


class DLPackOnly:
    """An object exposing only the DLPack protocol (a NumPy array's own), nothing else."""

    def __init__(self, a):
        self._a = a

    def __dlpack__(self, *args, **kwargs):
        return self._a.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def _mixture():
    return MixtureSameFamily(
        Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-1.0, 2.0]), np.array([0.5, 1.5]))
    )


def test_dlpack_object_is_read_without_copy():
    a = np.linspace(-3, 3, 7)
    got = as_real_array(DLPackOnly(a), "value")
    assert isinstance(got, np.ndarray)
    assert np.shares_memory(got, a)
    d = _mixture()
    r = d.log_prob(DLPackOnly(a))
    assert type(r) is np.ndarray
    np.testing.assert_array_equal(r, d.log_prob(a))


def test_dlpack_parameters_and_float32():
    loc = np.array([0.0, 1.0], np.float32)
    scale = np.array([1.0, 2.0], np.float32)
    d = Normal(DLPackOnly(loc), DLPackOnly(scale))
    assert d.dtype == np.float32
    x = np.array([0.5, -0.5], np.float32)
    np.testing.assert_array_equal(d.log_prob(DLPackOnly(x)), Normal(loc, scale).log_prob(x))


def test_torch_cpu_tensors_zero_copy():
    torch = pytest.importorskip("torch")
    t = torch.linspace(-3, 3, 11, dtype=torch.float64)
    got = as_real_array(t, "value")
    assert got.ctypes.data == t.data_ptr()  # the tensor's own memory
    d = _mixture()
    r = d.log_prob(t)
    assert type(r) is np.ndarray and r.dtype == np.float64
    np.testing.assert_array_equal(r, d.log_prob(t.numpy()))
    # float32 tensors keep float32; tensors as parameters
    loc = torch.tensor([0.0, 1.0])
    scale = torch.tensor([1.0, 2.0])
    n = Normal(loc, scale)
    assert n.dtype == np.float32
    x = torch.tensor([[0.25], [1.5]])
    np.testing.assert_array_equal(n.cdf(x), Normal(loc.numpy(), scale.numpy()).cdf(x.numpy()))
    s = n.sample((4,), rng=3)
    assert type(s) is np.ndarray and s.shape == (4, 2)


def test_torch_noncontiguous_and_integer_tensors():
    torch = pytest.importorskip("torch")
    t = torch.arange(12, dtype=torch.float64).reshape(3, 4).T  # a strided view
    d = Normal(np.zeros(3), np.ones(3))
    np.testing.assert_array_equal(d.log_prob(t), d.log_prob(t.numpy()))
    c = Categorical(probs=np.array([0.2, 0.3, 0.5]))
    k = torch.tensor([0, 2, 1, 5])
    np.testing.assert_array_equal(c.log_prob(k), c.log_prob(k.numpy()))


def test_torch_requires_grad_is_refused():
    torch = pytest.importorskip("torch")
    t = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    d = _mixture()
    with pytest.raises(
        TypeError,
        match=r"value is a tensor with requires_grad=True.*autograd.*"
        r"mixstat\.torch.*detach\(\)",
    ):
        d.log_prob(t)
    with pytest.raises(TypeError, match=r"loc is a tensor with requires_grad=True"):
        Normal(torch.zeros(2, requires_grad=True), torch.ones(2))
    # detached: accepted
    np.testing.assert_array_equal(d.log_prob(t.detach()), d.log_prob(np.zeros(3)))
