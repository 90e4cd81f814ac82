"""Model artifacts: skops (de)serialisation with the platform's type allow-list, and the card.

The allow-list and the safe loading live in ``millrace_shared.modelio``, so deployment loads
artifacts by exactly the rules training writes them with.
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from millrace_shared.modelio import (
    EXPECTED_TYPES,
    UntrustedArtifact,
    check_trusted,
    dump_model,
    load_model,
    with_reference_rows,
)

__all__ = [
    "EXPECTED_TYPES",
    "ModelCache",
    "UntrustedArtifact",
    "check_trusted",
    "dump_model",
    "library_versions",
    "load_model",
    "with_reference_rows",
]


class ModelCache:
    """The last model this process stored or loaded, by its artifact's sha256.

    The next run usually judges its candidate against the model the previous run produced
    (it was promoted meanwhile), and deserialising it again costs more than the download.
    One entry: a model kept between runs is memory the next fit cannot use.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._sha256: str | None = None
        self._model: Any = None

    def get(self, sha256: str) -> Any | None:
        return self._model if sha256 == self._sha256 else None

    def put(self, sha256: str, size_bytes: int, model: Any) -> None:
        if size_bytes > self._max_bytes:
            self._sha256, self._model = None, None
            return
        self._sha256, self._model = sha256, model


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("scikit-learn", "numpy", "pandas", "scipy", "skops", "pyarrow"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = "unknown"
    return versions
