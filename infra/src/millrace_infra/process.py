"""Processes by pid: spawn one in its own session, tell whether it still runs and is
ours, say how it ended, stop process groups. ``launcher`` builds the servers on this."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

_POLL = 0.1


def spawn(argv: Sequence[str], *, log: Path, env: Mapping[str, str]) -> int:
    """Start argv in its own session, stdout+stderr appended to log; return its pid.

    posix_spawn rather than Popen: the server must outlive a CLI that exits at once, and a
    dropped Popen object warns "still running" (and later reaps the pid behind our back).
    setsid makes pid == process group id, so stop() reaches anything the server forks.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    pid = os.posix_spawn(argv[0], list(argv), dict(env), file_actions=actions, setsid=True)
    _exit_statuses.pop(pid, None)  # a recycled pid of a child reaped earlier
    return pid


_exit_statuses: dict[int, int] = {}
"""Wait statuses of our own children reaped by ``is_alive``, kept to say how they ended."""


def _is_our_child(pid: int) -> bool:
    try:
        return psutil.Process(pid).ppid() == os.getpid()
    except psutil.Error:
        return False


def is_alive(pid: int) -> bool:
    """True while pid runs. Reaps it first if it is our own dead child (else: a zombie that
    still exists for the OS, e.g. inside a pytest session).

    Our child whose main thread is a zombie but cannot be reaped yet is still alive: its
    other threads are ending, and until the last has, it holds its files and ports.
    """
    if pid in _exit_statuses or _reap(pid):
        return False
    try:
        zombie = psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.ZombieProcess:
        zombie = True
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
    if zombie:
        # it died between the two looks (record how, if it is ours), or is still exiting
        return not _reap(pid) and _is_our_child(pid)
    return True


def _reap(pid: int) -> bool:
    """Collect our dead child's wait status; False if it runs, or is not our child."""
    return _reap_within(pid, 0.0) is not None


_EXIT_WAIT = 10.0
"""How long ``how_it_ended`` waits for our child to become reapable."""


def _reap_within(pid: int, seconds: float) -> int | None:
    """Our child's wait status once it can be reaped, polled for up to seconds; None at
    once if pid is not our child, or after seconds if it still cannot be reaped."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            reaped, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if reaped == pid:
            _exit_statuses[pid] = status
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def how_it_ended(pid: int, *, wait: float = _EXIT_WAIT) -> str:
    """How our child ended ("exited with code 3", "killed by SIGKILL"): as ``is_alive``
    reaped it, or reaped here, waiting up to wait seconds.

    The wait is for a child caught mid-exit: its main thread is already a zombie (psutil
    says so, and its command line reads empty) while its other threads still exit, and
    until they have, waitpid has no status to give. On a busy machine that lasted long
    enough for a service that refused to start to be reported with no exit code.
    """
    status = _exit_statuses.get(pid)
    if status is None:
        status = _reap_within(pid, wait)
    if status is None:
        return (
            f"exit status unknown (still not reapable after {wait:g}s)"
            if _is_our_child(pid)
            else "exit status unknown (not reaped by this process)"
        )
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


_EXEC_GRACE_READS = 20
"""Reads of an empty command line before believing it (50 ms apart, one second at most)."""


def cmdline_contains(pid: int, needle: str) -> bool:
    """Guards against pid reuse: after a reboot the pid in a stale pid file may belong to
    any process.

    A process still inside execve shows an empty command line (posix_spawn can return before
    the new image's arguments are mapped); that is read again rather than taken for another
    process, which made a freshly spawned server look dead on a busy machine.
    """
    for _ in range(_EXEC_GRACE_READS):
        try:
            argv = psutil.Process(pid).cmdline()
        except psutil.Error:
            return False
        if argv:
            return needle in " ".join(argv)
        time.sleep(0.05)
    return False


def is_ours(pid: int, marker: str) -> bool:
    """Alive, and really ours: its command line contains marker (if one is given)."""
    return is_alive(pid) and (not marker or cmdline_contains(pid, marker))


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True


def terminate(pids: Sequence[int], timeout: float) -> None:
    """SIGTERM each process group (Kafka then shuts down cleanly), SIGKILL what is left
    after timeout. All at once, so stopping a stack takes the slowest server's time."""
    for sig, grace in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
        deadline = time.monotonic() + grace
        pids = [pid for pid in pids if not wait_exit(pid, deadline - time.monotonic())]
        if not pids:
            return
