"""The registry's REST API as typed calls, parsed into the classes its routes declare.

Async, because deployment is; synchronous code (the CLI) runs one conversation at a time with
``asyncio.run``, so there is one implementation of each call and of the retry policy.

Retries, in one place, with tenacity (rather than a loop of our own; httpx's own transport
``retries=`` covers failed connects only): a read is tried again after any transport failure
(refused connection, timeout, connection dropped) and after 502/503/504, up to ``attempts``
times with exponential backoff. A write (promote, roll back) is tried again only when the
request cannot have reached the registry (failed or timed-out connect): repeating one that
may have been applied would answer 409 for what in fact succeeded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from millrace_contracts import ModelPromoted, ModelVersionInfo
from pydantic import BaseModel, TypeAdapter, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from .models import (
    AliasName,
    AuditEntry,
    ModelDetail,
    ModelSummary,
    PromoteRequest,
    RollbackRequest,
    VersionDetail,
)

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({502, 503, 504})
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout)

_SUMMARIES = TypeAdapter(list[ModelSummary])
_DETAIL = TypeAdapter(ModelDetail)
_VERSION = TypeAdapter(VersionDetail)
_ALIASES = TypeAdapter(dict[str, int])
_AUDIT = TypeAdapter(list[AuditEntry])
_INFO = TypeAdapter(ModelVersionInfo)
_PROMOTED = TypeAdapter(ModelPromoted)


class RegistryError(Exception):
    """The registry could not be asked, or refused, or answered something unexpected."""

    def __init__(self, request: httpx.Request, why: object) -> None:
        self.request = request
        super().__init__(f"{request.method} {request.url.path}: {why}")


class RegistryUnreachable(RegistryError):
    """No connection (after the retries)."""


class RegistryTimeout(RegistryError):
    """Connected, but no answer in time (after the retries)."""


class RegistryRefused(RegistryError):
    """An error status; ``response`` holds the registry's ``detail``."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(response.request, f"{response.status_code} {response.text[:300]}")


class RegistryBadAnswer(RegistryError):
    """A success status with a body that is not what the route declares."""


def _last_outcome(state: RetryCallState) -> Any:
    # Out of attempts: hand back the last response (a 503 becomes a refusal) or raise its error.
    assert state.outcome is not None
    return state.outcome.result()


def _parse(answer: TypeAdapter[T], response: httpx.Response) -> T:
    if response.is_error:
        raise RegistryRefused(response)
    try:
        return answer.validate_json(response.content)
    except ValidationError as error:
        raise RegistryBadAnswer(response.request, error) from error


class RegistryClient:
    """``async with RegistryClient(url) as registry: await registry.models()``.

    Reads answer None where the registry answers 404 (no such model, version, or production
    version); writes raise ``RegistryRefused`` on any refusal (401, 404, 409, 422).
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

    async def models(self) -> list[ModelSummary]:
        return _parse(_SUMMARIES, await self._get("/models"))

    async def model(self, name: str) -> ModelDetail | None:
        return await self._find(_DETAIL, _path(name))

    async def version(self, name: str, version: int) -> VersionDetail | None:
        return await self._find(_VERSION, _path(name, "versions", str(version)))

    async def aliases(self, name: str) -> dict[str, int] | None:
        return await self._find(_ALIASES, _path(name, "aliases"))

    async def audit(self, name: str) -> list[AuditEntry] | None:
        return await self._find(_AUDIT, _path(name, "audit"))

    async def production(self, name: str, at: datetime | None = None) -> ModelVersionInfo | None:
        """The production version now, or at ``at`` (naive means UTC, as the registry reads it)."""
        params = None if at is None else {"at": at.isoformat()}
        return await self._find(_INFO, _path(name, "production"), params)

    async def models_with_production(self) -> list[tuple[ModelSummary, ModelVersionInfo | None]]:
        """Every model, with its production version's info where it has one."""
        listing = []
        for summary in await self.models():
            info = None
            if summary.production_version is not None:
                # None also when taken out of production since the listing.
                info = await self.production(summary.name)
            listing.append((summary, info))
        return listing

    async def production_models(self) -> list[ModelVersionInfo]:
        """The production version of every model that has one."""
        return [info for _, info in await self.models_with_production() if info is not None]

    async def promote(
        self,
        name: str,
        version: int,
        *,
        reason: str,
        actor: str | None = None,
        alias: AliasName = "production",
    ) -> ModelPromoted:
        # Built unchecked: the registry validates, and its 422 names the field at fault.
        body = PromoteRequest.model_construct(
            version=version, reason=reason, actor=actor, alias=alias
        )
        return _parse(_PROMOTED, await self._post(_path(name, "promote"), body))

    async def rollback(
        self, name: str, *, reason: str, to_version: int | None = None, actor: str | None = None
    ) -> ModelPromoted:
        body = RollbackRequest.model_construct(reason=reason, to_version=to_version, actor=actor)
        return _parse(_PROMOTED, await self._post(_path(name, "rollback"), body))

    async def _find(
        self, answer: TypeAdapter[T], path: str, params: dict[str, str] | None = None
    ) -> T | None:
        response = await self._get(path, params)
        return None if response.status_code == httpx.codes.NOT_FOUND else _parse(answer, response)

    async def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        request = self._http.build_request("GET", path, params=params)
        return await self._send(
            request, retry_on=(httpx.TransportError,), statuses=TRANSIENT_STATUS
        )

    async def _post(self, path: str, body: BaseModel) -> httpx.Response:
        request = self._http.build_request(
            "POST", path, json=body.model_dump(mode="json"), headers=self._auth
        )
        return await self._send(request, retry_on=_UNSENT, statuses=frozenset())

    async def _send(
        self,
        request: httpx.Request,
        *,
        retry_on: tuple[type[httpx.TransportError], ...],
        statuses: frozenset[int],
    ) -> httpx.Response:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff, max=2.0),
            retry=retry_if_exception_type(retry_on)
            | retry_if_result(lambda r: r.status_code in statuses),
            retry_error_callback=_last_outcome,
        )
        try:
            response: httpx.Response = await retrying(self._http.send, request)
        except _UNSENT as error:
            raise RegistryUnreachable(request, error) from error
        except httpx.TimeoutException as error:
            raise RegistryTimeout(request, f"no answer in time ({error})") from error
        except httpx.TransportError as error:
            raise RegistryUnreachable(request, error) from error
        return response


def _path(name: str, *rest: str) -> str:
    return "/".join(("/models", quote(name, safe=""), *rest))
