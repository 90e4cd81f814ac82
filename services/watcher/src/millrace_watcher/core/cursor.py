"""The watcher's durable memory of what it announced: ``watcher/announced.json`` in its state
bucket, each announced key with the ETag it had.

Only an optimisation: it spares a restarted watcher re-announcing the whole bucket. Losing it,
or two watchers overwriting each other's, re-announces objects under their same event ids,
which downstream treats as one arrival. Keys gone from the bucket are forgotten, so the
document is as large as the bucket's listing, never larger.
"""

from __future__ import annotations

import json

from millrace_shared.objectstore import ObjectNotFound, ObjectStore

from .arrivals import LandedObject

KEY = "watcher/announced.json"


class Cursor:
    def __init__(self, store: ObjectStore, state_bucket: str) -> None:
        self._store = store
        self._uri = f"s3://{state_bucket}/{KEY}"
        self._announced: dict[str, str] = {}

    def load(self) -> int:
        """Read the stored document; how many objects it remembers (0 when there is none)."""
        try:
            stored = json.loads(self._store.get_bytes(self._uri))
        except ObjectNotFound:
            stored = {}
        self._announced = {str(k): str(v) for k, v in stored.get("announced", {}).items()}
        return len(self._announced)

    def announced(self, obj: LandedObject) -> bool:
        return self._announced.get(obj.key) == obj.etag

    def remember(self, obj: LandedObject) -> None:
        self._announced[obj.key] = obj.etag

    def keep_only(self, listed: set[str]) -> int:
        """Forget keys no longer in the bucket (a later object there is a new arrival); how
        many were forgotten."""
        before = len(self._announced)
        self._announced = {k: v for k, v in self._announced.items() if k in listed}
        return before - len(self._announced)

    def save(self) -> None:
        body = json.dumps({"announced": self._announced}, sort_keys=True).encode()
        self._store.put_bytes(self._uri, body, "application/json")
