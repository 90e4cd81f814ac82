"""Loading a version's reference profile from the object store, verified and prepared."""

from __future__ import annotations

from millrace_contracts import DatasetProfile, ModelVersionInfo
from millrace_shared.objectstore import (
    ChecksumMismatch,
    ObjectNotFound,
    ObjectStore,
    ObjectTooLarge,
)
from millrace_shared.telemetry import Attr
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue
from pydantic import ValidationError

from .reference import Reference, build_reference


class ReferenceUnavailable(Exception):
    """The reference can never be used as it is (missing, tampered, too big, not a profile).

    Other errors (the store unreachable) propagate instead, so the batch is retried.
    """


class ReferenceLoader:
    def __init__(self, store: ObjectStore, *, max_bytes: int, tracer: Tracer) -> None:
        self._store = store
        self._max_bytes = max_bytes
        self._tracer = tracer

    def load(self, info: ModelVersionInfo) -> Reference:
        ref = info.reference_profile
        attributes: dict[str, AttributeValue] = {
            Attr.MODEL: info.model_name,
            Attr.MODEL_VERSION: info.version,
            Attr.ARTIFACT_URI: ref.uri,
            Attr.BYTES: ref.size_bytes,
        }
        with self._tracer.start_as_current_span("load_reference", attributes=attributes):
            try:
                data = self._store.get_bytes(ref.uri, sha256=ref.sha256, max_bytes=self._max_bytes)
                profile = DatasetProfile.model_validate_json(data)
            except (ObjectNotFound, ChecksumMismatch, ObjectTooLarge, ValidationError) as error:
                raise ReferenceUnavailable(f"{type(error).__name__}: {error}"[:500]) from error
            return build_reference(profile, info.signature)
