"""Schemathesis against the real services: no request their OpenAPI admits gets a 5xx.

Registry, deployment and ingestion run as processes on the real stack (the e2e platform); a
model of this test's own dataset is trained, promoted and served first, so requests naming it
reach the code behind the 404s. Every operation of each service's ``/openapi.json`` is called
with generated parameters and bodies — valid ones, ones naming that model, invalid ones — with
a valid registry token, and the served model's predict with rows of its features holding
awkward values. The checks: no server error, and every response to a schemathesis request
conforms to the service's document (schemathesis's status code, content type, response
schema and header conformance checks).

``MILLRACE_API_FUZZ_EXAMPLES`` sets the examples per operation and pass (10 by default, which
keeps the whole test to a minute or two); the long form is e.g.
``MILLRACE_API_FUZZ_EXAMPLES=300 pytest tests/e2e/test_api_fuzz.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from millrace_contracts import (
    ColumnSpec,
    DatasetDeclaration,
    DatasetSpec,
    EstimatorSpec,
    ModelDeployed,
    PromotionPolicy,
    TrainingSpec,
)
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.errors import FailureGroup

from .flows import Flow, classification_frame

pytestmark = [
    pytest.mark.e2e,
    # schemathesis's own strategies draw from `random`; Hypothesis warns about it.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

EXAMPLES = int(os.environ.get("MILLRACE_API_FUZZ_EXAMPLES", "10"))


def declaration(dataset: str) -> DatasetDeclaration:
    numeric = [ColumnSpec(name=f"x{i}", dtype="float") for i in range(1, 5)]
    return DatasetDeclaration(
        dataset=dataset,
        spec=DatasetSpec(
            columns=[
                *numeric,
                ColumnSpec(name="color", dtype="category", allowed=["red", "green", "blue"]),
                ColumnSpec(name="label", dtype="category", allowed=["yes", "no"]),
            ],
            target="label",
            min_rows=50,
        ),
        training=TrainingSpec(
            task="classification",
            target="label",
            estimator=EstimatorSpec(name="logistic_regression", params={"max_iter": 200}),
        ),
        promotion=PromotionPolicy(primary_metric="accuracy"),
    )


@dataclass
class Findings:
    """Server errors found, one line (and a curl command to repeat it) each."""

    errors: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    """Responses by operation and status, printed (``-s``) to see what the fuzzing reached."""
    nonconforming: list[str] = field(default_factory=list)
    """Responses their OpenAPI document does not describe (status, content type, schema)."""
    refused: list[str] = field(default_factory=list)
    """Bodies valid under a served model's own request schema that its predict refused."""


# schemathesis's conformance checks: the response is what the service's document says it is.
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def fuzz_service(
    base_url: str, headers: dict[str, str], known: dict[str, Any], findings: Findings
) -> None:
    """Every operation of the service at ``base_url``: once free, once naming ``known``."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=30)
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in known.items() if k in names}
        # A served model's own predict operation documents the model's request schema: every
        # body generated from it must be predicted.
        served = "name" in known and operation.path == f"/models/{known['name']}/predict"
        _fuzz_operation(operation.as_strategy(), base_url, headers, findings, accept=served)
        if fixed:
            strategy = operation.as_strategy(path_parameters=fixed)
            _fuzz_operation(strategy, base_url, headers, findings)
        # Invalid requests too (wrong types, missing fields): a 4xx at worst. An operation
        # without parameters or body has none, which Hypothesis reports as unsatisfiable.
        with contextlib.suppress(Unsatisfiable):
            strategy = operation.as_strategy(GenerationMode.NEGATIVE)
            _fuzz_operation(strategy, base_url, headers, findings)


def _fuzz_operation(
    strategy: st.SearchStrategy[Any],
    base_url: str,
    headers: dict[str, str],
    findings: Findings,
    *,
    accept: bool = False,
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def call(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=60)
        findings.statuses[f"{case.operation.label} {response.status_code}"] += 1
        if response.status_code >= 500:
            findings.errors.append(
                f"{response.status_code} from {case.method} {case.formatted_path}: "
                f"{response.text[:300]}\n  {case.as_curl_command(base_url=base_url)}"
            )
        if accept and response.status_code != 200:
            findings.refused.append(
                f"{response.status_code} from {case.method} {case.formatted_path}: "
                f"{response.text[:300]}\n  {case.as_curl_command(base_url=base_url)}"
            )
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except FailureGroup as failures:
            findings.nonconforming.extend(
                f"{case.operation.label} {response.status_code}: {failure.title}\n"
                f"  {case.as_curl_command(base_url=base_url)}"
                for failure in failures.exceptions
            )

    call()


# Rows of the served model's own features, with awkward values: the OpenAPI document only says
# "an object", so schemathesis alone rarely gets past the signature check.
_values = st.one_of(
    st.floats(),  # NaN and infinities too, written as the tokens Python's json writes
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["red", "green", "blue", "", "RED"]),
    st.text(max_size=10),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid value nine times in ten, so that whole rows often pass and are predicted."""
    return st.sampled_from([True] * 9 + [False]).flatmap(lambda ok: good if ok else _values)


_rows = st.fixed_dictionaries(
    {
        "color": mostly(st.sampled_from(["red", "green", "blue"])),
        **{f"x{i}": mostly(st.floats(allow_nan=False, allow_infinity=False)) for i in range(1, 5)},
    },
    optional={"label": _values, "extra": _values},
)
payloads = _rows | st.fixed_dictionaries({"rows": st.lists(_rows, max_size=5)})


def fuzz_predict(base_url: str, name: str, findings: Findings) -> None:
    label = "POST /models/{name}/predict (rows of its features)"
    with httpx.Client(base_url=base_url, timeout=60) as client:

        @settings(
            max_examples=EXAMPLES * 5,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(payload=payloads)
        def call(payload: dict[str, Any]) -> None:
            body = json.dumps(payload)  # allow_nan: what a Python client may well send
            response = client.post(
                f"/models/{name}/predict",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            findings.statuses[f"{label} {response.status_code}"] += 1
            if response.status_code >= 500:
                findings.errors.append(
                    f"{response.status_code} from {label}: {response.text[:300]}\n  body: {body}"
                )

        call()


async def test_no_generated_request_gets_a_server_error(flow: Flow, registry_token: str) -> None:
    await flow.declare(declaration(flow.dataset))
    arrival = await flow.arrive("v1.csv", classification_frame(300, seed=3))
    deployed = await flow.first(ModelDeployed, arrival)
    known = {"name": flow.dataset, "version": deployed.version}

    findings = Findings()
    auth = {"Authorization": f"Bearer {registry_token}"}
    for service in ("registry", "deployment", "ingestion"):
        url = flow.platform[service].url
        # Blocking HTTP off the event loop: the session's watcher keeps consuming meanwhile.
        await asyncio.to_thread(fuzz_service, url, auth, known, findings)
    await asyncio.to_thread(fuzz_predict, flow.platform["deployment"].url, flow.dataset, findings)

    print("\n".join(f"{n:5d} {label}" for label, n in sorted(findings.statuses.items())))
    assert sum(findings.statuses.values()) > 0
    assert not findings.errors, "\n".join(findings.errors)
    assert not findings.nonconforming, "\n".join(sorted(set(findings.nonconforming)))
    assert not findings.refused, "\n".join(findings.refused)
    # The served model's own operation was called, and predicted.
    assert findings.statuses[f"POST /models/{flow.dataset}/predict 200"] > 0
