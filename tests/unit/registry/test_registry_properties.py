"""Property tests: whatever metrics a trained model reports, the registry decides, with reasons.

``Registry.register_trained`` is what the ``model.trained`` handler calls. For arbitrary
metrics dicts (NaN, infinities, huge, negative, the primary metric missing), with or without a
production version and training's re-evaluation of it, under any promotion policy, it must
return a promotion or a rejection with machine-readable reasons — never raise — publish only
what parses back, and never promote a candidate that reports a non-finite metric.
"""

from __future__ import annotations

import math
import re

from hypothesis import event, given
from hypothesis import strategies as st
from millrace_contracts import Metrics, ModelPromoted, ModelRejected, ModelTrained, PromotionPolicy
from millrace_registry.core.service import Registry
from millrace_registry.core.store import RegistryStore
from millrace_shared.objectstore import InMemoryObjectStore
from registry_support import BUCKET, Clock, make_trained

CODE = re.compile(r"^[a-z][a-z0-9_]*$")
PRIMARY = "accuracy"

values = st.floats() | st.sampled_from([0.0, -0.0, 1.0, 1e308, -1e308, 5e-324])
metric_names = st.sampled_from([PRIMARY, "f1_macro", "rmse", ""]) | st.text(max_size=8)
# Mostly with the primary metric, so the floor and the comparison are reached.
metric_dicts = st.one_of(
    st.fixed_dictionaries({PRIMARY: values}, optional={"f1_macro": values, "rmse": values}),
    st.fixed_dictionaries({PRIMARY: st.floats(0, 1)}, optional={"rmse": values}),
    st.dictionaries(metric_names, values, max_size=4),
)
holdouts = st.sampled_from(["h1", "h2"])
metrics = st.builds(
    Metrics,
    values=metric_dicts,
    holdout_id=holdouts,
    holdout_rows=st.integers(min_value=0, max_value=10**9),
)
# What a declaration can hold: a bar and a gain that JSON can write (finite).
finite = st.floats(allow_nan=False, allow_infinity=False)
policies = st.none() | st.builds(
    PromotionPolicy,
    primary_metric=st.sampled_from([PRIMARY, PRIMARY, "rmse", "missing"]),
    higher_is_better=st.booleans(),
    floor=st.none() | finite,
    min_improvement=st.floats(min_value=0, allow_nan=False, allow_infinity=False),
)


def trained(
    run_id: str,
    reported: Metrics,
    policy: PromotionPolicy | None,
    champion_version: int | None = None,
    champion: Metrics | None = None,
) -> ModelTrained:
    # model_copy, not the constructor: the event as a consumer holds it after reading JSON
    # with NaN or Infinity tokens, which pydantic's JSON reader accepts.
    base = make_trained(run_id, policy=policy)
    return base.model_copy(
        update={
            "metrics": reported,
            "champion_version": champion_version,
            "champion_metrics": champion,
        }
    )


def assert_decided(outcome: ModelPromoted | ModelRejected | None, candidate: Metrics) -> None:
    assert isinstance(outcome, ModelPromoted | ModelRejected), outcome
    event(type(outcome).__name__)
    assert outcome.reasons
    for reason in outcome.reasons:
        event(f"reason: {reason.code}")
        assert CODE.match(reason.code), reason
        assert reason.message
    # What is published parses back as it was (JSON has no NaN: it would come back as null).
    assert type(outcome).model_validate_json(outcome.model_dump_json()) == outcome
    if any(not math.isfinite(v) for v in candidate.values.values()):
        assert isinstance(outcome, ModelRejected)
        assert [r.code for r in outcome.reasons] == ["non_finite_metric"]


@given(
    first=metrics,
    first_policy=policies,
    candidate=metrics,
    policy=policies,
    champion=st.none() | metrics,
    champion_version=st.sampled_from([1, 1, None, 7]),
)
def test_any_metrics_get_a_decision_with_reasons(
    first: Metrics,
    first_policy: PromotionPolicy | None,
    candidate: Metrics,
    policy: PromotionPolicy | None,
    champion: Metrics | None,
    champion_version: int | None,
) -> None:
    objects = InMemoryObjectStore()
    objects.ensure_buckets([BUCKET])
    registry = Registry(RegistryStore(objects, BUCKET), clock=Clock())

    # Version 1 (promoted or not: production may or may not exist), then the candidate,
    # perhaps with training's re-evaluation of a production version that may not be today's.
    assert_decided(registry.register_trained(trained("run-1", first, first_policy)), first)
    outcome = registry.register_trained(
        trained("run-2", candidate, policy, champion_version, champion)
    )
    assert_decided(outcome, candidate)

    # The records read back from their JSON, and production is a promoted version.
    for version in (1, 2):
        assert registry.store.get_version("iris", version) is not None
    production = registry.store.alias("iris", "production")
    if isinstance(outcome, ModelPromoted):
        assert production == 2
    else:
        assert production in (None, 1)
