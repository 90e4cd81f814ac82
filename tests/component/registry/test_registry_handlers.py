"""model.trained in, model.promoted / model.rejected out, through FastStream's test broker."""

from __future__ import annotations

from millrace_contracts import DecisionCode, ModelPromoted, ModelRejected
from millrace_registry.core.store import RegistryStore
from registry_component_support import Service, model_trained


async def test_the_first_trained_model_becomes_version_1_in_production(service: Service) -> None:
    trained = model_trained("run-a", 0.9)
    await service.deliver(trained)

    [event] = service.emitted()
    assert isinstance(event, ModelPromoted)
    assert (event.model.model_name, event.model.version, event.previous_version) == (
        "iris",
        1,
        None,
    )
    assert event.model.artifact == trained.artifact
    assert event.model.signature == trained.signature
    assert event.model.monitoring == trained.monitoring
    assert event.causation_id == trained.event_id
    assert event.correlation_id == trained.correlation_id


async def test_better_then_worse_then_a_redelivery(service: Service) -> None:
    await service.deliver(model_trained("run-a", 0.9))
    await service.deliver(model_trained("run-b", 0.95, champion_version=1, champion_accuracy=0.9))
    worse = model_trained("run-c", 0.85, champion_version=2, champion_accuracy=0.95)
    await service.deliver(worse)

    _, better, rejected = service.emitted()
    assert isinstance(better, ModelPromoted)
    assert (better.model.version, better.previous_version) == (2, 1)
    assert better.reasons[-1].code == DecisionCode.IMPROVED
    assert isinstance(rejected, ModelRejected)
    assert (rejected.version, rejected.production_version) == (3, 2)
    assert rejected.reasons[-1].code == DecisionCode.NOT_IMPROVED

    await service.deliver(worse)  # redelivered: no version 4, the same event again
    assert service.emitted()[-1] == rejected
    state = RegistryStore(service.objects, service.runtime.settings.state_bucket("registry"))
    assert state.version_numbers("iris") == [1, 2, 3]
    assert state.alias("iris", "production") == 2


async def test_a_run_id_unfit_for_a_key_is_dead_lettered(service: Service) -> None:
    await service.deliver(model_trained("bad/../run", 0.9))
    assert service.emitted() == []
    assert service.runtime.dead_letters.dead_lettered == 1
    assert service.objects.list_keys(service.runtime.settings.state_bucket("registry")) == []


async def test_an_unparseable_message_is_dead_lettered(service: Service) -> None:
    await service.broker.publish({"model_name": "iris"}, topic="millrace.model.trained.v1")
    assert service.emitted() == []
    assert service.runtime.dead_letters.dead_lettered == 1
