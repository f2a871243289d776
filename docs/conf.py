"""Sphinx configuration for skmil's documentation.

Build: ``sphinx-build -W -b html docs docs/_build/html`` (warnings are errors).
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import skmil  # noqa: E402

project = "skmil"
author = "skmil developers"
copyright = "2026, skmil developers"
release = skmil.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "examples/*.py",
    "examples/README.rst",
    "**.ipynb_checkpoints",
    "_choosing.rst",  # included by user_guide.rst
    "_benchmark_table.rst",  # included by benchmarks.rst
    "_digits_table.rst",  # included by benchmarks.rst
]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Every numpydoc check, less those that do not fit skmil's docstrings. The same set is
# enforced without a Sphinx build by tests/test_docstrings.py, which reads it from here.
numpydoc_validation_checks = {
    "all",
    # An extended summary is written where the one-line summary is not enough; simple
    # methods (``fit``, ``predict``) and helpers need none.
    "ES01",
    # Examples live on the class (fit, predict and the instance outputs in one
    # snippet) and on the public functions; each method repeating them adds nothing.
    "EX01",
    # Cross-references are given where they help (estimator families, converters);
    # a See Also section on every object would be filler.
    "SA01",
    # Summaries may open with an estimator's name from the literature, several of
    # which start in lower case (mi-SVM, sMIL, miVLAD, mi-Graph).
    "SS02",
    # Summaries are often noun phrases ("Names of the output features", "Bags of 8x8
    # digit images"); this check takes any first word ending in "s" for a verb in
    # the third person.
    "SS05",
    # Returned values are named, as in scikit-learn (``self : object``,
    # ``X_new : ndarray of shape (n_bags, n_features_out)``); this check wants the
    # type alone.
    "RT02",
}

intersphinx_mapping = {}  # offline builds: no inventories fetched

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reference_url": {"skmil": None},
}

html_theme = "pydata_sphinx_theme"
html_title = "skmil"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": False}
suppress_warnings = ["config.cache"]
