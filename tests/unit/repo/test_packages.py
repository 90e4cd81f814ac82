"""Every workspace package declares the project's licence and ships its text; the contracts
package that application teams install carries no build tools."""

from __future__ import annotations

import tomllib
from pathlib import Path

import millrace_contracts
import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE_DIRS = sorted(
    p.parent for p in ROOT.glob("**/pyproject.toml") if ".venv" not in p.parts and p.parent != ROOT
)


def test_every_workspace_member_is_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in PACKAGE_DIRS}
    assert {"contracts", "contracts-dev", "shared", "infra", "cli"} <= names
    assert {
        f"services/{s}" for s in ("ingestion", "training", "registry", "deployment", "monitoring")
    } <= names


@pytest.mark.parametrize("package", PACKAGE_DIRS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_package_declares_and_ships_the_licence(package: Path) -> None:
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert project.get("license") == "Apache-2.0"
    assert project.get("license-files") == ["LICENSE"]
    licence = package / "LICENSE"
    # A copy, not a link: an sdist keeps a link, and it points outside the unpacked tree.
    assert licence.is_file() and not licence.is_symlink()
    assert licence.read_bytes() == (ROOT / "LICENSE").read_bytes()


def test_contracts_package_carries_no_build_tools() -> None:
    modules = {p.stem for p in Path(millrace_contracts.__file__).parent.glob("*.py")}
    assert not modules & {"compat", "schema_export", "make_samples"}
    dev = tomllib.loads((ROOT / "contracts-dev" / "pyproject.toml").read_text())["project"]
    assert dev["dependencies"] == ["millrace-contracts"]
