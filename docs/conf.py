"""Sphinx configuration: numpydoc API pages, MyST user guide, sphinx-gallery.

Build with warnings as errors (the documented command):
    .venv/bin/pip install -e ".[docs]"
    .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
from importlib import metadata

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

project = "skpermgrad"
author = "skpermgrad developers"
copyright = "2026, skpermgrad developers"
release = metadata.version("skpermgrad")
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.extlinks",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
extlinks = {"doi": ("https://doi.org/%s", "doi:%s")}
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
autosummary_generate = True
templates_path = ["_templates"]  # class pages list and document every method
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]  # $...$ inline math

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "reference_url": {"skpermgrad": None},
    "show_memory": False,
    "abort_on_example_error": True,
}

html_theme = "pydata_sphinx_theme"
html_title = "skpermgrad"
html_theme_options = {"navigation_with_keys": False}
