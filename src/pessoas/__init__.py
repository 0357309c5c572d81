"""pessoas: stores and finds pessoas under heavy load."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pessoas")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
