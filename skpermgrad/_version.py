"""The installed version of skpermgrad, read once (the package root and the
persistence checks share it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("skpermgrad")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
