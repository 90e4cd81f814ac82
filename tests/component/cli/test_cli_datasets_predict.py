"""``datasets list/show`` against ingestion and ``predict`` against deployment, over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from cli_fakes import FakeService
from millrace_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()
SHA = "c" * 64
VIEW = {
    "dataset": "iris",
    "declaration_version": 2,
    "event_id": "0b9c2a63-5d7e-4c39-9a4b-2f1f8f0b6e01",
    "declared_at": "2026-11-26T10:00:00Z",
    "declaration": {
        "dataset": "iris",
        "training": {
            "task": "classification",
            "target": "species",
            "estimator": {"name": "random_forest", "params": {}},
        },
        "promotion": {"primary_metric": "accuracy", "floor": 0.8, "min_improvement": 0.0},
    },
    "spec": {"columns": [{"name": "sepal_length", "dtype": "float", "nullable": False}]},
    "spec_source": "declared",
}
VERSION = {
    "version": SHA,
    "rows": 150,
    "created_at": "2026-11-26T10:01:00Z",
    "spec_version": 2,
    "source_uri": "s3://millrace-landing/iris/a.csv",
    "data": {"uri": "s3://millrace-datasets/iris/x.parquet", "sha256": SHA, "size_bytes": 1},
    "profile": {"uri": "s3://millrace-datasets/iris/x.json", "sha256": SHA, "size_bytes": 1},
}


def test_datasets_list_and_show(ingestion: FakeService) -> None:
    ingestion.answer("GET", "/datasets", 200, ["iris"])
    ingestion.answer("GET", "/datasets/iris", 200, VIEW)
    ingestion.answer("GET", "/datasets/iris/versions", 200, [VERSION])
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    assert "iris" in result.stdout and "v2" in result.stdout and "cccccccccccc" in result.stdout
    result = runner.invoke(app, ["datasets", "show", "iris"])
    assert result.exit_code == 0, result.output
    assert "classification of species with random_forest" in result.stdout
    assert "accuracy >= 0.8" in result.stdout
    assert "sepal_length:float" in result.stdout
    assert "150 rows" in result.stdout
    shown = json.loads(runner.invoke(app, ["datasets", "show", "iris", "--json"]).stdout)
    assert shown["versions"][0]["rows"] == 150


def test_unknown_dataset(ingestion: FakeService) -> None:
    result = runner.invoke(app, ["datasets", "show", "nope"])
    assert result.exit_code == 1
    assert "unknown dataset 'nope'" in result.stderr


def test_predict_one_row(deployment: FakeService) -> None:
    deployment.answer(
        "POST",
        "/models/iris/predict",
        200,
        {"model": "iris", "version": 3, "prediction_id": "p1", "prediction": "setosa"},
    )
    result = runner.invoke(app, ["predict", "iris", "--row", '{"sepal_length": 5.1}'])
    assert result.exit_code == 0, result.output
    assert "setosa" in result.stdout and "iris v3" in result.stdout
    assert deployment.seen[-1].body == {"sepal_length": 5.1}


def test_predict_a_file_in_batches(deployment: FakeService, tmp_path: Path) -> None:
    deployment.answer(
        "POST",
        "/models/iris/predict",
        200,
        {"model": "iris", "version": 3, "predictions": [{"prediction": "a"}, {"prediction": "b"}]},
    )
    rows = tmp_path / "rows.csv"
    rows.write_text("x,y\n1,red\n2,blue\n3,red\n4,blue\n")
    result = runner.invoke(app, ["predict", "iris", "--file", str(rows), "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert [s.body for s in deployment.seen] == [
        {"rows": [{"x": 1, "y": "red"}, {"x": 2, "y": "blue"}]},
        {"rows": [{"x": 3, "y": "red"}, {"x": 4, "y": "blue"}]},
    ]
    assert "4 prediction(s) by iris v3" in result.stdout


def test_predict_refusal_lists_each_problem(deployment: FakeService) -> None:
    deployment.answer(
        "POST",
        "/models/iris/predict",
        422,
        {
            "detail": [
                {"row": 0, "field": "x", "code": "wrong_type", "message": "expected a number"},
                {"loc": ["body", "rows"], "msg": "Field required", "type": "missing"},
            ]
        },
    )
    result = runner.invoke(app, ["predict", "iris", "--row", '{"x": "a"}'])
    assert result.exit_code == 1
    assert "- row 0: x: expected a number (wrong_type)" in result.stderr
    assert "- rows: Field required" in result.stderr


def test_a_row_of_the_wrong_shape_is_told_the_models_features(deployment: FakeService) -> None:
    deployment.answer(
        "POST",
        "/models/iris/predict",
        422,
        {"detail": [{"row": 0, "field": "x", "code": "missing_feature", "message": "missing"}]},
    )
    schema = {
        "anyOf": [
            {
                "type": "object",
                "properties": {"x": {"type": "number"}, "colour": {"type": ["string", "null"]}},
                "required": ["x", "colour"],
            },
            {"type": "object"},
        ]
    }
    deployment.answer("GET", "/models/iris/schema", 200, schema)
    result = runner.invoke(app, ["predict", "iris", "--row", "{}"])
    assert result.exit_code == 1
    assert "- row 0: x: missing (missing_feature)" in result.stderr
    assert "iris takes a row of: x (number), colour (string or null)" in result.stderr
