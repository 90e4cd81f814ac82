"""Follow model promotions with a plain Kafka client and the published JSON Schema only.

No Millrace code: the record value is JSON, validated against
contracts/schemas/millrace.model.promoted.v1.json (any language has a JSON Schema validator).

    pip install aiokafka jsonschema
    python subscriber.py --schema contracts/schemas/millrace.model.promoted.v1.json \
        --bootstrap 127.0.0.1:19092 [--from-beginning] [--count N]

On a secured cluster (the local stack is one), the security settings come from the
environment: eval "$(millrace-stack env --principal application-teams)".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
from pathlib import Path
from typing import Any

import jsonschema
from aiokafka import AIOKafkaConsumer

TOPIC = "millrace.model.promoted.v1"


def security_options() -> dict[str, Any]:
    """aiokafka's security arguments from the environment, as `millrace-stack env --principal
    application-teams` prints them: MILLRACE_KAFKA_SECURITY_PROTOCOL (PLAINTEXT, SSL,
    SASL_PLAINTEXT or SASL_SSL), MILLRACE_KAFKA_SASL_MECHANISM / _SASL_USERNAME /
    _SASL_PASSWORD and MILLRACE_KAFKA_TLS_CAFILE (the CA to trust; the system's if unset)."""
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


async def follow(
    bootstrap: str,
    schema: dict[str, object],
    from_beginning: bool,
    count: int | None,
    only: str | None,
) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        **security_options(),
        group_id=None,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    seen = 0
    try:
        async for record in consumer:
            event = json.loads(record.value)
            errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path))
            if errors:
                print(f"skipping an invalid record at offset {record.offset}: {errors[0].message}")
                continue
            if only is not None and event["model"]["model_name"] != only:
                continue
            headers = {k: v.decode() for k, v in record.headers}
            model = event["model"]
            print(
                f"{model['model_name']} v{model['version']} is {event['alias']} "
                f"(ce_type={headers.get('ce_type')}, ce_id={headers.get('ce_id')})",
                flush=True,
            )
            seen += 1
            if count is not None and seen >= count:
                return
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--bootstrap", default=os.environ.get("MILLRACE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    parser.add_argument(
        "--schema", type=Path, default=Path("contracts/schemas/millrace.model.promoted.v1.json")
    )
    parser.add_argument("--from-beginning", action="store_true")
    parser.add_argument("--count", type=int, default=None, help="stop after N promotions")
    parser.add_argument("--model", default=None, help="only this model name")
    args = parser.parse_args()
    asyncio.run(
        follow(
            args.bootstrap,
            json.loads(args.schema.read_text()),
            args.from_beginning,
            args.count,
            args.model,
        )
    )


if __name__ == "__main__":
    main()
