"""How a server that died is reported: its exit code or signal, not just "not running"."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from millrace_infra.process import how_it_ended, is_alive, spawn, wait_exit


def _spawn_shell(script: str, log: Path) -> int:
    shell = shutil.which("sh")
    assert shell is not None
    return spawn([shell, "-c", script], log=log, env=os.environ)


def test_an_exit_code_is_reported_with_the_output_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    pid = _spawn_shell("echo 'bind: address already in use' >&2; exit 3", log)
    assert wait_exit(pid, timeout=10)
    assert not is_alive(pid)
    assert how_it_ended(pid) == "exited with code 3"
    assert "address already in use" in log.read_text()


def test_a_signal_is_reported(tmp_path: Path) -> None:
    pid = _spawn_shell("exec sleep 30", tmp_path / "server.log")
    assert is_alive(pid)
    os.kill(pid, signal.SIGKILL)
    assert wait_exit(pid, timeout=10)
    assert how_it_ended(pid) == "killed by SIGKILL"


def test_a_child_that_died_unseen_is_reaped_when_asked_how_it_ended(tmp_path: Path) -> None:
    # A look that saw it alive, then its death: nothing reaped it before the question.
    import psutil

    pid = _spawn_shell("exit 4", tmp_path / "server.log")
    deadline = time.monotonic() + 10
    while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    assert how_it_ended(pid) == "exited with code 4"
    assert not is_alive(pid)


_SYS_EXIT = {"x86_64": 60, "aarch64": 93}
"""exit(2), which ends the calling thread only (exit_group(2) ends them all)."""


@pytest.mark.skipif(platform.machine() not in _SYS_EXIT, reason="exit(2)'s number is not known")
def test_a_child_whose_main_thread_ended_first_is_alive_until_its_last_thread_ends(
    tmp_path: Path,
) -> None:
    # Its main thread is a zombie while another thread still runs, as with a service caught
    # mid-exit: waitpid has no status yet, and the process still holds its files and ports.
    import psutil

    release = tmp_path / "release"
    script = (
        "import ctypes, os, pathlib, threading, time\n"
        "def last():\n"
        f"    while not pathlib.Path({str(release)!r}).exists():\n"
        "        time.sleep(0.02)\n"
        "    os._exit(5)\n"
        "threading.Thread(target=last).start()\n"
        f"ctypes.CDLL(None).syscall({_SYS_EXIT[platform.machine()]}, 0)\n"
    )
    pid = spawn([sys.executable, "-c", script], log=tmp_path / "server.log", env=os.environ)
    try:
        deadline = time.monotonic() + 10
        while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the main thread did not end"
            time.sleep(0.01)
        assert is_alive(pid)
        release.touch()
        assert how_it_ended(pid) == "exited with code 5"  # waits for the last thread
        assert not is_alive(pid)
    finally:
        release.touch()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_child_that_is_still_running_is_said_so_after_the_wait(tmp_path: Path) -> None:
    pid = _spawn_shell("exec sleep 30", tmp_path / "server.log")
    try:
        assert how_it_ended(pid, wait=0.3) == "exit status unknown (still not reapable after 0.3s)"
    finally:
        os.kill(pid, signal.SIGKILL)
        wait_exit(pid, timeout=10)


def test_a_process_that_is_not_ours_is_said_so() -> None:
    assert "unknown" in how_it_ended(1)


def test_a_server_just_spawned_is_recognised_by_its_command_line(tmp_path: Path) -> None:
    # Right after posix_spawn, /proc/<pid>/cmdline can still be empty (the child is inside
    # execve); here that happened in about 4 of 10 spawns, and made servers look dead.
    from millrace_infra.process import cmdline_contains

    marker = str(tmp_path / "marker-folder")
    for _ in range(30):
        pid = spawn(
            [sys.executable, "-c", "import time; time.sleep(30)", marker],
            log=tmp_path / "server.log",
            env=os.environ,
        )
        try:
            assert cmdline_contains(pid, marker)
        finally:
            os.kill(pid, signal.SIGKILL)
            wait_exit(pid, timeout=10)


def test_a_launched_server_is_measured_killed_and_reported(tmp_path: Path) -> None:
    from millrace_infra.launcher import launch

    # CPU time, not wall time: on a loaded machine a wall-clock spin may get little CPU.
    busy = "import time\nwhile time.process_time() < 0.3: pass\ntime.sleep(60)"
    process = launch(
        "busy", [sys.executable, "-c", busy], port=0, log=tmp_path / "busy.log", env=os.environ
    )
    assert process.running()
    deadline = time.monotonic() + 60
    while process.cpu_seconds() <= 0.25 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.cpu_seconds() > 0.25
    # Measured once it spins: right after the spawn it may still be inside execve, a few kB.
    assert process.rss_mb() > 1
    process.kill()
    assert not process.running()
    assert how_it_ended(process.pid) == "killed by SIGKILL"
    assert process.rss_mb() == 0
    assert "===== busy on port 0" in process.log_tail()
