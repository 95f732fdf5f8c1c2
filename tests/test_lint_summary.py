"""`kmha-lint --summary`: the linter's view of the graph equals Keras's model.summary().

tests/fixtures/summary/ holds small Keras 3 models over every modelled layer family (made
by make_summaries.py with real Keras) beside what Keras reports for each layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kmha_lint.summary import (
    MULTIPLE,
    LayerRow,
    ModelSummary,
    as_dict,
    render_json,
    render_text,
    summarize_document,
)

FIXTURES = Path(__file__).parent / "fixtures" / "summary"
MODELS = sorted(p.name.split(".")[0] for p in FIXTURES.glob("*.summary.json"))


def summary_of(name: str) -> dict:
    document = json.loads((FIXTURES / f"{name}.json").read_text())
    return as_dict(summarize_document(document, f"{name}.json"))


@pytest.mark.parametrize("name", MODELS)
def test_shapes_and_parameters_equal_keras(name):
    got = summary_of(name)
    want = json.loads((FIXTURES / f"{name}.summary.json").read_text())
    rows = {row["name"]: row for row in got["layers"]}
    for expected in want["layers"]:
        row = rows[expected["name"]]
        assert (row["output_shape"], row["params"]) == (
            expected["output_shape"],
            expected["params"],
        ), expected["name"]
    assert got["total_params"] == want["total_params"]


def test_keras_ops_nodes_have_shapes_and_no_parameters():
    rows = {row["name"]: row for row in summary_of("operations")["layers"]}
    assert rows["stack"]["output_shape"] == [None, 2, 6, 8]
    assert rows["einsum"]["output_shape"] == [None, 16, 16]
    assert all(row["params"] == 0 for name, row in rows.items() if name != "dense")


def test_unknown_layers_are_unknown_and_the_total_too():
    document = json.loads((FIXTURES / "nested.json").read_text())
    document["config"]["layers"][1]["module"] = "my_package.layers"
    document["config"]["layers"][1]["registered_name"] = "Custom>Dense"
    got = as_dict(summarize_document(document, "nested.json"))
    shared = next(row for row in got["layers"] if row["name"] == "shared")
    assert shared["params"] is None and shared["output_shape"] == MULTIPLE  # called twice
    assert got["total_params"] is None
    assert "Parameters unknown for: Dense." in got["notes"]


def test_not_a_model_is_no_summary():
    assert summarize_document({"name": "web-app"}, "package.json") is None
    assert summarize_document([1, 2], "list.json") is None


def test_text_and_json_rendering():
    summary = ModelSummary(
        "m.json",
        "keras-model",
        None,
        [
            LayerRow("x", "InputLayer", (None, 8), 0),
            LayerRow("shared", "Dense", MULTIPLE, 72),
            LayerRow("custom", "Patches", None, None),
        ],
        None,
        name="m",
    )
    text = render_text([summary])
    assert 'm.json: keras-model "m"' in text
    assert "x (InputLayer)" in text and "(None, 8)" in text
    assert "shared (Dense)" in text and "multiple" in text and "72" in text
    assert "custom (Patches)" in text and text.rstrip().endswith("Total params: unknown")
    (data,) = json.loads(render_json([summary]))
    assert data["path"] == "m.json" and data["total_params"] is None
    assert data["layers"][0] == {
        "name": "x",
        "class": "InputLayer",
        "output_shape": [None, 8],
        "params": 0,
    }
    assert data["layers"][1]["output_shape"] == "multiple"
    assert {"kind", "family", "geometry"} <= set(data)


def test_attention_with_an_unknown_input_width_is_unknown_not_a_guess():
    document = json.loads((FIXTURES / "attention.json").read_text())
    (keys,) = [layer for layer in document["config"]["layers"] if layer["name"] == "keys"]
    keys["config"]["batch_shape"] = [None, 7, None]
    got = as_dict(summarize_document(document, "attention.json"))
    rows = {row["name"]: row["params"] for row in got["layers"]}
    want = {r["name"]: r["params"] for r in summary_of("attention")["layers"]}
    fed_by_keys = {"kmha_grouped", "kmha_gated", "kmha_split", "keras_mha", "keras_split", "gqa"}
    assert all(rows[name] is None for name in fed_by_keys)
    assert rows["kmha_derived"] == want["kmha_derived"] == 2400  # x only: still known
    assert got["total_params"] is None


CORPUS = Path(__file__).parent / "corpus"


@pytest.mark.parametrize(
    ("file", "kept", "total"),
    [
        # Rewired so that the output is the query input: Keras 3 drops every other layer
        # (count_params() 0, Keras 3.15.1), tf.keras keeps them all as "ancillary layers"
        # (count_params() 1212, tf_keras 2.21.0).
        ("keras3/keras_mha_cross-18-rewired-reference.json", {"query", "key", "value"}, 0),
        (
            "keras2/tfk_cross_attention-12-rewired-reference.json",
            {"query", "context", "cross_attention", "res", "ln"},
            1212,
        ),
        # The output is the nested block's call: the pooling and head after it are dropped
        # (count_params() 1600, Keras 3.15.1).
        (
            "keras3/nested_functional-07-rewired-reference.json",
            {"ids", "embed", "encoder_block"},
            1600,
        ),
    ],
)
def test_layers_off_the_path_to_the_outputs_count_as_keras_counts_them(file, kept, total):
    document = json.loads((CORPUS / file).read_text())
    got = as_dict(summarize_document(document, file))
    assert {row["name"] for row in got["layers"]} == kept
    assert got["total_params"] == total
