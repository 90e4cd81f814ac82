"""What the system itself says happened: read from its topics and its registry.

- arrivals: distinct ``data.arrived`` events (by event id) seen on the topic;
- decided: arrivals that ended in ``dataset.rejected``, or in ``dataset.validated`` whose
  dataset version has a model version in the registry (registered, then promoted or
  rejected by its policy);
- lost: the other arrivals;
- promotions: ``model.promoted`` events, each a model swap in the deployment;
- duplicate model versions: registry versions beyond the first for one dataset version
  (training's run id is derived from it, so one dataset version is one run);
- dead letters: records on every ``<topic>.dlq``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from millrace_contracts import (
    TOPICS,
    DataArrived,
    DatasetRejected,
    DatasetValidated,
    Event,
    ModelPromoted,
)
from millrace_shared.kafka import topic_lags
from millrace_shared.settings import MillraceSettings


@dataclass
class SystemCounts:
    arrivals: int = 0
    validated: int = 0
    rejected: int = 0
    decided: int = 0
    lost: list[str] = field(default_factory=list)
    model_versions: int = 0
    promotions: int = 0
    """``model.promoted`` events: each one a model swap for the deployment."""
    duplicate_versions: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)


async def registry_versions(registry_url: str, dataset: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(f"{registry_url}/models/{dataset}")
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    versions: list[dict[str, Any]] = answer.json()["versions"]
    return versions


async def count(events: list[Event], registry_url: str, datasets: list[str]) -> SystemCounts:
    arrivals = {e.event_id: e for e in events if isinstance(e, DataArrived)}
    validated = {e.correlation_id: e for e in events if isinstance(e, DatasetValidated)}
    rejected = {e.correlation_id for e in events if isinstance(e, DatasetRejected)}
    versions = {d: await registry_versions(registry_url, d) for d in datasets}
    modelled = {(d, v["dataset_version"]) for d, vs in versions.items() for v in vs}
    counts = SystemCounts(arrivals=len(arrivals))
    counts.promotions = len({e.event_id for e in events if isinstance(e, ModelPromoted)})
    for event_id, arrival in arrivals.items():
        assert isinstance(arrival, DataArrived)
        if event_id in rejected:
            counts.rejected += 1
            counts.decided += 1
        elif (valid := validated.get(event_id)) is not None:
            counts.validated += 1
            if (arrival.dataset, valid.dataset_version) in modelled:
                counts.decided += 1
            else:
                counts.lost.append(str(event_id))
        else:
            counts.lost.append(str(event_id))
    for vs in versions.values():
        counts.model_versions += len(vs)
        per_data = Counter(v["dataset_version"] for v in vs)
        per_run = Counter(v["run_id"] for v in vs)
        counts.duplicate_versions += max(
            sum(n - 1 for n in per_data.values()), sum(n - 1 for n in per_run.values())
        )
    return counts


async def dead_letters(settings: MillraceSettings) -> dict[str, int]:
    """Records on each dead-letter topic that exists (a DLQ is made on first use)."""
    rows = await topic_lags(settings, [t.dlq for t in TOPICS])
    return {row.topic: row.end_offset for row in rows}


def verdict(counts: SystemCounts, failed: int, allowed: int, *, excluding: str | None) -> int:
    """The soak's exit status: 1 for a lost arrival (but ``excluding``, the seeded loss), a
    duplicate model version or more than ``allowed`` failed prediction requests."""
    lost = [a for a in counts.lost if a != excluding]
    return 1 if lost or counts.duplicate_versions or failed > allowed else 0
