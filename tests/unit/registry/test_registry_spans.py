from __future__ import annotations

from millrace_registry.core.service import Registry
from millrace_registry.core.store import RegistryStore
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from registry_support import Clock, MakeTrained


def test_register_decide_and_promote_spans_carry_the_decision(
    store: RegistryStore, clock: Clock, trained: MakeTrained
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = Registry(store, tracer=provider.get_tracer("test"), clock=clock)

    registry.register_trained(trained("run-1", 0.9))
    registry.register_trained(trained("run-2", 0.5))

    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert names == ["decide", "promote", "register", "decide", "register"]
    decide_first, promote, register, decide_second = spans[0], spans[1], spans[2], spans[3]
    assert (
        decide_first.parent is not None and decide_first.parent.span_id == register.context.span_id
    )
    assert dict(decide_first.attributes or {}) == {
        "millrace.model": "iris",
        "millrace.model.version": 1,
        "millrace.decision": "promote",
        "millrace.reason_codes": ("above_floor", "first_version"),
        "millrace.metric": "accuracy",
        "millrace.metric.value": 0.9,
    }
    assert (decide_second.attributes or {})["millrace.decision"] == "reject"
    assert (decide_second.attributes or {})["millrace.reason_codes"] == ("below_floor",)
    assert (promote.attributes or {})["millrace.model.version"] == 1
    assert (register.attributes or {})["millrace.run_id"] == "run-1"
