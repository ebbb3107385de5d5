"""Sphinx configuration: numpydoc API pages, MyST user guide, sphinx-gallery.

Build with warnings as errors (the documented command); ``nitpicky`` is on, so
every reference must resolve, into these docs or the inventories written by
``_intersphinx.py``:
    .venv/bin/pip install -e ".[docs]"
    .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import sys
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _intersphinx import write_inventories  # noqa: E402

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
    "sphinx.ext.intersphinx",
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
# Links into Python, NumPy, pandas, matplotlib, scikit-learn, Optuna and Keras from
# inventories written here (no network at build time; see _intersphinx.py).
intersphinx_mapping = write_inventories(
    Path(__file__).parent / "_build" / "inventories"
)
nitpicky = True  # every reference resolves (the CI build adds -W)
autodoc_typehints = "none"  # the numpydoc sections document the types
numpydoc_xref_param_type = True  # parameter types link out...
numpydoc_xref_ignore = "all"  # ...for the names below only
numpydoc_xref_aliases = {
    "bool": "bool",
    "boolean": "bool",
    "array-like": ":term:`array-like <sklearn:array-like>`",
    "ndarray": "numpy.ndarray",
    "RandomState": "numpy.random.RandomState",
    "DataFrame": "pandas.DataFrame",
    "pandas.DataFrame": "pandas.DataFrame",
    "Bunch": "sklearn.utils.Bunch",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "Axes": "matplotlib.axes.Axes",
    "Figure": "matplotlib.figure.Figure",
    "keras.Model": "keras.Model",
    "TintoImager": "skpermgrad.TintoImager",
    "HybridRegressor": "skpermgrad.HybridRegressor",
    "HybridClassifier": "skpermgrad.HybridClassifier",
    "PermGradExplainer": "skpermgrad.PermGradExplainer",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]  # $...$ inline math


def _bundled_mathjax(folder):
    """MathJax 3's self-contained SVG build (django-static-mathjax ships it)
    copied into ``folder``: formulas render with no network access."""
    import importlib.util
    import shutil

    package = importlib.util.find_spec("mathjax")
    script = Path(package.submodule_search_locations[0]) / "static/mathjax/es5"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(script / "tex-svg.js", folder / "tex-svg.js")
    return str(folder.parent)


# _static/mathjax/tex-svg.js in the built site, loaded from there
html_static_path = [
    _bundled_mathjax(Path(__file__).parent / "_build" / "static" / "mathjax")
]
mathjax_path = "mathjax/tex-svg.js"

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
