"""The tiny originals and argument-name maps every family table of the corpus starts from
(``generate.py`` and the group modules ``spec_*.py``).

``names`` maps roles to the family's config argument names: width, heads, kv, head_dim, inter,
layers, vocab, rates (list), window, rotary, tokens (list), image (KerasHub image_shape / HF
image_size). ``derives_head``: the library derives the head size from width // heads when no
explicit head_dim is given. Optional hooks of a transformers spec: ``inputs(config, ids)`` (the
batch to run, a dict of tensors), ``forward(model, inputs)`` (the forward pass, when
``model(**inputs)`` is not it), ``geometry(cfg)`` (the geometry of an original, or None),
``extra_edits`` (slug, kind, description, patch), ``seq2seq``; of a KerasHub spec:
``build(keras_hub)`` (the original backbone, when it nests encoder objects),
``inputs(model, feed_id=None)`` (the batch, a dict of arrays), ``extra_edits``.
"""

DELETE = "__delete__"

ENC = {
    "vocabulary_size": 200,
    "num_layers": 2,
    "num_heads": 4,
    "hidden_dim": 64,
    "intermediate_dim": 128,
    "dropout": 0.1,
    "max_sequence_length": 64,
}
ENC_NAMES = {
    "width": "hidden_dim",
    "heads": "num_heads",
    "inter": "intermediate_dim",
    "layers": "num_layers",
    "vocab": "vocabulary_size",
    "rates": ["dropout"],
}
DEC = {
    "vocabulary_size": 200,
    "num_layers": 2,
    "num_query_heads": 4,
    "num_key_value_heads": 2,
    "hidden_dim": 64,
    "intermediate_dim": 128,
}
DEC_NAMES = {
    "width": "hidden_dim",
    "heads": "num_query_heads",
    "kv": "num_key_value_heads",
    "inter": "intermediate_dim",
    "layers": "num_layers",
    "vocab": "vocabulary_size",
    "rates": ["dropout"],
}


def _kh(cls, base, names, **extra):
    return {"cls": cls, "base": base, "names": names, **extra}


HF_ENC = {
    "vocab_size": 200,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "max_position_embeddings": 64,
    "pad_token_id": 0,
}
HF_ENC_NAMES = {
    "width": "hidden_size",
    "heads": "num_attention_heads",
    "inter": "intermediate_size",
    "layers": "num_hidden_layers",
    "vocab": "vocab_size",
    "rates": ["hidden_dropout_prob", "attention_probs_dropout_prob"],
    "tokens": ["pad_token_id"],
}
HF_DEC = {
    "vocab_size": 200,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "max_position_embeddings": 64,
    "pad_token_id": 0,
    "bos_token_id": 1,
    "eos_token_id": 2,
}
HF_DEC_NAMES = {
    "width": "hidden_size",
    "heads": "num_attention_heads",
    "kv": "num_key_value_heads",
    "inter": "intermediate_size",
    "layers": "num_hidden_layers",
    "vocab": "vocab_size",
    "rates": ["attention_dropout"],
    "tokens": ["pad_token_id", "bos_token_id", "eos_token_id"],
}


def _hf(model_type, base, names, **extra):
    return {"model_type": model_type, "base": base, "names": names, **extra}


CLIP_VISION = {
    "model_type": "clip_vision_model",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "image_size": 32,
    "patch_size": 8,
    "projection_dim": 32,
}
CLIP_TEXT = {
    "model_type": "clip_text_model",
    "vocab_size": 200,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 64,
    "projection_dim": 32,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}


# T5's layout (t5, mt5): d_model, num_heads of an explicit size d_kv, two stacks.
T5_TINY = {
    "vocab_size": 200,
    "d_model": 64,
    "d_kv": 16,
    "d_ff": 128,
    "num_layers": 2,
    "num_heads": 4,
    "pad_token_id": 0,
    "eos_token_id": 1,
    "decoder_start_token_id": 0,
}
T5_NAMES = {
    "width": "d_model",
    "heads": "num_heads",
    "head_dim": "d_kv",
    "inter": "d_ff",
    "layers": "num_layers",
    "vocab": "vocab_size",
    "rates": ["dropout_rate"],
    "tokens": ["pad_token_id", "eos_token_id", "decoder_start_token_id"],
}
