"""What the core needs from outside that the shared runtime does not already give."""

from __future__ import annotations

from typing import Protocol

from millrace_contracts import ModelVersionInfo


class RegistryReader(Protocol):
    async def production_models(self) -> list[ModelVersionInfo]:
        """The production version of every model that has one."""
        ...
