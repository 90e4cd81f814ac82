"""Shared pytest setup: the local-stack fixture (`local_stack`) from millrace-infra."""

import uuid

import pytest

pytest_plugins = ["millrace_infra.pytest_plugin"]


@pytest.fixture
def unique() -> str:
    """A fresh lower-case name, so tests sharing topics never see each other's records."""
    return f"t{uuid.uuid4().hex[:12]}"
