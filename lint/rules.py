"""The rule catalogue: one typed :class:`Rule` per stable code, used by every check and emitter.

Codes never change meaning; one code names one condition. The first digit is the area:
0 input and parsing, 1 schema (types and ranges), 2 attention geometry, 3 graph shapes,
4 hyperparameter configs.

Every rule is a module-level constant (``rules.HEADS_DO_NOT_DIVIDE_WIDTH``); checks pass
the constant, never a code string. :data:`RULES` (code -> Rule) collects the Rule
constants of every module in :data:`RULE_MODULES`: to register rules defined elsewhere,
add that module's name there (one line).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from kmha_lint.record import Record

# The modules whose module-level Rule constants make up the catalogue.
RULE_MODULES: tuple[str, ...] = ("kmha_lint.rules", "kmha_lint.hparams.rules")


class Rule(Record):
    """One rule: a stable code, a name, a severity, a one-line summary and an explanation
    (what it finds, why it matters, an example). Its fixtures are in :attr:`fixtures`."""

    __slots__ = ("code", "name", "severity", "summary", "explanation")

    def __init__(self, code: str, name: str, severity: str, summary: str, explanation: str):
        self.code, self.name, self.severity = code, name, severity  # severity: error, warning
        self.summary, self.explanation = summary, explanation

    @property
    def fixtures(self) -> str:
        """Where its good.json and bad.json live, relative to the repository root."""
        return "tests/fixtures/lint/" + self.code

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


INVALID_JSON = Rule(
    "KMHA001",
    "invalid-json",
    "error",
    "The file is not valid JSON.",
    (
        "What: the text does not parse as JSON.\n"
        "Why: Keras cannot read the config at all.\n"
        'Example: a trailing comma, `{"units": 64,}`.'
    ),
)

DUPLICATE_KEY = Rule(
    "KMHA002",
    "duplicate-key",
    "error",
    "An object repeats a key; Keras silently keeps the last value.",
    (
        "What: the same key appears twice in one JSON object.\n"
        "Why: `json.loads` keeps the last value without a word, so the first one, often the "
        "one a person just edited, is ignored.\n"
        'Example: `{"num_heads": 8, "num_heads": 6}` builds a 6-head layer.'
    ),
)

INPUT_TOO_LARGE = Rule(
    "KMHA003",
    "input-too-large",
    "error",
    "The input exceeds a size or nesting limit.",
    (
        "What: the file, or the config.json inside a .keras archive, is larger than the byte "
        "limit, or nests too deeply.\n"
        "Why: the linter bounds its work so that hostile or corrupt inputs cannot exhaust "
        "memory (a zip bomb, for one).\n"
        "Example: a 2 GB config.json inside a .keras archive."
    ),
)

UNREADABLE_INPUT = Rule(
    "KMHA004",
    "unreadable-input",
    "error",
    "The input cannot be read (missing file, bad archive, no config.json).",
    (
        "What: the path does not exist or cannot be read, a .keras file is not a zip archive, "
        "or the archive holds no config.json.\n"
        "Why: nothing can be checked; the run exits with status 2.\n"
        "Example: `kmha-lint model.keras` where model.keras is an HDF5 file."
    ),
)

UNKNOWN_DOCUMENT = Rule(
    "KMHA005",
    "unknown-document",
    "error",
    "The JSON is not a Keras model config.",
    (
        "What: the document is not an object with `class_name` Functional, Model or Sequential "
        "and a `config.layers` list.\n"
        "Why: only Keras model configs (Keras 3 `model.to_json()`, .keras config.json, Keras "
        "2/tf.keras JSON) can be checked.\n"
        "Example: a package.json passed by mistake."
    ),
)

NON_FINITE_NUMBER = Rule(
    "KMHA006",
    "non-finite-number",
    "warning",
    "The config holds NaN or Infinity, which JSON does not allow.",
    (
        "What: a number literal is `NaN`, `Infinity` or `-Infinity`.\n"
        "Why: Python's json (and so Keras) reads them, but they are not JSON (RFC 8259): "
        "other tools reject the file, and no size, rate or epsilon is meaningful as NaN. "
        "Where the value must be a size or a rate, its own rule reports an error too.\n"
        'Example: `"epsilon": NaN` written by `json.dumps` of a NaN hyperparameter.'
    ),
)

INTEGER_TOO_LONG = Rule(
    "KMHA007",
    "integer-too-long",
    "error",
    "An integer has more digits than Python (and so Keras) can read.",
    (
        "What: an integer literal has more than 4300 digits, Python's limit for converting "
        "text to int (`sys.get_int_max_str_digits()`).\n"
        "Why: `json.loads`, which Keras uses, raises ValueError on the whole file, so the "
        "model cannot be loaded at all.\n"
        'Example: `"units": 1000...0` with 5000 digits, from a corrupted or hostile file.'
    ),
)

WRONG_TYPE = Rule(
    "KMHA101",
    "wrong-type",
    "error",
    "A config value has the wrong type.",
    (
        "What: a layer argument has a JSON type that the layer does not accept.\n"
        "Why: Keras 3 layers check types in their constructors (an int means a Python int, not "
        "8.0), so the model cannot be rebuilt.\n"
        'Example: `"num_heads": "8"` or `"key_dim": 64.5`.'
    ),
)

OUT_OF_RANGE = Rule(
    "KMHA102",
    "out-of-range",
    "error",
    "A config value is outside its valid range.",
    (
        "What: a size is zero or negative, or a rate is outside [0, 1].\n"
        "Why: Keras rejects it when it rebuilds the layer, or it builds a degenerate model.\n"
        'Example: `"dropout": 1.5`, `"num_heads": 0`, `"units": -4`.'
    ),
)

MISSING_KEY = Rule(
    "KMHA103",
    "missing-key",
    "error",
    "A required key is missing.",
    (
        "What: a layer config lacks an argument without a default, or the model envelope lacks "
        "`class_name` or `config`.\n"
        "Why: the layer constructor fails without it.\n"
        'Example: a Dense layer config without `"units"`.'
    ),
)

INVALID_VALUE = Rule(
    "KMHA104",
    "invalid-value",
    "error",
    "A config value is not one of the accepted values.",
    (
        "What: a value fails an enumeration or format constraint of the layer's schema.\n"
        "Why: Keras rejects it when it rebuilds the layer.\n"
        'Example: Conv1D `"padding": "sane"` (valid: valid, same, causal).'
    ),
)

RATE_DROPS_EVERYTHING = Rule(
    "KMHA105",
    "rate-drops-everything",
    "warning",
    "A dropout rate of 1 drops every unit.",
    (
        "What: a Dropout layer (or an attention layer's dropout) has rate 1.0.\n"
        "Why: Keras accepts it, but every activation is zeroed during training: almost surely "
        "a typo for 0.1.\n"
        'Example: `"rate": 1.0`.'
    ),
)

UNKNOWN_ARGUMENT = Rule(
    "KMHA106",
    "unknown-argument",
    "error",
    "A layer config has an argument the layer does not take.",
    (
        "What: a key of a known layer's config is not one of its constructor arguments (for "
        "the Keras flavour of the file).\n"
        "Why: Keras 3 raises 'Unrecognized keyword arguments' and tf.keras 'Keyword argument "
        "not understood' when they rebuild the layer.\n"
        'Example: `"num_key_value_heads": 2` on keras.layers.MultiHeadAttention (only '
        "kmha.MultiHeadAttention takes it)."
    ),
)

HEADS_DO_NOT_DIVIDE_WIDTH = Rule(
    "KMHA201",
    "heads-do-not-divide-width",
    "error",
    "The query width is not divisible by num_heads where key_dim is derived.",
    (
        "What: kmha.MultiHeadAttention with `key_dim` null (or d_model) splits the query width "
        "evenly across heads, and the width that arrives is not a multiple of num_heads.\n"
        "Why: key_dim = width / num_heads would not be a whole number; the layer raises "
        "ShapeError when it builds.\n"
        "Example: width 512 with num_heads 6 (use 4, 8 or 16, or pass key_dim)."
    ),
)

KEY_VALUE_HEADS = Rule(
    "KMHA202",
    "key-value-heads",
    "error",
    "num_heads is not a multiple of num_key_value_heads.",
    (
        "What: grouped-query attention shares each key/value head among num_heads / "
        "num_key_value_heads query heads, so the division must be exact.\n"
        "Why: the layer raises ShapeError when it is created.\n"
        "Example: num_heads 8 with num_key_value_heads 3."
    ),
)

D_MODEL_MISMATCH = Rule(
    "KMHA203",
    "d-model-mismatch",
    "error",
    "The query width that arrives differs from the declared d_model.",
    (
        "What: kmha.MultiHeadAttention declares `d_model`, and the previous layer produces a "
        "different number of features.\n"
        "Why: the layer raises ShapeError when it builds; a declared width is a promise.\n"
        "Example: d_model 512 after an Embedding with output_dim 256."
    ),
)

KEY_VALUE_AXES = Rule(
    "KMHA204",
    "key-value-axes",
    "error",
    "key and value (or query) disagree on a batch or sequence axis.",
    (
        "What: every key position needs a value, so key and value must have the same shape "
        "except the feature axis; axes that are not attended must also match query.\n"
        "Why: the attention einsum fails when the model is built or run.\n"
        "Example: value (None, 9, 24) with key (None, 7, 20)."
    ),
)

ATTENTION_RANK_OR_AXES = Rule(
    "KMHA205",
    "attention-rank-or-axes",
    "error",
    "Attention inputs have too small or unequal ranks, or invalid attention_axes.",
    (
        "What: query, value and key must be (batch, ..., features) of one rank >= 3, and "
        "attention_axes must name axes between batch and features.\n"
        "Why: the attention equations cannot be built.\n"
        "Example: a (None, 32) query, or attention_axes [2] for rank-3 inputs."
    ),
)

ATTENTION_RESIDUAL_WIDTH = Rule(
    "KMHA206",
    "attention-residual-width",
    "error",
    "An attention output is added to a residual of another width.",
    (
        "What: the output of a MultiHeadAttention (its output_shape, or the query width) "
        "reaches a merge layer together with a tensor of a different width.\n"
        "Why: the residual Add fails when the model is built.\n"
        "Example: output_shape 256 added to a 512-wide residual stream."
    ),
)

UNKNOWN_FEATURE_WIDTH = Rule(
    "KMHA207",
    "unknown-feature-width",
    "error",
    "A layer that sizes its weights from the feature axis receives it unknown.",
    (
        "What: the last axis of an input is None where the layer sizes weights from it "
        "(attention query, value and key; Dense; convolutions; normalization).\n"
        "Why: the weights cannot be sized; Keras raises when it builds.\n"
        "Example: keras.Input(shape=(None, None)) fed to MultiHeadAttention or Dense."
    ),
)

ATTENTION_MASK_SHAPE = Rule(
    "KMHA208",
    "attention-mask-shape",
    "error",
    "A mask passed to an attention layer does not fit the query, key and value shapes.",
    (
        "What: an attention_mask that does not broadcast to (B, H, T, S), or a query/value/key "
        "mask that is not shaped like its input without the feature axis (every mask for "
        "kmha.MultiHeadAttention; a (B, T, S) attention_mask for Keras's layer).\n"
        "Why: masks are often model inputs of their own; with Keras's layer a swapped or stale "
        "mask shape builds fine and fails on the first batch.\n"
        "Example: a (B, S, T) attention_mask, or a (B, S) padding mask given as attention_mask."
    ),
)

ATTENTION_SCORE_WIDTH = Rule(
    "KMHA209",
    "attention-score-width",
    "error",
    "Attention or AdditiveAttention scores a query against a key of another width.",
    (
        "What: keras.layers.Attention and AdditiveAttention compare query and key without "
        "projecting them, so their feature (last) axes must have one size.\n"
        "Why: the score matmul (or sum) fails when the model is built.\n"
        "Example: Attention()([query of width 8, value of width 6]) (the value is the key)."
    ),
)


UNDEFINED_REFERENCE = Rule(
    "KMHA301",
    "undefined-reference",
    "error",
    "A reference names a layer, node or tensor that does not exist.",
    (
        "What: an inbound node, input_layers or output_layers entry names a layer that is not "
        "in the model, or a node or output index it does not have.\n"
        "Why: Keras cannot connect the graph.\n"
        'Example: `"keras_history": ["dense_9", 0, 0]` after dense_9 was renamed.'
    ),
)

STALE_BUILD_SHAPE = Rule(
    "KMHA302",
    "stale-build-shape",
    "error",
    "A layer's recorded build shape differs from the shape that now reaches it.",
    (
        "What: a Keras 3 config records each layer's build shape; Keras builds the weights "
        "from it and then rejects inputs of another width or rank.\n"
        "Why: editing a width upstream without removing the stale build_config makes the model "
        "fail to load.\n"
        "Example: a Dense built for 256 features that now receives 512."
    ),
)

MERGE_SHAPE_MISMATCH = Rule(
    "KMHA303",
    "merge-shape-mismatch",
    "error",
    "The inputs of a merge layer (Add, Concatenate, ...) do not agree.",
    (
        "What: element-wise merges need equal (or 1) sizes on every axis; Concatenate needs "
        "equal sizes on every axis but the concatenation axis.\n"
        "Why: the merge fails when the model is built.\n"
        "Example: Add of (None, 12, 32) and (None, 12, 64)."
    ),
)

RESHAPE_SIZE = Rule(
    "KMHA304",
    "reshape-size",
    "error",
    "A Reshape target does not hold the same number of elements.",
    (
        "What: the product of the target shape (one -1 allowed) must equal the product of the "
        "input's non-batch axes.\n"
        "Why: Reshape fails when the model is built.\n"
        "Example: Reshape((8, 16)) of a (None, 10, 16) input."
    ),
)

INPUT_RANK = Rule(
    "KMHA305",
    "input-rank",
    "error",
    "A layer receives an input of a rank it cannot take.",
    (
        "What: the input rank does not fit the layer: a Conv1D or 1-D pooling layer needs "
        "(batch, steps, channels), a Dense layer rank >= 2, an EinsumDense input as many axes "
        "as its equation's input subscripts.\n"
        "Why: Keras rejects the input when it builds the model.\n"
        "Example: Conv1D on a (None, 64) input."
    ),
)

NON_POSITIVE_OUTPUT = Rule(
    "KMHA306",
    "non-positive-output",
    "error",
    "A layer would produce an axis of size zero or less.",
    (
        "What: with padding 'valid', a convolution window larger than the sequence leaves no "
        "output positions.\n"
        "Why: Keras raises 'Computed output size would be zero or negative'.\n"
        "Example: Conv1D(kernel_size=5) on a length-2 sequence."
    ),
)

DUPLICATE_LAYER_NAME = Rule(
    "KMHA307",
    "duplicate-layer-name",
    "error",
    "Two layers of one model share a name.",
    (
        "What: layer names must be unique within a model.\n"
        "Why: Keras refuses the model, and references by name become ambiguous.\n"
        "Example: two layers named `dense`."
    ),
)

GRAPH_CYCLE = Rule(
    "KMHA308",
    "graph-cycle",
    "error",
    "Layers of a functional model depend on each other in a cycle.",
    (
        "What: following inbound nodes from some layer leads back to it, so no order of "
        "building the layers exists.\n"
        "Why: Keras cannot rebuild the graph ('is part of a cycle', 'disconnected nodes').\n"
        "Example: an Add whose keras_history names the LayerNormalization that consumes it."
    ),
)

NESTED_MODEL_INPUT = Rule(
    "KMHA309",
    "nested-model-input",
    "error",
    "A nested model receives an input that does not match its declared input.",
    (
        "What: a functional model used as a layer declares its input shape (its InputLayer's "
        "batch_shape); the tensor that arrives has another rank or a different fixed size.\n"
        "Why: Keras checks the arriving shape against the declared one and raises.\n"
        "Example: a base model declared for (None, 224, 224, 3) called on a (None, 160, 160, "
        "3) image."
    ),
)

GROUPS_DO_NOT_DIVIDE_CHANNELS = Rule(
    "KMHA310",
    "groups-do-not-divide-channels",
    "error",
    "A grouped convolution's input channels are not divisible by groups.",
    (
        "What: `groups` splits the input channels evenly (and the filters too).\n"
        "Why: Keras raises when it builds the layer.\n"
        "Example: Conv1D(groups=3) on 16 channels."
    ),
)

AXIS_OUT_OF_RANGE = Rule(
    "KMHA311",
    "axis-out-of-range",
    "error",
    (
        "An axis argument names an axis the input does not have, or one of unknown size where "
        "weights are sized from it."
    ),
    (
        "What: `axis` of a normalization or Concatenate layer is outside the input's rank, or "
        "the normalized axis has an unknown size.\n"
        "Why: Keras raises when it builds the layer.\n"
        "Example: Concatenate(axis=3) of rank-3 inputs."
    ),
)

INVALID_PERMUTATION = Rule(
    "KMHA312",
    "invalid-permutation",
    "error",
    "Permute dims are not a permutation of the non-batch axes.",
    (
        "What: Permute's `dims` must list every axis 1..rank-1 exactly once.\n"
        "Why: the transpose cannot be built.\n"
        "Example: Permute((2, 3)) of a rank-3 input."
    ),
)


CONTRACTION_SIZE_MISMATCH = Rule(
    "KMHA313",
    "contraction-size-mismatch",
    "error",
    "A matrix product or einsum contracts axes of different sizes.",
    (
        "What: `keras.ops.matmul` / `tf.linalg.matmul` needs the last axis of the first operand "
        "to equal the second-to-last of the second; an einsum subscript must have one size in "
        "every operand.\n"
        "Why: the operation fails when the model is built.\n"
        "Example: ops.matmul of (None, 12, 8) and (None, 6, 12)."
    ),
)


CUSTOM_LAYER_INPUT = Rule(
    "KMHA314",
    "custom-layer-input",
    "error",
    "An input of a custom layer does not fit the shape its project declared for it.",
    (
        "What: a project can declare its custom layers' shapes under "
        "[tool.kmha-lint.custom-layers]; an input whose rank or size differs from the "
        "declared shape, read with the layer's config, is reported.\n"
        "Why: the layer's code expects that shape, so Keras fails inside its call, often "
        "with a message that names neither the layer's config nor the edit.\n"
        'Example: `inputs = ["batch, num_patches, features"]` and a PatchEncoder whose '
        "`num_patches` is 17 receiving (None, 16, 192)."
    ),
)

CUSTOM_LAYER_CONDITION = Rule(
    "KMHA315",
    "custom-layer-condition",
    "error",
    "A condition declared for a custom layer does not hold.",
    (
        "What: a custom layer's declaration may list conditions (`where`) on its sizes and "
        "config values; one that evaluates to false is reported.\n"
        "Why: the layer's code relies on it (a position table needs at least as many rows as "
        "the sequence has tokens).\n"
        'Example: `where = ["length <= sequence_length"]` with 64 tokens and '
        "`sequence_length` 32."
    ),
)

CUSTOM_LAYER_DECLARATION = Rule(
    "KMHA316",
    "custom-layer-declaration-unfit",
    "warning",
    "A custom layer's shape declaration does not fit the layer it names.",
    (
        "What: the declaration reads a config value the layer does not have (or not as an "
        "integer, or a list for `name[i]`), or declares another number of inputs than the "
        "call passes. The layer's shapes are then left unknown.\n"
        "Why: the declaration, not the model, is probably wrong; checks after the layer "
        "lose what it would have told them.\n"
        'Example: `output = "batch, tokens, embed_dim"` for a layer whose config calls it '
        "`projection_dim`."
    ),
)


class _Catalogue(Mapping):
    """code -> Rule over :data:`RULE_MODULES`, sorted by code, loaded on first use (so a
    rule module may import this one without a cycle)."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] | None = None

    def _load(self) -> dict[str, Rule]:
        if self._rules is None:
            found: dict[str, Rule] = {}
            import importlib  # the catalogue is only needed to select, explain or list rules

            for module_name in RULE_MODULES:
                module = importlib.import_module(module_name)
                for value in vars(module).values():
                    if isinstance(value, Rule):
                        other = found.setdefault(value.code, value)
                        if other is not value:
                            raise ValueError(f"two rules share code {value.code}")
            self._rules = dict(sorted(found.items()))
        return self._rules

    def __getitem__(self, code: str) -> Rule:
        return self._load()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


RULES: Mapping[str, Rule] = _Catalogue()
