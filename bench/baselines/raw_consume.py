"""The floor of #5: a raw aiokafka consume + ``json.loads`` loop over the same topic.

Usage: python raw_consume.py BOOTSTRAP TOPIC LOGS
Reads from the start of every partition until LOGS prediction logs were seen; prints JSON
with the time and count after the first batch and at the end (as monitoring is timed).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from aiokafka import AIOKafkaConsumer


async def main() -> None:
    bootstrap, topic, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        logs = records = 0
        first: tuple[float, int] | None = None
        while logs < wanted:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            for messages in batch.values():
                for message in messages:
                    event = json.loads(message.value)
                    logs += len(event["predictions"])
                    records += 1
            if first is None and logs:
                first = (time.perf_counter(), logs)
        done = time.perf_counter()
        assert first is not None
        print(
            json.dumps(
                {
                    "first_at": first[0],
                    "first_logs": first[1],
                    "done_at": done,
                    "logs": logs,
                    "records": records,
                    "rate": (logs - first[1]) / (done - first[0]) if logs > first[1] else None,
                }
            )
        )
    finally:
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main())
