"""One look at the landing bucket: announce each object not announced yet, then remember it.

Announced before remembered: a crash between the two re-announces the object under the same
event id on the next poll (at least once, deduplicated downstream), never loses it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from millrace_shared.messaging import EventSink

from .arrivals import arrival_for
from .cursor import Cursor
from .listing import Lister

logger = logging.getLogger("millrace.watcher")


@dataclass
class Poller:
    lister: Lister
    cursor: Cursor
    sink: EventSink
    bucket: str
    producer: str
    submitted_by: str
    loaded: bool = False

    async def poll(self) -> int:
        """List once and announce what is new; how many arrivals were published."""
        if not self.loaded:
            remembered = await asyncio.to_thread(self.cursor.load)
            logger.info("watching s3://%s (%d objects already announced)", self.bucket, remembered)
            self.loaded = True
        objects = await asyncio.to_thread(lambda: list(self.lister.list(self.bucket)))
        published = remembered = 0
        for obj in objects:
            if self.cursor.announced(obj):
                continue
            remembered += 1
            arrival = arrival_for(obj, producer=self.producer, submitted_by=self.submitted_by)
            if arrival is not None:
                await self.sink.publish(arrival)
                published += 1
                logger.info("announced %s (flow %s)", arrival.uri, arrival.event_id)
            # Ignored objects are remembered too, so each is looked at once per version.
            self.cursor.remember(obj)
        forgotten = self.cursor.keep_only({obj.key for obj in objects})
        if remembered or forgotten:
            await asyncio.to_thread(self.cursor.save)
        return published
