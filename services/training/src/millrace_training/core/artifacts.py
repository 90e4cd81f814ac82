"""Model artifacts: skops (de)serialisation with an explicit type allow-list, and the card."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import skops.io as sio

from .errors import UntrustedArtifact

# Types skops does not trust by default but that pipelines built from the allow-list contain.
# Anything else found in an artifact is refused: loading would run code we did not expect.
EXPECTED_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    }
)


def dump_model(model: Any) -> bytes:
    return bytes(sio.dumps(model))


def load_model(data: bytes, expected: frozenset[str] = EXPECTED_TYPES) -> Any:
    """Load a skops artifact, trusting only the types it holds that are in ``expected``."""
    found = set(sio.get_untrusted_types(data=data))
    unexpected = sorted(found - expected)
    if unexpected:
        raise UntrustedArtifact(f"artifact holds unexpected type(s): {', '.join(unexpected)}")
    return sio.loads(data, trusted=sorted(found))


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("scikit-learn", "numpy", "pandas", "scipy", "skops", "pyarrow"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = "unknown"
    return versions
