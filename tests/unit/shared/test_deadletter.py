from __future__ import annotations

import json

import pytest
from millrace_contracts import DataArrived
from millrace_shared.messaging import PoisonMessage
from millrace_shared.messaging.deadletter import is_poison
from pydantic import ValidationError


def validation_error() -> ValidationError:
    with pytest.raises(ValidationError) as info:
        DataArrived.model_validate({"dataset": "x"})
    return info.value


def json_error() -> json.JSONDecodeError:
    with pytest.raises(json.JSONDecodeError) as info:
        json.loads("{")
    return info.value


@pytest.mark.parametrize(
    ("error", "poison"),
    [
        (validation_error(), True),
        (json_error(), True),
        (PoisonMessage("bad"), True),
        (RuntimeError("S3 briefly down"), False),
        (TimeoutError(), False),
    ],
)
def test_only_unfixable_input_skips_retries(error: Exception, poison: bool) -> None:
    assert is_poison(error) is poison
