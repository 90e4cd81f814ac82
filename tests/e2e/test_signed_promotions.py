"""Only the registry puts a model into production (ADR 0007): forged, unsigned and replayed
promotions published by a client with write rights on model.promoted are not served."""

from __future__ import annotations

import uuid

import httpx
import pytest
from millrace_contracts import DeploymentFailed, ModelDeployed, ModelPromoted

from .flows import Flow, classification_frame
from .test_data_to_model import declaration, shifted_concept

pytestmark = pytest.mark.e2e


async def served_version(flow: Flow) -> int | None:
    async with httpx.AsyncClient(timeout=5) as client:
        models = (await client.get(f"{flow.platform['deployment'].url}/models")).json()
    return next((m["version"] for m in models if m["name"] == flow.dataset), None)


async def promoted_and_served(flow: Flow, promoted: object) -> ModelPromoted:
    assert isinstance(promoted, ModelPromoted), promoted
    assert promoted.signature is not None and promoted.sequence is not None
    await flow.watcher.wait_for(
        ModelDeployed,
        lambda e: (
            e.model_name == flow.dataset
            and e.version == promoted.model.version
            and e.replica_id == "deployment"
        ),
        within=flow.within,
    )
    return promoted


async def refusal(flow: Flow, sent: ModelPromoted) -> DeploymentFailed:
    await flow.producer.publish(sent)
    failed = await flow.watcher.wait_for(
        DeploymentFailed,
        lambda e: e.causation_id == sent.event_id and e.replica_id == "deployment",
        within=60,
    )
    return failed[0]


async def test_forged_unsigned_and_replayed_promotions_are_refused(flow: Flow) -> None:
    await flow.declare(declaration(flow.dataset))
    first = await promoted_and_served(
        flow, await flow.decision(await flow.arrive("v1.csv", shifted_concept(400, seed=1)))
    )

    # Copied from the real one, version changed: the registry's signature no longer matches.
    forged = first.model_copy(
        update={
            "event_id": uuid.uuid4(),
            "model": first.model.model_copy(update={"version": 999}),
        }
    )
    failed = await refusal(flow, forged)
    assert (failed.version, failed.reason.code, failed.serving_version) == (999, "bad_signature", 1)
    # The same without any signature.
    unsigned = forged.model_copy(update={"event_id": uuid.uuid4(), "signature": None})
    failed = await refusal(flow, unsigned)
    assert (failed.reason.code, failed.serving_version) == ("unsigned_promotion", 1)
    assert await served_version(flow) == 1

    second = await promoted_and_served(
        flow, await flow.decision(await flow.arrive("v2.csv", classification_frame(400, seed=2)))
    )
    assert second.sequence is not None and first.sequence is not None
    assert second.sequence > first.sequence
    # The real, signed promotion of v1 again, after v2's: a stale replay.
    failed = await refusal(flow, first)
    assert (failed.version, failed.reason.code, failed.serving_version) == (
        1,
        "stale_promotion",
        2,
    )
    assert await served_version(flow) == 2
