"""The promoted versions monitoring knows, kept in the state bucket so a restart forgets none.

Promotions are also replayed from the topic's start on every start (each replica reads them
all), but the topic's retention may have dropped old ones; these documents have not.
"""

from __future__ import annotations

import logging

from millrace_contracts import ModelVersionInfo
from millrace_contracts.envelope import Contract
from millrace_shared.objectstore import ObjectStore, make_uri
from pydantic import Field, ValidationError

logger = logging.getLogger("millrace.monitoring.versions")

PREFIX = "monitoring/versions/"


class KnownVersion(Contract):
    info: ModelVersionInfo
    promoted_as: list[str] = Field(default_factory=list, description="Aliases it was promoted as.")


class VersionStore:
    def __init__(self, store: ObjectStore, bucket: str) -> None:
        self._store = store
        self._bucket = bucket

    def key(self, model_name: str, version: int) -> str:
        return f"{PREFIX}{model_name}/{version}.json"

    def save(self, known: KnownVersion) -> None:
        uri = make_uri(self._bucket, self.key(known.info.model_name, known.info.version))
        self._store.put_bytes(uri, known.model_dump_json().encode(), "application/json")

    def load_all(self) -> list[KnownVersion]:
        known: list[KnownVersion] = []
        for key in self._store.list_keys(self._bucket, PREFIX):
            data = self._store.get_bytes(make_uri(self._bucket, key))
            try:
                known.append(KnownVersion.model_validate_json(data))
            except ValidationError as error:
                # One bad document must not keep the service from starting; its version is
                # learned again from the next promotion.
                logger.error("ignoring unreadable version document %s: %s", key, error)
        return known
