"""``dlq``: what was dead-lettered and why, and putting it back on its topic."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from millrace_contracts.topics import ALL_TOPICS
from rich.markup import escape
from rich.table import Table

from ..console import out, print_json
from ..dlq import as_dict, replay, select
from ..endpoints import Endpoints, resolve
from ..errors import CliError, ExitCode
from ..records import Record, read_all
from ..topics import original_of, resolve_topic, short_name

app = typer.Typer(help="Inspect and replay dead letters (<topic>.dlq).", no_args_is_help=True)


def dlq_topics(topic: str | None) -> list[str]:
    """The dead-letter topic of ``topic`` (short or full, with or without .dlq), else all."""
    if topic is None:
        return [t.dlq for t in ALL_TOPICS]
    return [original_of(resolve_topic(topic)) + ".dlq"]


def read_letters(endpoints: Endpoints, topics: list[str]) -> list[Record]:
    return asyncio.run(read_all(endpoints, topics))


def letters_table(letters: list[Record]) -> Table:
    table = Table("dlq p:offset", "original", "key", "kind", "tries", "service", "failed at")
    table.add_column("reason", overflow="fold")
    for letter in letters:
        original = f"{short_name(letter.original_topic)} {letter.original_partition}:{letter.original_offset}"
        table.add_row(
            f"{letter.partition}:{letter.offset}",
            escape(original),
            escape(letter.key_text or "-"),
            escape(letter.kind),
            escape(letter.attempts),
            escape(letter.service),
            escape(letter.failed_at[:19]),
            escape(letter.reason),
        )
    return table


@app.command("list")
def list_letters(
    topic: Annotated[
        str | None,
        typer.Argument(
            metavar="TOPIC",
            help="Topic whose dead letters to show (e.g. data.arrived); all if unset.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output (with the values).")] = False,
) -> None:
    """Every dead letter, read from the beginning without a consumer group: where it came
    from (topic, partition, offset), kind (poison / exhausted), attempts, reason, time."""
    endpoints = resolve(principal="operators")
    letters = read_letters(endpoints, dlq_topics(topic))
    if as_json:
        print_json([as_dict(letter) for letter in letters])
        return
    if not letters:
        out.print("no dead letters")
        return
    out.print(letters_table(letters))


@app.command("replay")
def replay_letters(
    topic: Annotated[
        str,
        typer.Argument(
            metavar="TOPIC", help="Topic whose dead letters to replay (e.g. data.arrived)."
        ),
    ],
    offset: Annotated[
        int | None,
        typer.Option(help="The dead letter at this offset of TOPIC.dlq (see `dlq list`)."),
    ] = None,
    partition: Annotated[
        int | None, typer.Option(help="Partition of TOPIC.dlq, when --offset is in several.")
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Every dead letter of TOPIC.")] = False,
) -> None:
    """Publish dead letters again on their original topic: the original value, key and
    headers (without the x-millrace-dlq-* ones). Consumers are idempotent, so a letter that
    was processed meanwhile does no harm."""
    if (offset is None) == (not replay_all):
        raise CliError("give exactly one of --offset N or --all", ExitCode.USAGE)
    endpoints = resolve(principal="operators")
    letters = select(read_letters(endpoints, dlq_topics(topic)), offset=offset, partition=partition)
    if not letters:
        out.print("no dead letters to replay")
        return
    for done in asyncio.run(replay(endpoints, letters)):
        r = done.letter
        out.print(
            f"replayed {escape(r.topic)} {r.partition}:{r.offset} "
            f"(key {escape(r.key_text or '-')}, {escape(r.kind)}) -> "
            f"{escape(done.topic)} {done.partition}:{done.offset}"
        )
    out.print(f"replayed {len(letters)} dead letter(s)")
