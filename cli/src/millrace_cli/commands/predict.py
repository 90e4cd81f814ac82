"""``predict``: ask the deployment service for predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..console import out, print_json
from ..endpoints import resolve
from ..errors import CliError, ExitCode
from ..inputs import parse_row, read_rows
from ..rest import ServiceClient
from . import ModelName


def batches(rows: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def predictions_table(rows: list[dict[str, Any]], predictions: list[Any]) -> Table:
    table = Table("#", "input", "prediction")
    for number, (row, prediction) in enumerate(zip(rows, predictions, strict=False), 1):
        inputs = ", ".join(f"{k}={v}" for k, v in row.items())
        shown = (
            prediction.get("prediction", prediction) if isinstance(prediction, dict) else prediction
        )
        table.add_row(str(number), escape(inputs), escape(str(shown)))
    return table


_SHAPE_PROBLEMS = ("(missing_feature)", "(unexpected_feature)", "(not_an_object)")


def expected_features(schema: Any) -> str | None:
    """``a (number), b (string or null)``: a row's features from the model's request schema
    (``GET /models/{name}/schema``), None if it is not one."""
    try:
        row = schema["anyOf"][0]
        properties: dict[str, Any] = row["properties"]
    except (KeyError, IndexError, TypeError):
        return None
    described = []
    for feature in row.get("required", list(properties)):
        spec = properties.get(feature, {})
        kind = spec.get("type") or [a.get("type") for a in spec.get("anyOf", [])]
        kinds = kind if isinstance(kind, list) else [kind]
        described.append(f"{feature} ({' or '.join(str(k) for k in kinds if k)})")
    return ", ".join(described)


def post_row(deployment: ServiceClient, name: str, body: Any) -> Any:
    """The answer; a refusal for the row's shape also says which features the model takes."""
    try:
        return deployment.post(f"/models/{name}/predict", body)
    except CliError as error:
        if not any(p in error.message for p in _SHAPE_PROBLEMS):
            raise
        try:
            features = expected_features(deployment.get_or_none(f"/models/{name}/schema"))
        except CliError:
            features = None  # an older deployment without the schema: the refusal alone
        if features is None:
            raise
        raise CliError(f"{error.message}\n{name} takes a row of: {features}", error.code) from error


def predict(
    name: ModelName,
    row: Annotated[
        str | None,
        typer.Option(help='One row as a JSON object, e.g. \'{"x": 1.5, "colour": "red"}\'.'),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            help="Rows from a CSV (with a header) or JSON Lines file.", exists=True, dir_okay=False
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per request with --file.")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="The service's answers as JSON.")] = False,
) -> None:
    """Predict with the model NAME serves now (deployment service).

    Give one row with --row, or many with --file. Inputs are checked against the model's
    signature by the service; a refusal says which feature is wrong.
    """
    if (row is None) == (file is None):
        raise CliError("give exactly one of --row JSON or --file CSV/JSONL", ExitCode.USAGE)
    endpoints = resolve()
    with ServiceClient(endpoints, "deployment", timeout=60.0) as deployment:
        if row is not None:
            answer = post_row(deployment, name, parse_row(row))
            if as_json:
                print_json(answer)
            else:
                out.print(
                    f"{escape(str(answer.get('prediction')))}  [dim]({escape(str(answer.get('model')))} "
                    f"v{answer.get('version')}, prediction {answer.get('prediction_id')})[/]"
                )
            return
        assert file is not None
        rows = read_rows(file)
        if not rows:
            raise CliError(f"{file} holds no rows")
        answers = [post_row(deployment, name, {"rows": c}) for c in batches(rows, batch_size)]
    if as_json:
        print_json(answers[0] if len(answers) == 1 else answers)
        return
    predictions = [p for a in answers for p in a.get("predictions", [])]
    versions = sorted({str(a.get("version")) for a in answers})
    out.print(predictions_table(rows, predictions))
    out.print(f"[dim]{len(predictions)} prediction(s) by {escape(name)} v{'/'.join(versions)}[/]")
