"""What every benchmark gets: sizes for the mode, the work folder, the shared stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .harness import Stack
from .results import Results


@dataclass(frozen=True)
class Sizes:
    """The full run's sizes by default; ``QUICK`` shrinks them for the CI smoke run."""

    rounds: int = 5
    peak_seconds: float = 5
    open_seconds: float = 8
    single_count: int = 1000
    batch_requests: int = 30
    monitoring_logs: int = 200_000
    """#5's logs in the one-log-per-message shape."""
    monitoring_logs_batched: int = 200_000
    """#5/500's logs (500 per message): enough messages for several fetches and polls."""
    drift_windows_far: int = 200
    freshness_rows: int = 100_000
    serving_train_rows: int = 20_000


FULL = Sizes()
QUICK = Sizes(
    rounds=1,
    peak_seconds=1,
    open_seconds=1,
    single_count=50,
    batch_requests=3,
    # Enough that the first poll of monitoring's counter does not already see them all
    # (a rate needs two points): 20k one-log messages, and 100 messages of 500 logs (~22 MB,
    # a few fetches of 1 MB per partition); 5,000 of them were 10 messages, one batch.
    monitoring_logs=20_000,
    monitoring_logs_batched=50_000,
    drift_windows_far=3,
    freshness_rows=1_000,
    serving_train_rows=1_000,
)
"""Every path once, at sizes that only prove it runs and answers right (CI: one run of
``--only 2,4,5,7,8,9`` in ``tests/unit/bench``)."""


@dataclass
class Context:
    work: Path
    sizes: Sizes
    quick: bool
    results: Results
    skip_baselines: bool = False
    """Quick mode in CI: run Millrace's side, skip baselines whose environment is missing."""
    profile: bool = True
    """Take a py-spy profile where a goal is missed (full mode only)."""
    zipkin: bool = True
    """Whether the stack runs Zipkin (the benchmarks that trace export their spans to it)."""
    _stack: Stack | None = field(default=None, repr=False)

    @property
    def logs(self) -> Path:
        path = self.work / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stack(self) -> Stack:
        """One local stack (Kafka, S3, Zipkin) for the whole run, started on first use."""
        if self._stack is None:
            self._stack = Stack(self.work / "stack", zipkin=self.zipkin).start()
        return self._stack

    def close(self) -> None:
        if self._stack is not None:
            self._stack.stop()
            self._stack = None
