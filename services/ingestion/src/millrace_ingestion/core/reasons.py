"""Building rejection reasons: one code, a message for people, facts for machines."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from millrace_contracts import Reason, RejectionCode
from millrace_contracts.common import ScalarValue

SAMPLE_SIZE = 5
"""Offending values quoted per reason: enough to recognise the problem, small enough to log."""
_MAX_VALUE_CHARS = 60


def reason(
    code: RejectionCode, message: str, column: str | None = None, **details: ScalarValue
) -> Reason:
    # A CSV cell "inf" is a float; JSON would publish it (an observed maximum, say) as null,
    # "unknown", where the point is that it was infinite: its text says so.
    written = {
        k: str(v) if isinstance(v, float) and not math.isfinite(v) else v
        for k, v in details.items()
    }
    return Reason(code=code.value, message=message, column=column, details=written)


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


MAX_PER_CODE = 10
"""Reasons of one code kept as they are; more are summed up in one reason with their count."""
LISTED = 50
"""Columns (or messages) a summary names in ``details.sample``."""
_MAX_MESSAGE_CHARS = 1000
_MAX_TEXT_DETAIL_CHARS = 4000


def condense(reasons: list[Reason], per_code: int = MAX_PER_CODE) -> list[Reason]:
    """The reasons, short enough for one event whatever the file: a code with more than
    ``per_code`` reasons becomes one that counts them and names the first ``LISTED``.

    20,000 unexpected columns give one ``unexpected_column`` reason saying 20000 and listing
    50, not 20,000 reasons (megabytes no broker takes).
    """
    by_code: dict[str, list[Reason]] = {}
    for r in reasons:
        by_code.setdefault(r.code, []).append(r)
    kept: list[Reason] = []
    for code, group in by_code.items():
        if len(group) <= per_code:
            kept += [_shortened(r) for r in group]
        else:
            kept.append(_summary(code, group))
    return kept


def _summary(code: str, group: list[Reason]) -> Reason:
    named = [r.column if r.column is not None else r.message for r in group[:LISTED]]
    quoted = ", ".join(repr(n[:_MAX_VALUE_CHARS]) for n in named[:10])
    what = "columns" if all(r.column is not None for r in group) else "problems"
    first = group[0].message[:200]
    message = (
        f"{len(group)} {what} with {code!r} (e.g. {first}); the first {len(named)} are in "
        f"details.sample: {quoted}{', ...' if len(group) > 10 else ''}"
    )
    return Reason(
        code=code,
        message=message[:_MAX_MESSAGE_CHARS],
        column=None,
        details={
            "count": len(group),
            "listed": len(named),
            "sample": json.dumps([n[:_MAX_VALUE_CHARS] for n in named], ensure_ascii=False),
        },
    )


def _shortened(r: Reason) -> Reason:
    """A reason whose texts are bounded (a column name or an error message can be long)."""
    details = {
        k: v[:_MAX_TEXT_DETAIL_CHARS] if isinstance(v, str) else v for k, v in r.details.items()
    }
    column = r.column[:_MAX_MESSAGE_CHARS] if r.column is not None else None
    return r.model_copy(
        update={"message": r.message[:_MAX_MESSAGE_CHARS], "column": column, "details": details}
    )


def codes(reasons: Iterable[Reason]) -> list[str]:
    """Distinct codes in first-seen order (for span attributes and logs)."""
    return list(dict.fromkeys(r.code for r in reasons))
