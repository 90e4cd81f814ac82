"""The watcher's Kafka input: the object store's bucket notifications of the landing bucket."""

from __future__ import annotations

import logging

from millrace_contracts.topics import LANDING_NOTIFICATIONS
from millrace_shared.service import ServiceRuntime

from .core.notifications import BucketNotification, arrivals_of
from .settings import WatcherSettings

logger = logging.getLogger("millrace.watcher")


def register_notifications(runtime: ServiceRuntime, settings: WatcherSettings) -> None:
    """Announce each dataset file a notification reports created. A body that is not a
    notification (invalid JSON, missing ``Records``...) fails validation: to the DLQ."""

    @runtime.broker.subscriber(
        LANDING_NOTIFICATIONS, group_id=runtime.group_id, auto_offset_reset="earliest"
    )
    async def on_bucket_notification(notification: BucketNotification) -> None:
        arrivals = arrivals_of(
            notification,
            landing_bucket=settings.bucket_landing,
            producer=settings.service_name,
            submitted_by=settings.submitted_by,
        )
        for arrival in arrivals:
            await runtime.sink.publish(arrival)
            logger.info(
                "announced %s from a bucket notification (flow %s, by %s)",
                arrival.uri,
                arrival.event_id,
                arrival.submitted_by,
            )
