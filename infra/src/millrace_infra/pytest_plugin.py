"""pytest fixture `local_stack`; load with `pytest_plugins = ["millrace_infra.pytest_plugin"]`.

With MILLRACE_KAFKA_BOOTSTRAP and MILLRACE_S3_ENDPOINT set (CI, or `eval "$(millrace-stack
env)"`), tests use that stack (and its Zipkin from MILLRACE_ZIPKIN_URL, and the Kafka security settings MILLRACE_KAFKA_SECURITY_PROTOCOL etc.,
if set). Otherwise the session starts its own on free ports in a temporary home, secured
(SASL_SSL + ACLs: `local_stack.kafka_env(principal)`) unless MILLRACE_STACK_INSECURE=1, with
Zipkin unless MILLRACE_STACK_NO_ZIPKIN=1, as a local Kafka cluster with MILLRACE_STACK_BROKERS=3,
and always stops it at the end, also when tests or the start fail.

Before each test that uses it, the session's own stack is checked: a server that a previous
test (a fault test) left down is started again, and if that fails the session ends there, with
the reason, rather than every later test waiting out its timeouts on a broken stack.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from millrace_infra.config import ZIPKIN_VERSION, StackConfig, env_flag
from millrace_infra.errors import StackError
from millrace_infra.stack import mend, start, stop
from millrace_infra.state import StackInfo
from millrace_infra.zipkin import fetch_zipkin, is_fetched

_SESSION_STACK = pytest.StashKey[StackConfig]()
"""The config of the stack this session started (absent for a stack supplied by variables)."""


def _say(request: pytest.FixtureRequest, message: str) -> None:
    """Print past pytest's output capture: a first fetch takes a while."""
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
        zipkin=not env_flag(os.environ.get("MILLRACE_STACK_NO_ZIPKIN")),
        secure=not env_flag(os.environ.get("MILLRACE_STACK_INSECURE")),
        brokers=int(os.environ.get("MILLRACE_STACK_BROKERS") or 1),
    )
    if config.zipkin and not is_fetched(config.cache):
        _say(request, f"\nlocal_stack: fetching Zipkin {ZIPKIN_VERSION} (first run only)")
        began = time.monotonic()
        fetch_zipkin(config.cache)
        _say(request, f"local_stack: fetched Zipkin in {time.monotonic() - began:.0f} s")
    request.config.stash[_SESSION_STACK] = config
    try:
        yield start(config, timeout=90.0 * config.brokers)
    finally:
        stop(config)


@pytest.fixture(autouse=True)
def local_stack_mended(request: pytest.FixtureRequest) -> None:
    """The session's stack answers before a test that uses it (see the module's text)."""
    if "local_stack" not in request.fixturenames:
        return
    request.getfixturevalue("local_stack")
    config = request.config.stash.get(_SESSION_STACK, None)
    if config is None:  # a stack started elsewhere is not this session's to restart
        return
    try:
        restarted = mend(config)
    except StackError as error:
        pytest.exit(f"the session's stack is down and could not be started again: {error}", 1)
    if restarted:
        _say(request, f"\nlocal_stack: {', '.join(restarted)} did not answer: started again")
