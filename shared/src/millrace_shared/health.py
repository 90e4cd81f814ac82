"""Which dependencies this process currently finds down, as seen by its transient retries.

The dead-letter middleware reports a dependency down while a message waits on it, and clears
its report once that message is handled (or given up, at shutdown). A dependency stays
degraded while any message still waits on it, so ``/health/ready`` says "cannot do its job
now" exactly while work is stuck, and says which dependency is to blame.
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

    def as_dict(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(),
            "last_error": self.last_error,
            "failures": self.failures,
        }


class DependencyHealth:
    """Outages by dependency, each held by the waiters (in-flight messages) reporting it."""

    def __init__(self, *, now: Callable[[], datetime] = utc_now) -> None:
        self._now = now
        self._outages: dict[str, Outage] = {}
        self._holders: dict[str, set[int]] = {}

    def failing(self, dependency: str, error: BaseException, *, holder: object) -> None:
        """``holder`` (a message's retry scope) found ``dependency`` down."""
        reason = f"{type(error).__name__}: {error}"[:500]
        outage = self._outages.get(dependency)
        if outage is None:
            self._outages[dependency] = Outage(dependency, self._now(), reason, 1)
        else:
            outage.last_error, outage.failures = reason, outage.failures + 1
        self._holders.setdefault(dependency, set()).add(id(holder))

    def release(self, holder: object) -> None:
        """``holder`` waits no more (its message was handled, or it gave up)."""
        for dependency in list(self._holders):
            holders = self._holders[dependency]
            holders.discard(id(holder))
            if not holders:
                del self._holders[dependency]
                del self._outages[dependency]

    @property
    def degraded(self) -> dict[str, Outage]:
        return dict(self._outages)

    def report(self) -> dict[str, dict[str, object]]:
        """For ``/health/ready``: dependency -> since, last error, failures seen."""
        return {name: outage.as_dict() for name, outage in sorted(self._outages.items())}
