"""Load, verify, warm up and swap; refusals keep the old version; the snapshot yields to events."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
import skops.io as sio
from deployment_unit_data import promotion, store_version
from deployment_unit_data import snapshot as snapshot_of
from millrace_contracts import DeploymentFailed, FeatureSignature, ModelDeployed, ModelVersionInfo
from millrace_deployment.core.catalog import ModelCatalog
from millrace_deployment.core.deployer import Deployer, DeployerConfig
from millrace_deployment.core.loading import fetch_model
from millrace_shared.objectstore import InMemoryObjectStore, ObjectStore
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

Trained = tuple[Any, list[FeatureSignature]]


class Harness:
    def __init__(
        self, store: InMemoryObjectStore, replica: str = "r1", fetch: Any = fetch_model
    ) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.catalog = ModelCatalog()
        self.swaps = 0
        self.fetches: list[int] = []

        def counting_fetch(s: ObjectStore, info: ModelVersionInfo, work: Path | None) -> Any:
            self.fetches.append(info.version)
            return fetch(s, info, work)

        self.deployer = Deployer(
            store,
            self.catalog,
            provider.get_tracer("t"),
            DeployerConfig(producer="deployment", replica_id=replica, endpoint_base="http://h:1"),
            on_swap=self._swapped,
            fetch=counting_fetch,
        )

    def _swapped(self) -> None:
        self.swaps += 1

    def serving(self) -> int | None:
        model = self.catalog.get("churn")
        return model.version if model else None


@pytest.fixture
def versions(store: InMemoryObjectStore, trained: Trained) -> list[ModelVersionInfo]:
    model, signature = trained
    return [store_version(store, model, signature, version=v) for v in (1, 2)]


async def test_a_promotion_is_loaded_warmed_swapped_and_reported(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    h = Harness(store)
    event = promotion(versions[0])
    deployed = await h.deployer.on_promoted(event)
    assert isinstance(deployed, ModelDeployed)
    assert (
        deployed.causation_id == event.event_id and deployed.correlation_id == event.correlation_id
    )
    assert (deployed.model_name, deployed.version, deployed.replica_id) == ("churn", 1, "r1")
    assert deployed.endpoint == "http://h:1/models/churn/predict"
    assert deployed.artifact_sha256 == versions[0].artifact.sha256 and deployed.load_seconds > 0
    assert h.serving() == 1 and h.swaps == 1
    spans = h.exporter.get_finished_spans()
    assert [s.name for s in spans] == ["load", "warmup", "swap"]
    assert spans[0].attributes is not None
    assert spans[0].attributes["millrace.model.version"] == 1
    assert spans[0].attributes["millrace.replica"] == "r1"


async def test_each_replica_reports_under_its_own_id_and_a_redelivery_repeats_it(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    event = promotion(versions[0])
    one, other = Harness(store, "r1"), Harness(store, "r2")
    first = await one.deployer.on_promoted(event)
    again = await one.deployer.on_promoted(event)
    elsewhere = await other.deployer.on_promoted(event)
    assert first is not None and again is not None and elsewhere is not None
    assert first.event_id == again.event_id != elsewhere.event_id
    assert one.fetches == [1]  # the redelivery did not load it again


async def test_other_aliases_are_ignored(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    h = Harness(store)
    assert await h.deployer.on_promoted(promotion(versions[0], alias="staging")) is None
    assert h.serving() is None and h.fetches == []


async def test_a_rollback_to_an_older_version_is_applied(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    h = Harness(store)
    await h.deployer.on_promoted(promotion(versions[1]))
    await h.deployer.on_promoted(promotion(versions[0]))
    assert h.serving() == 1


async def test_a_tampered_artifact_is_refused_and_the_old_version_kept(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    h = Harness(store)
    await h.deployer.on_promoted(promotion(versions[0]))
    store.corrupt(versions[1].artifact.uri, b"tampered")
    failed = await h.deployer.on_promoted(promotion(versions[1]))
    assert isinstance(failed, DeploymentFailed)
    assert failed.reason.code == "checksum_mismatch" and failed.serving_version == 1
    assert failed.version == 2 and failed.replica_id == "r1"
    assert h.serving() == 1


@pytest.mark.parametrize(
    ("data", "code"),
    [(sio.dumps({"p": Path}), "untrusted_artifact"), (b"not a zip", "unloadable_artifact")],
)
async def test_artifacts_that_cannot_load_are_refused(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo], data: bytes, code: str
) -> None:
    bad = versions[0].model_copy(
        update={"artifact": store.put_bytes("s3://millrace-models/churn/bad.skops", data)}
    )
    failed = await Harness(store).deployer.on_promoted(promotion(bad))
    assert isinstance(failed, DeploymentFailed) and failed.reason.code == code
    assert failed.serving_version is None


async def test_a_model_that_cannot_predict_its_signature_fails_warm_up(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    extra = FeatureSignature(name="x3", kind="numeric", dtype="float")
    wrong = versions[0].model_copy(update={"signature": [*versions[0].signature, extra]})
    h = Harness(store)
    failed = await h.deployer.on_promoted(promotion(wrong))
    assert isinstance(failed, DeploymentFailed) and failed.reason.code == "warmup_failed"
    assert h.serving() is None


async def test_an_unreachable_store_propagates_so_the_promotion_is_retried(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    def down(*_: Any) -> Any:
        raise ConnectionError("object store unreachable")

    with pytest.raises(ConnectionError):
        await Harness(store, fetch=down).deployer.on_promoted(promotion(versions[0]))


async def test_the_snapshot_loads_production_unless_an_event_came_first(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    h = Harness(store)
    [deployed] = await h.deployer.apply_snapshot(snapshot_of(versions[0]))
    assert isinstance(deployed, ModelDeployed) and deployed.causation_id is None
    assert h.serving() == 1

    h = Harness(store)
    await h.deployer.on_promoted(promotion(versions[1]))
    assert await h.deployer.apply_snapshot(snapshot_of(versions[0])) == []
    assert h.serving() == 2


async def test_a_promotion_during_the_snapshot_load_wins(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    entered, gate = threading.Event(), threading.Event()

    def slow_for_v1(s: ObjectStore, info: ModelVersionInfo, work: Path | None) -> Any:
        if info.version == 1:
            entered.set()
            assert gate.wait(timeout=30)
        return fetch_model(s, info, work)

    h = Harness(store, fetch=slow_for_v1)
    snapshot = asyncio.create_task(h.deployer.apply_snapshot(snapshot_of(versions[0])))
    assert await asyncio.to_thread(entered.wait, 10)
    promoted = asyncio.create_task(h.deployer.on_promoted(promotion(versions[1])))
    await asyncio.sleep(0)  # one turn of the loop: the promotion runs up to the model's lock
    assert not promoted.done()
    gate.set()
    await snapshot
    outcome = await promoted
    assert isinstance(outcome, ModelDeployed) and outcome.version == 2
    assert h.serving() == 2


async def test_a_snapshot_entry_that_fails_transiently_does_not_stop_the_others(
    store: InMemoryObjectStore, trained: Trained, versions: list[ModelVersionInfo]
) -> None:
    model, signature = trained
    other = store_version(store, model, signature, name="other", version=1)

    def flaky(s: ObjectStore, info: ModelVersionInfo, work: Path | None) -> Any:
        if info.model_name == "churn":
            raise ConnectionError("object store unreachable")
        return fetch_model(s, info, work)

    h = Harness(store, fetch=flaky)
    [deployed] = await h.deployer.apply_snapshot(snapshot_of(versions[0], other))
    assert isinstance(deployed, ModelDeployed) and deployed.model_name == "other"


async def test_a_fast_path_that_disagrees_is_counted_and_named_on_the_warmup_span(
    store: InMemoryObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import millrace_deployment.core.served as served_module
    from deployment_unit_data import frame, train
    from millrace_deployment.core.compiled import compile_pipeline

    def reversed_scores(model: Any, signature: Any) -> Any:
        good = compile_pipeline(model, signature)
        assert good is not None
        return dataclasses.replace(good, estimate=lambda x: good.estimate(x)[::-1])

    monkeypatch.setattr(served_module, "compile_pipeline", reversed_scores)
    model, signature = train(frame(200), "classification", "logistic_regression")
    h = Harness(store)
    deployed = await h.deployer.on_promoted(promotion(store_version(store, model, signature)))
    assert isinstance(deployed, ModelDeployed) and h.serving() == 1  # served, by the model
    assert h.deployer.fallbacks == 1
    [warmup] = [s for s in h.exporter.get_finished_spans() if s.name == "warmup"]
    assert warmup.attributes is not None
    assert warmup.attributes["millrace.serving.compiled"] is False
    assert warmup.attributes["millrace.serving.runtime"] == "sklearn"
    assert "disagrees with the model" in str(warmup.attributes["millrace.serving.fallback"])
