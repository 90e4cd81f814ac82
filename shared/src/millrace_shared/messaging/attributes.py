"""Tag every consumer span with the event's identity, so a flow can be found by its
correlation id (``millrace trace <id>``) without each handler remembering to do it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from faststream import BaseMiddleware
from opentelemetry import trace

from ..telemetry import Attr

_FROM_HEADERS = {
    "ce_correlationid": Attr.CORRELATION_ID,
    "ce_id": Attr.EVENT_ID,
    "ce_type": Attr.EVENT_TYPE,
}


class EventAttributesMiddleware(BaseMiddleware):
    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        headers = getattr(msg, "headers", None)
        if isinstance(headers, dict):
            span = trace.get_current_span()
            for header, attribute in _FROM_HEADERS.items():
                value = headers.get(header)
                if value:
                    span.set_attribute(attribute, value if isinstance(value, str) else str(value))
        return await call_next(msg)
