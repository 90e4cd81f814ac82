"""Model artifacts: skops (de)serialisation with the platform's type allow-list, and the card.

The allow-list and the safe loading live in ``millrace_shared.modelio``, so deployment loads
artifacts by exactly the rules training writes them with.
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from millrace_shared.modelio import EXPECTED_TYPES, UntrustedArtifact, dump_model, load_model

__all__ = ["EXPECTED_TYPES", "UntrustedArtifact", "dump_model", "library_versions", "load_model"]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("scikit-learn", "numpy", "pandas", "scipy", "skops", "pyarrow"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = "unknown"
    return versions
