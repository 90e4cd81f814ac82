"""What the use cases refuse; the REST layer maps them onto 404 and 409."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of the registry's refusals."""


class UnknownModel(RegistryError):
    def __init__(self, model: str) -> None:
        super().__init__(f"no model named {model!r}")


class UnknownVersion(RegistryError):
    def __init__(self, model: str, version: int) -> None:
        super().__init__(f"model {model!r} has no version {version}")


class AliasConflict(RegistryError):
    """The move asked for makes no sense in the current state (already there, nothing before)."""
