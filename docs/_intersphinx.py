"""Intersphinx inventories written at build time, so the docs link out offline.

The docs are built where there is no network (CI reaches only the package
registries), so intersphinx cannot download the projects' ``objects.inv``.
Instead this module holds, for each project, the names our docs reference and
their page on that project's site (each site's own URL layout), and writes them
as Sphinx inventories (format version 2) before intersphinx reads them. Keras
publishes no Sphinx inventory at all; its entries point at keras.io's pages.

A name the docs reference that is missing here fails the nitpicky build
(``sphinx -n -W``): add it to ``INVENTORIES``.
"""

import zlib
from pathlib import Path

# project: (base URL, version, {name: (domain:role, page[#anchor])}); "$" in a
# page stands for the name.
INVENTORIES = {
    "python": (
        "https://docs.python.org/3/",
        "3",
        {
            "int": ("py:class", "library/functions.html#$"),
            "float": ("py:class", "library/functions.html#$"),
            "bool": ("py:class", "library/functions.html#$"),
            "object": ("py:class", "library/functions.html#$"),
            "callable": ("py:function", "library/functions.html#$"),
            "str": ("py:class", "library/stdtypes.html#$"),
            "dict": ("py:class", "library/stdtypes.html#$"),
            "list": ("py:class", "library/stdtypes.html#$"),
            "tuple": ("py:class", "library/stdtypes.html#$"),
            "None": ("py:data", "library/constants.html#$"),
            "True": ("py:data", "library/constants.html#$"),
            "False": ("py:data", "library/constants.html#$"),
        },
    ),
    "numpy": (
        "https://numpy.org/doc/stable/",
        "stable",
        {
            "numpy.ndarray": ("py:class", "reference/generated/$.html#$"),
            "numpy.random.RandomState": ("py:class", "reference/random/legacy.html#$"),
        },
    ),
    "pandas": (
        "https://pandas.pydata.org/docs/",
        "stable",
        {
            "pandas.DataFrame": ("py:class", "reference/api/$.html#$"),
            "pandas.Series": ("py:class", "reference/api/$.html#$"),
        },
    ),
    "matplotlib": (
        "https://matplotlib.org/stable/",
        "stable",
        {
            "matplotlib.axes.Axes": ("py:class", "api/_as_gen/$.html#$"),
            "matplotlib.figure.Figure": ("py:class", "api/_as_gen/$.html#$"),
        },
    ),
    "sklearn": (
        "https://scikit-learn.org/stable/",
        "stable",
        {
            **{
                name: ("py:class", "modules/generated/$.html#$")
                for name in (
                    "sklearn.utils.Bunch",
                    "sklearn.pipeline.Pipeline",
                    "sklearn.compose.ColumnTransformer",
                    "sklearn.preprocessing.OneHotEncoder",
                    "sklearn.preprocessing.MinMaxScaler",
                    "sklearn.preprocessing.QuantileTransformer",
                    "sklearn.feature_selection.SelectFromModel",
                    "sklearn.model_selection.GridSearchCV",
                    "sklearn.ensemble.HistGradientBoostingRegressor",
                    "sklearn.ensemble.HistGradientBoostingClassifier",
                    "sklearn.exceptions.InconsistentVersionWarning",
                )
            },
            **{
                name: ("py:function", "modules/generated/$.html#$")
                for name in (
                    "sklearn.inspection.permutation_importance",
                    "sklearn.model_selection.cross_val_score",
                )
            },
            "array-like": ("std:term", "glossary.html#term-array-like"),
            "sklearn.base.RegressorMixin.score": (
                "py:method",
                "modules/generated/sklearn.base.RegressorMixin.html#$",
            ),
            "sklearn.base.ClassifierMixin.score": (
                "py:method",
                "modules/generated/sklearn.base.ClassifierMixin.html#$",
            ),
        },
    ),
    "optuna": (
        "https://optuna.readthedocs.io/en/stable/",
        "stable",
        {
            "optuna.study.Study": ("py:class", "reference/generated/$.html#$"),
            "optuna.distributions.BaseDistribution": (
                "py:class",
                "reference/generated/$.html#$",
            ),
        },
    ),
    "optuna_integration": (
        "https://optuna-integration.readthedocs.io/en/stable/",
        "stable",
        {
            "optuna_integration.OptunaSearchCV": (
                "py:class",
                "reference/generated/$.html#$",
            )
        },
    ),
    "keras": (
        "https://keras.io/",
        "3",
        {
            "keras.Model": ("py:class", "api/models/model/"),
            "keras.layers.Layer": ("py:class", "api/layers/base_layer/"),
            "keras.callbacks.Callback": ("py:class", "api/callbacks/base_callback/"),
            "keras.callbacks.ReduceLROnPlateau": (
                "py:class",
                "api/callbacks/reduce_lr_on_plateau/",
            ),
        },
    ),
}


def write_inventories(folder):
    """Write ``<project>.inv`` into ``folder``; return ``intersphinx_mapping``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for project, (url, version, names) in INVENTORIES.items():
        lines = [
            f"{name} {role} 1 {page.replace('$', name)} -"
            for name, (role, page) in sorted(names.items())
        ]
        header = (
            "# Sphinx inventory version 2\n"
            f"# Project: {project}\n# Version: {version}\n"
            "# The remainder of this file is compressed using zlib.\n"
        )
        path = folder / f"{project}.inv"
        path.write_bytes(
            header.encode() + zlib.compress(("\n".join(lines) + "\n").encode())
        )
        mapping[project] = (url, str(path))
    return mapping
