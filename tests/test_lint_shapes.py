"""Shape propagation: what is modelled, and that the unknown never produces an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kmha_lint.api import lint_text

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
B, T, S, D = None, 7, 11, 48  # batch, query length, key length, width (T != S)


def tensor(name, node=0, index=0):
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [], "dtype": "float32", "keras_history": [name, node, index]},
    }


def input_layer(name, *shape):
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": [B, *shape], "dtype": "float32", "name": name},
        "registered_name": None,
        "name": name,
        "inbound_nodes": [],
    }


def layer(class_name, name, config, *args, kwargs=None, module="keras.layers", registered=None):
    return {
        "module": module,
        "class_name": class_name,
        "config": {"name": name, **config},
        "registered_name": registered,
        "name": name,
        "inbound_nodes": [{"args": list(args), "kwargs": kwargs or {}}],
    }


def kmha(name, *args, **config):
    full = {"num_heads": 4, "key_dim": None, "value_dim": None, "d_model": None}
    full.update(config)
    return layer(
        "MultiHeadAttention",
        name,
        full,
        *args,
        module="kmha.multi_head_attention",
        registered="kmha>MultiHeadAttention",
    )


def model(layers, inputs, outputs, name="m"):
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": name,
            "layers": layers,
            "input_layers": [[n, 0, 0] for n in inputs],
            "output_layers": [[n, 0, 0] for n in outputs],
        },
    }


def codes(doc) -> list[str]:
    return [f.code for f in lint_text(json.dumps(doc, indent=1))]


def test_unknown_layer_makes_shapes_unknown_not_wrong():
    doc = model(
        [
            input_layer("x", T, D),
            layer("Lambda", "opaque", {"function": "gASVYQ=="}, tensor("x")),
            layer("Dense", "wrong_for_48", {"units": 5}, tensor("opaque")),
            layer("Add", "add", {}, [tensor("x"), tensor("wrong_for_48")]),
        ],
        ["x"],
        ["add"],
    )
    assert codes(doc) == []


def test_custom_registered_class_is_opaque_even_with_a_known_name():
    custom = layer("Dense", "mine", {"units": "many"}, tensor("x"), registered="my_pkg>Dense")
    doc = model([input_layer("x", T, D), custom], ["x"], ["mine"])
    assert codes(doc) == []


def keras_op(class_name, name, config, *args):
    """A keras.ops call recorded in a functional config: an operation, not a layer."""
    entry = layer(class_name, name, config, *args, module="keras.src.ops.numpy")
    entry["registered_name"] = class_name
    return entry


def test_keras_ops_calls_are_opaque_and_a_reshape_makes_shapes_known_again():
    flat = keras_op("Reshape", "flat", {"newshape": [-1, T * D]}, tensor("x"))
    back = layer("Reshape", "back", {"target_shape": [T, D]}, tensor("flat"))
    narrow = layer("Dense", "narrow", {"units": 5}, tensor("x"))
    doc = model(
        [
            input_layer("x", T, D),
            flat,
            back,
            layer("Add", "res", {}, [tensor("back"), tensor("x")]),
        ],
        ["x"],
        ["res"],
    )
    assert codes(doc) == []  # `newshape` is the op's argument, not a Reshape layer's
    doc["config"]["layers"][3] = layer("Add", "res", {}, [tensor("back"), tensor("narrow")])
    doc["config"]["layers"].append(narrow)
    assert codes(doc) == ["KMHA303"]  # (None, 7, 48) from `back` vs (None, 7, 5)


def test_conv1d_on_rank_4_fails_in_keras_3_only():
    conv = layer("Conv1D", "conv", {"filters": 4, "kernel_size": [3]}, tensor("x"))
    doc = model([input_layer("x", 2, T, D), conv], ["x"], ["conv"])
    (finding,) = lint_text(json.dumps(doc, indent=1))
    assert finding.code == "KMHA305" and "Conv1D needs rank-3 inputs" in finding.message
    keras2 = json.loads((FIXTURES / "keras2" / "good.json").read_text())
    keras2["config"]["layers"][0]["config"]["batch_input_shape"] = [None, 2, 5, 32]
    keras2["config"]["layers"][2:] = [
        {
            "class_name": "Conv1D",
            "config": {"name": "conv", "filters": 4, "kernel_size": [3]},
            "name": "conv",
            "inbound_nodes": [[["query", 0, 0, {}]]],
        }
    ]
    keras2["config"]["output_layers"] = [["conv", 0, 0]]
    assert lint_text(json.dumps(keras2)) == []  # tf.keras folds the extra axis into the batch


def test_keras_attention_needs_identical_key_and_value_shapes_unknown_sizes_included():
    mha = layer(
        "MultiHeadAttention",
        "mha",
        {"num_heads": 4, "key_dim": 12},
        tensor("q"),
        tensor("v"),
        kwargs={"key": tensor("k")},
    )
    doc = model(
        [input_layer("q", T, D), input_layer("v", S, D), input_layer("k", None, D), mha],
        ["q", "v", "k"],
        ["mha"],
    )
    (finding,) = lint_text(json.dumps(doc, indent=1))
    assert finding.code == "KMHA204" and "argument `key`, axis 1" in finding.message
    assert f"Expected {S}, as in `value` (None, {S}, {D}); received None" in finding.message
    ours = kmha("mha", tensor("q"), tensor("v"))
    ours["inbound_nodes"][0]["kwargs"] = {"key": tensor("k")}
    doc["config"]["layers"][3] = ours
    assert codes(doc) == []  # kmha checks that size when it is known, at run time


def test_masks_given_to_kmha_are_checked_like_the_layer_checks_them():
    def masked(batch=None, **masks):
        attention = kmha("attn", tensor("q"), tensor("v"))
        attention["inbound_nodes"][0]["kwargs"] = {name: tensor(name) for name in masks}
        inputs = [input_layer(name, *shape) for name, shape in masks.items()]
        layers = [input_layer("q", T, D), input_layer("v", S, D), *inputs, attention]
        for entry in layers[:-1]:
            entry["config"]["batch_shape"][0] = batch
        doc = model(layers, ["q", "v", *masks], ["attn"])
        return lint_text(json.dumps(doc, indent=1))

    assert masked(query_mask=(T,), value_mask=(S,), attention_mask=(1, S)) == []
    (finding,) = masked(value_mask=(T,))
    assert finding.code == "KMHA208"
    assert "argument `value_mask`, axis 1 (sequence)" in finding.message
    assert f"Expected {S}; received {T}" in finding.message
    assert masked(attention_mask=(S,)) == []  # (None, S) may be (T, S): unknown until run time
    (finding,) = masked(batch=3, attention_mask=(S,))  # (3, S) with T = 7: a padding mask
    assert finding.code == "KMHA208" and "looks like a (B, S) padding mask" in finding.message
    assert "Pass a (B, S) padding mask as `value_mask=`" in finding.hint
    assert finding.pointer.endswith("/kwargs/attention_mask/config/keras_history")


@pytest.mark.parametrize("code", ["KMHA201", "KMHA206", "KMHA301", "KMHA303", "KMHA308"])
def test_layer_order_in_the_config_does_not_change_the_findings(code):
    """Calls run when their inputs exist, not in the order the config lists the layers."""
    doc = json.loads((FIXTURES / code / "bad.json").read_text())
    expected = sorted((f.code, f.message) for f in lint_text(json.dumps(doc)))
    doc["config"]["layers"].reverse()
    assert sorted((f.code, f.message) for f in lint_text(json.dumps(doc))) == expected


def test_kmha_divisibility_uses_the_width_that_arrives():
    doc = model(
        [
            input_layer("x", T, 40),
            layer("Dense", "proj", {"units": D}, tensor("x")),
            kmha("attn", tensor("proj"), tensor("proj"), num_heads=5),
        ],
        ["x"],
        ["attn"],
    )
    (finding,) = lint_text(json.dumps(doc, indent=1))
    assert finding.code == "KMHA201"
    assert "query width 48 is not divisible by num_heads" in finding.message
    assert "received 5" in finding.message and "2, 3, 4, 6" in finding.hint
    assert finding.pointer == "/config/layers/2/config/num_heads"


@pytest.mark.parametrize("flavour", ["keras", "kmha"])
def test_attention_built_for_another_rank_is_stale(flavour):
    """Keras builds the projections from build_config, then rejects a rank-4 query."""
    if flavour == "kmha":
        attention = kmha("attn", tensor("x"), tensor("x"))
    else:
        attention = layer(
            "MultiHeadAttention", "attn", {"num_heads": 4, "key_dim": 12}, tensor("x"), tensor("x")
        )
    built = [None, T, D]
    attention["build_config"] = {
        "shapes_dict": {"query_shape": built, "value_shape": built, "key_shape": None}
    }
    doc = model([input_layer("x", 3, T, D), attention], ["x"], ["attn"])
    (finding,) = lint_text(json.dumps(doc, indent=1))
    assert finding.code == "KMHA302"
    assert "input rank differs from the rank this layer was built for" in finding.message
    assert "Expected rank 3; received rank 4" in finding.message
    assert "delete the stale `build_config` of `attn`" in finding.hint
    assert finding.pointer == "/config/layers/1/inbound_nodes/0/args/0/config/keras_history"


def test_keras_key_dim_is_per_head_and_query_value_widths_may_differ():
    doc = model(
        [
            input_layer("q", T, D),
            input_layer("v", S, 20),
            layer(
                "MultiHeadAttention",
                "mha",
                {"num_heads": 5, "key_dim": 7, "output_shape": [D]},
                tensor("q"),
                tensor("v"),
            ),
            layer("Add", "res", {}, [tensor("q"), tensor("mha")]),
        ],
        ["q", "v"],
        ["res"],
    )
    assert codes(doc) == []


def test_key_value_sequence_mismatch_names_the_axis():
    doc = model(
        [
            input_layer("q", T, D),
            input_layer("v", S, D),
            input_layer("k", S + 2, D),
            kmha("attn", tensor("q"), tensor("v"), tensor("k")),
        ],
        ["q", "v", "k"],
        ["attn"],
    )
    (finding,) = lint_text(json.dumps(doc, indent=1))
    assert finding.code == "KMHA204"
    assert "argument `key`, axis 1 (sequence)" in finding.message
    assert f"Expected {S}; received {S + 2}" in finding.message


def test_return_attention_scores_gives_a_second_output():
    doc = model(
        [
            input_layer("q", T, D),
            input_layer("v", S, D),
            layer(
                "MultiHeadAttention",
                "mha",
                {"num_heads": 3, "key_dim": 8},
                tensor("q"),
                tensor("v"),
                kwargs={"return_attention_scores": True},
            ),
            layer("Reshape", "scores", {"target_shape": [3 * T * S]}, tensor("mha", 0, 1)),
            layer("Reshape", "bad", {"target_shape": [3 * T * T]}, tensor("mha", 0, 1)),
        ],
        ["q", "v"],
        ["scores", "bad"],
    )
    (finding,) = lint_text(json.dumps(doc, indent=1))
    assert finding.code == "KMHA304" and finding.pointer == "/config/layers/4/config/target_shape"
    assert f"the input {3 * T * S} (None, 3, {T}, {S})" in finding.message


@pytest.mark.parametrize(
    ("target", "expected"),
    [([-1, 12], []), ([T, -1, 4], []), ([-1, -1], ["KMHA304"]), ([-1, 10], ["KMHA304"])],
)
def test_reshape_with_a_free_axis(target, expected):
    doc = model(
        [input_layer("x", T, D), layer("Reshape", "r", {"target_shape": target}, tensor("x"))],
        ["x"],
        ["r"],
    )
    assert codes(doc) == expected


def test_merge_and_concatenate_rules():
    ok = model(
        [
            input_layer("a", T, D),
            input_layer("b", T, 1),
            input_layer("c", T, 16),
            layer("Multiply", "gate", {}, [tensor("a"), tensor("b")]),
            layer("Concatenate", "cat", {"axis": -1}, [tensor("gate"), tensor("c")]),
            layer("Dense", "out", {"units": 3}, tensor("cat")),
        ],
        ["a", "b", "c"],
        ["out"],
    )
    assert codes(ok) == []
    bad = model(
        [
            input_layer("a", T, D),
            input_layer("c", S, 16),
            layer("Concatenate", "cat", {"axis": -1}, [tensor("a"), tensor("c")]),
        ],
        ["a", "c"],
        ["cat"],
    )
    (finding,) = lint_text(json.dumps(bad, indent=1))
    assert finding.code == "KMHA303" and f"sizes [{T}, {S}]" in finding.message


def test_nested_model_input_is_checked_and_its_output_flows_on():
    inner = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "inner",
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "InputLayer",
                    "registered_name": None,
                    "config": {"batch_shape": [None, T, 32], "name": "inner_in"},
                },
                {
                    "module": "keras.layers",
                    "class_name": "Dense",
                    "registered_name": None,
                    "config": {"name": "inner_dense", "units": 16},
                },
            ],
        },
        "registered_name": None,
        "name": "inner",
        "inbound_nodes": [{"args": [tensor("x")], "kwargs": {}}],
    }
    doc = model(
        [
            input_layer("x", T, D),
            inner,
            layer("Reshape", "r", {"target_shape": [T * 16]}, tensor("inner")),
        ],
        ["x"],
        ["r"],
    )
    (finding,) = lint_text(json.dumps(doc, indent=1))
    assert finding.code == "KMHA309"
    assert "nested model's declared input" in finding.message
    assert f"Expected 32; received {D}" in finding.message


def test_undefined_node_and_output_indices():
    doc = model(
        [
            input_layer("x", T, D),
            layer("Dense", "d", {"units": 4}, tensor("x", 0, 1)),
            layer("Dense", "e", {"units": 4}, tensor("d", 3, 0)),
        ],
        ["x"],
        ["e", "ghost"],
    )
    messages = [(f.code, f.message) for f in lint_text(json.dumps(doc, indent=1))]
    assert [c for c, _ in messages] == ["KMHA301"] * 3
    assert "has no output 1" in messages[0][1]
    assert "has no call (node) 3" in messages[1][1]
    assert "no layer named `ghost`" in messages[2][1]


def test_conv_pooling_and_permute():
    doc = model(
        [
            input_layer("x", S, 6),
            layer(
                "Conv1D",
                "conv",
                {
                    "filters": 8,
                    "kernel_size": [3],
                    "strides": [2],
                    "padding": "valid",
                    "dilation_rate": [1],
                    "groups": 2,
                },
                tensor("x"),
            ),
            layer("Permute", "p", {"dims": [2, 1]}, tensor("conv")),
            layer("GlobalAveragePooling1D", "pool", {}, tensor("p")),
            layer("Reshape", "r", {"target_shape": [5]}, tensor("pool")),
        ],
        ["x"],
        ["r"],
    )
    assert codes(doc) == []  # conv: (None, 5, 8); permute: (None, 8, 5); pool: (None, 5)
    doc["config"]["layers"][1]["config"]["groups"] = 4
    assert codes(doc) == ["KMHA310"]


def test_kmha_rules_share_the_layer_geometry_messages():
    from kmha_lint import geometry
    from kmha_lint.problem import ShapeError

    with pytest.raises(ShapeError) as caught:
        geometry.check_key_value_heads("attn", 8, 3)
    doc = model(
        [
            input_layer("x", T, D),
            kmha("attn", tensor("x"), tensor("x"), num_heads=8, num_key_value_heads=3),
        ],
        ["x"],
        ["attn"],
    )
    (finding,) = lint_text(json.dumps(doc, indent=1))
    assert finding.code == "KMHA202"
    assert finding.message in str(caught.value)


FUZZ_BASES = ["KMHA201/good.json", "KMHA204/good.json", "KMHA304/good.json", "keras2/good.json"]
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 3000) | st.floats(-1, 100) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=5,
)


def _leaf_pointers(value, pointer=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaf_pointers(child, (*pointer, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaf_pointers(child, (*pointer, index))
    if pointer:
        yield pointer


def _replace(doc, pointer, value) -> None:
    """Set the value at ``pointer`` if an earlier edit left it in place."""
    *parents, last = pointer
    target = doc
    try:
        for token in parents:
            target = target[token]
        if isinstance(target, dict) or (isinstance(target, list) and isinstance(last, int)):
            target[last] = value
    except (KeyError, IndexError, TypeError):
        return


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(FUZZ_BASES), st.data())
def test_no_edit_makes_the_linter_raise(base, data):
    """Any value anywhere replaced by any JSON: findings, never an exception."""
    doc = json.loads((FIXTURES / base).read_text())
    pointers = list(_leaf_pointers(doc))
    for _ in range(data.draw(st.integers(1, 3))):
        _replace(doc, data.draw(st.sampled_from(pointers)), data.draw(ANY_JSON))
    findings = lint_text(json.dumps(doc))
    assert all(f.line >= 1 and f.column >= 1 and f.code.startswith("KMHA") for f in findings)


# -- layer families beyond attention -------------------------------------------------------


def chain(shape, *specs, name="m"):
    """A functional model: Input(shape) then each (class_name, config) on the previous."""
    layers_, previous = [input_layer("x", *shape)], "x"
    for i, (class_name, config) in enumerate(specs):
        layers_.append(layer(class_name, f"l{i}", config, tensor(previous)))
        previous = f"l{i}"
    return model(layers_, ["x"], [previous], name=name)


def findings(doc):
    return [(f.code, f.pointer) for f in lint_text(json.dumps(doc, indent=1))]


def test_convolutions_of_every_rank_reach_the_dense_that_reads_them():
    doc = chain(
        (16, 16, 3),
        ("Conv2D", {"filters": 8, "kernel_size": 3}),
        ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}),
        ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2}),
        ("MaxPooling2D", {"pool_size": 2}),
        ("Flatten", {}),
        ("Dense", {"units": 2}),
    )
    assert codes(doc) == []
    # 16 -> 14 -> 12 -> 25 -> 12: 12 * 12 * 4 features reach the Dense
    doc["config"]["layers"][-1]["build_config"] = {"input_shape": [None, 12 * 12 * 4]}
    assert codes(doc) == []
    doc["config"]["layers"][1]["config"]["kernel_size"] = 5
    assert codes(doc) == ["KMHA302"]


def test_window_larger_than_input_and_wrong_rank():
    doc = chain((4, 4, 3), ("Conv2D", {"filters": 8, "kernel_size": 5}))
    assert codes(doc) == ["KMHA306"]
    doc = chain((4, 3), ("Conv2D", {"filters": 8, "kernel_size": 1}))
    assert codes(doc) == ["KMHA305"]
    doc = chain((4, 4, 3), ("Cropping2D", {"cropping": [[2, 2], [0, 0]]}))
    assert codes(doc) == ["KMHA306"]


def test_recurrent_and_wrappers():
    lstm = {"units": 8, "return_sequences": True}
    inner = {"module": "keras.layers", "class_name": "GRU", "config": {"units": 4}}
    doc = chain(
        (10, 6),
        ("LSTM", lstm),
        ("Bidirectional", {"layer": inner}),
        ("RepeatVector", {"n": 3}),
        ("TimeDistributed", {"layer": {"class_name": "Dense", "config": {"units": 5}}}),
        ("Reshape", {"target_shape": [15]}),
    )
    assert codes(doc) == []
    doc["config"]["layers"][-1]["config"]["target_shape"] = [16]
    assert codes(doc) == ["KMHA304"]  # (None, 3, 5) holds 15 elements


def test_group_query_attention_heads_go_through_kmha_geometry():
    config = {"head_dim": 4, "num_query_heads": 6, "num_key_value_heads": 4}
    doc = model(
        [
            input_layer("x", T, 16),
            layer("GroupedQueryAttention", "gqa", config, tensor("x"), tensor("x")),
        ],
        ["x"],
        ["gqa"],
    )
    assert findings(doc) == [("KMHA202", "/config/layers/1/config/num_key_value_heads")]
    doc["config"]["layers"][1]["config"]["num_key_value_heads"] = 3
    assert codes(doc) == []


def test_dot_attention_needs_matching_query_and_key_widths():
    doc = model(
        [
            input_layer("q", T, 8),
            input_layer("v", S, 8),
            layer("Attention", "att", {}, [tensor("q"), tensor("v")]),
            layer("Dense", "d", {"units": 4}, tensor("att")),
        ],
        ["q", "v"],
        ["d"],
    )
    assert codes(doc) == []
    doc["config"]["layers"][1]["config"]["batch_shape"] = [None, S, 6]
    assert codes(doc) == ["KMHA209"]


def test_keras_ops_are_followed_and_checked():
    def op(class_name, name, config, *args):
        return layer(class_name, name, config, *args, module="keras.src.ops.numpy")

    doc = model(
        [
            input_layer("x", T, 8),
            layer("Dense", "d", {"units": 8}, tensor("x")),
            op("Add", "add", {}, tensor("x"), tensor("d")),
            op("Stack", "stack", {"axis": 1}, [tensor("add"), tensor("add")]),
            op("Reshape", "reshape", {"newshape": [-1, 2 * T, 8]}, tensor("stack")),
            op("Transpose", "t", {"axes": [0, 2, 1]}, tensor("reshape")),
            op("Matmul", "mm", {}, tensor("reshape"), tensor("t")),
            layer("Dense", "out", {"units": 2}, tensor("mm")),
        ],
        ["x"],
        ["out"],
    )
    doc["config"]["layers"][-1]["build_config"] = {"input_shape": [None, 2 * T, 2 * T]}
    assert codes(doc) == []
    doc["config"]["layers"][1]["config"]["units"] = 6
    assert codes(doc) == ["KMHA303"]  # ops.add of 8 and 6 features


def test_unmodelled_layers_continue_from_recorded_shapes_only_when_inputs_match():
    def recorded(name, *shape):
        ref = tensor(name)
        ref["config"]["shape"] = [None, *shape]
        return ref

    doc = model(
        [
            input_layer("x", T, 8),
            layer("Patches", "patches", {}, recorded("x", T, 8), module="my.layers"),
            layer("Dense", "d", {"units": 16}, recorded("patches", 4, 32)),
            layer("Add", "add", {}, [recorded("d", 4, 16), recorded("d", 4, 16)]),
        ],
        ["x"],
        ["add"],
    )
    doc["config"]["layers"][2]["build_config"] = {"input_shape": [None, 4, 32]}
    assert codes(doc) == []
    doc["config"]["layers"][2]["build_config"] = {"input_shape": [None, 4, 30]}
    assert codes(doc) == ["KMHA302"]  # the recorded (None, 4, 32) reaches a Dense built for 30
    doc["config"]["layers"][0]["config"]["batch_shape"] = [None, T, 9]
    assert codes(doc) == []  # the custom layer's input changed: its output is unknown


def test_non_finite_rates_are_out_of_range_and_rate_one_is_reported_once():
    doc = chain((T, 8), ("Dropout", {"rate": float("nan")}))
    assert codes(doc) == ["KMHA006", "KMHA102"]  # not JSON (parse level), and not a rate
    doc = chain((T, 8), ("Dropout", {"rate": 1.0}))
    assert codes(doc) == ["KMHA105"]
    doc = model(
        [input_layer("x", T, 16), kmha("k", tensor("x"), tensor("x"), dropout=1)], ["x"], ["k"]
    )
    assert codes(doc) == ["KMHA102"]  # kmha takes [0, 1): out of range, not also KMHA105


def test_value_findings_point_at_the_value():
    doc = model(
        [input_layer("x", T, 16), kmha("k", tensor("x"), tensor("x"), num_heads=5)], ["x"], ["k"]
    )
    (finding,) = lint_text(json.dumps(doc, indent=1))
    assert finding.code == "KMHA201" and finding.pointer.endswith("/config/num_heads")
    text = json.dumps(doc, indent=1)
    line = text.splitlines()[finding.line - 1]
    assert line[finding.column - 1 :].startswith("5")


def test_layer_families_a_transformer_does_not_use_load_on_first_lookup():
    """A cold lint of a transformer imports only the families it needs; the first class the
    loaded families do not know loads the others, and the result is as if all were loaded."""
    import subprocess
    import sys

    block = model(
        [
            input_layer("x", T, D),
            kmha("attention", tensor("x"), tensor("x"), key_dim=12),
            layer("Dropout", "drop", {"rate": 0.1}, tensor("attention")),
            layer("Add", "residual", {}, [tensor("x"), tensor("drop")]),
            layer("LayerNormalization", "norm", {"axis": -1}, tensor("residual")),
            layer("Dense", "ff", {"units": D}, tensor("norm")),
        ],
        ["x"],
        ["ff"],
    )
    on_demand = ["convolution", "ops", "pooling", "preprocessing", "recurrent", "reshaping"]
    probe = (
        "import json, sys\n"
        "from kmha_lint.api import lint_text\n"
        "def loaded():\n"
        f"    return [m for m in {on_demand!r} if 'kmha_lint.layers.' + m in sys.modules]\n"
        "print(len(lint_text(sys.argv[1])), loaded())\n"
        "print([f.code for f in lint_text(open(sys.argv[2]).read())], loaded())\n"
    )
    convolution = FIXTURES / "KMHA310" / "bad.json"
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(block), str(convolution)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.splitlines() == ["0 []", f"['KMHA310'] {on_demand!r}"]


AXES = FIXTURES.parent / "attention_axes"
AXES_LABELS = json.loads((AXES / "labels.json").read_text())["labels"]


@pytest.mark.parametrize("name", sorted(AXES_LABELS))
def test_keras_attention_axes_index_the_projected_tensor(name):
    """keras.layers.MultiHeadAttention's attention_axes, labelled by real tf.keras 2.21 and
    Keras 3.15 (tests/fixtures/attention_axes/make_axes.py): an error exactly where that
    Keras failed to build or run the model (attention over the heads axis with query and key
    disagreeing on an axis not attended; tf.keras's negative axes, counted in the projected
    tensor)."""
    label = AXES_LABELS[name]
    findings = lint_text((AXES / name).read_text(), name)
    errors = [(f.code, f.pointer) for f in findings if f.severity == "error"]
    assert bool(errors) != label["runs"], (label["error"], errors)


def test_attention_over_heads_says_which_axis_must_agree():
    name = "tf_keras-axes2-q5x8-k7x8.json"
    (finding,) = lint_text((AXES / name).read_text(), name)
    assert finding.code == "KMHA204" and finding.pointer.endswith("/value")  # tf.keras's kwarg
    assert "axis 2 is the heads axis" in finding.message
    assert "Expected 5, as in `query` (None, 5, 8); received 7" in finding.message
