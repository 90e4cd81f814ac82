"""RegistryStore: the registry's state in the object store, behind a memo of immutable documents.

Every document is written once and never changed, so whatever the memo holds is still true; what
it may lack (written before a restart, or by another process) is found by listing the prefix,
which each read does first. So the memo is a cache rebuilt from the store, never the state.

Numbering and audit sequence assume one writer per model at a time: Kafka gives each model's
events to one consumer, and the service serialises its own writers per model. S3 offers no
create-if-absent here (minio-py cannot send If-None-Match), so two registry processes writing
the same model at once could collide; run the registry as one replica.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TypeVar

from millrace_shared.objectstore import ObjectNotFound, ObjectStore, make_uri
from millrace_shared.registry.models import AuditEntry, NewAuditEntry, VersionRecord
from pydantic import BaseModel

from .keys import Keys
from .records import ALIASES, VersionClaim, latest_at

R = TypeVar("R", bound=BaseModel)


class SequenceTaken(RuntimeError):
    """An audit sequence number an announced alias move claimed is held by another entry."""


JSON = "application/json"


class RegistryStore:
    def __init__(self, objects: ObjectStore, bucket: str, prefix: str = "registry") -> None:
        self._objects = objects
        self._bucket = bucket
        self._keys = Keys(prefix)
        # API reads run in worker threads next to the consumer's writes.
        self._lock = threading.RLock()
        self._claims: dict[str, dict[str, int]] = {}
        self._versions: dict[tuple[str, int], VersionRecord] = {}
        self._audit: dict[str, list[AuditEntry]] = {}

    # -- models -----------------------------------------------------------------------------

    def models(self) -> list[str]:
        keys = self._objects.list_keys(self._bucket, self._keys.root())
        return sorted({m for m in map(self._keys.model_of, keys) if m is not None})

    def warm(self) -> int:
        """Read every model's claims and audit trail: the start-up rebuild of the memo."""
        names = self.models()
        for name in names:
            with self._lock:
                self._refresh_claims(name)
                self._refresh_audit(name)
        return len(names)

    # -- version numbers ----------------------------------------------------------------------

    def claimed(self, model: str, run_id: str) -> int | None:
        """The version a run claimed, if it did."""
        with self._lock:
            known = self._claims.setdefault(model, {})
            if run_id not in known:
                claim = self._read(self._keys.run(model, run_id), VersionClaim)
                if claim is None:
                    return None
                known[run_id] = claim.version
            return known[run_id]

    def claim_version(self, model: str, run_id: str) -> tuple[int, bool]:
        """The version number of a training run: (n, True) when claimed now, (n, False) when
        the run had claimed it before. The claim is durable before any version record exists."""
        with self._lock:
            existing = self.claimed(model, run_id)
            if existing is not None:
                return existing, False
            claims = self._refresh_claims(model)
            highest = max([*claims.values(), *self.version_numbers(model)], default=0)
            version = highest + 1
            self._write(self._keys.run(model, run_id), VersionClaim(version=version))
            claims[run_id] = version
            return version, True

    # -- versions -----------------------------------------------------------------------------

    def version_numbers(self, model: str) -> list[int]:
        keys = self._objects.list_keys(self._bucket, self._keys.versions(model))
        return sorted(
            int(self._keys.leaf_stem(k)) for k in keys if self._keys.leaf_stem(k).isdigit()
        )

    def get_version(self, model: str, version: int) -> VersionRecord | None:
        with self._lock:
            cached = self._versions.get((model, version))
            if cached is None:
                cached = self._read(self._keys.version(model, version), VersionRecord)
                if cached is not None:
                    self._versions[(model, version)] = cached
            return cached

    def put_version(self, record: VersionRecord) -> VersionRecord:
        """Write a version record unless one exists; return the one that is stored."""
        model = record.info.model_name
        with self._lock:
            existing = self.get_version(model, record.version)
            if existing is not None:
                return existing
            self._write(self._keys.version(model, record.version), record)
            self._versions[(model, record.version)] = record
            return record

    # -- audit trail and aliases ----------------------------------------------------------------

    def audit(self, model: str) -> list[AuditEntry]:
        with self._lock:
            return list(self._refresh_audit(model))

    def next_seq(self, model: str) -> int:
        """The sequence number the next audit entry of ``model`` will get (one writer)."""
        with self._lock:
            entries = self._refresh_audit(model)
            return (entries[-1].seq if entries else 0) + 1

    def append_audit(
        self, model: str, entry: NewAuditEntry, *, seq: int | None = None
    ) -> AuditEntry:
        """Append ``entry``: at the next free sequence number, or exactly at ``seq``.

        ``seq`` is for an alias move announced before it is recorded: its event already carries
        that number as the promotion's sequence, so it must not move. Another writer holding it
        is a conflict (``SequenceTaken``); with one registry writer per model it cannot happen.
        """
        with self._lock:
            entries = self._refresh_audit(model)
            if seq is not None:
                key = self._keys.audit(model, seq)
                if self._objects.exists(make_uri(self._bucket, key)):
                    raise SequenceTaken(f"audit entry {seq} of {model!r} exists already")
                appended = AuditEntry(seq=seq, **entry.model_dump())
                self._write(key, appended)
                entries.append(appended)
                entries.sort(key=lambda e: e.seq)
                return appended
            seq = (entries[-1].seq if entries else 0) + 1
            # Never overwrite: if the key is taken (another writer), read it and go past it.
            while self._objects.exists(make_uri(self._bucket, self._keys.audit(model, seq))):
                entries = self._refresh_audit(model)
                seq = max(seq, entries[-1].seq if entries else 0) + 1
            appended = AuditEntry(seq=seq, **entry.model_dump())
            self._write(self._keys.audit(model, seq), appended)
            entries.append(appended)
            return appended

    def alias(self, model: str, alias: str, at: datetime | None = None) -> int | None:
        """The version an alias pointed to at ``at`` (now if None), from the audit trail."""
        return latest_at(self.audit(model), alias, at)

    def aliases(self, model: str) -> dict[str, int]:
        entries = self.audit(model)
        found = {a: latest_at(entries, a) for a in ALIASES}
        return {a: v for a, v in found.items() if v is not None}

    # -- plumbing -----------------------------------------------------------------------------

    def _refresh_claims(self, model: str) -> dict[str, int]:
        known = self._claims.setdefault(model, {})
        for key in self._objects.list_keys(self._bucket, self._keys.runs(model)):
            run_id = self._keys.leaf_stem(key)
            if run_id not in known:
                claim = self._read(key, VersionClaim)
                if claim is not None:
                    known[run_id] = claim.version
        return known

    def _refresh_audit(self, model: str) -> list[AuditEntry]:
        entries = self._audit.setdefault(model, [])
        seen = {e.seq for e in entries}
        fresh: list[AuditEntry] = []
        for key in self._objects.list_keys(self._bucket, self._keys.audits(model)):
            stem = self._keys.leaf_stem(key)
            if stem.isdigit() and int(stem) not in seen:
                entry = self._read(key, AuditEntry)
                if entry is not None:
                    fresh.append(entry)
        if fresh:
            entries.extend(fresh)
            entries.sort(key=lambda e: e.seq)
        return entries

    def _read(self, key: str, kind: type[R]) -> R | None:
        try:
            data = self._objects.get_bytes(make_uri(self._bucket, key))
        except ObjectNotFound:
            return None
        return kind.model_validate_json(data)

    def _write(self, key: str, document: BaseModel) -> None:
        self._objects.put_bytes(
            make_uri(self._bucket, key), document.model_dump_json().encode(), content_type=JSON
        )
