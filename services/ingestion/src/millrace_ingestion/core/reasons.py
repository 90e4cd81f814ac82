"""Building rejection reasons: one code, a message for people, facts for machines."""

from __future__ import annotations

import json
from collections.abc import Iterable

from millrace_contracts import Reason, RejectionCode
from millrace_contracts.common import ScalarValue

SAMPLE_SIZE = 5
"""Offending values quoted per reason: enough to recognise the problem, small enough to log."""
_MAX_VALUE_CHARS = 60


def reason(
    code: RejectionCode, message: str, column: str | None = None, **details: ScalarValue
) -> Reason:
    return Reason(code=code.value, message=message, column=column, details=details)


def sample_text(values: Iterable[object], limit: int = SAMPLE_SIZE) -> str:
    """The first distinct values, as a JSON list of strings.

    ``Reason.details`` holds scalars only, so the sample travels as JSON text.
    """
    seen: list[str] = []
    for value in values:
        text = str(value)[:_MAX_VALUE_CHARS]
        if text not in seen:
            seen.append(text)
            if len(seen) >= limit:
                break
    return json.dumps(seen, ensure_ascii=False)


def codes(reasons: Iterable[Reason]) -> list[str]:
    """Distinct codes in first-seen order (for span attributes and logs)."""
    return list(dict.fromkeys(r.code for r in reasons))
