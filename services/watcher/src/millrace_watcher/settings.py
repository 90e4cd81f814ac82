"""The watcher's configuration: the shared ``MILLRACE_*`` settings plus its own."""

from __future__ import annotations

from millrace_shared.settings import ServiceSettings
from pydantic import Field


class WatcherSettings(ServiceSettings):
    service_name: str = "watcher"
    """Name used in traces, logs and the Kafka client id; also the arrivals' producer."""
    http_port: int = Field(default=8106, ge=1, le=65535)

    poll_seconds: float = Field(default=5.0, gt=0, validation_alias="MILLRACE_WATCHER_POLL_SECONDS")
    """Wait between two listings of the landing bucket: the most a dropped file waits."""
    submitted_by: str = Field(
        default="landing-watcher", validation_alias="MILLRACE_WATCHER_SUBMITTED_BY"
    )
    """``submitted_by`` of the watcher's arrivals: S3 listings do not say who wrote an object
    (SeaweedFS names the bucket's owner, AWS the account), so the watcher cannot."""

    listing: bool = Field(default=True, validation_alias="MILLRACE_WATCHER_LISTING")
    """List the landing bucket every ``poll_seconds``: the path for stores that send no
    notifications (SeaweedFS, AWS S3 without an event bridge)."""
    notifications: bool = Field(default=True, validation_alias="MILLRACE_WATCHER_NOTIFICATIONS")
    """Read the object store's bucket notifications (``millrace.landing.notifications``).
    Both paths may be on: they give an object the same arrival id."""
