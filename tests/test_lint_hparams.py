"""kmha-lint on transformer hyperparameter configs (KerasHub backbones, Hugging Face
config.json): recognition, the checks of each family, pointers, parameter counts.

The configs here are written by hand from the libraries' own code (keras-hub 0.32.0,
transformers 5.24.0); tests/test_lint_hparams_agreement.py checks the same rules against
the labelled corpus those libraries produced.
"""

from __future__ import annotations

import copy

import pytest
from kmha_lint import hparams
from kmha_lint.hparams import huggingface, kerashub, params
from kmha_lint.hparams import rules as hrules
from kmha_lint.hparams.spec import Values

KH_LLAMA = {
    "module": "keras_hub.src.models.llama.llama_backbone",
    "class_name": "LlamaBackbone",
    "config": {
        "name": "llama_backbone",
        "trainable": True,
        "vocabulary_size": 200,
        "num_layers": 2,
        "num_query_heads": 4,
        "hidden_dim": 64,
        "intermediate_dim": 128,
        "num_key_value_heads": 2,
        "rope_max_wavelength": 10000,
        "layer_norm_epsilon": 1e-06,
        "dropout": 0,
    },
    "registered_name": "keras_hub>LlamaBackbone",
}

HF_LLAMA = {
    "model_type": "llama",
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
    "attention_dropout": 0.0,
}


def _edit(document: dict, path: str, value: object) -> dict:
    edited = copy.deepcopy(document)
    node = edited
    *parents, last = path.split("/")
    for part in parents:
        node = node[part]
    node[last] = value
    return edited


def _found(document: object) -> list[tuple[str, str]]:
    return sorted((issue.code, issue.pointer) for issue in hparams.check(document))


# --- recognition --------------------------------------------------------------------------


def test_kinds_by_content():
    assert hparams.document_kind(KH_LLAMA) == "kerashub"
    assert hparams.document_kind(HF_LLAMA) == "hf"
    assert hparams.document_kind({"keras_hub_version": "0.32.0", "keras_version": "3.15"}) == (
        "kerashub"
    )
    assert hparams.document_kind({"class_name": "Functional", "config": {"layers": []}}) is None
    assert hparams.document_kind([1, 2]) is None


def test_clean_configs_are_silent():
    assert _found(KH_LLAMA) == []
    assert _found(HF_LLAMA) == []


def test_task_model_holds_the_backbone():
    task = {
        "module": "keras_hub.src.models.llama.llama_causal_lm",
        "class_name": "LlamaCausalLM",
        "config": {
            "backbone": _edit(KH_LLAMA, "config/num_key_value_heads", 3),
            "preprocessor": None,
        },
        "registered_name": "keras_hub>LlamaCausalLM",
    }
    assert _found(task) == [("KMHA406", "/config/backbone/config/num_key_value_heads")]


def test_preprocessors_and_metadata_have_nothing_to_check():
    tokenizer = {
        "module": "keras_hub.src.models.llama.llama_tokenizer",
        "class_name": "LlamaTokenizer",
        "config": {"name": "llama_tokenizer"},
        "registered_name": "keras_hub>LlamaTokenizer",
    }
    assert hparams.document_kind(tokenizer) == "kerashub"
    assert _found(tokenizer) == []
    assert _found({"keras_hub_version": "0.32.0", "parameter_count": 1}) == []


# --- KerasHub families --------------------------------------------------------------------


def test_kerashub_floors_head_size_with_a_warning():
    (issue,) = hparams.check(_edit(KH_LLAMA, "config/num_query_heads", 6))
    # 6 query heads and 2 kv heads: grouped-query is fine, the head size is floored.
    assert issue.rule is hrules.HEAD_SIZE_FLOORED and issue.severity == "warning"
    assert issue.pointer == "/config/num_query_heads"
    assert "64 // 6 = 10" in issue.message and "60 features, 4 fewer" in issue.message


def test_kerashub_bloom_checks_divisibility():
    bloom = {
        "module": "keras_hub.src.models.bloom.bloom_backbone",
        "class_name": "BloomBackbone",
        "config": {
            "vocabulary_size": 200,
            "num_layers": 2,
            "num_heads": 6,
            "hidden_dim": 64,
            "intermediate_dim": 128,
        },
        "registered_name": "keras_hub>BloomBackbone",
    }
    (issue,) = hparams.check(bloom)
    assert issue.rule is hrules.HEADS_DO_NOT_DIVIDE_WIDTH and issue.severity == "error"
    assert "Expected a divisor of 64; received 6" in issue.message
    assert issue.hint == "Use num_heads in 1, 2, 4, 8, or change hidden_dim."


def test_kerashub_missing_argument_points_at_config_key():
    config = dict(KH_LLAMA["config"])
    del config["num_key_value_heads"]
    (issue,) = hparams.check({**KH_LLAMA, "config": config})
    assert issue.rule is hrules.HPARAM_MISSING
    assert (issue.pointer, issue.at_key) == ("/config", True)


def test_kerashub_explicit_head_dim_needs_no_divisibility():
    gemma = {
        "module": "keras_hub.src.models.gemma.gemma_backbone",
        "class_name": "GemmaBackbone",
        "config": {
            **KH_LLAMA["config"],
            "num_query_heads": 6,
            "num_key_value_heads": 3,
            "head_dim": 16,
        },
        "registered_name": "keras_hub>GemmaBackbone",
    }
    assert _found(gemma) == []
    assert _found(_edit(gemma, "config/head_dim", 15)) == [("KMHA407", "/config/head_dim")]


def test_kerashub_rotary_percentage():
    neox = {
        "module": "keras_hub.src.models.gpt_neo_x.gpt_neo_x_backbone",
        "class_name": "GPTNeoXBackbone",
        "config": {
            "vocabulary_size": 200,
            "num_layers": 2,
            "num_heads": 4,
            "hidden_dim": 64,
            "intermediate_dim": 128,
            "rotary_percentage": 0.25,
        },
        "registered_name": "keras_hub>GPTNeoXBackbone",
    }
    assert _found(neox) == []
    # 16 * 0.3125 = 5 features rotated: odd.
    assert _found(_edit(neox, "config/rotary_percentage", 0.3125)) == [
        ("KMHA407", "/config/rotary_percentage")
    ]


def test_kerashub_types_and_ranges():
    assert _found(_edit(KH_LLAMA, "config/hidden_dim", "64")) == [("KMHA401", "/config/hidden_dim")]
    assert _found(_edit(KH_LLAMA, "config/dropout", 1.5)) == [("KMHA402", "/config/dropout")]
    assert _found(_edit(KH_LLAMA, "config/num_key_value_heads", 0)) == [
        ("KMHA402", "/config/num_key_value_heads")
    ]
    (issue,) = hparams.check(_edit(KH_LLAMA, "config/num_layers", 0))
    assert issue.rule is hrules.HPARAM_DEGENERATE and issue.severity == "warning"


# --- transformers families ----------------------------------------------------------------


def test_hf_llama_checks_divisibility_even_with_head_dim():
    (issue,) = hparams.check({**HF_LLAMA, "num_attention_heads": 6, "num_key_value_heads": 6})
    assert issue.rule is hrules.HEADS_DO_NOT_DIVIDE_WIDTH
    assert issue.pointer == "/num_attention_heads"
    edited = {**HF_LLAMA, "num_attention_heads": 6, "num_key_value_heads": 6, "head_dim": 16}
    (issue,) = hparams.check(edited)
    assert issue.rule is hrules.HEADS_DO_NOT_DIVIDE_WIDTH and "head_dim set" in issue.message


def test_hf_mistral_floors_without_head_dim_and_not_with_it():
    mistral = {
        **HF_LLAMA,
        "model_type": "mistral",
        "num_attention_heads": 6,
        "num_key_value_heads": 2,
    }
    (issue,) = hparams.check(mistral)
    assert issue.rule is hrules.HEAD_SIZE_FLOORED
    assert _found({**mistral, "head_dim": 16}) == []


def test_hf_key_value_heads_and_token_ids():
    assert _found({**HF_LLAMA, "num_key_value_heads": 3}) == [("KMHA406", "/num_key_value_heads")]
    (issue,) = hparams.check({**HF_LLAMA, "eos_token_id": 200})
    assert issue.rule is hrules.TOKEN_ID_OUT_OF_VOCABULARY and issue.severity == "warning"
    (issue,) = hparams.check({**HF_LLAMA, "pad_token_id": 200})
    assert issue.rule is hrules.PADDING_ID_OUT_OF_VOCABULARY and issue.severity == "error"
    assert _found({**HF_LLAMA, "eos_token_id": [2, 7]}) == []
    assert _found({**HF_LLAMA, "eos_token_id": [2, 700]}) == [("KMHA408", "/eos_token_id")]


def test_hf_types():
    assert _found({**HF_LLAMA, "num_attention_heads": "4"}) == [("KMHA401", "/num_attention_heads")]
    assert _found({**HF_LLAMA, "hidden_size": 64.0}) == [("KMHA401", "/hidden_size")]


def test_hf_rotary_fraction():
    neox = {
        "model_type": "gpt_neox",
        "vocab_size": 200,
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 128,
        "rope_parameters": {"rope_theta": 10000.0, "partial_rotary_factor": 0.25},
    }
    assert _found(neox) == []
    # transformers' partial rotary takes the rotated size from its cos table: 5 becomes 6.
    odd = _edit(neox, "rope_parameters/partial_rotary_factor", 0.3125)
    assert _found(odd) == [("KMHA412", "/rope_parameters/partial_rotary_factor")]
    legacy = {**neox, "rope_parameters": None, "rotary_pct": 0.3125}
    assert _found(legacy) == [("KMHA412", "/rotary_pct")]
    # More rotary features than a head has: the first batch fails.
    above = _edit(neox, "rope_parameters/partial_rotary_factor", 1.5)
    assert _found(above) == [("KMHA402", "/rope_parameters/partial_rotary_factor")]
    # Llama rotates the whole head: an odd head_dim fails.
    assert _found({**HF_LLAMA, "head_dim": 15}) == [("KMHA407", "/head_dim")]
    # An odd head rotated whole: the cos table has one feature more than the head (16 for
    # 15), and the first batch fails ("The size of tensor a (15) must match ... (16)"); an odd
    # share of it is rounded up silently (7 of 15 becomes 8).
    odd_head = {**neox, "hidden_size": 60}
    whole = _edit(odd_head, "rope_parameters/partial_rotary_factor", 1.0)
    assert _found(whole) == [("KMHA407", "/rope_parameters/partial_rotary_factor")]
    (issue,) = hparams.check(whole)
    assert issue.severity == "error" and "16 features, one more than a head of 15" in issue.message
    half = _edit(odd_head, "rope_parameters/partial_rotary_factor", 0.5)
    assert _found(half) == [("KMHA412", "/rope_parameters/partial_rotary_factor")]
    phi3 = {**HF_LLAMA, "model_type": "phi3", "hidden_size": 60, "num_key_value_heads": 4}
    phi3.pop("head_dim", None)
    assert _found(phi3) == [("KMHA407", "/num_attention_heads")]  # default fraction 1.0


def test_hf_t5_head_size_is_explicit():
    t5 = {
        "model_type": "t5",
        "vocab_size": 200,
        "d_model": 64,
        "d_kv": 24,
        "d_ff": 128,
        "num_layers": 2,
        "num_heads": 6,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "decoder_start_token_id": 0,
    }
    assert _found(t5) == []
    assert _found({**t5, "decoder_start_token_id": 200}) == [("KMHA408", "/decoder_start_token_id")]


def test_hf_whisper_has_two_stacks():
    whisper = {
        "model_type": "whisper",
        "vocab_size": 200,
        "d_model": 64,
        "encoder_attention_heads": 4,
        "decoder_attention_heads": 6,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "pad_token_id": 0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "decoder_start_token_id": 1,
    }
    assert _found(whisper) == [("KMHA404", "/decoder_attention_heads")]


def test_hf_nested_configs():
    vlm = {
        "model_type": "my_vlm",
        "text_config": {**HF_LLAMA, "num_attention_heads": 6, "num_key_value_heads": 6},
        "vision_config": {
            "model_type": "vit",
            "hidden_size": 64,
            "num_attention_heads": 4,
            "num_hidden_layers": 2,
            "intermediate_size": 128,
        },
    }
    assert _found(vlm) == [
        ("KMHA404", "/text_config/num_attention_heads"),
        ("KMHA411", "/model_type"),
    ]
    # LLaVA is modelled: no note, and its image token is checked against the text vocabulary.
    llava = {**vlm, "model_type": "llava", "image_token_index": 250}
    assert _found(llava) == [
        ("KMHA404", "/text_config/num_attention_heads"),
        ("KMHA408", "/image_token_index"),
    ]
    encoder_decoder = {
        "model_type": "encoder-decoder",
        "encoder": {"model_type": "bert", "hidden_size": 64, "num_attention_heads": 5},
        "decoder": {"model_type": "gpt2", "n_embd": 64, "n_head": 4},
    }
    assert ("KMHA404", "/encoder/num_attention_heads") in _found(encoder_decoder)


def test_unknown_family_gets_only_universal_checks_and_a_note():
    config = {
        "model_type": "my_lm",
        "hidden_size": 64,
        "num_attention_heads": 6,
        "num_key_value_heads": 2,
        "vocab_size": 100,
        "eos_token_id": 5,
    }
    (note,) = hparams.check(config)
    assert note.rule is hrules.FAMILY_NOT_MODELLED and note.severity == "warning"
    assert note.pointer == "/model_type"
    found = _found({**config, "num_key_value_heads": 4, "eos_token_id": 100})
    assert found == [
        ("KMHA406", "/num_key_value_heads"),
        ("KMHA408", "/eos_token_id"),
        ("KMHA411", "/model_type"),
    ]
    custom = _edit(KH_LLAMA, "class_name", "MyBackbone")
    assert _found(custom) == [("KMHA411", "/class_name")]


def test_every_family_is_modelled_as_the_issue_asks():
    keras_hub = {
        "BertBackbone",
        "RobertaBackbone",
        "DistilBertBackbone",
        "AlbertBackbone",
        "ElectraBackbone",
        "DebertaV3Backbone",
        "GPT2Backbone",
        "OPTBackbone",
        "GPTNeoXBackbone",
        "BloomBackbone",
        "FalconBackbone",
        "LlamaBackbone",
        "MistralBackbone",
        "MixtralBackbone",
        "QwenBackbone",
        "Qwen3Backbone",
        "Phi3Backbone",
        "GemmaBackbone",
        "Gemma3Backbone",
        "T5Backbone",
        "ViTBackbone",
        "DeiTBackbone",
        "WhisperBackbone",
    }
    transformers = {
        "bert",
        "roberta",
        "distilbert",
        "albert",
        "electra",
        "deberta-v2",
        "gpt2",
        "gpt_neox",
        "opt",
        "bloom",
        "falcon",
        "llama",
        "mistral",
        "mixtral",
        "qwen2",
        "qwen3",
        "gemma",
        "gemma2",
        "phi3",
        "t5",
        "vit",
        "whisper",
    }
    assert keras_hub <= set(kerashub.FAMILIES)
    assert transformers <= set(huggingface.FAMILIES)
    for family in [*kerashub.FAMILIES.values(), *huggingface.FAMILIES.values()]:
        assert family.params is not None, family.name


# --- parameter counts of published checkpoints --------------------------------------------

BERT_BASE = {
    "model_type": "bert",
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
}
LLAMA_2_7B = {
    "model_type": "llama",
    "vocab_size": 32000,
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "intermediate_size": 11008,
    "max_position_embeddings": 4096,
}
GPT2 = {
    "model_type": "gpt2",
    "vocab_size": 50257,
    "n_positions": 1024,
    "n_embd": 768,
    "n_layer": 12,
    "n_head": 12,
}
T5_SMALL = {
    "model_type": "t5",
    "vocab_size": 32128,
    "d_model": 512,
    "d_kv": 64,
    "d_ff": 2048,
    "num_layers": 6,
    "num_heads": 8,
    "relative_attention_num_buckets": 32,
    "feed_forward_proj": "relu",
}


@pytest.mark.parametrize(
    "config, expected",
    [
        (BERT_BASE, 109_482_240),  # bert-base-uncased, BertModel
        (LLAMA_2_7B, 6_607_343_616),  # Llama-2-7b without its 131M lm_head
        (GPT2, 124_439_808),  # gpt2, GPT2Model
        (T5_SMALL, 60_506_624),  # t5-small, T5Model
    ],
)
def test_hf_parameter_counts_of_published_models(config, expected):
    (unit,) = hparams.units(config)
    assert unit.family.params(unit.values) == expected


def test_kerashub_parameter_counts_of_published_presets():
    bert = {
        "vocabulary_size": 30522,
        "num_layers": 12,
        "num_heads": 12,
        "hidden_dim": 768,
        "intermediate_dim": 3072,
        "max_sequence_length": 512,
        "num_segments": 2,
    }
    assert params.kh_bert(Values(bert, {})) == 109_482_240  # bert_base_en_uncased
    llama = {
        "vocabulary_size": 32000,
        "num_layers": 32,
        "num_query_heads": 32,
        "hidden_dim": 4096,
        "intermediate_dim": 11008,
        "num_key_value_heads": 32,
    }
    assert params.kh_llama(Values(llama, {})) == 6_738_415_616  # llama2_7b_en
    gpt2 = {
        "vocabulary_size": 50257,
        "num_layers": 12,
        "num_heads": 12,
        "hidden_dim": 768,
        "intermediate_dim": 3072,
        "max_sequence_length": 1024,
    }
    assert params.kh_gpt2(Values(gpt2, {})) == 124_439_808  # gpt2_base_en


def test_parameter_count_is_none_when_a_value_is_unusable():
    (unit,) = hparams.units({**HF_LLAMA, "hidden_size": "64"})
    assert unit.family.params(unit.values) is None


def test_import_is_cheap():
    import subprocess
    import sys

    code = (
        "import sys, kmha_lint.hparams; "
        "heavy = {'tensorflow', 'keras', 'torch', 'transformers', 'keras_hub', "
        "'kmha_lint.hparams.kerashub', 'kmha_lint.hparams.huggingface'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_kerashub_qwen3_head_dim_zero_means_derived():
    qwen3 = {
        "module": "keras_hub.src.models.qwen3.qwen3_backbone",
        "class_name": "Qwen3Backbone",
        "config": {**KH_LLAMA["config"], "head_dim": 0},
        "registered_name": "keras_hub>Qwen3Backbone",
    }
    assert _found(qwen3) == []
    assert _found(_edit(qwen3, "config/num_query_heads", 6)) == [
        ("KMHA405", "/config/num_query_heads")
    ]
    (unit,) = hparams.units(qwen3)
    assert unit.family.params(unit.values) == params.kh_qwen3(
        Values({**qwen3["config"], "head_dim": 16}, {})
    )


# Published config.json files as they are on the Hub (older transformers wrote them): clean,
# and counted as the library counts the base model (the published total minus an untied head).
LLAMA_3_8B = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 14336,
    "max_position_embeddings": 8192,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.40.0.dev0",
    "use_cache": True,
    "vocab_size": 128256,
}
MISTRAL_7B = {
    "architectures": ["MistralForCausalLM"],
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "max_position_embeddings": 32768,
    "model_type": "mistral",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "sliding_window": 4096,
    "tie_word_embeddings": False,
    "vocab_size": 32000,
}
QWEN25_05B = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151643,
    "hidden_size": 896,
    "intermediate_size": 4864,
    "max_position_embeddings": 32768,
    "max_window_layers": 24,
    "model_type": "qwen2",
    "num_attention_heads": 14,
    "num_hidden_layers": 24,
    "num_key_value_heads": 2,
    "rope_theta": 1000000.0,
    "sliding_window": 32768,
    "tie_word_embeddings": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
}


@pytest.mark.parametrize(
    "config, expected",
    [
        (LLAMA_3_8B, 8_030_261_248 - 128256 * 4096),
        (MISTRAL_7B, 7_241_732_096 - 32000 * 4096),
        (QWEN25_05B, 494_032_768),  # tied: the total is the base model
    ],
)
def test_published_hub_configs_are_clean_and_counted(config, expected):
    assert _found(config) == []
    (unit,) = hparams.units(config)
    assert unit.family.params(unit.values) == expected


def test_negative_layer_counts_follow_the_library():
    """transformers 5.24's decoders fail on a batch with a negative layer count (the cache's
    __len__ is the layer count: "__len__() should return >= 0"); its encoders build an
    empty stack, as every family does with zero layers (the corpus's layers-negative edits)."""
    llama = {**HF_LLAMA, "num_hidden_layers": -1}
    (issue,) = hparams.check(llama)
    assert (issue.code, issue.severity, issue.pointer) == ("KMHA402", "error", "/num_hidden_layers")
    assert _found({**HF_LLAMA, "num_hidden_layers": 0}) == [("KMHA403", "/num_hidden_layers")]
    bert = {
        "model_type": "bert",
        "vocab_size": 200,
        "hidden_size": 64,
        "num_hidden_layers": -1,
        "num_attention_heads": 4,
        "intermediate_size": 128,
    }
    (issue,) = hparams.check(bert)
    assert (issue.code, issue.severity) == ("KMHA403", "warning")
    assert "layer count of zero or less" in issue.message
