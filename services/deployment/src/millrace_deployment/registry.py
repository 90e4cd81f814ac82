"""The registry's REST API as a ``RegistryReader``: the start-up snapshot of production."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from millrace_contracts import ModelVersionInfo


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
        async with httpx.AsyncClient(
            base_url=self._base_url, timeout=self._timeout, transport=self._transport
        ) as client:
            listing = await client.get("/models")
            listing.raise_for_status()
            infos: list[ModelVersionInfo] = []
            for summary in listing.json():
                if summary.get("production_version") is None:
                    continue
                response = await client.get(f"/models/{quote(summary['name'], safe='')}/production")
                if response.status_code == httpx.codes.NOT_FOUND:
                    continue  # taken out of production since the listing
                response.raise_for_status()
                infos.append(ModelVersionInfo.model_validate_json(response.content))
            return infos
