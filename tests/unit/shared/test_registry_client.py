"""The registry client against a mock transport: parsing, 404s, auth, retries, timeouts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from millrace_shared.registry.client import (
    RegistryBadAnswer,
    RegistryClient,
    RegistryRefused,
    RegistryTimeout,
    RegistryUnreachable,
)
from millrace_shared.registry.models import ModelSummary

Handler = Callable[[httpx.Request], httpx.Response]
LISTING = [{"name": "iris", "production_version": None, "latest_version": 1}]


def client(
    handle: Handler, *, token: str | None = None, timeout: float = 5.0, attempts: int = 3
) -> RegistryClient:
    return RegistryClient(
        "http://registry",
        timeout=timeout,
        token=token,
        attempts=attempts,
        backoff=0,
        transport=httpx.MockTransport(handle),
    )


def flaky(*failures: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """Fails as given, in order, then lists one model; records every request."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) <= len(failures):
            failure = failures[len(seen) - 1]
            if isinstance(failure, Exception):
                raise failure
            return failure
        return httpx.Response(200, json=LISTING)

    return handle, seen


async def test_a_listing_is_parsed_into_the_registry_s_own_models() -> None:
    handle, _ = flaky()
    async with client(handle) as registry:
        assert await registry.models() == [ModelSummary.model_validate(LISTING[0])]


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_a_read_is_retried_after_a_transient_status(status: int) -> None:
    handle, seen = flaky(httpx.Response(status), httpx.Response(status))
    async with client(handle) as registry:
        assert [m.name for m in await registry.models()] == ["iris"]
    assert len(seen) == 3


async def test_a_read_is_retried_after_a_timeout_or_a_refused_connection() -> None:
    handle, seen = flaky(httpx.ReadTimeout("slow"), httpx.ConnectError("refused"))
    async with client(handle) as registry:
        assert len(await registry.models()) == 1
    assert len(seen) == 3


async def test_out_of_attempts_the_last_failure_is_typed() -> None:
    handle, _ = flaky(*[httpx.Response(503, json={"detail": "busy"})] * 3)
    async with client(handle) as registry:
        with pytest.raises(RegistryRefused) as refused:
            await registry.models()
    assert refused.value.response.status_code == 503
    handle, _ = flaky(*[httpx.ConnectError("refused")] * 3)
    async with client(handle) as registry:
        with pytest.raises(RegistryUnreachable):
            await registry.models()
    handle, seen = flaky(*[httpx.ReadTimeout("slow")] * 2)
    async with client(handle, attempts=2) as registry:
        with pytest.raises(RegistryTimeout):
            await registry.models()
    assert len(seen) == 2


async def test_a_404_reads_as_none() -> None:
    handle, _ = flaky(*[httpx.Response(404, json={"detail": "unknown model 'x'"})] * 4)
    async with client(handle) as registry:
        assert await registry.model("x") is None
        assert await registry.version("x", 1) is None
        assert await registry.aliases("x") is None
        assert await registry.production("x") is None


async def test_an_answer_of_the_wrong_shape_is_an_error() -> None:
    handle, _ = flaky(httpx.Response(200, json=[{"name": "iris"}]))
    async with client(handle) as registry:
        with pytest.raises(RegistryBadAnswer):
            await registry.models()


async def test_production_at_a_time_sends_it() -> None:
    handle, seen = flaky(httpx.Response(404))
    async with client(handle) as registry:
        assert await registry.production("my model", datetime(2026, 11, 26, tzinfo=UTC)) is None
    assert (
        seen[0].url.raw_path
        == b"/models/my%20model/production?at=2026-11-26T00%3A00%3A00%2B00%3A00"
    )


async def test_promote_sends_the_token_and_is_repeated_after_a_503() -> None:
    handle, seen = flaky(*[httpx.Response(503, json={"detail": "down"})] * 3)
    async with client(handle, token="t0ken") as registry:
        with pytest.raises(RegistryRefused):
            await registry.promote("iris", 2, reason="better", actor="ann", alias="production")
    assert len(seen) == 3, "safe to repeat: the registry knows the Idempotency-Key"
    assert seen[0].headers["Authorization"] == "Bearer t0ken"
    assert json.loads(seen[0].content) == {
        "version": 2,
        "reason": "better",
        "actor": "ann",
        "alias": "production",
    }


async def test_a_write_is_retried_with_one_idempotency_key() -> None:
    """The registry answers a repeated key with the move it recorded: retrying a write that
    may have been applied (a timeout, a 500) cannot move the alias twice."""
    handle, seen = flaky(
        httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(500)
    )
    async with client(handle, token="t") as registry:
        with pytest.raises(RegistryRefused):
            await registry.rollback("iris", reason="bad", to_version=1)
    assert len(seen) == 3
    assert json.loads(seen[1].content) == {"reason": "bad", "to_version": 1, "actor": None}
    keys = {request.headers["Idempotency-Key"] for request in seen}
    assert len(keys) == 1 and "" not in keys
    handle, again = flaky(
        httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"), *[httpx.ReadTimeout("x")]
    )
    async with client(handle, token="t") as registry:
        with pytest.raises(RegistryTimeout):
            await registry.rollback("iris", reason="bad")
    assert again[0].headers["Idempotency-Key"] not in keys, "a new write gets a new key"


async def test_every_request_carries_the_timeout() -> None:
    handle, seen = flaky()
    async with client(handle, timeout=2.5) as registry:
        await registry.models()
    assert seen[0].extensions["timeout"] == httpx.Timeout(2.5).as_dict()
