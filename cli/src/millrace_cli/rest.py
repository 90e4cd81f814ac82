"""Calls to the services' REST APIs, with their refusals turned into clear errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from millrace_shared.registry.client import (
    RegistryBadAnswer,
    RegistryClient,
    RegistryRefused,
    RegistryTimeout,
    RegistryUnreachable,
)

from .endpoints import Endpoints
from .errors import CliError, ExitCode

T = TypeVar("T")


def _problem(item: Any) -> str:
    """One entry of a ``detail`` list: FastAPI's {loc, msg} or a service's {field, code, message}."""
    if not isinstance(item, dict):
        return str(item)
    if "msg" in item:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        return f"{where}: {item['msg']}" if where else str(item["msg"])
    row = f"row {item['row']}: " if "row" in item else ""
    field = f"{item['field']}: " if item.get("field") else ""
    code = f" ({item['code']})" if item.get("code") else ""
    message = item.get("message") or ", ".join(f"{k}={v}" for k, v in item.items())
    return f"{row}{field}{message}{code}"


def detail_of(response: httpx.Response) -> str:
    """FastAPI's ``{"detail": ...}`` in words (one line per problem), else the body's start."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):
        return "".join(f"\n  - {_problem(d)}" for d in detail)
    if detail is not None:
        return str(detail)
    return response.text[:500] or response.reason_phrase


class ServiceClient:
    """One service's REST API: JSON in and out; not reachable / refused as CliError."""

    def __init__(self, endpoints: Endpoints, service: str, *, timeout: float = 15.0) -> None:
        self.endpoints = endpoints
        self.service = service
        self.base_url = endpoints.url(service)
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout)

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def get(self, path: str, **params: Any) -> Any:
        return self._json(self._send("GET", path, params=params or None))

    def get_or_none(self, path: str, **params: Any) -> Any:
        """Like get, but None on 404."""
        response = self._send("GET", path, params=params or None)
        return None if response.status_code == 404 else self._json(response)

    def post(self, path: str, body: Any) -> Any:
        return self._json(self._send("POST", path, json=body))

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise self.endpoints.unreachable(self.service) from error
        except httpx.TimeoutException as error:
            raise late(self.service, method, path) from error

    def _json(self, response: httpx.Response) -> Any:
        if response.is_error:
            raise refusal(self.service, response)
        try:
            return response.json()
        except ValueError as error:
            raise CliError(f"{self.service} answered something that is not JSON") from error


def late(service: str, method: str, path: str) -> CliError:
    return CliError(
        f"the {service} service did not answer {method} {path} in time", ExitCode.TIMEOUT
    )


def refusal(service: str, response: httpx.Response) -> CliError:
    if response.status_code == 401:
        return CliError(
            f"the {service} service refused the token: {detail_of(response)} "
            "(set MILLRACE_REGISTRY_TOKEN to your own token; an operator makes one with "
            "`millrace registry token NAME`)"
        )
    return CliError(
        f"{service}: {response.request.method} {response.request.url.path} -> "
        f"{response.status_code}: {detail_of(response)}"
    )


@asynccontextmanager
async def registry_client(
    endpoints: Endpoints, *, request_timeout: float = 15.0, token: str | None = None
) -> AsyncIterator[RegistryClient]:
    """The shared registry client, its failures told as ServiceClient tells them."""
    try:
        async with RegistryClient(
            endpoints.url("registry"), timeout=request_timeout, token=token
        ) as registry:
            yield registry
    except RegistryUnreachable as error:
        raise endpoints.unreachable("registry") from error
    except RegistryTimeout as error:
        raise late("registry", error.request.method, error.request.url.path) from error
    except RegistryRefused as error:
        raise refusal("registry", error.response) from error
    except RegistryBadAnswer as error:
        raise CliError(f"the registry answered something unexpected: {error}") from error


def on_registry(
    endpoints: Endpoints, ask: Callable[[RegistryClient], Awaitable[T]], *, token: str | None = None
) -> T:
    """One conversation with the registry from the CLI's synchronous commands."""

    async def conversation() -> T:
        async with registry_client(endpoints, token=token) as registry:
            return await ask(registry)

    return asyncio.run(conversation())
