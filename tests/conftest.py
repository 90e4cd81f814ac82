"""Shared pytest setup: the local stack (`local_stack`) from millrace-infra, unique names, a store."""

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from millrace_infra import StackConfig, start, stop
from millrace_infra.state import StackInfo
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.settings import MillraceSettings

# millrace_browser (tests/millrace_browser.py): `browser`, `browser_page`, `screenshot`.
pytest_plugins = ["millrace_infra.pytest_plugin", "millrace_browser"]

# Settings default to prod; every tier runs on the local stack (or fakes) with its dev
# credentials, so say so once here. Tests of the prod default remove it themselves.
os.environ.setdefault("MILLRACE_ENVIRONMENT", "dev")

# Property tests (Hypothesis, and schemathesis which runs on it). `ci`, the default, keeps them
# to seconds and writes no example database; `HYPOTHESIS_PROFILE=long` is the habit's long
# form (thousands of examples, failures kept in .hypothesis/ and replayed first next time).
# No deadline: on a shared 2-core machine one slow example is noise, not a finding.
_SLOW_INPUTS = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci", max_examples=50, deadline=None, database=None, suppress_health_check=_SLOW_INPUTS
)
settings.register_profile(
    "dev", max_examples=300, deadline=None, suppress_health_check=_SLOW_INPUTS
)
settings.register_profile(
    "long", max_examples=3000, deadline=None, suppress_health_check=_SLOW_INPUTS
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def unique() -> str:
    """A fresh lower-case name, so tests sharing topics never see each other's records."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(settings: MillraceSettings) -> InMemoryObjectStore:
    """An in-memory object store with the buckets of the test's service ``settings``."""
    store = InMemoryObjectStore()
    store.ensure_buckets(settings.buckets)
    return store


def settings_as(local_stack: Any, principal: str, **overrides: Any) -> MillraceSettings:
    """Settings for a client of the session's stack acting as `principal` (``admin``, a
    service name, ``data-teams``...): its Kafka credentials, the stack's S3."""
    env = local_stack.client_env(principal)
    fields = {k.removeprefix("MILLRACE_").lower(): v for k, v in env.items()}
    return MillraceSettings.model_validate(fields | overrides)


@pytest.fixture(scope="session")
def stack_settings_as(local_stack: Any) -> Callable[..., MillraceSettings]:
    """``stack_settings_as("data-teams", service_name=...)``: see settings_as."""

    def make(principal: str, **overrides: Any) -> MillraceSettings:
        return settings_as(local_stack, principal, **overrides)

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the tests marked ``cluster`` last, together: the session's cluster (three JVMs)
    then starts once, late, instead of running beside the rest of the suite."""
    items.sort(key=lambda item: item.get_closest_marker("cluster") is not None)


@pytest.fixture(scope="session")
def cluster_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[StackConfig, StackInfo]]:
    """A local 3-broker KRaft cluster (``millrace-stack up --brokers 3``) of its own on free
    ports, secured like the session's stack, without Jaeger: three JVMs, so it starts once per
    session for every test that asks (tests marked ``cluster``), and stops even on failure.
    Tests that kill a broker start it again before they end."""
    config = StackConfig.with_free_ports(
        home=tmp_path_factory.mktemp("cluster-stack"), zipkin=False, secure=True, brokers=3
    )
    try:
        info = start(config, timeout=180.0)
        yield config, info
    finally:
        stop(config)
