"""Shared pytest setup: the local stack (`local_stack`) from millrace-infra, unique names, a store."""

import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.settings import MillraceSettings

pytest_plugins = ["millrace_infra.pytest_plugin"]

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
