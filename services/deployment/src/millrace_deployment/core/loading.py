"""Fetch a model version's artifact, verify it and load it; refusals that no retry can fix."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from millrace_contracts import ModelVersionInfo, Reason, RejectionCode
from millrace_shared.modelio import UntrustedArtifact, load_model_file
from millrace_shared.objectstore import ChecksumMismatch, ObjectNotFound, ObjectStore


class RefusalCode:
    """``reason.code`` of ``deployment.failed``."""

    CHECKSUM_MISMATCH = RejectionCode.CHECKSUM_MISMATCH.value
    NOT_FOUND = RejectionCode.NOT_FOUND.value
    UNTRUSTED = "untrusted_artifact"
    UNLOADABLE = "unloadable_artifact"
    WARMUP_FAILED = "warmup_failed"
    TOO_LARGE = "artifact_too_large"
    # Refused before anything is downloaded (core.trust, ADR 0007):
    UNSIGNED = "unsigned_promotion"
    UNKNOWN_KEY = "unknown_signing_key"
    BAD_SIGNATURE = "bad_signature"
    FOREIGN_LOCATION = "foreign_artifact_location"
    STALE = "stale_promotion"


class LoadRefused(Exception):
    """This version will never load here: report it and keep serving what we have."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def reason(self) -> Reason:
        return Reason(code=self.code, message=self.message)


def check_size(store: ObjectStore, info: ModelVersionInfo, max_bytes: int | None) -> None:
    """Refuse an artifact bigger than ``max_bytes`` before a byte of it is read.

    Both the size the promotion declares and the stored object's (a stat, not a download):
    the declared size is signed but says nothing of what is stored under the URI now.
    """
    if max_bytes is None:
        return
    uri = info.artifact.uri
    try:
        size = max(info.artifact.size_bytes, store.stat(uri).size)
    except ObjectNotFound as error:
        raise LoadRefused(RefusalCode.NOT_FOUND, f"{uri} does not exist") from error
    if size > max_bytes:
        raise LoadRefused(
            RefusalCode.TOO_LARGE,
            f"{uri} is {size} bytes, above MILLRACE_DEPLOYMENT_MAX_ARTIFACT_BYTES ({max_bytes})",
        )


def fetch_model(store: ObjectStore, info: ModelVersionInfo, work_dir: Path | None) -> Any:
    """Blocking: download to a temporary file (the store verifies the sha256), then load it.

    Errors other than ``LoadRefused`` (an unreachable store, say) propagate: the promotion is
    retried, then dead-lettered.
    """
    uri = info.artifact.uri
    with tempfile.TemporaryDirectory(prefix="millrace-deploy-", dir=work_dir) as tmp:
        path = Path(tmp) / "model.skops"
        try:
            store.download(uri, path, sha256=info.artifact.sha256)
        except ChecksumMismatch as error:
            raise LoadRefused(RefusalCode.CHECKSUM_MISMATCH, str(error)) from error
        except ObjectNotFound as error:
            raise LoadRefused(RefusalCode.NOT_FOUND, f"{uri} does not exist") from error
        try:
            return load_model_file(path)
        except UntrustedArtifact as error:
            raise LoadRefused(RefusalCode.UNTRUSTED, str(error)) from error
        except Exception as error:  # verified bytes that skops cannot read fail every time
            raise LoadRefused(RefusalCode.UNLOADABLE, f"{uri}: {error}") from error
