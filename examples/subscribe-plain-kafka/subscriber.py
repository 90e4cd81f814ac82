"""Follow model promotions with a plain Kafka client and the published JSON Schema only.

No Millrace code: the record value is JSON, validated against
contracts/schemas/millrace.model.promoted.v1.json (any language has a JSON Schema validator).

    pip install aiokafka jsonschema
    python subscriber.py --schema contracts/schemas/millrace.model.promoted.v1.json \
        --bootstrap 127.0.0.1:19092 [--from-beginning] [--count N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import jsonschema
from aiokafka import AIOKafkaConsumer

TOPIC = "millrace.model.promoted.v1"


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
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
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
