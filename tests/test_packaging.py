"""The wheel: only our own import names, schemas inside, linter usable outside the repo."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, package_source) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
        + [str(package_source)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("kmha-*.whl")
    return path


def test_wheel_installs_only_project_import_names(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.startswith("kmha-")}
    assert top_level == {"kmha", "kmha_lint"}, top_level


def test_wheel_ships_the_schemas(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    schemas = [n for n in names if n.startswith("kmha_lint/schemas/") and n.endswith(".json")]
    assert "kmha_lint/schemas/keras-model.json" in schemas
    assert len(schemas) > 5


def test_wheel_carries_the_apache_licence(wheel):
    archive = zipfile.ZipFile(wheel)
    (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    assert "License-Expression: Apache-2.0" in archive.read(metadata).decode()
    (licence,) = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    text = archive.read(licence).decode()
    assert text == (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_linter_from_the_wheel_runs_outside_the_repo(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), wheel],
        check=True,
        capture_output=True,
    )
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    where = subprocess.run(
        [sys.executable, "-P", "-c", "import kmha_lint; print(kmha_lint.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(site)), where.stdout
    config = tmp_path / "model.json"
    config.write_text(json.dumps({"not": "a model"}))
    result = subprocess.run(
        [sys.executable, "-P", "-m", "kmha_lint", "--format", "json", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr
    findings = json.loads(result.stdout)
    assert findings and findings[0]["path"] == str(config)


def test_wheel_ships_every_module_of_both_packages(wheel):
    """A subpackage missing from pyproject's `packages` list would be left out silently."""
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in (("lint", "kmha_lint"), ("kmha", "kmha")):
        for module in (ROOT / folder).rglob("*.py"):
            shipped = f"{package}/{module.relative_to(ROOT / folder).as_posix()}"
            assert shipped in names, f"{module} is not in the wheel: list its package in pyproject"
