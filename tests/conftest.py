"""Shared fixtures for the layer tests."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, fixed-seed generator per test, so failures reproduce."""
    return np.random.default_rng(20240611)
