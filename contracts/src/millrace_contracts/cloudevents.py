"""CloudEvents Kafka protocol binding, binary mode: envelope attributes as ``ce_*`` headers.

The record value stays the whole event JSON (the envelope is also in the body) so that a plain
Kafka client needs nothing but the JSON Schema; the headers let CloudEvents-aware tools route
and filter without parsing the value.
"""

from __future__ import annotations

from .envelope import Event

CONTENT_TYPE = "application/json"


def cloudevents_headers(event: Event) -> dict[str, str]:
    headers = {
        "ce_specversion": "1.0",
        "ce_id": str(event.event_id),
        "ce_source": f"/millrace/{event.producer}",
        "ce_type": event.cloudevents_type(),
        "ce_time": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "ce_subject": event.partition_key,
        "ce_dataschema": f"urn:millrace:schema:{event.event_type}:v{event.major_version}",
        "ce_correlationid": str(event.correlation_id),
        "content-type": CONTENT_TYPE,
    }
    if event.causation_id is not None:
        headers["ce_causationid"] = str(event.causation_id)
    return headers


def envelope_from_headers(headers: dict[str, str]) -> dict[str, str]:
    """The envelope attributes found in ``ce_*`` headers, keyed by envelope field name."""
    mapping = {
        "ce_id": "event_id",
        "ce_type": "cloudevents_type",
        "ce_time": "occurred_at",
        "ce_correlationid": "correlation_id",
        "ce_causationid": "causation_id",
    }
    return {field: headers[h] for h, field in mapping.items() if h in headers}
