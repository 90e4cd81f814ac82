"""pytest fixture `local_stack`; load with `pytest_plugins = ["millrace_infra.pytest_plugin"]`.

With MILLRACE_KAFKA_BOOTSTRAP and MILLRACE_S3_ENDPOINT set (CI, or `eval "$(millrace-stack
env)"`), tests use that stack (and its Jaeger from MILLRACE_OTLP_ENDPOINT /
MILLRACE_JAEGER_URL, and the Kafka security settings MILLRACE_KAFKA_SECURITY_PROTOCOL etc.,
if set). Otherwise the session starts its own on free ports in a temporary home, secured
(SASL_SSL + ACLs: `local_stack.kafka_env(principal)`) unless MILLRACE_STACK_INSECURE=1, with
Jaeger unless MILLRACE_STACK_NO_JAEGER=1, as a local Kafka cluster with MILLRACE_STACK_BROKERS=3,
and always stops it at the end, also when tests or the start fail.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from millrace_infra.config import JAEGER_VERSION, StackConfig, env_flag
from millrace_infra.jaeger_build import build_jaeger, is_built, jaeger_binary
from millrace_infra.stack import start, stop
from millrace_infra.state import StackInfo


def _say(request: pytest.FixtureRequest, message: str) -> None:
    """Print past pytest's output capture: a first Jaeger build takes minutes."""
    capman = request.config.pluginmanager.getplugin("capturemanager")
    writer = request.config.get_terminal_writer()
    if capman is None:
        writer.line(message)
        return
    with capman.global_and_fixture_disabled():
        writer.line(message)


@pytest.fixture(scope="session")
def local_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackInfo]:
    external = StackInfo.from_env()
    if external is not None:
        yield external
        return
    config = StackConfig.with_free_ports(
        home=tmp_path_factory.mktemp("millrace-stack"),
        jaeger=not env_flag(os.environ.get("MILLRACE_STACK_NO_JAEGER")),
        secure=not env_flag(os.environ.get("MILLRACE_STACK_INSECURE")),
        brokers=int(os.environ.get("MILLRACE_STACK_BROKERS") or 1),
    )
    if config.jaeger and not is_built(config.cache):
        _say(request, f"\nlocal_stack: building Jaeger {JAEGER_VERSION} with Go (first run only)")
        began = time.monotonic()
        build_jaeger(config.cache)
        took = time.monotonic() - began
        _say(request, f"local_stack: built {jaeger_binary(config.cache)} in {took:.0f} s")
    try:
        yield start(config, timeout=90.0 * config.brokers)
    finally:
        stop(config)
