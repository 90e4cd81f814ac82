"""The application-team examples work against the real broker, as their READMEs say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from millrace_contracts import ModelPromoted
from millrace_shared.messaging import KafkaEventSink, make_broker
from millrace_shared.settings import MillraceSettings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "contracts/samples/model.promoted/1.0.json"


@pytest.fixture
async def promoted(
    stack_settings_as: Callable[..., MillraceSettings], unique: str
) -> ModelPromoted:
    sample = json.loads(SAMPLE.read_text())
    sample["model"]["model_name"] = unique
    event = ModelPromoted.model_validate(sample)
    broker, _ = make_broker(stack_settings_as("registry", service_name="registry"))
    await broker.start()
    try:
        await KafkaEventSink(broker).publish(event)
    finally:
        await broker.stop()
    return event


@pytest.mark.parametrize(
    ("script", "extra"),
    [
        ("examples/subscribe-with-contracts/subscriber.py", []),
        (
            "examples/subscribe-plain-kafka/subscriber.py",
            ["--schema", "contracts/schemas/millrace.model.promoted.v1.json"],
        ),
    ],
)
def test_example_subscriber_prints_the_promotion(
    local_stack: Any, promoted: ModelPromoted, script: str, extra: list[str]
) -> None:
    # As an application team, with the settings from the environment as the README says.
    kafka = local_stack.kafka_env("application-teams")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MILLRACE_")}
    result = subprocess.run(
        [
            sys.executable,
            script,
            "--from-beginning",
            "--count",
            "1",
            "--model",
            promoted.model.model_name,
            *extra,
        ],
        cwd=ROOT,
        env=clean | kafka,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"{promoted.model.model_name} v{promoted.model.version} is production" in result.stdout
