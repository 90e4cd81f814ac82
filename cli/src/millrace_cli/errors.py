"""Exit codes scripts can rely on, and the one error type commands raise to use them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of ``millrace``; documented in the top-level ``--help``."""

    OK = 0
    FAILURE = 1
    """The operation failed: refused by a service, not found, invalid input file."""
    DATASET_REJECTED = 2
    """``publish --wait``: ingestion rejected the file."""
    MODEL_REJECTED = 3
    """``publish --wait``: the registry did not promote the trained model."""
    TIMEOUT = 4
    """Waited longer than ``--timeout`` (a flow, a declaration, readiness)."""
    UNREACHABLE = 5
    """Kafka, S3 or a service is not reachable (not running, or a wrong endpoint)."""
    USAGE = 64
    """Bad command line (unknown option, missing argument); sysexits' EX_USAGE."""
    INTERRUPTED = 130
    """Stopped with Ctrl-C while waiting (``events tail`` exits 0 on Ctrl-C instead)."""


EXIT_CODES_HELP = "\n".join(
    f"{code.value:>3}  {text}"
    for code, text in (
        (ExitCode.OK, "success (publish --wait: the model was promoted)"),
        (ExitCode.FAILURE, "failure: refused, not found, invalid input"),
        (ExitCode.DATASET_REJECTED, "publish --wait: the dataset was rejected"),
        (ExitCode.MODEL_REJECTED, "publish --wait: the model was not promoted"),
        (ExitCode.TIMEOUT, "timed out waiting"),
        (ExitCode.UNREACHABLE, "Kafka, S3 or a service is not reachable"),
        (ExitCode.USAGE, "bad command line"),
        (ExitCode.INTERRUPTED, "interrupted (Ctrl-C)"),
    )
)


class CliError(Exception):
    """A failure to report as one clear message (no traceback) and a given exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def unreachable(what: str, where: str, hint: str) -> CliError:
    """E.g. "Kafka is not reachable at 127.0.0.1:19092 — run `millrace up`"."""
    return CliError(f"{what} is not reachable at {where} — {hint}", ExitCode.UNREACHABLE)
