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
numpydoc_validation_checks = set()

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
