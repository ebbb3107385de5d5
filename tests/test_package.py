"""The package's public names and its lazy import of Keras."""

import subprocess
import sys

import skpermgrad


def test_every_public_name_resolves_and_is_listed():
    for name in skpermgrad.__all__:
        assert getattr(skpermgrad, name) is not None
        assert name in dir(skpermgrad)


def test_import_does_not_load_keras():
    code = "import sys, skpermgrad; print('keras' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
