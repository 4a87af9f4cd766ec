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


def _distribution_modules():
    import pkgutil

    return [
        f"mixstat.distributions.{m.name}"
        for m in pkgutil.iter_modules(D.__path__)
        if m.name not in ("constraints", "distribution") and not m.name.startswith("_")
    ]


MODULES = ["mixstat._array", "mixstat._rng"] + _distribution_modules()


@pytest.mark.parametrize("modname", MODULES)
def test_doctests(modname):
    import importlib

    mod = importlib.import_module(modname)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0, f"{modname} has no examples"
    assert res.failed == 0


def _doc_pages():
    import glob
    import os

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return sorted(glob.glob(os.path.join(root, "docs", "**", "*.md"), recursive=True))


@pytest.mark.parametrize("page", _doc_pages(), ids=lambda p: p.split("docs/")[-1])
def test_doc_page_python_blocks_run(page, tmp_path, monkeypatch):
    """Every ```python block of a docs page runs, in order, in one namespace per page
    (blocks that need a GPU are left out where there is none)."""
    import os
    import re

    text = open(page).read()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    if "cuda" in os.path.basename(page) or os.path.basename(page) == "devices.md":
        from mixstat import _device

        if not _device.cuda_status()[0]:
            blocks = [b for b in blocks if '.to("cuda")' not in b and "cupy" not in b]
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    ns = {"__name__": "__docs__"}
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    for i, block in enumerate(blocks):
        if ">>>" in block:  # an interactive example: its printed output is checked too
            test = doctest.DocTestParser().get_doctest(block, ns, f"{page}:block{i}", page, 0)
            runner = doctest.DocTestRunner(optionflags=flags)
            runner.run(test, clear_globs=False)
            ns.update(test.globs)  # later blocks of the page build on these names
            assert runner.failures == 0, f"{page} block {i}: {runner.failures} example(s) failed"
            continue
        try:
            exec(compile(block, f"{page}:block{i}", "exec"), ns)
        except Exception as exc:  # report which block failed
            raise AssertionError(f"{page} block {i} failed: {type(exc).__name__}: {exc}\n{block}") from exc
