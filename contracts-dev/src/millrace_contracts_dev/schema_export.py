"""JSON Schema for every event, generated from the models and committed under ``schemas/``.

The schemas describe what is **on the wire**: the JSON a producer writes with
``event.model_dump_json()`` and a consumer receives. That is pydantic's ``serialization`` mode
(it would include computed fields and the effect of custom serializers; for today's models the
two modes give the same schema, and the tests keep an eye on that).

Fields that have a default are *not* listed as required, on purpose, even though every Python
producer writes them: a field added in minor version 1.1 is absent from the 1.0 events still in
the topic, so "always present" can only be promised for fields required since the major version
began. This is also what lets the compatibility checker accept an added optional field.

Usage::

    python -m millrace_contracts_dev.schema_export [DIR]          # (re)write DIR/<topic>.json
    python -m millrace_contracts_dev.schema_export --check [DIR]  # exit 1 if DIR is stale

``DIR`` defaults to ``contracts/schemas`` of the source checkout this module lives in.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from millrace_contracts import TOPICS, Event

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_MODE: Final = "serialization"
"""pydantic JSON Schema mode: what producers serialize, i.e. what consumers read."""

# Files this tool owns in a schema directory; anything else there is left alone.
_OWNED_FILE = re.compile(r"^millrace\.[a-z0-9_.-]+\.v[0-9]+\.json$")


def schema_id(event_cls: type[Event]) -> str:
    """Stable identity of an event's schema within its major version."""
    return f"urn:millrace:schema:{event_cls.event_type}:v{event_cls.major_version}"


def schema_filename(event_cls: type[Event]) -> str:
    """``<topic-name>.json``, e.g. ``millrace.model.promoted.v1.json``."""
    return f"{event_cls.topic()}.json"


def event_json_schema(event_cls: type[Event]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one event as it appears on its Kafka topic."""
    schema = copy.deepcopy(event_cls.model_json_schema(mode=SCHEMA_MODE))
    envelope_version = schema.get("properties", {}).get("schema_version")
    if isinstance(envelope_version, dict) and envelope_version.get("default") == "":
        # The model fills an empty/missing schema_version with the class's own version; the
        # "" default is an implementation detail, not a value anyone should send.
        del envelope_version["default"]
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(event_cls),
        **schema,
        "title": event_cls.__name__,
        "x-millrace-topic": event_cls.topic(),
        "x-millrace-event-type": event_cls.event_type,
        "x-millrace-schema-version": f"{event_cls.major_version}.{event_cls.minor_version}",
    }


def render(schema: dict[str, Any]) -> str:
    """Deterministic text of a schema: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build_all() -> dict[str, dict[str, Any]]:
    """Every event's schema, keyed by file name (``<topic-name>.json``)."""
    schemas: dict[str, dict[str, Any]] = {}
    for spec in TOPICS:
        name = schema_filename(spec.event)
        if name in schemas:
            raise ValueError(f"two events map to the same schema file {name}")
        schemas[name] = event_json_schema(spec.event)
    return dict(sorted(schemas.items()))


def default_schema_dir() -> Path:
    """``contracts/schemas`` of the source checkout this module is imported from."""
    contracts_root = Path(__file__).resolve().parents[3] / "contracts"
    if not (contracts_root / "pyproject.toml").is_file():
        raise FileNotFoundError(
            "not running from a source checkout of millrace-contracts; pass a directory"
        )
    return contracts_root / "schemas"


def export_all(dest_dir: Path | str) -> list[Path]:
    """Write every event's schema into ``dest_dir``; return the files that changed.

    Schema files of events that no longer exist (``millrace.*.v<N>.json`` not produced by this
    run) are removed; other files in the directory are left alone.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {name: render(schema) for name, schema in build_all().items()}
    changed: list[Path] = []
    for name, text in wanted.items():
        path = dest / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for path in sorted(dest.glob("*.json")):
        if _OWNED_FILE.match(path.name) and path.name not in wanted:
            path.unlink()
            changed.append(path)
    return changed


def check(dest_dir: Path | str) -> list[str]:
    """Problems that make ``dest_dir`` differ from what ``export_all`` would write."""
    dest = Path(dest_dir)
    wanted = {name: render(schema) for name, schema in build_all().items()}
    problems: list[str] = []
    for name, text in wanted.items():
        path = dest / name
        if not path.is_file():
            problems.append(f"missing: {path}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"stale: {path}")
    if dest.is_dir():
        for path in sorted(dest.glob("*.json")):
            if _OWNED_FILE.match(path.name) and path.name not in wanted:
                problems.append(f"orphaned (no such event): {path}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m millrace_contracts_dev.schema_export",
        description="Write (or check) the JSON Schema of every Millrace event.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 listing missing, stale or orphaned files",
    )
    parser.add_argument(
        "dir", nargs="?", type=Path, help="schema directory (default: contracts/schemas)"
    )
    args = parser.parse_args(argv)
    try:
        dest: Path = args.dir if args.dir is not None else default_schema_dir()
    except FileNotFoundError as exc:
        parser.error(str(exc))
    if args.check:
        problems = check(dest)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(
                f"{len(problems)} schema file(s) out of date; run "
                f"`python -m millrace_contracts_dev.schema_export {dest}`",
                file=sys.stderr,
            )
            return 1
        print(f"{len(TOPICS)} schemas in {dest} are up to date")
        return 0
    changed = export_all(dest)
    for path in changed:
        print(f"wrote {path}" if path.exists() else f"removed {path}")
    print(f"{len(TOPICS)} schemas in {dest} ({len(changed)} changed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
