"""Model artifacts: skops (de)serialisation with the platform's type allow-list, and the card.

The allow-list and the safe loading live in ``millrace_shared.modelio``, so deployment loads
artifacts by exactly the rules training writes them with.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
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
    "code_version",
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


GIT_SHA_ENV = "MILLRACE_GIT_SHA"
"""Set by an image build (no .git inside); a checkout answers ``git describe`` itself."""


@functools.cache
def code_version() -> dict[str, str | None]:
    """The training code that fitted a model: the package's version and, when known, the git
    commit it was built from (``-dirty`` when the checkout had uncommitted changes)."""
    try:
        package = version("millrace-training")
    except PackageNotFoundError:
        package = "unknown"
    return {"package": "millrace-training", "version": package, "git": _git_commit()}


def _git_commit() -> str | None:
    if sha := os.environ.get(GIT_SHA_ENV):
        return sha
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # not a checkout, or no git: the package version still says which code
    return described.stdout.strip() or None
