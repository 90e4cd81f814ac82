"""A run's folder in the models bucket: ``<model>/runs/<run_id>/``.

``model.skops``        the fitted pipeline
``model_card.json``    the model card
``model_trained.json`` the emitted ModelTrained, written only after it was published: its
                       presence means "done", so a redelivered event is not trained again.
``failed.json``        a run that cannot be trained (``FailedRun``: a machine-readable reason,
                       e.g. ``artifact_too_large``). It does not mark the run done: after the
                       spec or a limit is changed, the same run may be tried again.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from millrace_contracts import ArtifactRef, ModelTrained, Reason
from millrace_shared.faults import DependencyUnavailable
from millrace_shared.objectstore import (
    ObjectNotFound,
    ObjectStore,
    PreconditionFailed,
    make_uri,
)
from pydantic import AwareDatetime, BaseModel

ARTIFACT = "model.skops"
CARD = "model_card.json"
DONE = "model_trained.json"
FAILED = "failed.json"

_CREATE_ATTEMPTS = 5
"""Tries of create-or-adopt; one fails only while another writer's create is in flight."""


class FailedRun(BaseModel):
    """Why a run ended without a model (no ``model.trained`` was published)."""

    model_name: str
    run_id: str
    dataset: str
    dataset_version: str
    trigger: str
    reason: Reason
    failed_at: AwareDatetime


class RunStore:
    def __init__(self, store: ObjectStore, bucket: str) -> None:
        self._store = store
        self._bucket = bucket

    def uri(self, model_name: str, run_id: str, name: str) -> str:
        return make_uri(self._bucket, f"{model_name}/runs/{run_id}/{name}")

    def is_done(self, model_name: str, run_id: str) -> bool:
        return self._store.exists(self.uri(model_name, run_id, DONE))

    def mark_done(self, event: ModelTrained) -> None:
        self._store.put_bytes(
            self.uri(event.model_name, event.run_id, DONE),
            event.model_dump_json().encode(),
            "application/json",
        )

    def mark_failed(self, failed: FailedRun) -> None:
        self._store.put_bytes(
            self.uri(failed.model_name, failed.run_id, FAILED),
            failed.model_dump_json().encode(),
            "application/json",
        )

    def failed_runs(self, model_name: str) -> list[FailedRun]:
        runs: list[FailedRun] = []
        for key in self._store.list_keys(self._bucket, f"{model_name}/runs/"):
            if key.endswith(f"/{FAILED}"):
                data = self._store.get_bytes(make_uri(self._bucket, key))
                runs.append(FailedRun.model_validate_json(data))
        return sorted(runs, key=lambda run: run.failed_at)

    def put_once(self, uri: str, data: bytes, content_type: str) -> ArtifactRef:
        """Write ``data`` unless the object exists; return the ref of what is stored.

        A run is trained again after a crash (which may have come after the event was
        published but before the run was marked done), or by a second replica while the first
        is still at it (a rebalance took its partition away mid-fit). The first upload must
        then stay in place, and every ``model.trained`` of the run must name *its* sha256:
        skops bytes differ between two dumps of the same seeded model. So the write is a
        conditional create (``If-None-Match: *``), not a check and then a put: of two replicas
        racing, exactly one stores its bytes and the other adopts them.
        """
        for attempt in range(_CREATE_ATTEMPTS):
            try:
                self._store.create_bytes(uri, data, content_type)
            except PreconditionFailed:
                pass  # stored already, or another writer's create is in flight (409)
            else:
                digest = hashlib.sha256(data).hexdigest()
                return ArtifactRef(uri=uri, sha256=digest, size_bytes=len(data))
            try:
                return self._stored(uri)
            except ObjectNotFound:
                # The other writer's create is still in flight (or failed): try again soon.
                time.sleep(0.1 * 2**attempt)
        # Retried as an outage (the message waits), not dead-lettered: nothing is wrong with it.
        raise DependencyUnavailable("s3", f"{uri}: neither created nor found after retries")

    def _stored(self, uri: str) -> ArtifactRef:
        info = self._store.stat(uri)
        digest = info.sha256
        if digest is None:
            digest = hashlib.sha256(self._store.get_bytes(uri)).hexdigest()
        return ArtifactRef(uri=uri, sha256=digest, size_bytes=info.size)

    def done_run(self, model_name: str, run_id: str) -> ModelTrained | None:
        try:
            data = self._store.get_bytes(self.uri(model_name, run_id, DONE))
        except ObjectNotFound:
            return None
        return ModelTrained.model_validate_json(data)

    def card(self, trained: ModelTrained) -> dict[str, Any] | None:
        """The run's model card, checked against the digest its event names."""
        ref = trained.model_card
        try:
            card: dict[str, Any] = json.loads(self._store.get_bytes(ref.uri, sha256=ref.sha256))
        except ObjectNotFound:
            return None
        return card

    def done_runs(self, model_name: str) -> list[ModelTrained]:
        runs: list[ModelTrained] = []
        for key in self._store.list_keys(self._bucket, f"{model_name}/runs/"):
            if key.endswith(f"/{DONE}"):
                data = self._store.get_bytes(make_uri(self._bucket, key))
                runs.append(ModelTrained.model_validate_json(data))
        return sorted(runs, key=lambda run: run.occurred_at)
