"""Kafka handlers: decode, hand to the commands, let the middleware deal with failures."""

from __future__ import annotations

from millrace_contracts import ModelPromoted, ModelRejected, ModelTrained
from millrace_shared.messaging import PoisonMessage
from millrace_shared.service import ServiceRuntime

from .commands import RegistryCommands
from .core.keys import InvalidRunId


def register(runtime: ServiceRuntime, commands: RegistryCommands) -> None:
    runtime.declare_publishes(ModelPromoted, ModelRejected)

    @runtime.broker.subscriber(
        ModelTrained.topic(),
        group_id=runtime.group_id,
        auto_offset_reset="earliest",
        title=f"{ModelTrained.topic()}:registry",
        # A model whose registration waits on a dependency holds back its partition only.
        max_workers=runtime.settings.kafka_partition_workers,
    )
    async def on_model_trained(event: ModelTrained) -> None:
        try:
            await commands.on_trained(event)
        except InvalidRunId as error:
            # No retry makes an unusable run id usable: straight to the dead-letter topic.
            raise PoisonMessage(str(error)) from error
