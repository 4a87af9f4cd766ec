"""Sphinx configuration of the mixstat documentation site.

Build: ``make docs`` (HTML in ``docs/_build/html``, warnings are errors, no
network: no intersphinx, MathJax served from the ``sphinx-mathjax-offline``
wheel). Check in a browser: ``make docs-check`` (``docs/check_site.py``).

Sources:

- the Markdown pages of ``docs/`` (MyST), the same files whose ```python
  blocks tests/test_docs.py runs; ``docs/api/*.md`` are listed by a glob;
- ``docs/examples/plot_*.py``: the gallery (sphinx-gallery runs them at build
  time and embeds their figures), generated into ``docs/auto_examples/``;
- the docstring reference, one page per public name of ``mixstat`` and
  ``mixstat.distributions`` (autodoc + numpydoc), written by this file into
  ``docs/reference/`` from the packages' ``__all__``, so a new public name
  gets its page without an edit here. Each ``docs/api/<name>.md`` page links
  to the docstring of ``<name>`` and back; the text of each lives in one
  place only (the Markdown page or the docstring).
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import shutil
import sys
import types
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import mixstat  # noqa: E402
import mixstat.distributions as _D  # noqa: E402

project = "mixstat"
author = "the mixstat developers"
copyright = "the mixstat developers"
release = version = mixstat.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples", "img/README*", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["mixstat.css"]
# A page that is in no toctree (one just added) is built and searchable, not an error.
suppress_warnings = [
    "toc.not_included",
    # some pages go from a title straight to ### sections; the site renders them as written
    "myst.header",
]

# -- Markdown (MyST) -------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "deflist", "colon_fence"]
myst_heading_anchors = 4  # `page.md#section` links, GitHub-style slugs
myst_dmath_double_inline = True

# -- autodoc / numpydoc ----------------------------------------------------
autodoc_default_options = {"members": True, "show-inheritance": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- the gallery -----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "reference_url": {},  # no network: no links into other projects' docs
    "backreferences_dir": None,
    "write_computation_times": False,
    "abort_on_example_error": True,
}

# -- HTML ------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"mixstat {release}"
html_show_sourcelink = True
toc_object_entries_show_parents = "hide"  # "mean", not "MixtureSameFamily.mean", in the page's table of contents
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 6,  # pages beyond these six go under "More"
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "use_edit_page_button": False,
}
html_sidebars = {"index": [], "search": []}
# the colour mode a first visit starts in (left blank, the theme logs a console error)
html_context = {"default_mode": "auto"}

# MathJax from a wheel (copied into _static/mathjax when the build ends), never a CDN.
_mathjax_spec = importlib.util.find_spec("sphinx-mathjax-offline")
if _mathjax_spec is None or not _mathjax_spec.submodule_search_locations:
    raise RuntimeError("the docs need the 'sphinx-mathjax-offline' package (pip install -e '.[docs]')")
_MATHJAX_DIR = os.path.join(next(iter(_mathjax_spec.submodule_search_locations)), "static", "mathjax")
mathjax_path = "mathjax/tex-chtml.js"

# -- the docstring reference, generated from __all__ ------------------------
GEN = os.path.join(HERE, "reference")


def _public_names():
    """(qualified name, kind) of every public object of mixstat and mixstat.distributions."""
    out = []
    for modname, mod in (("mixstat", mixstat), ("mixstat.distributions", _D)):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if name.startswith("__") or obj is _D:
                continue
            if isinstance(obj, types.ModuleType):
                kind = "module"
            elif inspect.isclass(obj):
                kind = "class"
            elif callable(obj):
                kind = "function"
            else:
                continue
            out.append((f"{modname}.{name}", kind))
    return out


def _write(path, text):
    """Write only when the text changed, so that incremental builds stay incremental."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _api_page(short):
    return os.path.exists(os.path.join(HERE, "api", short + ".md"))


def _generate_reference():
    os.makedirs(GEN, exist_ok=True)
    names = _public_names()
    keep = {"index.rst", "docstrings.rst", "benchmarks.rst"}
    for qual, kind in names:
        modname, short = qual.rsplit(".", 1)
        title = f"{short}: docstring"
        body = [title, "=" * len(title), ""]
        if kind == "module":
            body += [f".. automodule:: {qual}", "   :members:", ""]
        else:
            directive = "autoclass" if kind == "class" else "autofunction"
            body += [f".. currentmodule:: {modname}", "", f".. {directive}:: {short}", ""]
        if _api_page(short):
            body += [f"The reference page with the full description and more examples: :doc:`/api/{short}`.", ""]
        keep.add(qual + ".rst")
        _write(os.path.join(GEN, qual + ".rst"), "\n".join(body))

    def table(modname):
        """A two-column table: the name (a link to its docstring) and the docstring's first paragraph."""
        mod = mixstat if modname == "mixstat" else _D
        lines = [".. list-table::", "   :widths: 25 75", "   :class: mixstat-summary", ""]
        for qual, _ in names:
            m, short = qual.rsplit(".", 1)
            if m != modname:
                continue
            doc = inspect.getdoc(getattr(mod, short)) or ""
            summary = " ".join(doc.strip().split("\n\n")[0].split())
            lines += [f"   * - :py:obj:`~{qual}`", f"     - {summary}"]
        return lines + [""]

    index = [
        "API reference",
        "=============",
        "",
        "One page per class or function of ``mixstat`` and ``mixstat.distributions``,",
        "with its parameters, shapes, numerics and examples; the docstrings, as",
        "``help()`` shows them, are under :doc:`docstrings`.",
        "",
        ".. toctree::",
        "   :glob:",
        "   :maxdepth: 1",
        "",
        "   /api/*",
        "   docstrings",
        "",
    ]
    docstrings = [
        "Docstrings",
        "==========",
        "",
        "The docstrings of the public names, one page each; the pages of the",
        ":doc:`API reference <index>` describe each name in full.",
        "",
        "``mixstat``",
        "-----------",
        "",
        *table("mixstat"),
        "``mixstat.distributions``",
        "-------------------------",
        "",
        *table("mixstat.distributions"),
        ".. toctree::",
        "   :hidden:",
        "",
        *[f"   {q}" for q, _ in names],
        "",
    ]
    _write(os.path.join(GEN, "index.rst"), "\n".join(index))
    _write(os.path.join(GEN, "docstrings.rst"), "\n".join(docstrings))
    _write(
        os.path.join(GEN, "benchmarks.rst"),
        ".. include:: ../../benchmarks/RESULTS.md\n   :parser: myst_parser.sphinx_\n",
    )
    for fn in os.listdir(GEN):  # pages of names that are gone
        if fn.endswith(".rst") and fn not in keep:
            os.remove(os.path.join(GEN, fn))
    return names


_NAMES = _generate_reference()

# Markdown links to files outside docs/ that have a page in the site: pointed at that page.
_LINK_REWRITES = {"benchmarks/RESULTS.md": "reference/benchmarks.rst"}


def _source_read(app, docname, source):
    text = source[0]
    up = "../" * docname.count("/")
    for outside, page in _LINK_REWRITES.items():
        # the link as written from this page (`../` once more than the page's depth), with or without #fragment
        text = text.replace(f"]({up}../{outside})", f"]({up}{page})").replace(f"]({up}../{outside}#", f"]({up}{page}#")
    if docname.startswith("api/") and app.builder.format == "html":
        short = docname.split("/", 1)[1]
        quals = [q for q, k in _NAMES if q.rsplit(".", 1)[1] == short and k != "module"]
        if quals:
            link = f"{{py:obj}}`{quals[0]}`"
        else:
            link = "the {doc}`API reference </reference/index>`"
        text = text.rstrip() + f"\n\n---\n\n*Docstring:* {link}.\n"
    source[0] = text


def _copy_mathjax(app, exc):
    if exc is None and app.builder.format == "html":
        dest = os.path.join(app.outdir, "_static", "mathjax")
        if not os.path.isdir(dest):
            shutil.copytree(_MATHJAX_DIR, dest)


class _EmptyRootGlob(logging.Filter):
    """The front page's toctree ends with a `*` glob that picks up pages added beside the
    listed ones; when there are none it matches nothing, which is fine (Sphinx gives this
    warning no type, so `suppress_warnings` cannot name it)."""

    def filter(self, record):
        msg = record.getMessage() if record.args else str(record.msg)
        return not ("toctree glob pattern" in msg and "'*'" in msg and "didn't match" in msg)


def setup(app):
    logging.getLogger("sphinx.sphinx.directives.other").addFilter(_EmptyRootGlob())
    # matplotlib in the gallery: no GUI, no warnings about it
    os.environ.setdefault("MPLBACKEND", "Agg")
    warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")
    app.connect("source-read", _source_read)
    app.connect("build-finished", _copy_mathjax)
