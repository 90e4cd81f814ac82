"""The floor of #5: a raw aiokafka consume + ``json.loads`` loop over the same topic.

Usage: python raw_consume.py BOOTSTRAP TOPIC LOGS
Reads from the start of every partition until LOGS prediction logs were seen; prints JSON
with the time and count after the first batch and at the end (as monitoring is timed).
Kafka's security comes from MILLRACE_KAFKA_SECURITY_PROTOCOL / _SASL_* / _TLS_CAFILE, so the
floor pays for the same TLS and SASL as the service it is compared with.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import time
from typing import Any

from aiokafka import AIOKafkaConsumer


def security_options() -> dict[str, Any]:
    """aiokafka's security arguments from the MILLRACE_KAFKA_* environment (plain aiokafka:
    the floor uses no Millrace code)."""
    protocol = os.environ.get("MILLRACE_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
    options: dict[str, Any] = {"security_protocol": protocol}
    if "SSL" in protocol:
        cafile = os.environ.get("MILLRACE_KAFKA_TLS_CAFILE") or None
        options["ssl_context"] = ssl.create_default_context(cafile=cafile)
    if protocol.startswith("SASL"):
        options["sasl_mechanism"] = os.environ.get("MILLRACE_KAFKA_SASL_MECHANISM", "PLAIN")
        options["sasl_plain_username"] = os.environ.get("MILLRACE_KAFKA_SASL_USERNAME")
        options["sasl_plain_password"] = os.environ.get("MILLRACE_KAFKA_SASL_PASSWORD")
    return options


async def main() -> None:
    bootstrap, topic, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        **security_options(),
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
