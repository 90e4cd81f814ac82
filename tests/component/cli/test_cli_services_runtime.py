"""Services as detached processes: launched, waited for, found again, stopped.

A stand-in service (a tiny HTTP server as ``python -m millrace_standin``) plays the part, so
the process machinery is exercised for real without starting the platform's services.
"""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path

import pytest
from millrace_cli import services_runtime as runtime
from millrace_cli.catalog import ServiceSpec
from millrace_cli.errors import CliError, ExitCode
from millrace_cli.lifecycle import stop_services
from millrace_cli.services_runtime import ServicesFile
from millrace_infra.ports import free_port, port_is_free

STANDIN = """\
import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

if os.environ.get("STANDIN_CRASH"):
    print("standin: cannot start", flush=True)
    sys.exit(3)

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health/ready" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass

print("standin: serving", flush=True)
HTTPServer(("127.0.0.1", int(os.environ["MILLRACE_HTTP_PORT"])), Handler).serve_forever()
"""


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ServiceSpec:
    package = tmp_path / "pkgs" / "millrace_standin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(textwrap.dedent(STANDIN))
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    return ServiceSpec("standin", 0)


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(tmp_path / "pkgs"), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}


def test_launch_wait_find_and_stop(standin: ServiceSpec, tmp_path: Path) -> None:
    assert standin.installed()
    home = tmp_path / "home"
    services = ServicesFile(home)
    port = free_port()
    record = runtime.launch(standin, port, env(tmp_path), services.log_dir)
    try:
        took = asyncio.run(runtime.wait_ready(record, standin.ready_path, within=30))
        assert took >= 0
        assert record.running()
        services.write({"standin": record})
        assert ServicesFile(home).read()["standin"] == record
        log = Path(record.log).read_text()
        assert f"standin on port {port}" in log
        assert "standin: serving" in log
    finally:
        stopped = stop_services(home)
    assert stopped == ["standin"]
    assert not record.running()
    assert port_is_free(port)
    assert ServicesFile(home).read() == {}


def test_a_service_that_dies_fails_fast_with_its_log(standin: ServiceSpec, tmp_path: Path) -> None:
    record = runtime.launch(
        standin, free_port(), env(tmp_path, STANDIN_CRASH="1"), tmp_path / "logs"
    )
    with pytest.raises(CliError) as raised:
        asyncio.run(runtime.wait_ready(record, standin.ready_path, within=30))
    assert raised.value.code == ExitCode.FAILURE
    assert "standin exited before it was ready" in raised.value.message
    assert "standin: cannot start" in raised.value.message


def test_a_service_that_never_gets_ready_times_out(standin: ServiceSpec, tmp_path: Path) -> None:
    slow = ServiceSpec("standin", 0, ready_path="/never")
    record = runtime.launch(slow, free_port(), env(tmp_path), tmp_path / "logs")
    try:
        with pytest.raises(CliError) as raised:
            asyncio.run(runtime.wait_ready(record, slow.ready_path, within=1.5))
        assert raised.value.code == ExitCode.TIMEOUT
    finally:
        runtime.stop({"standin": record})
    assert not record.running()


def test_a_package_that_is_not_installed_is_noticed() -> None:
    assert not ServiceSpec("no_such_service_here", 0).installed()
