"""Port blocks for local stacks: free, and outside the range outgoing connections take from."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from millrace_infra.components import Component
from millrace_infra.config import StackConfig
from millrace_infra.errors import StackError
from millrace_infra.ports import ephemeral_ports, pick_free_base
from millrace_infra.stack import _launch

LINUX = (32768, 60999)


def stack_ports(base: int) -> tuple[int, ...]:
    return StackConfig.from_base_port(base, home=Path("/unused"), brokers=3).all_ports()


def test_a_stack_block_lies_below_the_ephemeral_range_when_it_fits_there() -> None:
    for _ in range(50):
        ports = stack_ports(pick_free_base(stack_ports, ephemeral=LINUX))
        assert all(port < LINUX[0] for port in ports), ports
        assert min(ports) >= 10000


def test_a_block_goes_above_the_range_when_it_does_not_fit_below() -> None:
    ephemeral = (12000, 30000)
    for _ in range(50):
        ports = stack_ports(pick_free_base(stack_ports, ephemeral=ephemeral))
        assert all(port > ephemeral[1] and port < 65536 for port in ports), ports


def test_no_room_outside_the_range_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no room"):
        pick_free_base(stack_ports, ephemeral=(1024, 60000))


def test_the_ephemeral_range_is_read_from_the_kernel_setting(tmp_path: Path) -> None:
    setting = tmp_path / "ip_local_port_range"
    setting.write_text("40000\t50000\n")
    assert ephemeral_ports(setting) == (40000, 50000)
    assert ephemeral_ports(tmp_path / "missing") == LINUX


def held_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def component(tmp_path: Path, port: int) -> Component:
    return Component(
        name="s3",
        folder=tmp_path,
        pid_file=tmp_path / "s3.pid",
        logs=(),
        port=port,
        ports=(port,),
        launch=lambda: 4242,
        probe=lambda: True,
    )


def test_a_restart_waits_for_its_port_to_be_let_go(tmp_path: Path) -> None:
    sock = held_port()
    comp = component(tmp_path, sock.getsockname()[1])
    threading.Timer(0.5, sock.close).start()
    _launch(comp, port_wait=10)
    assert comp.pid_file.read_text() == "4242\n"


def test_a_port_still_held_after_the_wait_is_named(tmp_path: Path) -> None:
    with held_port() as sock:
        port = sock.getsockname()[1]
        with pytest.raises(StackError, match=f"port\\(s\\) \\[{port}\\] already in use"):
            _launch(component(tmp_path, port), port_wait=0.3)
    assert not (tmp_path / "s3.pid").exists()
