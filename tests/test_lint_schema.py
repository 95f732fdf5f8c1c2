"""The shipped JSON Schemas: valid 2020-12, versioned, packaged, and the fast path agrees."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from kmha_lint import schema
from kmha_lint.api import lint_text

SCHEMAS = schema.schema_files()
CHECKED = sorted(n for n in SCHEMAS if n not in ("common", "arguments")) + [
    f"{schema.ARGUMENTS_ID}#/$defs/{name}" for name in sorted(SCHEMAS["arguments"]["$defs"])
]
ROOT = Path(__file__).parents[1]


def test_schemas_are_valid_draft_2020_12_with_versioned_ids():
    assert {"keras-model", "common", "kmha.MultiHeadAttention", "keras.Dense"} <= set(SCHEMAS)
    ids = set()
    for name, document in SCHEMAS.items():
        Draft202012Validator.check_schema(document)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        assert document["$id"] == f"urn:kmha:schema:{name}:1", name
        ids.add(document["$id"])
    assert len(ids) == len(SCHEMAS)


def test_schemas_ship_as_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["kmha_lint.schemas"] == "schemas"
    assert "*.json" in config["package-data"]["kmha_lint.schemas"]
    assert set(SCHEMAS) == {p.stem for p in (ROOT / "schemas").glob("*.json")}


layer_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 70)
    | st.floats(-2, 70, allow_nan=False)
    | st.sampled_from(
        [1.0, 0.5, 64.5, "8", "same", "valid", "sane", "channels_first", "ab,bc->ac"]
    ),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(CHECKED),
    st.booleans(),
    st.dictionaries(
        st.sampled_from(
            [
                "units",
                "num_heads",
                "key_dim",
                "dropout",
                "rate",
                "output_shape",
                "attention_axes",
                "target_shape",
                "dims",
                "padding",
                "kernel_size",
                "equation",
                "batch_shape",
                "axis",
                "d_model",
                "num_key_value_heads",
                "filters",
                "layers",
                "class_name",
                "config",
            ]
        ),
        layer_values,
        max_size=6,
    ),
)
def test_fast_check_agrees_with_jsonschema(name, strict, instance):
    validator = schema._validator(name, strict)
    assert schema.fast_check(name, strict)(instance) == validator.is_valid(instance)


@pytest.mark.parametrize(
    ("field", "value", "code", "words"),
    [
        ("num_heads", "8", "KMHA101", 'Expected an integer; received "8" (string)'),
        ("key_dim", 64.5, "KMHA101", "received 64.5 (number)"),
        ("num_heads", 8.0, "KMHA101", "received 8.0 (number)"),
        ("dropout", 1.5, "KMHA102", "Expected <= 1; received 1.5"),
        ("num_heads", 0, "KMHA102", "Expected >= 1; received 0"),
        ("output_shape", [], "KMHA102", "at least 1 item(s)"),
    ],
)
def test_types_and_ranges_in_keras3_attention(field, value, code, words):
    doc = json.loads((ROOT / "tests/fixtures/lint/KMHA205/good.json").read_text())
    mha = next(entry for entry in doc["config"]["layers"] if entry["name"] == "mha0")
    mha["config"][field] = value
    (finding,) = lint_text(json.dumps(doc, indent=2))
    assert (finding.code, finding.pointer) == (code, f"/config/layers/2/config/{field}")
    assert f"Layer `mha0`, argument `{field}`" in finding.message and words in finding.message


def test_keras2_integers_are_lenient_like_tf_keras():
    doc = json.loads((ROOT / "tests/fixtures/lint/keras2/good.json").read_text())
    doc["config"]["layers"][4]["config"]["units"] = 16.0
    assert lint_text(json.dumps(doc)) == []
    doc["config"]["layers"][4]["config"]["units"] = 16.5
    assert [f.code for f in lint_text(json.dumps(doc))] == ["KMHA101"]
    doc["config"]["layers"][4]["config"]["units"] = 16
    doc["config"]["layers"][2]["config"]["value_dim"] = 8.0  # tf.keras attention: a TypeError
    (finding,) = lint_text(json.dumps(doc))
    assert finding.code == "KMHA101" and finding.pointer == "/config/layers/2/config/value_dim"


def test_activation_names_and_unknown_arguments_per_flavour():
    doc = json.loads((ROOT / "tests/fixtures/lint/keras2/good.json").read_text())
    dense = doc["config"]["layers"][4]["config"]
    dense["activation"] = "relux"
    (finding,) = lint_text(json.dumps(doc))
    assert finding.code == "KMHA104" and finding.pointer == "/config/layers/4/config/activation"
    assert 'Expected one of "celu"' in finding.message and 'received "relux"' in finding.message
    dense["activation"] = "my_package>swishy"  # a registered custom activation
    assert lint_text(json.dumps(doc)) == []
    attention = doc["config"]["layers"][2]["config"]
    assert "query_shape" in attention  # tf.keras records it; Keras 3 would reject it
    attention["d_model"] = 32
    (finding,) = lint_text(json.dumps(doc))
    assert finding.code == "KMHA106" and finding.pointer.endswith("/config/d_model")
    assert "unknown argument `d_model`" in finding.message
