"""numpydoc validation of the public docstrings (a quality gate run by ``make lint``).

The public API is every name in ``mixstat.__all__``, ``mixstat.distributions.__all__``,
``mixstat.io.__all__``, ``mixstat.information.__all__`` and ``mixstat.mixture.__all__``,
and the public methods and properties that their classes define.  The checks are those
of ``[tool.numpydoc_validation]`` in ``pyproject.toml`` (``"all"`` less the listed
ones, each excluded for a reason given there; names matching its ``exclude`` patterns are
left out).  A method that overrides a documented
method without a docstring of its own shows the inherited one (Sphinx' autodoc, Python's
``help``), which is validated where it is defined.

The gufuncs of :mod:`mixstat.gufuncs` are generated from the family registry and
compiled on first access; their docstrings are written by the same generator and are
not validated here (:func:`mixstat.gufuncs.available` and :func:`mixstat.gufuncs.compiled`
are).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import tomllib

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")  # the test extra installs it

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ("mixstat", "mixstat.distributions", "mixstat.io", "mixstat.information", "mixstat.mixture")
EXTRA = ("mixstat.gufuncs.available", "mixstat.gufuncs.compiled")


def _config():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        cfg = tomllib.load(f)["tool"]["numpydoc_validation"]
    checks = set(cfg["checks"])
    if "all" in checks:
        checks = set(numpydoc_validate.ERROR_MSGS) - (checks - {"all"})
    exclude = [re.compile(p) for p in cfg.get("exclude", [])]
    return checks, exclude


CHECKS, EXCLUDE = _config()


def _public_names():
    """Qualified names of the public objects, each once (re-exports are skipped)."""
    seen, names = set(), []

    def add(qual, obj):
        if id(obj) not in seen:
            seen.add(id(obj))
            names.append(qual)

    for modname in MODULES:
        mod = importlib.import_module(modname)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
                continue  # submodules, constants, __version__
            add(f"{modname}.{name}", obj)
            if not inspect.isclass(obj):
                continue
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if not (callable(value) or isinstance(value, (property, classmethod, staticmethod))):
                    continue
                member = getattr(obj, attr)
                if getattr(member, "__doc__", None) is None and inspect.getdoc(member) is None:
                    names.append(f"{modname}.{name}.{attr}")  # no docstring anywhere: GL08
                elif isinstance(value, property) or (getattr(value, "__doc__", None) or "").strip():
                    add(f"{modname}.{name}.{attr}", value)
                # else: an override without a docstring of its own shows the inherited one
    return [n for n in names + list(EXTRA) if not any(p.search(n) for p in EXCLUDE)]


NAMES = _public_names()


def test_public_api_is_found():
    # the walk above must see the whole API: the façade classes and the top-level functions
    assert "mixstat.distributions.MixtureSameFamily" in NAMES
    assert "mixstat.distributions.Normal.entropy" in NAMES
    assert "mixstat.save" in NAMES and "mixstat.fit_mixture" in NAMES
    assert "mixstat.mixture.GaussianMixture.fit" in NAMES
    assert len(NAMES) > 150


@pytest.mark.parametrize("name", NAMES)
def test_docstring(name):
    result = numpydoc_validate.validate(name)
    errors = [f"{code} {msg}" for code, msg in result["errors"] if code in CHECKS]
    where = f"{os.path.relpath(result['file'], ROOT) if result.get('file') else '?'}:{result.get('file_line')}"
    assert not errors, f"{name} ({where}):\n  " + "\n  ".join(errors)


def test_type_checkers_see_every_distribution():
    """``mixstat.distributions`` exports its façades by a loop over its modules, which type
    checkers cannot follow; its ``if TYPE_CHECKING:`` block names them (``py.typed``).
    Every exported name must be there, so that ``from mixstat.distributions import Normal``
    type-checks in user code."""
    import ast

    import mixstat.distributions as pkg

    with open(pkg.__file__) as f:
        tree = ast.parse(f.read())
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    named.update(a.asname or a.name for a in stmt.names)
        elif isinstance(node, ast.ImportFrom) and node.col_offset == 0 and node.level == 1:
            named.update(a.asname or a.name for a in node.names)  # the plain imports at the top
    missing = sorted(set(pkg.__all__) - named)
    assert not missing, f"add to the `if TYPE_CHECKING:` block of {pkg.__file__}: " + ", ".join(missing)
