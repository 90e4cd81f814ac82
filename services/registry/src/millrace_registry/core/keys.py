"""Where the registry's documents live in the state bucket.

``<prefix>/<model>/numbers/<n>.json``       the claim of number n: which run holds it
``<prefix>/<model>/runs/<run_id>.json``     the number claimed by a training run (an index)
``<prefix>/<model>/versions/<n>.json``      the immutable version record
``<prefix>/<model>/audit/<seq:010d>.json``  the append-only audit trail (zero-padded: key order
                                            is append order)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
AUDIT_DIGITS = 10


class InvalidRunId(ValueError):
    """A run id that cannot be part of an object key."""


@dataclass(frozen=True)
class Keys:
    prefix: str

    def root(self) -> str:
        return f"{self.prefix}/"

    def runs(self, model: str) -> str:
        return f"{self.prefix}/{model}/runs/"

    def run(self, model: str, run_id: str) -> str:
        if not _RUN_ID.match(run_id):
            raise InvalidRunId(f"run_id {run_id!r} is not a safe key component")
        return f"{self.runs(model)}{run_id}.json"

    def numbers(self, model: str) -> str:
        return f"{self.prefix}/{model}/numbers/"

    def number(self, model: str, version: int) -> str:
        return f"{self.numbers(model)}{version}.json"

    def versions(self, model: str) -> str:
        return f"{self.prefix}/{model}/versions/"

    def version(self, model: str, version: int) -> str:
        return f"{self.versions(model)}{version}.json"

    def audits(self, model: str) -> str:
        return f"{self.prefix}/{model}/audit/"

    def audit(self, model: str, seq: int) -> str:
        return f"{self.audits(model)}{seq:0{AUDIT_DIGITS}d}.json"

    def model_of(self, key: str) -> str | None:
        """The model name a key belongs to, or None if it is not a registry key."""
        parts = key.split("/")
        if len(parts) < 4 or parts[0] != self.prefix:
            return None
        return parts[1]

    @staticmethod
    def leaf_stem(key: str) -> str:
        """``.../runs/abc.json`` -> ``abc``."""
        return key.rsplit("/", 1)[-1].removesuffix(".json")
