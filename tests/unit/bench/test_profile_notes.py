"""The notes a missed row carries from its py-spy profile (no stack: a made-up profile)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench import profiler  # noqa: E402
from bench.b_monitoring import _OWN, profile_note, work_shares  # noqa: E402

WORKER = 'process 1:"python -m millrace_monitoring";thread (0x1);_worker (concurrent/futures/thread.py:9)'
MAIN = 'process 1:"python -m millrace_monitoring";thread (0x2);main (millrace_monitoring/__main__.py:3)'
# py-spy's raw (collapsed) format: frames with line numbers, then the sample count; 100 in all.
STACKS = f"""\
{WORKER};_decode (millrace_monitoring/handlers.py:150);decode_batch (millrace_monitoring/core/decoding.py:50);BaseModel.model_validate_json (pydantic/main.py:700) 20
{WORKER};_decode (millrace_monitoring/handlers.py:155);chunk_of (millrace_monitoring/archive.py:140) 5
{WORKER};Checkpointer._write (millrace_monitoring/checkpoints.py:260);PredictionArchive.flush (millrace_monitoring/archive.py:300);table_of (millrace_monitoring/archive.py:110) 28
{WORKER};Checkpointer._write (millrace_monitoring/checkpoints.py:270);CheckpointStore.save (millrace_monitoring/checkpoints.py:70) 5
{WORKER};_observe (millrace_monitoring/handlers.py:170);Monitor._window (millrace_monitoring/core/monitor.py:200);judge_window (millrace_monitoring/core/checks.py:40) 15
{MAIN};Runner.run (asyncio/runners.py:118);AIOKafkaConsumer.getmany (aiokafka/consumer/consumer.py:1200) 10
{MAIN};Runner.run (asyncio/runners.py:118);Span.end (opentelemetry/sdk/trace/__init__.py:900) 5
{MAIN};Runner.run (asyncio/runners.py:118) 12
"""


def _profile(text: str = STACKS) -> dict[str, object]:
    return profiler.summarise(text)


def test_monitoring_work_shares_add_up_without_overlap() -> None:
    shares = {what: p for what, p, _ in work_shares(_profile())}
    assert shares == {
        "the prediction archive's Parquet writes to S3": 28.0,
        "decoding with pydantic validation and dead-letter checks": 25.0,
        "windowed drift checks": 15.0,
        "checkpoint state writes to S3": 5.0,  # Checkpointer._write less the archive flush
    }
    assert next(iter(shares)).startswith("the prediction archive")  # largest first


def test_monitoring_note_says_all_threads_and_gives_a_reason_from_the_profile() -> None:
    note = profile_note(_profile())
    assert "100 samples" in note and "ALL threads' samples" in note and "one core" in note
    summary, reason = note.split(". Why: ")
    # Monitoring's own work first, largest first, with its parts.
    assert summary.index("Parquet writes to S3 28.0%") < summary.index("pydantic validation")
    assert "model_validate_json 20.0%" in summary and "judge_window 15.0%" in summary
    assert "Kafka fetch (aiokafka getmany) 10.0%" in summary
    # The reason is the same numbers, not a fixed claim.
    assert reason.startswith("per log, Millrace does work the raw floor")
    assert "hold 73.0% of the samples, against 10.0% in the Kafka fetch" in reason
    assert (
        reason.index("Parquet writes") < reason.index("drift checks") < reason.index("checkpoint")
    )


def test_tracing_note_gives_tracing_code_own_time_in_both_runs() -> None:
    untraced = _profile(
        STACKS.replace("Span.end (opentelemetry/sdk/trace/__init__.py:900)", "x (y.py:1)")
    )
    note = profile_note(_profile(), untraced, tracing=True)
    assert "own time is 5.0% of the traced run's samples and 0.0% of the untraced run's" in note


def test_missing_profile_is_said() -> None:
    assert profile_note(None) == profiler.MISSING
    assert profiler.note(None, None) == profiler.MISSING


def test_own_frames_come_before_libraries() -> None:
    frames = profiler.focus_frames(_profile(), 20, first=_OWN)
    own = [bool(_OWN.search(n)) for n, _ in frames]
    assert own == sorted(own, reverse=True) and any(own) and not all(own)
    assert not any(n.startswith("main (") for n, _ in frames)  # entry frames say nothing
    assert profiler.note(_profile(), None).startswith("py-spy under load")
