"""RegistryStore: the registry's state in the object store, behind a memo of immutable documents.

Every document is written once and never changed, so whatever the memo holds is still true; what
it may lack (written before a restart, or by another process) is found by listing the prefix,
which each read does first. So the memo is a cache rebuilt from the store, never the state.

Several registry replicas may write one model at once (ADR 0007). Every number is claimed with a
create-only put (``If-None-Match: *``): the version number (``numbers/<n>.json``, naming the run
that holds it), the version record, and each audit entry (``audit/<seq>.json``). The loser of a
race gets ``PreconditionFailed``, re-reads, and decides again from what won. Each writer only
ever claims the number after the highest it has read, so numbers and the trail stay gap-free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from millrace_shared.objectstore import ObjectNotFound, ObjectStore, PreconditionFailed, make_uri
from millrace_shared.registry.models import AuditEntry, NewAuditEntry, VersionRecord
from pydantic import BaseModel

from .keys import Keys
from .records import ALIASES, VersionClaim, latest_at

R = TypeVar("R", bound=BaseModel)


class SequenceTaken(RuntimeError):
    """The audit sequence number a planned alias move was to take is held by another entry:
    the state it was planned on is no longer the latest; plan again."""


class Contended(RuntimeError):
    """Lost the race for the next number too many times in a row."""


MAX_ATTEMPTS = 50
"""Races lost in a row before giving up: each loss means another writer made progress."""

Plan = Callable[[list[AuditEntry]], NewAuditEntry | AuditEntry]
"""Given the trail as read, the entry to append next, or an existing one: nothing to do."""


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
        # A delimited listing: one entry per model, not every key of every version.
        root = self._keys.root()
        names = (
            p.removeprefix(root).rstrip("/")
            for p in self._objects.list_prefixes(self._bucket, root)
        )
        return sorted(name for name in names if name)

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
        the run had claimed it before. The claim is durable before any version record exists.

        The claim is ``numbers/<n>.json``, put create-only: of two writers (replicas, or a
        redelivery racing the first delivery) only one gets ``n``. The other reads who did:
        its own run means the number is its own; another run means it tries ``n + 1``.
        ``runs/<run_id>.json`` is then written as the index from run to number."""
        with self._lock:
            existing = self.claimed(model, run_id)
            if existing is not None:
                return existing, False
            claims = self._refresh_claims(model)
            if run_id in claims:
                self._index_run(model, run_id, claims[run_id])
                return claims[run_id], False
            version = max([*claims.values(), *self.version_numbers(model)], default=0) + 1
            for _ in range(MAX_ATTEMPTS):
                claim = VersionClaim(version=version, run_id=run_id)
                try:
                    self._create(self._keys.number(model, version), claim)
                except PreconditionFailed:
                    holder = self._read(self._keys.number(model, version), VersionClaim)
                    if holder is not None and holder.run_id is not None:
                        claims[holder.run_id] = version
                    if holder is not None and holder.run_id == run_id:
                        self._index_run(model, run_id, version)
                        return version, False
                    version += 1
                    continue
                claims[run_id] = version
                self._index_run(model, run_id, version)
                return version, True
            raise Contended(f"could not claim a version number of {model!r}")

    def _index_run(self, model: str, run_id: str, version: int) -> None:
        # Same content whoever writes it, so a plain put: rewriting it changes nothing.
        index = VersionClaim(version=version).model_dump_json(exclude_none=True).encode()
        self._objects.put_bytes(
            make_uri(self._bucket, self._keys.run(model, run_id)), index, content_type=JSON
        )

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
        """Write a version record unless one exists; return the one that is stored.

        Create-only: if another replica decided the same run meanwhile, its record stands and
        is returned, so both publish the one decision."""
        model = record.info.model_name
        with self._lock:
            existing = self.get_version(model, record.version)
            if existing is not None:
                return existing
            try:
                self._create(self._keys.version(model, record.version), record)
            except PreconditionFailed:
                stored = self._read(self._keys.version(model, record.version), VersionRecord)
                if stored is None:  # pragma: no cover - a version record is never deleted
                    raise
                record = stored
            self._versions[(model, record.version)] = record
            return record

    # -- audit trail and aliases ----------------------------------------------------------------

    def audit(self, model: str) -> list[AuditEntry]:
        with self._lock:
            return list(self._refresh_audit(model))

    def next_seq(self, model: str) -> int:
        """The sequence number the next audit entry of ``model`` would get, as of now."""
        with self._lock:
            entries = self._refresh_audit(model)
            return (entries[-1].seq if entries else 0) + 1

    def append(self, model: str, plan: Plan) -> AuditEntry:
        """Append what ``plan`` decides from the trail as read, at the next sequence number.

        The put is create-only, so it succeeds only if no entry was appended since the read:
        the decision was made on the latest state. Otherwise the trail is read again and
        ``plan`` decides again (it may now find its fact there already and return that entry).
        This is the registry's compare-and-swap: the trail's length is the version it checks.
        """
        with self._lock:
            for _ in range(MAX_ATTEMPTS):
                entries = list(self._refresh_audit(model))
                planned = plan(entries)
                if isinstance(planned, AuditEntry):
                    return planned
                seq = (entries[-1].seq if entries else 0) + 1
                try:
                    return self._claim_seq(model, seq, planned)
                except SequenceTaken:
                    continue
            raise Contended(f"could not append to the audit trail of {model!r}")

    def append_audit(
        self, model: str, entry: NewAuditEntry, *, seq: int | None = None
    ) -> AuditEntry:
        """Append ``entry``: at the next free sequence number, or exactly at ``seq``.

        ``seq`` is for an alias move planned on the trail up to ``seq - 1``, whose event
        carries that number as the promotion's sequence: it must not move. Another writer
        holding it is a conflict (``SequenceTaken``): the plan is stale, make it again.
        """
        if seq is None:
            return self.append(model, lambda _: entry)
        with self._lock:
            return self._claim_seq(model, seq, entry)

    def _claim_seq(self, model: str, seq: int, entry: NewAuditEntry) -> AuditEntry:
        appended = AuditEntry(seq=seq, **entry.model_dump())
        try:
            self._create(self._keys.audit(model, seq), appended)
        except PreconditionFailed:
            raise SequenceTaken(f"audit entry {seq} of {model!r} exists already") from None
        entries = self._audit.setdefault(model, [])
        if all(e.seq != seq for e in entries):
            entries.append(appended)
            entries.sort(key=lambda e: e.seq)
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
        """Every run's number: the run index, then the number claims (``numbers/``) it may
        lack (a writer that stopped between the two, or one still writing)."""
        known = self._claims.setdefault(model, {})
        for key in self._objects.list_keys(self._bucket, self._keys.runs(model)):
            run_id = self._keys.leaf_stem(key)
            if run_id not in known:
                claim = self._read(key, VersionClaim)
                if claim is not None:
                    known[run_id] = claim.version
        numbered = set(known.values())
        for key in self._objects.list_keys(self._bucket, self._keys.numbers(model)):
            stem = self._keys.leaf_stem(key)
            if stem.isdigit() and int(stem) not in numbered:
                claim = self._read(key, VersionClaim)
                if claim is not None and claim.run_id is not None:
                    known.setdefault(claim.run_id, claim.version)
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

    def _create(self, key: str, document: BaseModel) -> None:
        self._objects.create_bytes(
            make_uri(self._bucket, key), document.model_dump_json().encode(), content_type=JSON
        )

    def _write(self, key: str, document: BaseModel) -> None:
        self._objects.put_bytes(
            make_uri(self._bucket, key), document.model_dump_json().encode(), content_type=JSON
        )
