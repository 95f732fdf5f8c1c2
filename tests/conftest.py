"""Shared fixtures for the layer tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def package_source(tmp_path_factory) -> Path:
    """A copy of what the package is built from. pip builds a local folder in place (its
    build/ folder), so tests that build the package build this copy: the checkout stays as
    it is (the quickstart test checks that nothing is written there), and two runs at once
    do not share one build/."""
    root = Path(__file__).resolve().parents[1]
    copy = tmp_path_factory.mktemp("source") / "kmha"
    copy.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(root / name, copy / name)
    for name in ("kmha", "lint", "schemas"):
        shutil.copytree(root / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, fixed-seed generator per test, so failures reproduce."""
    return np.random.default_rng(20240611)
