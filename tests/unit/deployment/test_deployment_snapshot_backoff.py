"""The wait between asks for the start-up snapshot: doubling, capped."""

from __future__ import annotations

from itertools import islice

import pytest
from millrace_deployment.lifecycle import backoff
from millrace_deployment.settings import DeploymentSettings
from pydantic import ValidationError


def test_the_wait_doubles_up_to_the_cap() -> None:
    assert list(islice(backoff(0.5, 30.0), 9)) == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_a_first_wait_above_the_cap_is_the_cap() -> None:
    assert list(islice(backoff(5.0, 2.0), 2)) == [2.0, 2.0]


def test_the_retry_settings_have_defaults_and_must_be_positive() -> None:
    settings = DeploymentSettings()
    assert (settings.registry_retry_initial_seconds, settings.registry_retry_max_seconds) == (
        0.5,
        30.0,
    )
    with pytest.raises(ValidationError):
        DeploymentSettings(MILLRACE_DEPLOYMENT_REGISTRY_RETRY_MAX_SECONDS=0)
