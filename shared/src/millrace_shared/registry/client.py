"""The registry's REST API as typed calls, parsed into the classes its routes declare.

Async, because deployment is; the CLI runs each conversation with ``asyncio.run``, so every call
and the retry policy exist once. Retries use tenacity (httpx's transport ``retries=`` covers
failed connects only): a read is tried again after any transport failure and after 502/503/504.
A write carries a fresh ``Idempotency-Key``, kept across its retries: the registry answers a
repeat with the move it recorded (never a second move), so a write is retried like a read, and
after a 500 too (the move may stand unannounced; the repeat announces it).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
import tenacity
from millrace_contracts import ModelPromoted, ModelVersionInfo
from pydantic import BaseModel, TypeAdapter, ValidationError

from . import models as m

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({502, 503, 504})
WRITE_RETRY_STATUS = TRANSIENT_STATUS | {500}
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout)


class RegistryError(Exception):
    def __init__(self, request: httpx.Request, why: object) -> None:
        self.request = request
        super().__init__(f"{request.method} {request.url.path}: {why}")


class RegistryUnreachable(RegistryError):
    """No connection, after the retries."""


class RegistryTimeout(RegistryError):
    """Connected, but no answer in time, after the retries."""


class RegistryRefused(RegistryError):
    """An error status (a 404 only from a write); ``response`` holds the registry's detail."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(response.request, f"{response.status_code} {response.text[:300]}")


class RegistryBadAnswer(RegistryError):
    """Not what the route declares."""


def _last_outcome(state: tenacity.RetryCallState) -> Any:
    # Out of attempts: the last response (a 503 then reads as a refusal), or its error raised.
    assert state.outcome is not None
    return state.outcome.result()


def _parse(answer: TypeAdapter[T], response: httpx.Response) -> T:
    if response.is_error:
        raise RegistryRefused(response)
    try:
        return answer.validate_json(response.content)
    except ValidationError as error:
        raise RegistryBadAnswer(response.request, error) from error


def _path(name: str, *rest: str) -> str:
    return "/".join(("/models", quote(name, safe=""), *rest))


class RegistryClient:
    """Reads answer None where the registry answers 404 (no such model, version, production).

    ``async with`` closes its connections; a process-long instance (deployment's) needs not.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        token: str | None = None,
        attempts: int = 3,
        backoff: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._attempts, self._backoff = attempts, backoff

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._http.aclose()

    async def models(self) -> list[m.ModelSummary]:
        return _parse(TypeAdapter(list[m.ModelSummary]), await self._get("/models"))

    async def model(self, name: str) -> m.ModelDetail | None:
        return await self._find(TypeAdapter(m.ModelDetail), _path(name))

    async def version(self, name: str, version: int) -> m.VersionDetail | None:
        return await self._find(TypeAdapter(m.VersionDetail), _path(name, "versions", str(version)))

    async def aliases(self, name: str) -> dict[str, int] | None:
        return await self._find(TypeAdapter(dict[str, int]), _path(name, "aliases"))

    async def audit(self, name: str) -> list[m.AuditEntry] | None:
        return await self._find(TypeAdapter(list[m.AuditEntry]), _path(name, "audit"))

    async def production(self, name: str, at: datetime | None = None) -> ModelVersionInfo | None:
        """Production now, or at ``at`` (without an offset the registry reads it as UTC)."""
        params = None if at is None else {"at": at.isoformat()}
        return await self._find(TypeAdapter(ModelVersionInfo), _path(name, "production"), params)

    async def models_with_production(self) -> list[tuple[m.ModelSummary, ModelVersionInfo | None]]:
        # None also for a model taken out of production since the listing.
        return [
            (s, None if s.production_version is None else await self.production(s.name))
            for s in await self.models()
        ]

    async def production_models(self) -> list[ModelVersionInfo]:
        """The production version of every model that has one."""
        return [info for _, info in await self.models_with_production() if info is not None]

    async def production_promotion(self, name: str) -> m.SignedPromotion | None:
        """The promotion that made the current production version, signed by the registry."""
        return await self._find(
            TypeAdapter(m.SignedPromotion), _path(name, "production", "promotion")
        )

    async def production_promotions(self) -> list[m.SignedPromotion]:
        """The signed promotion behind every model's production version: a replica's start."""
        found = [
            await self.production_promotion(s.name)
            for s in await self.models()
            if s.production_version is not None
        ]
        # None for a model taken out of production since the listing.
        return [p for p in found if p is not None]

    async def whoami(self) -> str | None:
        """The actor this client's token names; None if the registry does not know it."""
        response = await self._send(
            self._http.build_request("GET", "/whoami", headers=self._auth),
            (httpx.TransportError,),
            TRANSIENT_STATUS,
        )
        if response.status_code == httpx.codes.UNAUTHORIZED:
            return None
        return _parse(TypeAdapter(m.Actor), response).actor

    async def promote(
        self, name: str, version: int, *, reason: str, actor: str | None, alias: m.AliasName
    ) -> ModelPromoted:
        # Unchecked here: the registry validates, and its 422 names the field at fault.
        body = m.PromoteRequest.model_construct(
            version=version, reason=reason, actor=actor, alias=alias
        )
        return await self._post(_path(name, "promote"), body)

    async def rollback(
        self, name: str, *, reason: str, to_version: int | None = None, actor: str | None = None
    ) -> ModelPromoted:
        body = m.RollbackRequest.model_construct(reason=reason, to_version=to_version, actor=actor)
        return await self._post(_path(name, "rollback"), body)

    async def _find(
        self, answer: TypeAdapter[T], path: str, params: dict[str, str] | None = None
    ) -> T | None:
        response = await self._get(path, params)
        return None if response.status_code == httpx.codes.NOT_FOUND else _parse(answer, response)

    async def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        request = self._http.build_request("GET", path, params=params)
        return await self._send(request, (httpx.TransportError,), TRANSIENT_STATUS)

    async def _post(self, path: str, body: BaseModel) -> ModelPromoted:
        json = body.model_dump(mode="json")
        headers = {**self._auth, "Idempotency-Key": str(uuid.uuid4())}
        request = self._http.build_request("POST", path, json=json, headers=headers)
        response = await self._send(request, (httpx.TransportError,), WRITE_RETRY_STATUS)
        return _parse(TypeAdapter(ModelPromoted), response)

    async def _send(
        self,
        request: httpx.Request,
        retry_on: tuple[type[httpx.TransportError], ...],
        statuses: frozenset[int],
    ) -> httpx.Response:
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self._attempts),
            wait=tenacity.wait_exponential(multiplier=self._backoff, max=2.0),
            retry=tenacity.retry_if_exception_type(retry_on)
            | tenacity.retry_if_result(lambda r: r.status_code in statuses),
            retry_error_callback=_last_outcome,
        )
        try:
            response: httpx.Response = await retrying(self._http.send, request)
        except _UNSENT as error:
            raise RegistryUnreachable(request, error) from error
        except httpx.TimeoutException as error:
            raise RegistryTimeout(request, f"no answer in time ({error!r})") from error
        except httpx.TransportError as error:
            raise RegistryUnreachable(request, error) from error
        return response
