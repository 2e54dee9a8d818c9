"""bptt-check: a derivation checker for backpropagation through time (eq. (1)-(14) of the article).

The application layer, over :mod:`derivations` and :mod:`numeric`: the claims and their
computed verdicts with typed evidence, the report (PDF, web page), Lyapunov maps on Dask,
derivation files and the command line.

>>> from bptt_check import CLAIMS, verify
>>> [claim.id for claim in CLAIMS][:3]
['eq1', 'eq2', 'eq3']
>>> v = verify(["eq7"])[0]
>>> v.verdict, v.finding
('holds-if', 'missing-condition')

Importing the package is free: each name below is imported when it is first used.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("bptt-check")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

#: Each public name and the module it lives in (imported on first use).
_PUBLIC = {
    # claims and verdicts
    "CLAIMS": "registry",
    "Claim": "registry",
    "verify": "verdicts",
    "document": "verdicts",
    # the evidence a verdict carries
    "Verdict": "evidence",
    "FINDINGS": "evidence",
    "Text": "evidence",
    "Quantity": "evidence",
    "Table": "evidence",
    "Column": "evidence",
    "Proofs": "evidence",
    "Statement": "evidence",
    "Example": "evidence",
    "Grid": "evidence",
    "Curve": "evidence",
    "Series": "evidence",
    # the report and the web page
    "build_report": "report",
    "write_html": "html",
    # Lyapunov maps
    "lyapunov_map": "maps",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'bptt_check' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
