import pytest

from skpermgrad.cli import main


def test_demo_writes_picture_and_layout(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--n-images", "2", "--pixels", "8"]) == 0
    assert (out / "puma8nh_tinto.png").stat().st_size > 0
    layout = (out / "puma8nh_layout.csv").read_text().splitlines()
    assert layout[0] == "feature,row,col" and len(layout) == 9


def test_demo_refuses_to_overwrite(tmp_path):
    main(["demo", "--out", str(tmp_path), "--n-images", "1", "--pixels", "8"])
    with pytest.raises(SystemExit, match="already holds demo output"):
        main(["demo", "--out", str(tmp_path), "--n-images", "1"])
    assert main(["demo", "--out", str(tmp_path), "--n-images", "1", "--overwrite"]) == 0
