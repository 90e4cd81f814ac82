"""``events tail``: follow a topic, pretty or as JSON lines."""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing
from typing import Annotated, Any

import typer
from rich.markup import escape

from ..console import err, out, print_json_line
from ..describe import describe
from ..endpoints import Endpoints, resolve
from ..records import Record, Start, follow
from ..topics import parse_event, resolve_topic, short_name

app = typer.Typer(help="Watch Millrace topics.", no_args_is_help=True)


def record_json(record: Record) -> dict[str, Any]:
    """One JSON line: where the record is, its key and headers, and its value (parsed if JSON)."""
    raw = record.value or b""
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw.decode("utf-8", errors="replace")
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.time.isoformat(),
        "key": record.key_text,
        "headers": {k: v.decode("utf-8", errors="replace") for k, v in record.headers},
        "value": value,
    }


def record_line(record: Record) -> str:
    """Rich markup: time, topic, key, and the event in words (or the raw value)."""
    event = parse_event(record.topic, record.value)
    if event is not None:
        what = describe(event)
    else:
        raw = (record.value or b"").decode("utf-8", errors="replace")
        what = escape(raw if len(raw) <= 200 else raw[:200] + "…")
    where = f"[dim]{short_name(record.topic)} {record.partition}:{record.offset}[/]"
    key = f" [bold]{escape(record.key_text)}[/]" if record.key_text else ""
    return f"{record.time.strftime('%H:%M:%S')} {where}{key}  {what}"


async def tail_topic(
    endpoints: Endpoints,
    topic: str,
    *,
    from_beginning: bool,
    count: int | None,
    key: str | None,
    as_json: bool,
) -> int:
    shown = 0
    if count == 0:
        return 0

    def ready() -> None:
        where = "the beginning" if from_beginning else "now"
        err.print(f"following {topic} from {where} (Ctrl-C stops)")

    start: Start = "beginning" if from_beginning else "end"
    async with aclosing(follow(endpoints, [topic], start=start, ready=ready)) as records:
        async for record in records:
            if key is not None and record.key_text != key:
                continue
            if as_json:
                print_json_line(record_json(record))
            else:
                out.print(record_line(record))
            shown += 1
            if count is not None and shown >= count:
                break
    return shown


@app.command()
def tail(
    topic: Annotated[
        str,
        typer.Argument(
            metavar="TOPIC",
            help="Topic: a short name (model.promoted, data.arrived.dlq) or the full name.",
        ),
    ],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest record, not now.")
    ] = False,
    count: Annotated[
        int | None, typer.Option("--count", "-n", min=0, help="Stop after N records.")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Only records with this key (a dataset or model name).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object a line (topic, offset, key, value).")
    ] = False,
) -> None:
    """Print a topic's records as they arrive, until Ctrl-C or --count.

    Reads without a consumer group, so it takes nothing away from the services. An
    application team follows promotions with `millrace events tail model.promoted`.
    """
    name = resolve_topic(topic)
    endpoints = resolve(principal="operators")
    try:
        asyncio.run(
            tail_topic(
                endpoints,
                name,
                from_beginning=from_beginning,
                count=count,
                key=key,
                as_json=as_json,
            )
        )
    except KeyboardInterrupt:
        err.print("stopped")
