"""Every public name has a numpydoc docstring, and the docstring examples run."""
import doctest
import inspect

import pytest

import mixstat
import mixstat.distributions as D

CLASSES = [getattr(D, n) for n in D.__all__ if inspect.isclass(getattr(D, n))]
FUNCTIONS = [mixstat.tensor, mixstat.manual_seed, mixstat.initial_seed]


def _public_members(cls):
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") and name != "__init__":
            continue
        if name == "__init__":
            continue
        if isinstance(member, (property, type(lambda: 0))) or inspect.isfunction(member):
            yield name, member


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_class_docstring_sections(cls):
    doc = inspect.getdoc(cls) or ""
    for section in ("Parameters", "Attributes") if cls.__name__ != "Distribution" else ("Parameters",):
        assert f"{section}\n---" in doc, f"{cls.__name__} lacks a '{section}' section"
    if cls.__name__ != "Distribution":
        assert "Examples\n---" in doc and ">>>" in doc, f"{cls.__name__} lacks examples"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_public_member_documented(cls):
    missing = []
    for name, member in _public_members(cls):
        doc = member.__doc__ if isinstance(member, property) else inspect.getdoc(member)
        if not (doc and doc.strip()):
            missing.append(name)
    assert not missing, f"{cls.__name__}: undocumented {missing}"


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_function_docstrings(fn):
    doc = inspect.getdoc(fn)
    assert doc and len(doc.splitlines()) >= 1


MODULES = ["mixstat._array", "mixstat._rng", "mixstat.distributions.categorical",
           "mixstat.distributions.normal", "mixstat.distributions.independent",
           "mixstat.distributions.multivariate_normal", "mixstat.distributions.mixture_same_family"]


@pytest.mark.parametrize("modname", MODULES)
def test_doctests(modname):
    import importlib

    mod = importlib.import_module(modname)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0, f"{modname} has no examples"
    assert res.failed == 0
