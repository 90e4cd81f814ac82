"""The topic catalogue (``millrace_contracts.topics``) held against what the code does.

* ``differences``: where a service's AsyncAPI document and the catalogue disagree on the
  topics it consumes or produces (``generate.py --check`` runs it on the documents built from
  the code, a unit test on the committed ones);
* the README's topic table, rendered from the catalogue:

    .venv/bin/python docs/asyncapi/catalogue.py --write | --check
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from millrace_contracts.topics import TOPICS, Outside, Party, Service

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = re.compile(r"(<!-- topics:start -->\n).*?(<!-- topics:end -->)", re.DOTALL)


def declared(doc: dict[str, Any], action: str) -> set[str]:
    """Topics of the document's operations with ``action`` (``receive`` or ``send``)."""
    channels = doc.get("channels", {})
    return {
        channels[op["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
        for op in doc.get("operations", {}).values()
        if op["action"] == action
    }


def differences(service: Service, doc: dict[str, Any]) -> list[str]:
    """Every topic on which the document and the catalogue disagree, either way.

    Dead-letter topics are in neither (so one in the document is a difference): the shared
    middleware writes them, and the catalogue derives them from the consumers.
    """
    problems = []
    for action, verb, parties in (
        ("receive", "consumes", "consumers"),
        ("send", "produces", "producers"),
    ):
        listed = {t.name for t in TOPICS if service in getattr(t, parties)}
        found = declared(doc, action)
        problems += [f"{service} {verb} {t}, not in the catalogue" for t in sorted(found - listed)]
        problems += [
            f"catalogue: {service} {verb} {t}, not in its code" for t in sorted(listed - found)
        ]
    return problems


def _parties(parties: tuple[Party, ...]) -> str:
    return ", ".join(parties)


def topic_table() -> str:
    lines = [
        "| topic | event | key | produced by | consumed by |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{t.name}` | `{t.event.__name__}` | {t.key} | {_parties(t.producers)} "
        f"| {_parties(t.consumers)} |"
        for t in TOPICS
    ]
    lines += ["", "| party | Kafka principal |", "| --- | --- |"]
    lines += [f"| {party} | `{party.principal}` |" for party in (*Service, *Outside)]
    return "\n".join(lines)


def readme_with(readme: str, table: str) -> str:
    if not SECTION.search(readme):
        raise ValueError("README has no <!-- topics:start --> ... <!-- topics:end --> section")
    return SECTION.sub(lambda m: f"{m[1]}{table}\n{m[2]}", readme)


def main(argv: list[str]) -> int:
    readme = README.read_text()
    wanted = readme_with(readme, topic_table())
    if "--write" in argv:
        README.write_text(wanted)
        return 0
    if wanted != readme:
        print("README.md's topic table is not the catalogue's: docs/asyncapi/catalogue.py --write")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
