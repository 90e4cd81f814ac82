"""The registry's REST API as a ``RegistryReader``: the start-up snapshot of production."""

from __future__ import annotations

import httpx
from millrace_contracts import ModelVersionInfo
from millrace_shared.registry import RegistryClient


class HttpRegistry:
    def __init__(
        self,
        base_url: str,
        timeout_seconds: float,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url, self._timeout, self._transport = base_url, timeout_seconds, transport

    async def production_models(self) -> list[ModelVersionInfo]:
        # A client per snapshot: it is asked once per start, on the replica's event loop.
        async with RegistryClient(
            self._base_url, timeout=self._timeout, transport=self._transport
        ) as registry:
            return await registry.production_models()
