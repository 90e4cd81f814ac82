"""What the core needs from outside that the shared runtime does not already give."""

from __future__ import annotations

from typing import Protocol

from millrace_shared.registry.models import SignedPromotion


class RegistryReader(Protocol):
    async def production_promotions(self) -> list[SignedPromotion]:
        """The signed promotion behind every model's production version."""
        ...
