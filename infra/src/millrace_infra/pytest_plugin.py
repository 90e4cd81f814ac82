"""pytest fixture `local_stack`; load with `pytest_plugins = ["millrace_infra.pytest_plugin"]`.

With MILLRACE_KAFKA_BOOTSTRAP and MILLRACE_S3_ENDPOINT set (CI, or `eval "$(millrace-stack
env)"`), tests use that stack. Otherwise the session starts its own on free ports in a
temporary home, and always stops it at the end, also when tests or the start fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from millrace_infra.config import StackConfig
from millrace_infra.stack import start, stop
from millrace_infra.state import StackInfo


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    external = StackInfo.from_env()
    if external is not None:
        yield external
        return
    config = StackConfig.with_free_ports(home=tmp_path_factory.mktemp("millrace-stack"))
    try:
        yield start(config)
    finally:
        stop(config)
