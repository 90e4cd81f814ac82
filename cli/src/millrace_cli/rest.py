"""Calls to the services' REST APIs, with their refusals turned into clear errors."""

from __future__ import annotations

from typing import Any

import httpx

from .endpoints import Endpoints
from .errors import CliError, ExitCode


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

    def post(self, path: str, body: Any, *, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return self._json(self._send("POST", path, json=body, headers=headers))

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise self.endpoints.unreachable(self.service) from error
        except httpx.TimeoutException as error:
            raise CliError(
                f"the {self.service} service did not answer {method} {path} in time",
                ExitCode.TIMEOUT,
            ) from error

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code == 401:
            raise CliError(
                f"the {self.service} service refused the token: {detail_of(response)} "
                "(set MILLRACE_REGISTRY_TOKEN)"
            )
        if response.is_error:
            raise CliError(
                f"{self.service}: {response.request.method} {response.request.url.path} -> "
                f"{response.status_code}: {detail_of(response)}"
            )
        try:
            return response.json()
        except ValueError as error:
            raise CliError(f"{self.service} answered something that is not JSON") from error
