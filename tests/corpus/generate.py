"""Generate the Keras-agreement corpus that `tests/test_lint_agreement.py` lints.

Run by hand from the repository root (pytest never runs it; it takes a few minutes):

    .venv/bin/pip install 'tf_keras==2.21.*'   # the Keras 2 judge, not a dependency
    .venv/bin/python tests/corpus/generate.py

It builds small models with real Keras 3 (and with tf_keras for Keras 2 JSON), saves
`model.to_json()` of each, and mutates every config the way a person editing it would
(sizes, head counts, types, input shapes, Reshape targets, attention axes, references,
stale build shapes). Every config is labelled by real Keras (`truth.keras_outcome`): does
it rebuild and predict one batch? Configs that run although they are surely a mistake (a
zero, negative, fractional or string size; a rate outside [0, 1) or given as a string) are
marked `mistake`, so that an error from the linter counts as right there. Output: `keras3/*.json`,
`keras2/*.json` (each exactly as `json.dumps` writes it, like `to_json`) and
`manifest.json`. The mutants are drawn with a fixed seed per base model, so a rerun with the
same Keras reproduces the corpus.
"""

from __future__ import annotations

import copy
import json
import os
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
CORPUS = Path(__file__).resolve().parent
sys.path.insert(0, str(CORPUS))

from truth import MAX_TOKEN_ID, keras_outcome, load_keras  # noqa: E402

SEED = 20240603
MUTANTS_PER_BASE = {"keras3": 26, "keras2": 15}
ERROR_CHARS = 400  # Keras messages can hold whole tracebacks; the head says what failed

Layer = dict
Path_ = tuple[int, ...]


@dataclass(frozen=True)
class Mutation:
    """One edit of a config: `apply` changes the (copied) model JSON in place."""

    family: str
    description: str
    apply: Callable[[dict], None]
    mistake: bool = False


# --------------------------------------------------------------------------- base models


def keras3_bases() -> dict[str, Callable[[], object]]:
    """Builders of the Keras 3 base models, by name."""
    import keras
    from keras import layers

    import kmha

    kmha_mha = kmha.MultiHeadAttention

    def post_norm_block(x, attention, prefix, ffn=32):
        """Residual attention + feed-forward block, the shape of most transformer configs."""
        width = x.shape[-1]
        x = layers.LayerNormalization(name=f"{prefix}_ln1")(
            layers.Add(name=f"{prefix}_res1")([x, layers.Dropout(0.1)(attention)])
        )
        hidden = layers.Dense(ffn, activation="relu", name=f"{prefix}_ffn_in")(x)
        out = layers.Dense(width, name=f"{prefix}_ffn_out")(hidden)
        return layers.LayerNormalization(name=f"{prefix}_ln2")(
            layers.Add(name=f"{prefix}_res2")([x, out])
        )

    def keras_mha_encoder():
        tokens = keras.Input(batch_shape=(None, 8, 16), name="tokens")
        attention = layers.MultiHeadAttention(4, 4, name="self_attention")(tokens, tokens)
        x = post_norm_block(tokens, attention, "block")
        pooled = layers.GlobalAveragePooling1D(name="pool")(x)
        return keras.Model(tokens, layers.Dense(3, name="head")(pooled), name="keras_mha_encoder")

    def kmha_encoder():
        tokens = keras.Input(batch_shape=(None, None, 16), name="tokens")
        attention = kmha_mha(num_heads=4, d_model=16, name="self_attention")(tokens, tokens)
        x = post_norm_block(tokens, attention, "block")
        pooled = layers.GlobalAveragePooling1D(name="pool")(x)
        return keras.Model(tokens, layers.Dense(3, name="head")(pooled), name="kmha_encoder")

    def kmha_gqa_lm():
        ids = keras.Input(batch_shape=(None, 10), dtype="int32", name="ids")
        x = layers.Embedding(50, 16, name="embed")(ids)
        attention = kmha_mha(
            num_heads=4, num_key_value_heads=2, key_dim=8, value_dim=6, dropout=0.1, name="gqa"
        )(x, x, use_causal_mask=True)
        x = post_norm_block(x, attention, "block", ffn=24)
        return keras.Model(ids, layers.Dense(50, name="logits")(x), name="kmha_gqa_lm")

    def keras_mha_cross():
        query = keras.Input(batch_shape=(None, None, 16), name="query")
        key = keras.Input(batch_shape=(None, 6, 12), name="key")
        value = keras.Input(batch_shape=(None, 6, 24), name="value")
        attention = layers.MultiHeadAttention(2, 8, value_dim=10, name="cross_attention")(
            query, value, key=key
        )
        x = layers.LayerNormalization(name="ln")(layers.Add(name="res")([query, attention]))
        return keras.Model([query, key, value], x, name="keras_mha_cross")

    def kmha_cross_derived():
        query = keras.Input(batch_shape=(None, None, 16), name="query")
        context = keras.Input(batch_shape=(None, 7, 24), name="context")
        attention = kmha_mha(num_heads=4, name="cross_attention")(query, context)
        delta = layers.Subtract(name="delta")([layers.Dense(16, name="proj")(attention), query])
        x = layers.Multiply(name="gate")([delta, layers.Activation("sigmoid", name="sig")(query)])
        return keras.Model([query, context], x, name="kmha_cross_derived")

    def merge_zoo_model():
        features = keras.Input(batch_shape=(None, 6, 8), name="features")
        a = layers.Dense(8, name="branch_a")(features)
        b = layers.Dense(8, name="branch_b")(features)
        merges = {
            "add": layers.Add,
            "subtract": layers.Subtract,
            "multiply": layers.Multiply,
            "average": layers.Average,
            "maximum": layers.Maximum,
            "minimum": layers.Minimum,
        }
        merged = [merge(name=name)([a, b]) for name, merge in merges.items()]
        x = layers.Concatenate(axis=-1, name="concat")(merged)
        x = layers.EinsumDense("abc,cd->abd", output_shape=(None, 12), bias_axes="d", name="mix")(x)
        x = layers.Reshape((12, 6), name="reshape")(x)
        x = layers.Permute((2, 1), name="permute")(x)
        x = layers.Flatten(name="flatten")(x)
        return keras.Model(features, layers.Dense(2, name="head")(x), name="merge_zoo")

    def sequential_conv():
        return keras.Sequential(
            [
                keras.Input((12, 6), name="signal"),
                layers.Conv1D(8, 3, activation="relu", name="conv"),
                layers.BatchNormalization(name="bn"),
                layers.Activation("relu", name="act"),
                layers.Dropout(0.2, name="drop"),
                layers.Reshape((5, 16), name="reshape"),
                layers.Permute((2, 1), name="permute"),
                layers.Flatten(name="flatten"),
                layers.Dense(4, name="head"),
            ],
            name="sequential_conv",
        )

    def sequential_embedding():
        return keras.Sequential(
            [
                keras.Input((10,), dtype="int32", name="ids"),
                layers.Embedding(40, 12, name="embed"),
                layers.Conv1D(16, 3, padding="same", name="conv"),
                layers.GlobalAveragePooling1D(name="pool"),
                layers.Dense(5, activation="softmax", name="head"),
            ],
            name="sequential_embedding",
        )

    def nested_functional():
        inner_in = keras.Input(batch_shape=(None, None, 16), name="block_in")
        inner_attention = kmha_mha(num_heads=2, name="block_attention")(inner_in, inner_in)
        inner_out = layers.LayerNormalization(name="block_ln")(
            layers.Add(name="block_res")([inner_in, inner_attention])
        )
        block = keras.Model(inner_in, inner_out, name="encoder_block")
        ids = keras.Input(batch_shape=(None, 9), dtype="int32", name="ids")
        x = block(layers.Embedding(30, 16, name="embed")(ids))
        pooled = layers.GlobalAveragePooling1D(name="pool")(x)
        return keras.Model(ids, layers.Dense(2, name="head")(pooled), name="nested_functional")

    def nested_sequential():
        tokens = keras.Input(batch_shape=(None, 8, 16), name="tokens")
        attention = layers.MultiHeadAttention(2, 8, name="self_attention")(tokens, tokens)
        x = layers.LayerNormalization(name="ln1")(layers.Add(name="res1")([tokens, attention]))
        ffn = keras.Sequential(
            [layers.Dense(32, activation="relu", name="ffn_in"), layers.Dense(16, name="ffn_out")],
            name="ffn",
        )
        x = layers.LayerNormalization(name="ln2")(layers.Add(name="res2")([x, ffn(x)]))
        flat = layers.Flatten(name="flatten")(x)
        return keras.Model(tokens, layers.Dense(1, name="head")(flat), name="nested_sequential")

    def attention_axes_4d():
        grid = keras.Input(batch_shape=(None, 4, 5, 8), name="grid")
        rows = layers.MultiHeadAttention(2, 4, attention_axes=(2,), name="row_attention")(
            grid, grid
        )
        x = layers.Add(name="res1")([grid, rows])
        both = kmha_mha(num_heads=2, attention_axes=(1, 2), name="grid_attention")(x, x)
        x = layers.LayerNormalization(name="ln")(layers.Add(name="res2")([x, both]))
        x = layers.Reshape((20, 8), name="reshape")(x)
        pooled = layers.GlobalAveragePooling1D(name="pool")(x)
        return keras.Model(grid, layers.Dense(2, name="head")(pooled), name="attention_axes_4d")

    def ops_and_shared_layers():
        """keras.ops calls in the graph (serialized as operations whose class names match
        layers: Add, Reshape, Concatenate), one attention layer called twice, two outputs."""
        from keras import ops

        query = keras.Input(batch_shape=(None, 6, 16), name="query")
        context = keras.Input(batch_shape=(None, 9, 16), name="context")
        shared = kmha_mha(num_heads=4, name="shared_attention")
        forward = ops.add(shared(query, context), query)
        backward = layers.Add(name="res_back")([shared(context, query), context])
        flat = ops.reshape(forward, (-1, 96))
        pooled = ops.concatenate([flat, ops.mean(backward, axis=1)], axis=-1)
        head = layers.Dense(3, name="head")(pooled)
        summary = layers.Dense(4, name="summary")(layers.Flatten(name="flatten")(backward))
        return keras.Model([query, context], [head, summary], name="ops_and_shared")

    def opaque_layers():
        """Layers the linter does not model (recurrent, 2-D convolution, Keras's
        GroupQueryAttention) between modelled ones: shapes after them are unknown."""
        signal = keras.Input(batch_shape=(None, 8, 6), name="signal")
        x = layers.LSTM(16, return_sequences=True, name="lstm")(signal)
        x = layers.GroupQueryAttention(4, 4, 2, name="keras_gqa")(x, x)
        x = layers.Add(name="res")([x, layers.Dense(16, name="proj")(signal)])
        grid = layers.Reshape((8, 4, 4), name="to_grid")(x)
        grid = layers.Conv2D(4, 3, padding="same", name="conv2d")(grid)
        x = layers.Reshape((8, 16), name="to_seq")(grid)
        attention = kmha_mha(num_heads=2, name="attention")(x, x)
        x = layers.LayerNormalization(name="ln")(layers.Add(name="res2")([x, attention]))
        return keras.Model(signal, layers.Dense(2, name="head")(x), name="opaque_layers")

    def masked_attention():
        """Masks as model inputs: an attention mask for both layers, a padding mask for kmha."""
        query = keras.Input(batch_shape=(None, 6, 16), name="query")
        memory = keras.Input(batch_shape=(None, 9, 16), name="memory")
        allowed = keras.Input(batch_shape=(None, 6, 9), dtype="bool", name="allowed")
        padding = keras.Input(batch_shape=(None, 9), dtype="bool", name="padding")
        ours = kmha_mha(num_heads=4, name="kmha_attention")(
            query, memory, value_mask=padding, attention_mask=allowed
        )
        theirs = layers.MultiHeadAttention(2, 8, name="keras_attention")(
            query, memory, attention_mask=allowed
        )
        x = layers.Add(name="res")([query, ours, theirs])
        return keras.Model([query, memory, allowed, padding], x, name="masked_attention")

    return {
        "keras_mha_encoder": keras_mha_encoder,
        "kmha_encoder": kmha_encoder,
        "kmha_gqa_lm": kmha_gqa_lm,
        "keras_mha_cross": keras_mha_cross,
        "kmha_cross_derived": kmha_cross_derived,
        "merge_zoo": merge_zoo_model,
        "sequential_conv": sequential_conv,
        "sequential_embedding": sequential_embedding,
        "nested_functional": nested_functional,
        "nested_sequential": nested_sequential,
        "attention_axes_4d": attention_axes_4d,
        "ops_and_shared": ops_and_shared_layers,
        "opaque_layers": opaque_layers,
        "masked_attention": masked_attention,
    }


def keras2_bases() -> dict[str, Callable[[], object]]:
    """Builders of the tf_keras (Keras 2) base models, by name."""
    import tf_keras as keras
    from tf_keras import layers

    def encoder():
        tokens = keras.Input(shape=(8, 16), name="tokens")
        attention = layers.MultiHeadAttention(4, 4, name="self_attention")(tokens, tokens)
        x = layers.LayerNormalization(name="ln1")(layers.Add(name="res1")([tokens, attention]))
        hidden = layers.Dense(32, activation="relu", name="ffn_in")(x)
        x = layers.Add(name="res2")([x, layers.Dense(16, name="ffn_out")(hidden)])
        pooled = layers.GlobalAveragePooling1D(name="pool")(x)
        return keras.Model(tokens, layers.Dense(3, name="head")(pooled), name="tfk_encoder")

    def cross_attention():
        query = keras.Input(shape=(None, 16), name="query")
        context = keras.Input(shape=(7, 24), name="context")
        attention = layers.MultiHeadAttention(2, 8, value_dim=6, name="cross_attention")(
            query, context
        )
        x = layers.LayerNormalization(name="ln")(layers.Add(name="res")([query, attention]))
        return keras.Model([query, context], x, name="tfk_cross_attention")

    def sequential_conv():
        return keras.Sequential(
            [
                keras.Input((12, 6), name="signal"),
                layers.Conv1D(8, 3, activation="relu", name="conv"),
                layers.BatchNormalization(name="bn"),
                layers.Dropout(0.2, name="drop"),
                layers.Reshape((5, 16), name="reshape"),
                layers.Permute((2, 1), name="permute"),
                layers.Flatten(name="flatten"),
                layers.Dense(4, name="head"),
            ],
            name="tfk_sequential_conv",
        )

    def embedding_merge():
        ids = keras.Input(shape=(10,), dtype="int32", name="ids")
        x = layers.Embedding(40, 12, name="embed")(ids)
        a = layers.Dense(12, name="branch_a")(x)
        b = layers.Dense(12, activation="tanh", name="branch_b")(x)
        x = layers.Concatenate(name="concat")(
            [layers.Add(name="add")([a, b]), layers.Multiply(name="multiply")([a, b])]
        )
        x = layers.EinsumDense("abc,cd->abd", output_shape=(None, 6), name="mix")(x)
        x = layers.Reshape((60,), name="reshape")(x)
        return keras.Model(ids, layers.Dense(2, name="head")(x), name="tfk_embedding_merge")

    def nested():
        ffn = keras.Sequential(
            [layers.Dense(32, activation="relu", name="ffn_in"), layers.Dense(16, name="ffn_out")],
            name="ffn",
        )
        tokens = keras.Input(shape=(6, 16), name="tokens")
        attention = layers.MultiHeadAttention(2, 8, name="self_attention")(tokens, tokens)
        x = layers.Add(name="res1")([tokens, attention])
        x = layers.Add(name="res2")([x, ffn(x)])
        flat = layers.Flatten(name="flatten")(x)
        return keras.Model(tokens, layers.Dense(1, name="head")(flat), name="tfk_nested")

    return {
        "tfk_encoder": encoder,
        "tfk_cross_attention": cross_attention,
        "tfk_sequential_conv": sequential_conv,
        "tfk_embedding_merge": embedding_merge,
        "tfk_nested": nested,
    }


# --------------------------------------------------------------------------- config walking


def walk_layers(model: dict, prefix: Path_ = ()) -> Iterator[tuple[Path_, Layer]]:
    """Every layer entry of a model JSON, nested models' layers included, with its path."""
    for index, layer in enumerate(model["config"]["layers"]):
        path = (*prefix, index)
        yield path, layer
        if isinstance(layer.get("config"), dict) and "layers" in layer["config"]:
            yield from walk_layers(layer, path)


def layer_at(model: dict, path: Path_) -> Layer:
    for index in path:
        model = model["config"]["layers"][index]
    return model


def is_reference(node: object) -> bool:
    """A tensor reference `[layer_name, node_index, tensor_index, ...]` (Keras 2 and 3)."""
    return (
        isinstance(node, list)
        and len(node) >= 3
        and isinstance(node[0], str)
        and isinstance(node[1], int)
        and isinstance(node[2], int)
    )


def references(node: object) -> Iterator[list]:
    """Every tensor reference inside `node` (inbound nodes, input/output layer lists)."""
    if is_reference(node):
        yield node
        for call_argument in node[3:]:  # Keras 2 keeps tensor kwargs (`value`) in the reference
            yield from references(call_argument)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from references(value)


def model_references(model: dict) -> Iterator[list]:
    """References of one model level: its layers' inbound nodes and its input/output lists."""
    config = model["config"]
    for layer in config["layers"]:
        yield from references(layer.get("inbound_nodes", []))
    yield from references(config.get("input_layers", []))
    yield from references(config.get("output_layers", []))


def layer_name(layer: Layer) -> str:
    return layer["config"]["name"]


def set_name(layer: Layer, name: str) -> None:
    layer["config"]["name"] = name
    if "name" in layer:
        layer["name"] = name


# --------------------------------------------------------------------------- mutations


def edit(path: Path_, key: str, value: object) -> Callable[[dict], None]:
    def apply(model: dict) -> None:
        layer_at(model, path)["config"][key] = value

    return apply


def size_values(value: int) -> list[tuple[str, object, bool]]:
    """(label, new value, surely-a-mistake) for an integer size field."""
    plausible = sorted({value * 2, value // 2, value + 1, value + 8} - {value, 0})
    return [(str(v), v, False) for v in plausible] + [
        ("0", 0, True),
        (str(-value), -value, True),
        (f'"{value}"', str(value), True),
        (str(value + 0.5), value + 0.5, True),
        (f"{float(value)}", float(value), False),
    ]


RATE_VALUES = [
    ("0.25", 0.25, False),
    ("1.0", 1.0, True),
    ("1.5", 1.5, True),
    ("-0.1", -0.1, True),
    ('"0.1"', "0.1", True),
]

SIZE_FIELDS = {
    "Dense": ("units",),
    "Embedding": ("input_dim", "output_dim"),
    "Conv1D": ("filters",),
    "MultiHeadAttention": ("num_heads", "key_dim", "value_dim", "num_key_value_heads", "d_model"),
}
RATE_FIELDS = {"Dropout": "rate", "MultiHeadAttention": "dropout"}
# Fields that are None in the base but take a size: a few values a person would try.
UNSET_SIZE_VALUES = [("2", 2, False), ("3", 3, False), ("8", 8, False), ("0", 0, True)]


def field_mutations(path: Path_, layer: Layer) -> Iterator[Mutation | None]:
    """Edits of one layer's own arguments (None for an edit that would change nothing)."""
    kind, config, name = layer["class_name"], layer["config"], layer_name(layer)

    def mutation(family: str, what: str, key: str, value: object, mistake: bool = False):
        if json.dumps(config.get(key)) == json.dumps(value):
            return None  # an edit that changes nothing; `all_mutations` drops it
        return Mutation(family, f"{name} ({kind}): {what}", edit(path, key, value), mistake)

    for key in SIZE_FIELDS.get(kind, ()):
        if key not in config:
            continue
        current = config[key]
        values = size_values(current) if isinstance(current, int) else UNSET_SIZE_VALUES
        if key == "input_dim":  # an input_dim the random token ids exceed fails on data alone
            values = [v for v in values if not isinstance(v[1], int) or v[1] > MAX_TOKEN_ID or v[2]]
        for label, value, mistake in values:
            yield mutation(f"size:{key}", f"{key} {current} -> {label}", key, value, mistake)
        if current is not None and kind == "MultiHeadAttention" and key != "num_heads":
            yield mutation(f"size:{key}", f"{key} {current} -> null", key, None)
    if kind in RATE_FIELDS:
        key = RATE_FIELDS[kind]
        for label, value, mistake in RATE_VALUES:
            yield mutation("rate", f"{key} {config[key]} -> {label}", key, value, mistake)
    if kind == "MultiHeadAttention":
        for label, value in [
            ("[1]", [1]),
            ("[2]", [2]),
            ("[-1]", [-1]),
            ("[0]", [0]),
            ("[1, 2]", [1, 2]),
            ("[5]", [5]),
        ]:
            yield mutation(
                "attention_axes",
                f"attention_axes {config['attention_axes']} -> {label}",
                "attention_axes",
                value,
            )
        for label, value, mistake in [("24", 24, False), ("[16]", [16], False), ("0", 0, True)]:
            yield mutation(
                "output_shape",
                f"output_shape {config['output_shape']} -> {label}",
                "output_shape",
                value,
                mistake,
            )
        if "num_key_value_heads" not in config:
            yield mutation(
                "unknown_argument",
                "add num_key_value_heads 2 (a kmha-only argument)",
                "num_key_value_heads",
                2,
            )
    if kind == "EinsumDense":
        shape = config["output_shape"]
        for last in (shape[-1] * 2, 0, -shape[-1]):
            yield mutation(
                "output_shape",
                f"output_shape {shape} -> {[*shape[:-1], last]}",
                "output_shape",
                [*shape[:-1], last],
                last <= 0,
            )
        equation = config["equation"]
        for new in (equation.replace("cd", "de"), equation.replace("->abd", "->ad")):
            yield mutation("equation", f"equation {equation} -> {new}", "equation", new)
    if kind == "Reshape":
        target = list(config["target_shape"])
        total = 1
        for size in target:
            total *= size
        options = [
            [total],
            [-1, target[-1]],
            [target[0] + 1, *target[1:]],
            [*target, 1],
            [target[-1], *target[:-1]],
            [-1, -1],
            [total * 2],
        ]
        for new in options:
            yield mutation("reshape", f"target_shape {target} -> {new}", "target_shape", new)
    if kind == "Permute":
        for new in ([1, 2], [2, 2], [0, 1], [3, 1]):
            yield mutation("permute", f"dims {config['dims']} -> {new}", "dims", new)
    if kind in ("Concatenate", "BatchNormalization", "LayerNormalization"):
        for new in (1, -2, 3):
            yield mutation("axis", f"axis {config['axis']} -> {new}", "axis", new)
    if kind == "Activation" or (kind == "Dense" and config.get("activation") != "linear"):
        for new in ("gelu", "relux"):
            yield mutation(
                "activation", f"activation {config['activation']} -> {new}", "activation", new
            )
    if kind == "Conv1D":
        yield mutation("conv", "kernel_size [3] -> [13]", "kernel_size", [13])
        yield mutation("conv", "strides [1] -> [2]", "strides", [2])
        yield mutation("conv", f"padding {config['padding']} -> causal", "padding", "causal")
        yield mutation("conv", f"padding {config['padding']} -> full", "padding", "full")
    if kind == "GlobalAveragePooling1D":
        yield mutation("pooling", "keepdims false -> true", "keepdims", True)


def input_mutations(path: Path_, layer: Layer) -> Iterator[Mutation]:
    """Edits of an InputLayer's declared shape (`batch_shape`, Keras 2 `batch_input_shape`)."""
    config = layer["config"]
    key = "batch_shape" if "batch_shape" in config else "batch_input_shape"
    shape = config[key]
    options: list[tuple[list, bool]] = [
        ([*shape[:-1], shape[-1] * 2], False),
        ([*shape[:-1], shape[-1] + 1], False),
        ([*shape[:-1], 0], True),
        (shape[:-1], False),
        ([*shape[:-1], 2, shape[-1]], False),
        ([*shape[:-1], -shape[-1]], True),
        ([*shape[:-1], str(shape[-1])], True),
    ]
    if len(shape) >= 3:
        seq = shape[1]
        options.append(([shape[0], 11 if seq is None else None, *shape[2:]], False))
        options.append(([shape[0], (seq or 4) + 3, *shape[2:]], False))
    for new, mistake in options:
        yield Mutation(
            "input_shape",
            f"{layer_name(layer)} (InputLayer): {key} {shape} -> {new}",
            edit(path, key, new),
            mistake,
        )


def last_dims(shape_spec: object) -> Iterator[tuple[list, int]]:
    """(list, index) of the feature axis of every shape inside a build_config value."""
    if (
        isinstance(shape_spec, list)
        and shape_spec
        and all(d is None or isinstance(d, int) for d in shape_spec)
    ):
        if isinstance(shape_spec[-1], int):
            yield shape_spec, len(shape_spec) - 1
    elif isinstance(shape_spec, list):
        for item in shape_spec:
            yield from last_dims(item)
    elif isinstance(shape_spec, dict):
        for item in shape_spec.values():
            yield from last_dims(item)


def build_mutations(path: Path_, layer: Layer) -> Iterator[Mutation]:
    """A stale `build_config` (the shape recorded when the model was saved), or none at all."""
    build = layer.get("build_config")
    if not build:
        return
    name = layer_name(layer)
    if list(last_dims(build)):

        def stale(model: dict) -> None:
            target = layer_at(model, path)["build_config"]
            shape, index = next(last_dims(target))
            shape[index] = shape[index] * 2 + 2

        yield Mutation("stale_build", f"{name}: build_config feature axis w -> 2w+2", stale)

    def drop(model: dict) -> None:
        del layer_at(model, path)["build_config"]

    yield Mutation("drop_build", f"{name}: build_config removed", drop)


def reference_mutations(model: dict) -> Iterator[Mutation]:
    """Renamed layers and references, at every model level that has a graph."""
    levels = [((), model)] + [
        (path, layer)
        for path, layer in walk_layers(model)
        if isinstance(layer.get("config"), dict) and "input_layers" in layer["config"]
    ]
    for level_path, level in levels:
        if "input_layers" not in level["config"]:
            continue
        referenced = sorted({ref[0] for ref in model_references(level)})
        for index, layer in enumerate(level["config"]["layers"]):
            name = layer_name(layer)
            path = (*level_path, index)
            if name not in referenced:
                continue
            yield Mutation(
                "dangling_reference",
                f"{name}: layer renamed to {name}_v2, references left as they were",
                _rename(level_path, path, name, f"{name}_v2", update_references=False),
            )
            yield Mutation(
                "consistent_rename",
                f"{name}: layer renamed to {name}_v2 and every reference updated",
                _rename(level_path, path, name, f"{name}_v2", update_references=True),
            )
            yield Mutation(
                "reference_typo",
                f"first reference to {name} -> {name}x",
                _retarget(level_path, name, f"{name}x"),
            )
        names = [layer_name(layer) for layer in level["config"]["layers"]]
        for source, target in zip(referenced, referenced[1:], strict=False):
            if names.index(target) < names.index(source):
                source, target = target, source
            yield Mutation(
                "rewired_reference",
                f"first reference to {target} -> {source} (an existing layer)",
                _retarget(level_path, target, source),
            )


def _rename(level_path: Path_, path: Path_, old: str, new: str, update_references: bool):
    def apply(model: dict) -> None:
        set_name(layer_at(model, path), new)
        if update_references:
            for ref in model_references(layer_at(model, level_path)):
                if ref[0] == old:
                    ref[0] = new

    return apply


def _retarget(level_path: Path_, old: str, new: str):
    def apply(model: dict) -> None:
        ref = next(r for r in model_references(layer_at(model, level_path)) if r[0] == old)
        ref[0] = new

    return apply


def all_mutations(model: dict) -> list[Mutation]:
    mutations = list(reference_mutations(model))
    for path, layer in walk_layers(model):
        if layer["class_name"] == "InputLayer":
            mutations += input_mutations(path, layer)
        elif str(layer.get("module", "")).startswith("keras.src.ops"):
            pass  # a keras.ops call: opaque to the linter, and its arguments are code, not sizes
        else:
            mutations += [m for m in field_mutations(path, layer) if m is not None]
        mutations += build_mutations(path, layer)
    return mutations


def pick(mutations: list[Mutation], count: int, rng: random.Random) -> list[Mutation]:
    """`count` mutations, round-robin over families so that every kind of edit shows up."""
    families: dict[str, list[Mutation]] = {}
    for mutation in mutations:
        families.setdefault(mutation.family, []).append(mutation)
    for group in families.values():
        rng.shuffle(group)
    order = sorted(families)
    rng.shuffle(order)
    chosen: list[Mutation] = []
    while len(chosen) < count and any(families.values()):
        for family in order:
            if families[family] and len(chosen) < count:
                chosen.append(families[family].pop())
    return chosen


# --------------------------------------------------------------------------- driver

ORIGINAL = Mutation("original", "unmutated to_json() output", lambda model: None)


def generate(flavor: str, bases: dict[str, Callable[[], object]]) -> list:
    keras = load_keras(flavor)
    folder = CORPUS / flavor
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("*.json"):
        stale.unlink()
    entries = []
    for base, build in bases.items():
        keras.backend.clear_session()
        text = build().to_json()
        model = json.loads(text)
        # One seed per base model: adding a base leaves the other bases' mutants unchanged.
        rng = random.Random(f"{SEED}:{flavor}:{base}")
        chosen = pick(all_mutations(model), MUTANTS_PER_BASE[flavor], rng)
        variants = [("original", ORIGINAL)] + [
            (f"{number:02d}-{m.family.replace(':', '-').replace('_', '-')}", m)
            for number, m in enumerate(chosen, start=1)
        ]
        for suffix, mutation in variants:
            mutant = copy.deepcopy(model)
            mutation.apply(mutant)
            config_text = text if mutation is ORIGINAL else json.dumps(mutant)
            file = f"{flavor}/{base}-{suffix}.json"
            (CORPUS / file).write_text(config_text)
            error = keras_outcome(config_text, flavor)
            entries.append(
                {
                    "file": file,
                    "kind": flavor,
                    "base": base,
                    "family": mutation.family,
                    "mutation": mutation.description,
                    "runs": error is None,
                    "mistake": mutation.mistake,
                    "keras_error": None if error is None else error[:ERROR_CHARS],
                }
            )
            verdict = "runs" if error is None else "fails"
            print(f"{file}: {verdict} ({mutation.description})", flush=True)
    return entries


def main() -> None:
    import keras
    import tf_keras

    entries = generate("keras3", keras3_bases()) + generate("keras2", keras2_bases())
    manifest = {
        "generated_by": "tests/corpus/generate.py",
        "seed": SEED,
        "keras_version": keras.__version__,
        "tf_keras_version": tf_keras.__version__,
        "entries": entries,
    }
    (CORPUS / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    runs = sum(entry["runs"] for entry in entries)
    print(f"{len(entries)} configs: {runs} run, {len(entries) - runs} fail")


if __name__ == "__main__":
    main()
