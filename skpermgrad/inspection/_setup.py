"""What every explanation of a fitted hybrid starts from: the hybrid at the
end of a Pipeline, its network's view, the rows as the network reads them, the
feature groups, and the outputs decoded as the hybrid's own predictions."""

import numpy as np
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch

from .._validation import IMAGE_NEEDS, check_fitted_columns, image_shortfall
from ..models import NetworkView
from ._groups import auto_groups, resolve_groups


def _split_pipeline(estimator, X):
    """The fitted hybrid at the end of ``estimator``, X as that step sees it,
    the names of that step's input columns (None when unknown) and the steps
    before it (None for a bare hybrid)."""
    if not isinstance(estimator, Pipeline):
        return estimator, X, None, None
    Xt = X
    for _, step in estimator.steps[:-1]:
        if step is not None and step != "passthrough":
            Xt = step.transform(Xt)
    names = None
    if len(estimator.steps) > 1:
        try:
            names = list(estimator[:-1].get_feature_names_out())
        except (AttributeError, ValueError):
            names = None
    pre = estimator[:-1] if len(estimator.steps) > 1 else None
    return estimator.steps[-1][1], Xt, names, pre


def _network_rows(estimator, X, name="X", view=None):
    """The network view of the hybrid at the end of ``estimator`` (``view``
    where given), ``X`` as its network reads it (scaled values), the names of
    the hybrid's input columns (None when unknown) and the Pipeline steps
    before it (None for a bare hybrid).

    ``X``'s columns are checked as ``predict`` checks them: a Pipeline's steps
    check their own input, the hybrid its (reordered, renamed or missing
    columns raise scikit-learn's feature-name error, prefixed by ``name``).
    """
    hybrid, Xt, names, pre = _split_pipeline(estimator, X)
    view = NetworkView(hybrid) if view is None else view
    where = "" if pre is None else " after the Pipeline's steps"
    check_fitted_columns(hybrid, Xt, name, after=where)
    return view, view.values(Xt), names, pre


def _prepare(estimator, X, feature_groups):
    """What every explanation of a fitted hybrid starts from.

    The hybrid and its network's view (``network``), the rows as the network
    reads them (scaled values, ``rows``), the names of its input columns, the
    groups (``feature_groups`` resolved) with a (n_columns, n_groups) 0/1
    ``membership`` matrix that sums a per-column attribution over each group.
    """
    view, values, names, pre = _network_rows(estimator, X)
    hybrid = view.estimator
    if names is None:
        names = (
            list(hybrid.feature_names_in_)
            if hasattr(hybrid, "feature_names_in_")
            else [f"x{i}" for i in range(values.shape[1])]
        )
    if isinstance(feature_groups, str):  # "auto"
        feature_groups = (
            None
            if pre is None
            else auto_groups(
                pre,
                list(estimator.feature_names_in_)
                if hasattr(estimator, "feature_names_in_")
                else [f"x{i}" for i in range(np.shape(X)[1])],
            )
        )
    group_names, groups = resolve_groups(feature_groups, names)
    membership = np.zeros((values.shape[1], len(groups)))
    for g, columns in enumerate(groups):
        membership[columns, g] = 1.0
    return Bunch(
        hybrid=hybrid,
        imager=view.imager,
        rows=values,
        groups=groups,
        membership=membership,
        feature_names=np.asarray(group_names, dtype=object),
        feature_groups=dict(zip(group_names, (np.asarray(names)[c] for c in groups))),
        encoded_feature_names=np.asarray(names, dtype=object),
        image_size=view.image_size,
        network=view,
    )


# where an image cannot give a CNN part, the images that can
_IMAGES_THAT_CAN = {
    "integrated_gradients": "a differentiable image (DistanceMatrixImager, "
    "IGTDImager, TintoImager...)",
    "gradcam": "an image with a pixel per feature (IGTDImager, TintoImager, "
    "DistanceMatrixImager...)",
}


def _require_image_for(setup, cnn_importance, what):
    """Refuse a CNN part the hybrid's image cannot give (integrated gradients
    on a step function of the values, a per-feature Grad-CAM where no pixel is
    a feature's own), naming the CNN parts and the images that can."""
    shortfall = image_shortfall(setup.imager, cnn_importance)
    if shortfall is None:
        return
    # the other CNN part that asks something of the image: no imager lacks both
    other = next(part for part in IMAGE_NEEDS if part != cnn_importance)
    raise ValueError(
        f"{what} cannot be computed: {type(setup.imager).__name__}'s image "
        f"{shortfall}. Use permgrad_importance with cnn_importance='permutation' "
        f"(the default) or '{other}', or a hybrid on "
        f"{_IMAGES_THAT_CAN[cnn_importance]}."
    )


class _Responses:
    """Stands in for the hybrid in a scorer, answering with precomputed outputs.

    Scorers call ``predict``/``predict_proba`` on an estimator; here the network's
    raw outputs were computed beforehand (from permuted or ablated inputs) and are
    only decoded, exactly as the hybrid's own ``predict`` would.
    """

    def __init__(self, view, raw):
        self.view, self.raw = view, raw
        if is_classifier(view.estimator):
            self.classes_ = view.estimator.classes_

    def __sklearn_tags__(self):
        return self.view.estimator.__sklearn_tags__()

    def predict(self, X):
        return self.view.decode(self.raw)

    def predict_proba(self, X):
        return self.view.decode(self.raw, proba=True)
