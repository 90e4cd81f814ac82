"""Hypothesis strategies for the JSON an event's exported JSON Schema admits.

A small generator for the subset of JSON Schema that pydantic writes for the contracts
(``type``, ``properties``/``required``, ``$ref`` into ``$defs``, ``anyOf``, ``enum``/``const``,
``pattern``, numeric bounds, ``minItems``/``minLength``/``maxLength``, ``additionalProperties``
and the ``uuid``/``date-time`` formats). hypothesis-jsonschema would be the library for this,
but its last release (0.23.1) uses Hypothesis internals that 6.170 no longer has. Anything
outside the subset raises, so a new keyword in a schema cannot silently go ungenerated.

A module with its own name rather than conftest.py, so that tests can import from it.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

Json = Any
Hints = Mapping[tuple[str, str], st.SearchStrategy[Json]]
"""Per (``$defs`` name, property): values to draw instead of what the schema alone allows —
for the rules a JSON Schema cannot state (an allow-list checked by a validator), so that most
examples pass them. Hinted values are still checked against the schema by the tests."""

# Keywords that say nothing about which values are valid.
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "examples",
        "default",
        "$id",
        "$schema",
        "x-millrace-topic",
        "x-millrace-event-type",
        "x-millrace-schema-version",
    }
)
_HANDLED = frozenset(
    {
        "type",
        "properties",
        "required",
        "$ref",
        "$defs",
        "anyOf",
        "enum",
        "const",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "items",
        "minItems",
        "minLength",
        "maxLength",
        "additionalProperties",
    }
)

# Text that exercises encodings without producing what JSON cannot carry (lone surrogates).
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
_KEYS = st.text(string.ascii_letters + string.digits + "_-. é", min_size=1, max_size=12)
_FINITE = st.floats(allow_nan=False, allow_infinity=False)
_SCALARS: st.SearchStrategy[Json] = st.none() | st.booleans() | st.integers() | _FINITE | _TEXT
ANY_JSON: st.SearchStrategy[Json] = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=4,
)
"""Any JSON value (``additionalProperties: true``, unknown fields of a newer producer)."""


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# Any local time at any offset the format allows, to the ends of the calendar: converting
# 0001-01-01T00:00:00+05:00 to UTC leaves the calendar, which a reader must reject cleanly.
_OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_EDGES = st.sampled_from([datetime.min, datetime.max, datetime.max.replace(microsecond=0)])
DATE_TIMES: st.SearchStrategy[str] = st.builds(
    lambda moment, tz: _rfc3339(moment.replace(tzinfo=tz)), st.datetimes() | _EDGES, _OFFSETS
)
_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str),
    "date-time": DATE_TIMES,
}


def from_json_schema(
    schema: Mapping[str, Json], hints: Hints | None = None, *, extra_fields: bool = True
) -> st.SearchStrategy[Json]:
    """Values valid against ``schema`` (a whole document with its ``$defs``).

    ``extra_fields``: objects also carry fields the schema does not name, as an event from a
    newer minor version would; the contracts ignore them.
    """
    return _Generator(schema.get("$defs", {}), hints or {}, extra_fields).build(schema)


class _Generator:
    def __init__(self, defs: Mapping[str, Json], hints: Hints, extra_fields: bool) -> None:
        self.defs = defs
        self.hints = hints
        self.extra_fields = extra_fields
        self.refs: dict[str, st.SearchStrategy[Json]] = {}

    def build(self, node: Mapping[str, Json]) -> st.SearchStrategy[Json]:
        unknown = set(node) - _HANDLED - _ANNOTATIONS
        if unknown:
            raise ValueError(f"schema keywords this generator does not know: {sorted(unknown)}")
        if "$ref" in node:
            return self.ref(node["$ref"])
        if "anyOf" in node:
            return st.one_of([self.build(branch) for branch in node["anyOf"]])
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(node["enum"])
        kind = node.get("type")
        if kind == "object":
            return self.object(node)
        if kind == "array":
            items = self.build(node["items"]) if "items" in node else ANY_JSON
            low = node.get("minItems", 0)
            return st.lists(items, min_size=low, max_size=low + 4)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        scalar = _SCALAR_BUILDERS.get(kind) if isinstance(kind, str) else None
        if scalar is None:
            raise ValueError(f"unsupported type {kind!r}")
        return scalar(node)

    def ref(self, target: str) -> st.SearchStrategy[Json]:
        name = target.removeprefix("#/$defs/")
        if name == target or name not in self.defs:
            raise ValueError(f"unsupported $ref {target!r}")
        if name not in self.refs:
            # Deferred, so that a recursive definition does not recurse while building.
            self.refs[name] = st.deferred(lambda: self.build(self.defs[name]))
        return self.refs[name]

    def object(self, node: Mapping[str, Json]) -> st.SearchStrategy[Json]:
        properties: Mapping[str, Mapping[str, Json]] = node.get("properties", {})
        required = set(node.get("required", ()))
        owner = node.get("title")
        extra = node.get("additionalProperties")
        if not properties:
            values = ANY_JSON if extra in (None, True) else self.build(extra)
            return st.dictionaries(_KEYS, values, max_size=4)

        def field(name: str) -> st.SearchStrategy[Json]:
            hinted = self.hints.get((owner, name))
            return hinted if hinted is not None else self.build(properties[name])

        known = st.fixed_dictionaries(
            {k: field(k) for k in properties if k in required},
            optional={k: field(k) for k in properties if k not in required},
        )
        if not self.extra_fields or extra is False:
            return known
        # '-' in every name: no contract field has one, so these are always unknown fields.
        unknown = st.dictionaries(_KEYS.map("x-{}".format), ANY_JSON, max_size=2)
        return st.builds(lambda fields, more: {**more, **fields}, known, unknown)


def _string(node: Mapping[str, Json]) -> st.SearchStrategy[Json]:
    if "format" in node:
        if node["format"] not in _FORMATS:
            raise ValueError(f"unsupported format {node['format']!r}")
        return _FORMATS[node["format"]]
    low, high = node.get("minLength", 0), node.get("maxLength")
    if "pattern" in node:
        pattern: str = node["pattern"]
        # fullmatch instead of the anchors: Python's '$' also matches before a final newline,
        # which the contracts' (Rust) regex engine does not accept.
        body = pattern.removeprefix("^").removesuffix("$")
        simple = _simple_regex(body)
        text = simple if simple is not None else st.from_regex(body, fullmatch=True)
        return text.filter(lambda s: len(s) >= low and (high is None or len(s) <= high))
    return st.text(
        st.characters(exclude_categories=("Cs",)),
        min_size=low,
        max_size=high if high is not None else max(low, 20),
    )


# One atom of a simple pattern: a literal, '.', or a class like [a-z0-9._-]; then a quantifier.
_ATOM = re.compile(
    r"(\[(?P<cls>[^\]\\]+)\]|(?P<dot>\.)|(?P<lit>[^\\\[\](){}*+?.|^$]))(?P<q>\{\d+(,\d*)?\}|[*+?])?"
)
_UNBOUNDED = 20


def _simple_regex(body: str) -> st.SearchStrategy[str] | None:
    """The pattern as a concatenation of one text draw per atom, when it is that simple.

    ``from_regex`` draws a string one character at a time, which makes a 64-digit hash cost
    64 choices; the contracts' patterns are all atoms and quantifiers, so one draw each.
    """
    parts: list[st.SearchStrategy[str]] = []
    position = 0
    while position < len(body):
        atom = _ATOM.match(body, position)
        if atom is None:
            return None
        position = atom.end()
        low, high = _bounds(atom["q"])
        if atom["lit"] is not None and (low, high) == (1, 1):
            parts.append(st.just(atom["lit"]))
            continue
        chars: str | st.SearchStrategy[str]
        if atom["lit"] is not None:
            chars = atom["lit"]
        elif atom["dot"] is not None:
            chars = st.characters(exclude_characters="\n", exclude_categories=("Cs",))
        else:
            chars = "".join(_expand(atom["cls"]))
        parts.append(st.text(chars, min_size=low, max_size=high))
    return st.tuples(*parts).map("".join)


def _expand(cls: str) -> list[str]:
    """The characters of a class body like ``a-z0-9._-`` (a final '-' is literal)."""
    chars: list[str] = []
    i = 0
    while i < len(cls):
        if i + 2 < len(cls) and cls[i + 1] == "-":
            chars.extend(chr(c) for c in range(ord(cls[i]), ord(cls[i + 2]) + 1))
            i += 3
        else:
            chars.append(cls[i])
            i += 1
    return chars


def _bounds(quantifier: str | None) -> tuple[int, int]:
    if quantifier is None:
        return 1, 1
    if quantifier in ("*", "+", "?"):
        return {"*": (0, _UNBOUNDED), "+": (1, _UNBOUNDED), "?": (0, 1)}[quantifier]
    low, _, high = quantifier.strip("{}").partition(",")
    if not _:
        return int(low), int(low)
    return int(low), int(high) if high else int(low) + _UNBOUNDED


def _integer(node: Mapping[str, Json]) -> st.SearchStrategy[Json]:
    low = node.get("minimum")
    if "exclusiveMinimum" in node:
        low = int(node["exclusiveMinimum"]) + 1
    high = node.get("maximum")
    if "exclusiveMaximum" in node:
        high = int(node["exclusiveMaximum"]) - 1
    return st.integers(min_value=low, max_value=high)


def _number(node: Mapping[str, Json]) -> st.SearchStrategy[Json]:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    floats = st.floats(
        min_value=low,
        max_value=high,
        exclude_min="exclusiveMinimum" in node,
        exclude_max="exclusiveMaximum" in node,
        allow_nan=False,
        allow_infinity=False,
    )
    # JSON numbers without a fraction are numbers too, and decode as Python ints.
    whole_low = -(2**53) if low is None else math.floor(low) + 1
    whole_high = 2**53 if high is None else math.ceil(high) - 1
    if low is not None and "exclusiveMinimum" not in node and low == int(low):
        whole_low = int(low)
    if high is not None and "exclusiveMaximum" not in node and high == int(high):
        whole_high = int(high)
    if whole_low > whole_high:
        return floats
    return floats | st.integers(min_value=whole_low, max_value=whole_high)


_SCALAR_BUILDERS: dict[str, Callable[[Mapping[str, Json]], st.SearchStrategy[Json]]] = {
    "string": _string,
    "integer": _integer,
    "number": _number,
}
