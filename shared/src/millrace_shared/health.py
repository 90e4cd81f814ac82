"""Which dependencies this process currently finds down, as seen by its transient retries
and its probes.

The dead-letter middleware reports a dependency down while a message waits on it, and clears
its report once that message is handled (or given up, at shutdown). A probe (the Kafka probe)
reports one down while it finds it unreachable, so an idle service knows too. A dependency
stays degraded while any message or probe still holds it, so ``/health/ready`` says "cannot do
its job now", and says which dependency is to blame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from millrace_contracts.envelope import utc_now


@dataclass
class Outage:
    dependency: str
    since: datetime
    last_error: str
    failures: int
    waiting_messages: int = 0
    """Messages in flight waiting on it (the rest of its holders are probes)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(),
            "last_error": self.last_error,
            "failures": self.failures,
            "waiting_messages": self.waiting_messages,
        }


class DependencyHealth:
    """Outages by dependency, each held by the waiters (in-flight messages) reporting it."""

    def __init__(self, *, now: Callable[[], datetime] = utc_now) -> None:
        self._now = now
        self._outages: dict[str, Outage] = {}
        self._holders: dict[str, set[int]] = {}
        self._probes: set[int] = set()

    def failing(
        self, dependency: str, error: BaseException, *, holder: object, probe: bool = False
    ) -> None:
        """``holder`` (a message's retry scope, or a ``probe``) found ``dependency`` down."""
        reason = f"{type(error).__name__}: {error}"[:500]
        outage = self._outages.get(dependency)
        if outage is None:
            self._outages[dependency] = Outage(dependency, self._now(), reason, 1)
        else:
            outage.last_error, outage.failures = reason, outage.failures + 1
        self._holders.setdefault(dependency, set()).add(id(holder))
        if probe:
            self._probes.add(id(holder))
        self._count_waiting(dependency)

    def release(self, holder: object) -> None:
        """``holder`` waits no more (its message was handled, or it gave up)."""
        for dependency in list(self._holders):
            holders = self._holders[dependency]
            holders.discard(id(holder))
            if not holders:
                del self._holders[dependency]
                del self._outages[dependency]
            else:
                self._count_waiting(dependency)
        self._probes.discard(id(holder))

    def _count_waiting(self, dependency: str) -> None:
        self._outages[dependency].waiting_messages = len(self._holders[dependency] - self._probes)

    @property
    def degraded(self) -> dict[str, Outage]:
        return dict(self._outages)

    def report(self) -> dict[str, dict[str, object]]:
        """For ``/health/ready``: dependency -> since, last error, failures seen."""
        return {name: outage.as_dict() for name, outage in sorted(self._outages.items())}
