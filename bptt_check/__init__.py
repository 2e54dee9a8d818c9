"""bptt-check: a derivation checker for backpropagation through time (eq. (1)-(14) of the article).

The application layer: command line now; claims, verdicts and the report to come.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bptt-check")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
