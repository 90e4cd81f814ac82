"""Files handed to the CLI: declarations (YAML/JSON) and rows to predict (CSV/JSONL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from millrace_cli.errors import CliError, ExitCode
from millrace_cli.inputs import check_name, load_declaration, parse_row, read_rows

DECLARATION = """\
dataset: iris
spec:
  columns:
    - {name: sepal_length, dtype: float, min: 0}
    - {name: species, dtype: category}
  target: species
training:
  task: classification
  target: species
  estimator: {name: random_forest, params: {n_estimators: 50}}
promotion: {primary_metric: accuracy, floor: 0.8}
"""


def test_a_yaml_declaration_loads(tmp_path: Path) -> None:
    path = tmp_path / "iris.yaml"
    path.write_text(DECLARATION)
    declaration = load_declaration(path)
    assert declaration.dataset == "iris"
    assert declaration.training is not None and declaration.training.estimator is not None
    assert declaration.training.estimator.params == {"n_estimators": 50}
    assert declaration.spec is not None and len(declaration.spec.columns) == 2


def test_a_json_declaration_loads(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"dataset": "sales"}))
    assert load_declaration(path).dataset == "sales"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dataset: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("dataset: Not-Valid\n", "dataset: String should match pattern"),
        (
            "dataset: iris\ntraining: {task: classification, target: y}\n",
            "set exactly one of 'estimator' or 'automl'",
        ),
        (
            "dataset: iris\ntraining:\n  task: classification\n  target: y\n"
            "  estimator: {name: svm}\n",
            "not in the allow-list",
        ),
    ],
)
def test_a_bad_declaration_says_what_is_wrong(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CliError) as raised:
        load_declaration(path)
    assert expected in raised.value.message
    assert raised.value.code == ExitCode.FAILURE


def test_rows_from_csv_and_jsonl(tmp_path: Path) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("x,colour\n1.5,red\n,blue\n")
    assert read_rows(csv) == [{"x": 1.5, "colour": "red"}, {"x": None, "colour": "blue"}]
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"x": 1}\n\n{"x": 2, "y": "a"}\n')
    assert read_rows(jsonl) == [{"x": 1}, {"x": 2, "y": "a"}]


def test_bad_rows_are_refused_with_the_line(tmp_path: Path) -> None:
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"x": 1}\n[1, 2]\n')
    with pytest.raises(CliError, match=r"rows\.jsonl:2: expected a JSON object"):
        read_rows(jsonl)
    with pytest.raises(CliError, match=r"use a \.csv or \.jsonl file"):
        read_rows(tmp_path / "rows.txt")
    with pytest.raises(CliError, match="must be a JSON object"):
        parse_row("[1]")
    with pytest.raises(CliError, match="not valid JSON"):
        parse_row("{x: 1}")
    assert parse_row('{"x": 1}') == {"x": 1}


def test_names_follow_the_contracts() -> None:
    assert check_name("iris-v2.daily_1") == "iris-v2.daily_1"
    with pytest.raises(CliError) as raised:
        check_name("Iris")
    assert raised.value.code == ExitCode.USAGE
