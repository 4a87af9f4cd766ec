"""Saving and loading distributions: ``to_dict`` / ``from_dict``, ``mixstat.save`` / ``mixstat.load``.

Round trips of every example of the registry (``tests/registry.py``) keep every public
parameter, derived matrix, moment and dtype bit for bit; files in both encodings; damaged
and foreign files raise ``ValueError`` naming the field; writes are atomic.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import registry as reg

import mixstat
from mixstat.distributions import (
    Categorical,
    Independent,
    LowRankMultivariateNormal,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
    from_dict,
)


# -- an independent view of a distribution: its public attributes and moments --------------
def _public(dist, path="d"):
    """``{name: value}`` of everything public that defines ``dist`` (recursively)."""
    out = {
        f"{path}.type": type(dist).__name__,
        f"{path}.batch_shape": dist.batch_shape,
        f"{path}.event_shape": dist.event_shape,
        f"{path}.dtype": np.dtype(dist.dtype),
        f"{path}.validate_args": dist.validate_args,
        f"{path}.device": dist.device,
    }
    if isinstance(dist, MixtureSameFamily):
        out.update(_public(dist.mixture_distribution, path + ".mixture"))
        out.update(_public(dist.component_distribution, path + ".component"))
    elif isinstance(dist, Independent):
        out[f"{path}.n"] = dist.reinterpreted_batch_ndims
        out.update(_public(dist.base_dist, path + ".base"))
    elif isinstance(dist, Categorical):
        names = ("probs", "logits")
    elif isinstance(dist, MultivariateNormal):
        names = ("loc", "scale_tril", "covariance_matrix", "precision_matrix")
    elif isinstance(dist, LowRankMultivariateNormal):
        names = ("loc", "cov_factor", "cov_diag")
    else:
        names = tuple(dist.arg_constraints)
    if not isinstance(dist, (MixtureSameFamily, Independent)):
        for n in names:
            out[f"{path}.{n}"] = np.asarray(getattr(dist, n))
    with np.errstate(all="ignore"):
        for n in ("mean", "variance"):
            try:
                out[f"{path}.{n}"] = np.asarray(getattr(dist, n))
            except NotImplementedError:
                pass
    return out


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray), k
            assert x.dtype == y.dtype and x.shape == y.shape, (k, x.dtype, y.dtype, x.shape, y.shape)
            assert x.tobytes() == y.tobytes(), f"{k}: the bits differ"
        else:
            assert x == y, (k, x, y)


@pytest.mark.parametrize("ex", reg.EXAMPLES, ids=reg.IDS)
def test_dict_round_trip_of_every_example_is_bit_exact(ex):
    d = ex.make()
    e = from_dict(d.to_dict())
    assert type(e) is type(d)
    _same(_public(d), _public(e))
    assert e.dtype == ex.dtype  # float32 kept
    # the dict is itself stable: a second trip writes the same dict
    a, b = d.to_dict(), e.to_dict()
    assert json.dumps(_shapes(a), sort_keys=True) == json.dumps(_shapes(b), sort_keys=True)


def _shapes(d):
    return {
        k: (
            _shapes(v)
            if isinstance(v, dict)
            else [v.dtype.name, list(v.shape), v.tobytes().hex()]
            if isinstance(v, np.ndarray)
            else v
        )
        for k, v in d.items()
    }


FILE_EXAMPLES = reg.representatives(reg.EXAMPLES)


@pytest.mark.parametrize("fmt", ["npz", "json"])
@pytest.mark.parametrize("ex", FILE_EXAMPLES, ids=[e.id for e in FILE_EXAMPLES])
def test_file_round_trip_is_bit_exact(ex, fmt, tmp_path):
    d = ex.make()
    path = tmp_path / "model.bin"  # the name says nothing: the content is recognised
    mixstat.save(d, path, format=fmt)
    e = mixstat.load(path)
    _same(_public(d), _public(e))
    assert os.listdir(tmp_path) == ["model.bin"]  # no temporary file left


def _nested():
    inner = MixtureSameFamily(
        Categorical(probs=np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])),
        Normal(np.array([[-1.0, 1.0], [0.0, 3.0], [5.0, 6.0]]), np.ones((3, 2))),
    )
    return MixtureSameFamily(Categorical(logits=np.array([0.1, -0.3, 0.2])), inner)


def test_nested_and_independent_mixtures_round_trip(tmp_path):
    nested = _nested()
    indep_mix = Independent(
        MixtureSameFamily(
            Categorical(probs=np.float32([[0.3, 0.7]] * 4)),
            Normal(np.float32(np.arange(8.0).reshape(4, 2)), np.float32(1.5)),
        ),
        1,
    )
    deep = MixtureSameFamily(
        Categorical(probs=np.array([0.5, 0.5])),
        Independent(MixtureSameFamily(Categorical(probs=np.ones((2, 3, 2))), Normal(np.zeros((2, 3, 2)), 1.0)), 1),
    )
    for d in (nested, indep_mix, deep):
        for name in ("m.npz", "m.json"):
            mixstat.save(d, tmp_path / name)
            e = mixstat.load(tmp_path / name)
            _same(_public(d), _public(e))
    assert mixstat.load(tmp_path / "m.npz").dtype == np.float64
    mixstat.save(indep_mix, tmp_path / "f.npz")
    assert mixstat.load(tmp_path / "f.npz").dtype == np.float32
    assert mixstat.load(tmp_path / "f.npz").event_shape == (4,)


def test_categorical_state_is_kept_exactly():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=(50, 7))
    for make in (
        lambda: Categorical(probs=p),
        lambda: Categorical(logits=np.log(p)),
        lambda: Categorical(probs=p.astype(np.float32)),
    ):
        d = make()
        _ = d.logits, d.probs  # both derived
        e = from_dict(d.to_dict())
        assert e.probs.tobytes() == d.probs.tobytes() and e.logits.tobytes() == d.logits.tobytes()
    # weights given as a Python list follow the components' dtype: kept
    m = MixtureSameFamily(Categorical(probs=[0.3, 0.7]), Normal(np.float32([0, 1]), np.float32(1)))
    assert m.dtype == np.float32 and from_dict(m.to_dict()).dtype == np.float32


def test_broadcast_parameters_are_saved_once(tmp_path):
    d = Normal(np.array([0.0, 1.0, 2.0]), 1.0).expand((1000, 3))
    mixstat.save(d, tmp_path / "e.npz")
    assert os.path.getsize(tmp_path / "e.npz") < 4000  # not 2 x 3000 floats
    e = mixstat.load(tmp_path / "e.npz")
    assert e.batch_shape == (1000, 3)
    _same(_public(d), _public(e))
    m = MixtureSameFamily(
        Categorical(probs=np.array([0.3, 0.7])),
        MultivariateNormal(np.zeros((2, 2)), covariance_matrix=np.array([[2.0, 0.3], [0.3, 1.0]])),
    ).expand((50,))
    _same(_public(m), _public(from_dict(m.to_dict())))


def test_multivariate_normal_keeps_its_float64_factors():
    prec = np.array([[2.0, 0.5, 0.1], [0.5, 1.5, 0.2], [0.1, 0.2, 1.0]], dtype=np.float32)
    d = MultivariateNormal(np.float32([1, 2, 3]), precision_matrix=prec)
    e = from_dict(d.to_dict())
    assert e.dtype == np.float32 and e.loc.dtype == np.float32
    assert e._L64.tobytes() == d._L64.tobytes() and e._W64.tobytes() == d._W64.tobytes()


@pytest.mark.parametrize("eid", ["msf-normal-b0", "msf-normal-b2x4-f32"])
def test_loaded_distribution_computes_the_same_bits(eid, tmp_path):
    d = reg.BY_ID[eid].make()
    mixstat.save(d, tmp_path / "m.npz")
    e = mixstat.load(tmp_path / "m.npz")
    x = d.sample((257,), rng=11)
    y = e.sample((257,), rng=11)
    assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
    assert d.log_prob(x).tobytes() == e.log_prob(x).tobytes()


def test_hand_written_dicts():
    d = from_dict({"type": "Normal", "params": {"loc": [0, 1], "scale": {"dtype": "float32", "data": 2}}})
    assert d.batch_shape == (2,) and d.dtype == np.float64  # a list is float64
    d = from_dict(
        {
            "type": "Normal",
            "params": {"loc": {"dtype": "float32", "data": [0, 1]}, "scale": {"dtype": "float32", "data": [2, 3]}},
        }
    )
    assert d.dtype == np.float32
    c = from_dict({"type": "Categorical", "params": {"probs": [1, 3]}})  # normalised as the constructor does
    np.testing.assert_allclose(c.probs, [0.25, 0.75], rtol=0, atol=1e-15)
    m = from_dict(
        {
            "type": "MixtureSameFamily",
            "mixture_distribution": {"type": "Categorical", "params": {"logits": [0.0, 0.0]}},
            "component_distribution": {
                "type": "MultivariateNormal",
                "params": {"loc": [[0, 0], [1, 1]], "covariance_matrix": [[1, 0], [0, 1]]},
            },
        }
    )
    assert m.batch_shape == () and m.event_shape == (2,)
    b = from_dict({"type": "Binomial", "params": {"total_count": 10, "logits": 0.5}, "batch_shape": [3]})
    assert b.batch_shape == (3,) and np.all(b.total_count == 10)


# -- damaged and foreign input ---------------------------------------------------------------
def _dict():
    return MixtureSameFamily(
        Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-2.0, 2.0]), np.array([0.5, 1.0]))
    ).to_dict()


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda d: d.update(type="os.system"), "type"),
        (lambda d: d.update(type="Distribution"), "type"),
        (lambda d: d.update(version=99), "version"),
        (lambda d: d.update(version="1"), "version"),
        (lambda d: d.update(format="something.else"), "format"),
        (lambda d: d.pop("component_distribution"), "component_distribution"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d["component_distribution"].pop("params"), "component_distribution.params"),
        (
            lambda d: d["component_distribution"]["params"].update(scale=np.array([0.5, -1.0])),
            "component_distribution.params",
        ),
        (
            lambda d: d["component_distribution"]["params"].update(loc=np.array(["a", "b"])),
            "component_distribution.params.loc",
        ),
        (
            lambda d: d["component_distribution"]["params"].update(loc=np.array([1, 2], dtype=np.float16)),
            "component_distribution.params.loc",
        ),
        (
            lambda d: d["component_distribution"]["params"].update(shape=np.array([1.0])),
            "component_distribution.params.shape",
        ),
        (lambda d: d["component_distribution"].update(batch_shape=[5]), "component_distribution.batch_shape"),
        (lambda d: d["component_distribution"].update(dtype="float32"), "component_distribution.dtype"),
        (
            lambda d: d["mixture_distribution"]["params"].update(probs=np.array([0.3, 0.9])),
            "mixture_distribution.params.probs",
        ),
        (lambda d: d["mixture_distribution"].update(validate_args="yes"), "mixture_distribution.validate_args"),
        (
            lambda d: d["component_distribution"]["params"].update(
                loc={"dtype": "float64", "shape": [2], "base64": "AAAA"}
            ),
            "component_distribution.params.loc.base64",
        ),
        (
            lambda d: d["component_distribution"]["params"].update(loc={"npz": "a0"}),
            "component_distribution.params.loc",
        ),
    ],
)
def test_bad_dicts_raise_value_error_naming_the_field(edit, field):
    d = _dict()
    edit(d)
    with pytest.raises(ValueError, match=f"field '{field}'"):
        from_dict(d)


def test_damaged_factor_and_deep_nesting():
    d = MultivariateNormal(np.zeros(2), covariance_matrix=np.array([[2.0, 0.3], [0.3, 1.0]])).to_dict()
    d["params"]["scale_tril_inverse"] = d["params"]["scale_tril_inverse"] * 1.01
    with pytest.raises(ValueError, match="field 'params.scale_tril_inverse'"):
        from_dict(d)
    node = {"type": "Normal", "params": {"loc": 0.0, "scale": 1.0}}
    for _ in range(40):
        node = {"type": "Independent", "base_distribution": node, "reinterpreted_batch_ndims": 0}
    with pytest.raises(ValueError, match="nested deeper"):
        from_dict(node)
    with pytest.raises(TypeError):
        from_dict([1, 2])


class _Marker:
    """Unpickling this would create a file: loading must never do it."""

    path = None

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_damaged_and_foreign_files(tmp_path):
    good = tmp_path / "good.npz"
    mixstat.save(
        MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-2.0, 2.0]), np.array([0.5, 1.0]))),
        good,
    )
    raw = good.read_bytes()
    cases = {}
    cases["truncated"] = raw[: len(raw) // 2]
    cases["empty"] = b""
    cases["text"] = b"hello, world\n"
    cases["bad-json"] = b'{"type": "Normal", '
    cases["json-array"] = b"[1, 2, 3]"
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(ValueError, match=re.escape(str(p))):
            mixstat.load(p)
    np.save(tmp_path / "arr.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not a mixstat model file"):
        mixstat.load(tmp_path / "arr.npy")
    np.savez(tmp_path / "foreign.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="header.json"):
        mixstat.load(tmp_path / "foreign.npz")
    with pytest.raises(FileNotFoundError):
        mixstat.load(tmp_path / "missing.npz")

    # members rewritten: a pickled object array (which would run code), an int array, an extra member
    marker = tmp_path / "pwned"
    _Marker.path = str(marker)
    evil = np.empty(2, dtype=object)
    evil[0] = _Marker()
    evil[1] = 1.0

    def rewrite(name, member, write):
        out = tmp_path / name
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                if info.filename == member:
                    with dst.open(member, "w") as m:
                        write(m)
                else:
                    dst.writestr(info, src.read(info.filename))
        return out

    header = json.loads(zipfile.ZipFile(good).read("header.json"))
    loc_member = header["component_distribution"]["params"]["loc"]["npz"] + ".npy"
    p = rewrite("evil.npz", loc_member, lambda m: np.lib.format.write_array(m, evil, allow_pickle=True))
    with pytest.raises(ValueError, match="field 'component_distribution.params.loc'"):
        mixstat.load(p)
    assert not marker.exists()
    p = rewrite("int.npz", loc_member, lambda m: np.lib.format.write_array(m, np.array([1, 2])))
    with pytest.raises(ValueError, match="field 'component_distribution.params.loc'.*int64"):
        mixstat.load(p)
    bad = dict(header, version=2)
    p = rewrite("v2.npz", "header.json", lambda m: m.write(json.dumps(bad).encode()))
    with pytest.raises(ValueError, match="field 'version'"):
        mixstat.load(p)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(tmp_path / "extra.npz", "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match="unexpected members"):
        mixstat.load(tmp_path / "extra.npz")


def test_save_rejects_what_it_cannot_write(tmp_path):
    class MyNormal(Normal):
        pass

    with pytest.raises(TypeError, match="not a class of mixstat.distributions"):
        MyNormal(0.0, 1.0).to_dict()
    with pytest.raises(TypeError):
        mixstat.save(object(), tmp_path / "x.npz")
    with pytest.raises(ValueError, match="format"):
        mixstat.save(Normal(0.0, 1.0), tmp_path / "x.npz", format="pickle")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fmt", ["npz", "json"])
def test_interrupted_save_leaves_the_old_file(fmt, tmp_path, monkeypatch):
    path = tmp_path / "model"
    old = Normal(np.array([1.0, 2.0]), 3.0)
    mixstat.save(old, path, format=fmt)
    before = path.read_bytes()
    new = Normal(np.array([5.0, 6.0, 7.0]), 1.0)

    class Crash(RuntimeError):
        pass

    if fmt == "npz":  # a failure after the header and part of the arrays are written
        real = np.lib.format.write_array
        calls = []

        def failing(fp, array, *a, **kw):
            calls.append(1)
            if len(calls) == 2:
                fp.write(b"\x93NUMPY partial")
                raise Crash("disk full")
            return real(fp, array, *a, **kw)

        monkeypatch.setattr(np.lib.format, "write_array", failing)
    else:  # a failure after every byte is written, before the rename

        def failing(fd):
            raise Crash("power cut")

        monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(Crash):
        mixstat.save(new, path, format=fmt)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model"]  # the temporary file is gone
    _same(_public(old), _public(mixstat.load(path)))
    mixstat.save(new, path, format=fmt)  # and a later save replaces it
    _same(_public(new), _public(mixstat.load(path)))


def test_cuda_distribution_is_saved_from_host_copies(tmp_path):
    """Under numba's CUDA simulator (a process of its own: the variable is read at import)."""
    import importlib.util

    if importlib.util.find_spec("numba_cuda") is None:
        pytest.skip("numba's CUDA simulator comes with numba-cuda (mixstat's cuda extra), not installed here")
    code = (
        "import sys, numpy as np, mixstat\n"
        "from mixstat.distributions import Categorical, MixtureSameFamily, Normal\n"
        "d = MixtureSameFamily(Categorical(probs=np.array([0.3, 0.7])), Normal(np.array([-2.0, 2.0]), "
        "np.array([0.5, 1.0]))).to('cuda')\n"
        "assert d.device == 'cuda'\n"
        "mixstat.save(d, sys.argv[1])\n"
        "e = mixstat.load(sys.argv[1])\n"
        "assert e.device == 'cpu' and e.component_distribution.device == 'cpu'\n"
        "assert e.component_distribution.loc.tobytes() == d.component_distribution.loc.tobytes()\n"
        "assert e.mixture_distribution.probs.tobytes() == d.mixture_distribution.probs.tobytes()\n"
        "print('ok')\n"
    )
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    r = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "cuda.npz")], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


@pytest.mark.parametrize("modname", ["mixstat.io", "mixstat.distributions._serial", "mixstat.data"])
def test_doctests(modname):
    import importlib

    mod = importlib.import_module(modname)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0
