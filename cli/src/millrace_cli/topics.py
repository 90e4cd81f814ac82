"""Topic names as people type them: ``model.promoted``, ``model.promoted.v1``, the full name."""

from __future__ import annotations

from millrace_contracts import BY_TOPIC, DLQ_SUFFIX, Event

from .errors import CliError

_PREFIX = "millrace."


def resolve_topic(name: str) -> str:
    """The full topic name for a short or full one; ``.dlq`` twins included.

    Names that are not Millrace topics pass through unchanged when they look like a full
    topic name (contain a dot), so other topics can be read too.
    """
    name = name.strip()
    base = original_of(name)
    dlq = base != name
    for candidate in (base, f"{_PREFIX}{base}", f"{_PREFIX}{base}.v1", f"{base}.v1"):
        if candidate in BY_TOPIC:
            return candidate + (DLQ_SUFFIX if dlq else "")
    if "." in base:
        return name
    known = ", ".join(short_name(t) for t in BY_TOPIC)
    raise CliError(f"unknown topic {name!r}; known: {known}")


def short_name(topic: str) -> str:
    """``millrace.model.promoted.v1`` -> ``model.promoted``; other names unchanged."""
    spec = BY_TOPIC.get(original_of(topic))
    if spec is None:
        return topic
    return spec.event.event_type + topic.removeprefix(spec.name)


def original_of(topic: str) -> str:
    """The topic a dead-letter topic belongs to."""
    return topic[: -len(DLQ_SUFFIX)] if topic.endswith(DLQ_SUFFIX) else topic


def parse_event(topic: str, value: bytes | None) -> Event | None:
    """The contract event in a record of a Millrace topic; None if not one or unparseable."""
    spec = BY_TOPIC.get(topic)
    if spec is None or value is None:
        return None
    try:
        return spec.event.model_validate_json(value)
    except ValueError:
        return None
