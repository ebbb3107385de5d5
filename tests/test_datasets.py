import numpy as np
import pandas as pd

from skpermgrad.datasets import load_puma8nh


def test_load_puma8nh_arrays():
    data = load_puma8nh()
    assert data.data.shape == (8192, 8) and data.target.shape == (8192,)
    assert data.data.dtype == np.float64
    assert data.feature_names == [
        "theta1",
        "theta2",
        "theta3",
        "thetad1",
        "thetad2",
        "thetad3",
        "tau1",
        "tau2",
    ]
    assert data.target_names == ["values"]
    assert data.frame is None
    assert "puma8NH" in data.DESCR


def test_load_puma8nh_frame_matches_shared_copy():
    data = load_puma8nh(as_frame=True)
    assert isinstance(data.data, pd.DataFrame) and data.target.name == "values"
    assert list(data.frame.columns) == data.feature_names + ["values"]
    np.testing.assert_allclose(data.frame.iloc[0, 0], 0.574252)
    np.testing.assert_allclose(data.frame.iloc[1, -1], 6.445855)


def test_load_puma8nh_return_X_y():
    X, y = load_puma8nh(return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
