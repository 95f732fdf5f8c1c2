"""Random edits of real configs never crash the linter (hypothesis).

Edits as people (and broken tools) make them: values swapped for other types, keys
deleted, sizes made wrong (zero, negative, huge, NaN, infinite, 5000 digits), references
renamed, and values buried in deep nesting. Whatever the edit, lint_text returns findings
with known rule codes: no exception, no traceback.
"""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kmha_lint.api import lint_text
from kmha_lint.rules import RULES
from kmha_lint.settings import read_settings_file
from kmha_lint.summary import summarize_document

TESTS = Path(__file__).parent
SOURCES = sorted(
    p
    for folder in (TESTS / "corpus" / "keras3", TESTS / "corpus" / "keras2", TESTS / "realworld")
    if folder.exists()
    for p in folder.rglob("*.json")
    if p.name != "manifest.json" and "__" not in p.name and p.stat().st_size < 80_000
)
# A spread of sources (all kinds of layers), fixed so that failures reproduce.
CONFIGS = [
    json.loads(p.read_text()) for p in random.Random(9).sample(SOURCES, min(24, len(SOURCES)))
]
# Models with custom layers, linted with the declarations of their shapes.
CUSTOM = [
    json.loads(p.read_text())
    for p in SOURCES
    if "realworld" in p.parts and "kmha_realworld" in p.read_text()
]
DECLARED = (
    read_settings_file(str(TESTS / "realworld" / "kmha-lint.toml")).layer.custom_layers
    if (TESTS / "realworld" / "kmha-lint.toml").exists()
    else {}
)
HUGE = "7" * 5000

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 1, 3, 10**9, math.nan, math.inf, -math.inf, 0.5, 1.0, 1.5]),
    st.text(max_size=6),
    st.sampled_from([[], {}, [None], [None, None, 3], ["x", 0, 0], {"class_name": 1}]),
)


def _paths(value):
    stack = [((), value)]
    while stack:
        prefix, item = stack.pop()
        yield prefix
        if len(prefix) > 40:
            continue
        if isinstance(item, dict):
            stack.extend(((*prefix, key), v) for key, v in item.items())
        elif isinstance(item, list):
            stack.extend(((*prefix, index), v) for index, v in enumerate(item))


def _parent(doc, path):
    for token in path[:-1]:
        doc = doc[token]
    return doc


@st.composite
def edited_texts(draw, configs=CONFIGS):
    doc = json.loads(json.dumps(configs[draw(st.integers(0, len(configs) - 1))]))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent, key = _parent(doc, path), path[-1]
        kind = draw(st.sampled_from(["replace", "delete", "rename", "nest", "size"]))
        if kind == "delete":
            del parent[key]
        elif kind == "rename" and isinstance(parent[key], str):
            parent[key] = parent[key] + draw(st.sampled_from(["_1", "x", ""]))
        elif kind == "nest":
            value = parent[key]
            for _ in range(draw(st.integers(1, 60))):
                value = [value] if draw(st.booleans()) else {"config": value}
            parent[key] = value
        elif kind == "size" and isinstance(parent[key], int | float):
            parent[key] = draw(st.sampled_from([0, -2, 2**63, math.nan, math.inf, 7.5]))
        else:
            parent[key] = copy.deepcopy(draw(VALUES))  # later edits must not change VALUES
    text = json.dumps(doc)
    if draw(st.booleans()):  # an integer too long for Python to convert
        text = text.replace(": 1", ": " + HUGE, 1)
    return text


@pytest.mark.skipif(not CONFIGS, reason="no configs to fuzz")
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(edited_texts())
def test_random_edits_never_crash(text):
    findings = lint_text(text, "fuzz.json")
    assert {f.code for f in findings} <= set(RULES)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return
    summarize_document(document, "fuzz.json")  # never raises either


@pytest.mark.skipif(not CUSTOM or not DECLARED, reason="no custom-layer configs to fuzz")
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(edited_texts(CUSTOM))
def test_random_edits_of_models_with_declared_custom_layers_never_crash(text):
    findings = lint_text(text, "fuzz.json", custom_layers=DECLARED)
    assert {f.code for f in findings} <= set(RULES)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return
    summarize_document(document, "fuzz.json", DECLARED)
