"""Backward-compatibility check between a baseline JSON Schema and a newer one of the same major.

Within a major version the rule is: consumers ignore unknown fields, so producers may *add*
optional fields, but never remove or retype one. In schema terms, the new schema must still
describe every property of the old one, accept every value the old one accepted, and require
nothing the old one did not. What is reported, each with a path such as
``model.signature[].kind``:

breaking (``severity="break"``)
    a property removed; a type changed (``string`` -> ``integer``); a union member removed
    (``int | None`` -> ``int``); enum/``Literal`` values removed; a free value restricted to an
    enum; a property that was optional or absent becoming required; an object that no longer
    accepts unknown properties; a whole schema (topic) removed; its ``$id`` or topic changed.

warnings (``severity="warn"``)
    a ``pattern`` or ``format`` changed; a bound tightened (``minimum``, ``maxLength``,
    ``minItems``, ...); a default changed.

Not reported: added optional properties, widening (``integer`` -> ``number``, a new union
member, new enum values, a pattern or bound removed), descriptions, examples, titles.

``$ref`` is resolved (into ``$defs`` or any local JSON pointer), so nested models are compared
recursively and a change is reported at every path that reaches it.

Usage::

    python -m millrace_contracts_dev.compat BASELINE_DIR [NEW_DIR] [--strict]

``NEW_DIR`` defaults to the schemas generated from the code in this checkout. Exit status 1 on a
breaking change (with ``--strict``, on a warning too), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

Severity = Literal["break", "warn"]
Schema = Mapping[str, Any]

# Kinds of change.
SCHEMA_REMOVED = "schema_removed"
IDENTITY_CHANGED = "identity_changed"
REMOVED_PROPERTY = "removed_property"
TYPE_CHANGED = "type_changed"
UNION_NARROWED = "union_narrowed"
ENUM_VALUES_REMOVED = "enum_values_removed"
RESTRICTED_TO_ENUM = "restricted_to_enum"
NEW_REQUIRED = "new_required"
CLOSED_OBJECT = "closed_object"
TUPLE_CHANGED = "tuple_changed"
PATTERN_CHANGED = "pattern_changed"
FORMAT_CHANGED = "format_changed"
CONSTRAINT_TIGHTENED = "constraint_tightened"
DEFAULT_CHANGED = "default_changed"


@dataclass(frozen=True)
class Change:
    """One incompatibility (or doubtful change) found between two schemas."""

    severity: Severity
    kind: str
    path: str
    message: str
    schema: str = ""
    """Which schema (file name or title) it is in; empty when comparing two bare schemas."""

    @property
    def breaking(self) -> bool:
        return self.severity == "break"

    def __str__(self) -> str:
        where = f"{self.schema}: " if self.schema else ""
        return (
            f"{self.severity.upper():5} {where}{self.path or '<root>'}: {self.kind}: {self.message}"
        )


@dataclass(frozen=True)
class _Branch:
    """One alternative of a (possibly union) schema, with ``$ref`` resolved."""

    schema: Schema
    ref: str | None

    @property
    def kind(self) -> str:
        kind = self.schema.get("type")
        return kind if isinstance(kind, str) else "any"

    @property
    def enum(self) -> list[Any] | None:
        if "const" in self.schema:
            return [self.schema["const"]]
        values = self.schema.get("enum")
        return list(values) if isinstance(values, list) else None


_JSON_KINDS: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),  # before int: a bool is an int to isinstance
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
)


def _json_kind(value: Any) -> str:
    return next((kind for t, kind in _JSON_KINDS if isinstance(value, t)), "object")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _fmt(values: Sequence[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


class _Comparer:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self._active: set[tuple[str, str]] = set()

    # -- resolution -------------------------------------------------------------------------

    @staticmethod
    def _pointer(root: Schema, ref: str) -> Schema:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = root
        for part in ref[1:].split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        if not isinstance(node, Mapping):
            raise ValueError(f"$ref {ref!r} does not point to a schema")
        return node

    def _resolve(self, root: Schema, schema: Schema | bool) -> tuple[Schema, str | None]:
        if isinstance(schema, bool):
            return ({} if schema else {"not": {}}), None
        ref: str | None = None
        seen: set[str] = set()
        while "$ref" in schema:
            ref = str(schema["$ref"])
            if ref in seen:
                raise ValueError(f"$ref cycle without structure at {ref!r}")
            seen.add(ref)
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**self._pointer(root, ref), **siblings}
        return schema, ref

    def _branches(self, root: Schema, schema: Schema | bool) -> list[_Branch]:
        resolved, ref = self._resolve(root, schema)
        if "not" in resolved and resolved["not"] == {}:
            return []  # the schema `false`: accepts nothing
        for key in ("anyOf", "oneOf"):
            if key in resolved:
                out: list[_Branch] = []
                for member in resolved[key]:
                    out.extend(self._branches(root, member))
                return out
        if "allOf" in resolved:
            merged: dict[str, Any] = {k: v for k, v in resolved.items() if k != "allOf"}
            for member in resolved["allOf"]:
                part, _ = self._resolve(root, member)
                merged = {**part, **merged}
            return self._branches(root, merged)
        kind = resolved.get("type")
        if isinstance(kind, list):
            return [_Branch({**resolved, "type": k}, ref) for k in kind]
        if kind is None:
            values = _Branch(resolved, ref).enum
            if values is not None:
                by_kind: dict[str, list[Any]] = {}
                for value in values:
                    by_kind.setdefault(_json_kind(value), []).append(value)
                rest = {k: v for k, v in resolved.items() if k not in ("const", "enum")}
                return [_Branch({**rest, "type": k, "enum": v}, ref) for k, v in by_kind.items()]
            if "properties" in resolved or "additionalProperties" in resolved:
                return [_Branch({**resolved, "type": "object"}, ref)]
            if "items" in resolved or "prefixItems" in resolved:
                return [_Branch({**resolved, "type": "array"}, ref)]
        return [_Branch(resolved, ref)]

    # -- comparison -------------------------------------------------------------------------

    def compare(self, old: Schema | bool, new: Schema | bool, path: str) -> list[Change]:
        changes: list[Change] = []
        old_resolved, _ = self._resolve(self.old_root, old)
        new_resolved, _ = self._resolve(self.new_root, new)
        defaults = [r["default"] for r in (old_resolved, new_resolved) if "default" in r]
        if len(defaults) == 2 and defaults[0] != defaults[1]:
            message = f"default {json.dumps(defaults[0])} -> {json.dumps(defaults[1])}"
            changes.append(Change("warn", DEFAULT_CHANGED, path, message))
        old_branches = self._branches(self.old_root, old)
        new_branches = self._branches(self.new_root, new)
        changes.extend(self._compare_branches(old_branches, new_branches, path))
        return changes

    def _compare_branches(
        self, old_branches: list[_Branch], new_branches: list[_Branch], path: str
    ) -> list[Change]:
        if any(b.kind == "any" and b.enum is None for b in new_branches):
            return []  # the new schema accepts anything
        changes: list[Change] = []

        def broken(kind: str, message: str) -> None:
            changes.append(Change("break", kind, path, message))

        old_kinds = sorted({b.kind for b in old_branches})
        new_kinds = sorted({b.kind for b in new_branches})
        for old in old_branches:
            if old.kind == "any" and old.enum is None:
                broken(
                    TYPE_CHANGED,
                    f"accepted any value, now only {' | '.join(new_kinds) or 'nothing'}",
                )
                continue
            candidates = [b for b in new_branches if b.kind == old.kind]
            if old.kind == "integer":
                candidates += [b for b in new_branches if b.kind == "number"]
            if not candidates:
                if len(old_kinds) == 1 and len(new_kinds) == 1:
                    broken(TYPE_CHANGED, f"{old.kind} -> {new_kinds[0]}")
                else:
                    broken(
                        UNION_NARROWED,
                        f"{old.kind} no longer accepted "
                        f"({' | '.join(old_kinds)} -> {' | '.join(new_kinds) or 'nothing'})",
                    )
                continue
            old_values = old.enum
            if old_values is not None:
                changes.extend(self._compare_enum(old_values, candidates, path))
                continue
            free = [b for b in candidates if b.enum is None]
            if not free:
                allowed = [v for b in candidates for v in (b.enum or [])]
                broken(RESTRICTED_TO_ENUM, f"any {old.kind} was accepted, now only {_fmt(allowed)}")
                continue
            # Several candidates (e.g. a union of two models): keep the closest match.
            free.sort(key=lambda b: (b.ref != old.ref or old.ref is None, b.kind != old.kind))
            best: list[Change] | None = None
            for candidate in free:
                trial = self._compare_branch(old, candidate, path)
                if best is None or _cost(trial) < _cost(best):
                    best = trial
            changes.extend(best or [])
        return changes

    @staticmethod
    def _compare_enum(old_values: list[Any], candidates: list[_Branch], path: str) -> list[Change]:
        if any(b.enum is None for b in candidates):
            return []  # a free value of the same type is accepted
        accepted = [v for b in candidates for v in (b.enum or [])]
        removed = [v for v in old_values if v not in accepted]
        if not removed:
            return []
        return [
            Change(
                "break",
                ENUM_VALUES_REMOVED,
                path,
                f"no longer accepted: {_fmt(removed)} (now {_fmt(accepted)})",
            )
        ]

    def _compare_branch(self, old: _Branch, new: _Branch, path: str) -> list[Change]:
        if old.kind == "object" and new.kind == "object":
            if old.ref is not None and new.ref is not None:
                key = (old.ref, new.ref)
                if key in self._active:
                    return []  # already being compared further up: recursive model
                self._active.add(key)
                try:
                    return self._compare_object(old.schema, new.schema, path)
                finally:
                    self._active.discard(key)
            return self._compare_object(old.schema, new.schema, path)
        changes = self._compare_constraints(old.schema, new.schema, path)
        if old.kind == "array" and new.kind == "array":
            changes.extend(self._compare_array(old.schema, new.schema, path))
        return changes

    def _compare_object(self, old: Schema, new: Schema, path: str) -> list[Change]:
        changes: list[Change] = []
        old_props: Mapping[str, Any] = old.get("properties", {})
        new_props: Mapping[str, Any] = new.get("properties", {})
        for name, old_prop in old_props.items():
            where = _join(path, name)
            if name not in new_props:
                changes.append(Change("break", REMOVED_PROPERTY, where, "property removed"))
                continue
            changes.extend(self.compare(old_prop, new_props[name], where))
        old_required = set(old.get("required", ()))
        for name in new.get("required", ()):
            if name in old_required:
                continue
            was = "was optional" if name in old_props else "new property"
            changes.append(
                Change("break", NEW_REQUIRED, _join(path, name), f"now required ({was})")
            )
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            changes.append(
                Change("break", CLOSED_OBJECT, path, "unknown properties are no longer accepted")
            )
        elif old_extra is not False and (
            isinstance(old_extra, dict) or isinstance(new_extra, dict)
        ):
            changes.extend(self.compare(old_extra, new_extra, f"{path}{{}}"))
        changes.extend(self._compare_constraints(old, new, path))
        return changes

    def _compare_array(self, old: Schema, new: Schema, path: str) -> list[Change]:
        changes: list[Change] = []
        old_prefix: list[Any] = old.get("prefixItems", [])
        new_prefix: list[Any] = new.get("prefixItems", [])
        if old_prefix or new_prefix:
            if len(old_prefix) != len(new_prefix):
                message = f"tuple of {len(old_prefix)} items -> {len(new_prefix)} items"
                changes.append(Change("break", TUPLE_CHANGED, path, message))
            for i, (o, n) in enumerate(zip(old_prefix, new_prefix, strict=False)):
                changes.extend(self.compare(o, n, f"{path}[{i}]"))
        old_items = old.get("items", True)
        new_items = new.get("items", True)
        if old_items is not False and (old_items is not True or new_items is not True):
            changes.extend(self.compare(old_items, new_items, f"{path}[]"))
        return changes

    @staticmethod
    def _compare_constraints(old: Schema, new: Schema, path: str) -> list[Change]:
        changes: list[Change] = []

        def tightened(message: str) -> None:
            changes.append(Change("warn", CONSTRAINT_TIGHTENED, path, message))

        for key, kind in (("pattern", PATTERN_CHANGED), ("format", FORMAT_CHANGED)):
            if key in new and old.get(key) != new[key]:
                before = json.dumps(old[key]) if key in old else "none"
                changes.append(
                    Change("warn", kind, path, f"{key} {before} -> {json.dumps(new[key])}")
                )
        lower_old, lower_new = _lower_bound(old), _lower_bound(new)
        if lower_new is not None and (lower_old is None or lower_new > lower_old):
            tightened(f"{_show(lower_old, '>')} -> {_show(lower_new, '>')}")
        upper_old, upper_new = _upper_bound(old), _upper_bound(new)
        if upper_new is not None and (upper_old is None or _upper_stricter(upper_new, upper_old)):
            tightened(f"{_show(upper_old, '<')} -> {_show(upper_new, '<')}")
        for key in ("minLength", "minItems", "minProperties"):
            if key in new and new[key] > old.get(key, 0):
                tightened(f"{key} {old.get(key)} -> {new[key]}")
        for key in ("maxLength", "maxItems", "maxProperties"):
            if key in new and (key not in old or new[key] < old[key]):
                tightened(f"{key} {old.get(key)} -> {new[key]}")
        if "multipleOf" in new and old.get("multipleOf") != new["multipleOf"]:
            tightened(f"multipleOf {old.get('multipleOf')} -> {new['multipleOf']}")
        return changes


def _cost(changes: list[Change]) -> tuple[int, int]:
    return sum(c.breaking for c in changes), len(changes)


def _bounds(schema: Schema, inclusive: str, exclusive: str) -> list[tuple[float, bool]]:
    bounds: list[tuple[float, bool]] = []
    for key, is_exclusive in ((inclusive, False), (exclusive, True)):
        value = schema.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            bounds.append((float(value), is_exclusive))
    return bounds


def _lower_bound(schema: Schema) -> tuple[float, bool] | None:
    """The effective lower bound as (value, exclusive): the larger value, exclusive on a tie."""
    bounds = _bounds(schema, "minimum", "exclusiveMinimum")
    return max(bounds) if bounds else None


def _upper_bound(schema: Schema) -> tuple[float, bool] | None:
    """The effective upper bound as (value, exclusive): the smaller value, exclusive on a tie."""
    bounds = _bounds(schema, "maximum", "exclusiveMaximum")
    return min(bounds, key=lambda b: (b[0], not b[1])) if bounds else None


def _show(bound: tuple[float, bool] | None, sign: str) -> str:
    if bound is None:
        return "unbounded"
    value, exclusive = bound
    return f"{sign}{'' if exclusive else '='} {value:g}"


def _upper_stricter(new: tuple[float, bool], old: tuple[float, bool]) -> bool:
    return new[0] < old[0] or (new[0] == old[0] and new[1] and not old[1])


def compare_schemas(old: Schema, new: Schema, *, name: str = "") -> list[Change]:
    """Every incompatibility of ``new`` with ``old`` (the baseline), breaking ones first."""
    changes: list[Change] = []
    for key in ("$id", "x-millrace-topic"):
        if key in old and old.get(key) != new.get(key):
            changes.append(
                Change(
                    "break",
                    IDENTITY_CHANGED,
                    "",
                    f"{key} {json.dumps(old[key])} -> {json.dumps(new.get(key))}",
                )
            )
    changes.extend(_Comparer(old, new).compare(old, new, ""))
    changes = [replace(c, schema=name) for c in changes]
    return sorted(changes, key=lambda c: (not c.breaking, c.path, c.kind))


@dataclass
class Report:
    """Result of comparing a directory of baseline schemas with the new schemas."""

    changes: list[Change] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)
    without_baseline: list[str] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def warnings(self) -> list[Change]:
        return [c for c in self.changes if not c.breaking]


def load_dir(directory: Path | str) -> dict[str, dict[str, Any]]:
    """The ``*.json`` schemas directly in ``directory``, keyed by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(Path(directory).glob("*.json"))
    }


def compare_all(baseline: Mapping[str, Schema], new: Mapping[str, Schema]) -> Report:
    """Compare schemas keyed by file name; a baseline schema missing from ``new`` is a break."""
    report = Report()
    for name, old_schema in sorted(baseline.items()):
        if name not in new:
            report.changes.append(
                Change("break", SCHEMA_REMOVED, "", "schema (topic) removed", schema=name)
            )
            continue
        report.compared.append(name)
        report.changes.extend(compare_schemas(old_schema, new[name], name=name))
    report.without_baseline = sorted(set(new) - set(baseline))
    return report


def compare_dirs(baseline_dir: Path | str, new_dir: Path | str | None = None) -> Report:
    """Compare a baseline directory with ``new_dir`` (default: schemas generated from the code)."""
    if new_dir is None:
        from .schema_export import build_all

        new: Mapping[str, Schema] = build_all()
    else:
        new = load_dir(new_dir)
    return compare_all(load_dir(baseline_dir), new)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m millrace_contracts_dev.compat",
        description="Check new event schemas against a committed baseline of the same major.",
    )
    parser.add_argument("baseline_dir", type=Path, help="e.g. contracts/schemas/baseline/v1")
    parser.add_argument(
        "new_dir",
        nargs="?",
        type=Path,
        help="directory of new schemas (default: generated from the code)",
    )
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    args = parser.parse_args(argv)
    if not args.baseline_dir.is_dir() or not any(args.baseline_dir.glob("*.json")):
        parser.error(f"no baseline schemas (*.json) in {args.baseline_dir}")
    if args.new_dir is not None and not args.new_dir.is_dir():
        parser.error(f"not a directory: {args.new_dir}")
    report = compare_dirs(args.baseline_dir, args.new_dir)
    for change in report.changes:
        print(change)
    for name in report.without_baseline:
        print(f"NEW   {name}: no baseline (a new event or major version)")
    print(
        f"compared {len(report.compared)} schema(s): {len(report.breaking)} breaking, "
        f"{len(report.warnings)} warning(s)"
    )
    failed = bool(report.breaking) or (args.strict and bool(report.warnings))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
