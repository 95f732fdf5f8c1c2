"""The KMHA4xx rules: transformer hyperparameter configs (KerasHub presets, Hugging Face
config.json). Module-level :class:`~kmha_lint.rules.Rule` constants, registered in the
catalogue through ``kmha_lint.rules.RULE_MODULES``.

Severity follows what the library does: an error where it fails (when it reads the config,
builds the model or runs the first batch) or where the value is surely a mistake, a warning
where it builds but silently does something else than the config says.
"""

from __future__ import annotations

from kmha_lint.rules import Rule

HPARAM_WRONG_TYPE = Rule(
    "KMHA401",
    "hparam-wrong-type",
    "error",
    "A hyperparameter has the wrong type.",
    "What: a size, count, rate or token id has a JSON type the library does not accept "
    "(a string, a float for an integer, a boolean for a number, an object).\n"
    "Why: transformers validates field types when it reads config.json (strict dataclasses), "
    "and KerasHub fails while it builds the layers.\n"
    'Example: `"num_attention_heads": "8"` or `"hidden_size": 64.0`.',
)

HPARAM_OUT_OF_RANGE = Rule(
    "KMHA402",
    "hparam-out-of-range",
    "error",
    "A hyperparameter is outside the range the library accepts.",
    "What: a size, count or vocabulary is zero or negative where the library rejects it, or "
    "a rate or probability is outside [0, 1].\n"
    "Why: the library fails when it builds the layers (a negative Linear size, a dropout "
    "probability of 1.5, a division by zero heads).\n"
    'Example: `"hidden_dropout_prob": 1.5`, `"num_key_value_heads": 0`, '
    '`"intermediate_size": -1`.',
)

HPARAM_DEGENERATE = Rule(
    "KMHA403",
    "hparam-degenerate",
    "warning",
    "A hyperparameter the library accepts but that builds a degenerate model.",
    "What: a value the library takes without complaint but which makes the model useless: "
    "zero or negative layers (an empty stack), a zero-width feed-forward block, a dropout "
    "rate of exactly 1, zero query heads beside an explicit head_dim.\n"
    "Why: the model builds and runs, so nothing tells you the config is nonsense until the "
    "loss does not move.\n"
    'Example: `"num_hidden_layers": 0` or `"attention_dropout": 1.0`.',
)

HEADS_DO_NOT_DIVIDE_WIDTH = Rule(
    "KMHA404",
    "hparam-heads-do-not-divide-width",
    "error",
    "The width is not divisible by the head count where the family needs it.",
    "What: the family derives the head size as width / heads and checks or relies on an "
    "exact division (a config-time check, a reshape or a fused projection).\n"
    "Why: the library raises when it reads the config, builds the model or runs the first "
    "batch.\n"
    'Example: Llama (transformers) with `"hidden_size": 64` and `"num_attention_heads": 6` '
    '("The hidden size (64) is not a multiple of the number of attention heads (6)").',
)

HEAD_SIZE_FLOORED = Rule(
    "KMHA405",
    "hparam-head-size-floored",
    "warning",
    "The family floors width / heads silently: the attention projection is narrower than "
    "the width.",
    "What: the family computes the head size as width // heads without a check, so a head "
    "count that does not divide the width builds a model whose attention projects to "
    "heads * (width // heads) features instead of width.\n"
    "Why: it builds and runs, with fewer attention features (and parameters) than the "
    "config suggests; almost never intended.\n"
    'Example: KerasHub Llama with `"hidden_dim": 64` and `"num_query_heads": 6`: heads of '
    "size 10, a 60-wide projection (4 features lost).",
)

KEY_VALUE_HEADS = Rule(
    "KMHA406",
    "hparam-key-value-heads",
    "error",
    "The query heads are not a multiple of the key/value heads.",
    "What: grouped-query attention shares each key/value head among heads / kv_heads query "
    "heads, so the division must be exact.\n"
    "Why: the library fails when it repeats the key/value heads (a shape mismatch at the "
    "first batch) or divides by zero.\n"
    'Example: `"num_attention_heads": 4` with `"num_key_value_heads": 3`.',
)

ROTARY_ODD = Rule(
    "KMHA407",
    "hparam-rotary-odd",
    "error",
    "The rotary dimension (head size times the rotary fraction) is odd.",
    "What: rotary position embeddings rotate pairs of features, so the rotated part of each "
    "head (head size, or int(head size * rotary fraction)) must be even.\n"
    "Why: the rotation's halves do not line up; the first batch fails with a shape "
    "mismatch.\n"
    'Example: head size 16 with `"partial_rotary_factor": 0.3` (int(4.8) = 4 is fine, 0.35 '
    "gives 5: odd).",
)

TOKEN_ID_OUT_OF_VOCABULARY = Rule(
    "KMHA408",
    "hparam-token-id-out-of-vocabulary",
    "warning",
    "A special token id (pad, bos, eos, decoder start) is outside the vocabulary.",
    "What: a `*_token_id` is negative or not below the vocabulary size.\n"
    "Why: the model usually still builds (transformers only logs a warning), but the id "
    "cannot be embedded: generation, padding or the decoder start breaks later.\n"
    'Example: `"eos_token_id": 32000` with `"vocab_size": 32000`.',
)

PADDING_ID_OUT_OF_VOCABULARY = Rule(
    "KMHA409",
    "hparam-padding-id-out-of-vocabulary",
    "error",
    "The pad token id, which the embedding uses as its padding index, is outside the vocabulary.",
    "What: the family builds its token embedding with `padding_idx=pad_token_id`, and the "
    "id is not in [-vocab_size, vocab_size).\n"
    "Why: PyTorch refuses it when the model is built ('Padding_idx must be within "
    "num_embeddings').\n"
    'Example: Llama with `"pad_token_id": 200` and `"vocab_size": 200`.',
)

HPARAM_MISSING = Rule(
    "KMHA410",
    "hparam-missing",
    "error",
    "A required hyperparameter is missing.",
    "What: a KerasHub backbone config lacks a constructor argument that has no default.\n"
    "Why: the backbone cannot be created from the config.\n"
    'Example: a LlamaBackbone config without `"num_key_value_heads"`.',
)

FAMILY_NOT_MODELLED = Rule(
    "KMHA411",
    "hparam-family-not-modelled",
    "warning",
    "A note: the family is not modelled; only the checks that hold for every family ran.",
    "What: the KerasHub backbone class or the Hugging Face `model_type` is not one the "
    "linter has a table for. Types, ranges, key/value heads and token ids were checked "
    "under their common names; nothing family-specific was.\n"
    "Why: so that a clean run is not mistaken for a full check. It is a note: ignore it "
    'with `ignore = ["KMHA411"]`.\n'
    'Example: `"model_type": "my_custom_lm"`.',
)

ROTARY_ODD_ROUNDED = Rule(
    "KMHA412",
    "hparam-rotary-odd-rounded",
    "warning",
    "The rotary dimension is odd, and the library silently rotates one feature more.",
    "What: int(head size * rotary fraction) is odd in a family whose rotary code takes the "
    "rotated size from its cos/sin tables (transformers' partial rotary: GPT-NeoX, Phi-3), "
    "which hold an even number of features.\n"
    "Why: the model builds and runs, but rotates one feature more than the config says, "
    "so it does not match the checkpoint it was meant to reproduce.\n"
    'Example: head size 16 with `"partial_rotary_factor": 0.1875` (3 features, 4 rotated).',
)
