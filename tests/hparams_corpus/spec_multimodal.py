"""Corpus tables of the ``multimodal`` group (see lint/hparams/families/__init__.py): tiny originals
and their argument names, per library; ``generate.py`` merges them.

The containers nest a text config (checked and counted with its own family) and a vision
config; their batch holds the images and as many image tokens in ``input_ids`` as the
container's processor would write (``inputs`` hooks below), so that the run goes through the
vision tower and the projector.
"""

from bases import (  # noqa: F401
    CLIP_VISION,
    DELETE,
    HF_DEC,
    HF_DEC_NAMES,
    HF_ENC,
    HF_ENC_NAMES,
    _hf,
    _kh,
)

BATCH = 2

# A tiny SigLIP vision tower (width 32, 4 heads, 32x32 images of 8x8 patches: a 4x4 grid).
SIGLIP_VISION = {
    "model_type": "siglip_vision_model",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "image_size": 32,
    "patch_size": 8,
}
SIGLIP_TEXT = {
    "model_type": "siglip_text_model",
    "vocab_size": 200,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 64,
    "pad_token_id": 1,
    "bos_token_id": 3,
    "eos_token_id": 2,
}
# Image token ids sit above the ids of the text batch (1..31) and inside the vocabulary (200).
IMAGE_TOKEN = 150

VISION_NAMES = {
    "vision_width": "vision_config.hidden_size",
    "vision_heads": "vision_config.num_attention_heads",
    "image": "vision_config.image_size",
    "patch": "vision_config.patch_size",
}


def _image_size(vision, default=32):
    size = getattr(vision, "image_size", default)
    if isinstance(size, list | tuple) and len(size) == 2 and all(isinstance(s, int) for s in size):
        return tuple(size)
    return (size, size) if isinstance(size, int) and size > 0 else (default, default)


def _pixels(vision):
    import torch

    height, width = _image_size(vision)
    channels = getattr(vision, "num_channels", 3)
    channels = channels if isinstance(channels, int) and channels > 0 else 3
    return torch.rand(BATCH, channels, height, width)


def _with_image_tokens(ids, token, count):
    """The text batch with ``count`` image tokens in front of each row (one image a row)."""
    import torch

    return torch.cat([torch.full((ids.shape[0], count), token, dtype=ids.dtype), ids], dim=1)


def _siglip_inputs(config, ids):
    return {"input_ids": ids, "pixel_values": _pixels(config.vision_config)}


def _vision_inputs(config, ids):
    return {"pixel_values": _pixels(config)}


def _paligemma_inputs(config, ids):
    height, width = _image_size(config.vision_config)
    patch = config.vision_config.patch_size
    count = (height // patch) * (width // patch) if isinstance(patch, int) and patch > 0 else 16
    return {
        "input_ids": _with_image_tokens(ids, config.image_token_id, count),
        "pixel_values": _pixels(config.vision_config),
    }


def _gemma3_inputs(config, ids):
    count = config.mm_tokens_per_image
    return {
        "input_ids": _with_image_tokens(ids, config.image_token_id, count),
        "pixel_values": _pixels(config.vision_config),
    }


def _whole(value, default):
    whole = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if whole else default


def _qwen_vl_inputs(config, ids):
    """What Qwen2-VL's processor writes for one image a row: the image resized to a grid of
    2*merge x 2*merge patches, flattened patches (channels * temporal * patch * patch
    values each), image_grid_thw, one image token per merged patch, mm_token_type_ids."""
    import torch

    vision = config.vision_config
    merge = _whole(vision.spatial_merge_size, 2)
    patch, temporal = _whole(vision.patch_size, 4), _whole(vision.temporal_patch_size, 2)
    channels = _whole(vision.in_channels, 3)
    side = 2 * merge
    pixels = torch.rand(BATCH * side * side, channels * temporal * patch * patch)
    grid = torch.tensor([[1, side, side]] * BATCH)
    input_ids = _with_image_tokens(ids, config.image_token_id, side * side // (merge * merge))
    return {
        "input_ids": input_ids,
        "pixel_values": pixels,
        "image_grid_thw": grid,
        "mm_token_type_ids": (input_ids == config.image_token_id).int(),
    }


QWEN_VL_TEXT = {
    **HF_DEC,
    # M-RoPE splits the rotary half of each head (16 / 2 = 8) into time, height and width.
    "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
}
QWEN_VL_TOKENS = {
    "image_token_id": IMAGE_TOKEN,
    "video_token_id": IMAGE_TOKEN + 1,
    "vision_start_token_id": IMAGE_TOKEN + 2,
    "vision_end_token_id": IMAGE_TOKEN + 3,
}
QWEN_VL_NAMES = {
    "width": "text_config.hidden_size",
    "heads": "text_config.num_attention_heads",
    "kv": "text_config.num_key_value_heads",
    "inter": "text_config.intermediate_size",
    "layers": "text_config.num_hidden_layers",
    "vocab": "text_config.vocab_size",
    "window": "text_config.sliding_window",
    "rates": ["text_config.attention_dropout"],
    "tokens": ["image_token_id", "text_config.pad_token_id"],
    "vision_heads": "vision_config.num_heads",
}
QWEN_VL_EDITS = [
    (
        "mrope-section-short",
        "rotary",
        "text_config.rope_parameters.mrope_section=[2, 2, 2]: 6 of the 8 rotary frequencies",
        {"text_config.rope_parameters.mrope_section": [2, 2, 2]},
    ),
    (
        "mrope-section-unset",
        "rotary",
        "no mrope_section: the default [16, 24, 24] is for heads of 128",
        {"text_config.rope_parameters.mrope_section": DELETE},
    ),
    (
        "heads-div-mrope",
        "num-heads",
        "text_config.num_attention_heads=8 (heads of 8) with mrope_section=[1, 1, 2]",
        {
            "text_config.num_attention_heads": 8,
            "text_config.num_key_value_heads": 8,
            "text_config.rope_parameters.mrope_section": [1, 1, 2],
        },
    ),
    (
        "merge-3",
        "image-size",
        "vision_config.spatial_merge_size=3 (images resized to a 6x6 patch grid)",
        {"vision_config.spatial_merge_size": 3},
    ),
    (
        "merge-zero",
        "zero",
        "vision_config.spatial_merge_size=0",
        {"vision_config.spatial_merge_size": 0},
    ),
    (
        "vision-out-other",
        "hidden-size",
        "the merger's output width (48) differs from the text width (64)",
        {"VISION_OUT": 48},
    ),
    (
        "vision-depth-zero",
        "zero",
        "vision_config.depth=0",
        {"vision_config.depth": 0},
    ),
    (
        "sliding-on",
        "window",
        "text_config.use_sliding_window=true with sliding_window=16",
        {"text_config.use_sliding_window": True, "text_config.sliding_window": 16},
    ),
]


def _qwen_vl_edits(vision_out):
    out = []
    for slug, kind, desc, patch in QWEN_VL_EDITS:
        if "VISION_OUT" in patch:
            patch = {f"vision_config.{vision_out}": patch["VISION_OUT"]}
        out.append((slug, kind, desc, patch))
    return out


def _mistral3_inputs(config, ids):
    """What Mistral 3's processor writes: each image resized to a multiple of
    patch_size * spatial_merge_size (here 2x2 merged patches), image_sizes, and one image
    token per merged patch (the row-break and end tokens are text)."""
    import torch

    patch = _whole(config.vision_config.patch_size, 8)
    merge = _whole(config.spatial_merge_size, 2)
    side = 2 * patch * merge
    channels = _whole(config.vision_config.num_channels, 3)
    return {
        "input_ids": _with_image_tokens(ids, config.image_token_id, 4),
        "pixel_values": torch.rand(BATCH, channels, side, side),
        "image_sizes": torch.tensor([[side, side]] * BATCH),
    }


def _pixtral_inputs(config, ids):
    import torch

    patch = _whole(config.patch_size, 8)
    return {"pixel_values": torch.rand(BATCH, 3, 4 * patch, 4 * patch)}


PIXTRAL = {
    "model_type": "pixtral",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "image_size": 32,
    "patch_size": 8,
}


def _llava_next_inputs(config, ids):
    """One square image of the tower's size a row: the base image and one crop (the 1x1
    grid of image_grid_pinpoints [S, S]); image tokens: the base image's patches (the CLS
    feature dropped, strategy "default") and the crop's rows, each with a newline."""
    import torch

    vision = config.vision_config
    size = _whole(vision.image_size, 32)
    side = size // _whole(vision.patch_size, 8)
    count = side * side + side * (side + 1)
    return {
        "input_ids": _with_image_tokens(ids, config.image_token_id, count),
        "pixel_values": torch.rand(BATCH, 2, 3, size, size),
        "image_sizes": torch.tensor([[size, size]] * BATCH),
    }


def _idefics3_inputs(config, ids):
    """One image a row (pixel_values of shape (batch, images, C, S, S)); the processor writes
    (S // patch)^2 / scale_factor^2 image tokens for it."""
    import torch

    vision = config.vision_config
    size, patch = _whole(vision.image_size, 32), _whole(vision.patch_size, 8)
    scale = _whole(config.scale_factor, 2)
    count = int((size // patch) ** 2 / scale**2)
    return {
        "input_ids": _with_image_tokens(ids, config.image_token_id, count),
        "pixel_values": torch.rand(BATCH, 1, 3, size, size),
    }


def _llama4_inputs(config, ids):
    """One tile a row; the vision adapter pixel-shuffles its (image // patch)^2 patches by
    pixel_shuffle_ratio into (grid * ratio)^2 image tokens."""
    import torch

    vision = config.vision_config
    size, patch = _whole(vision.image_size, 32), _whole(vision.patch_size, 8)
    ratio = vision.pixel_shuffle_ratio
    side = int((size // patch) * ratio) if isinstance(ratio, int | float) and ratio > 0 else 2
    return {
        "input_ids": _with_image_tokens(ids, config.image_token_id, side * side),
        "pixel_values": torch.rand(BATCH, 3, size, size),
    }


def _llama4_forward(model, inputs):
    """In transformers 5.24 Llama4ForConditionalGeneration.forward, after the vision tower,
    the projector and the language model have run, builds its output from an attribute the
    language model's output lacks (``'MoeCausalLMOutputWithPast' object has no attribute
    'image_outputs'``), for every config: that one error, at that line, counts as a run."""
    import traceback

    try:
        return model(**inputs)
    except AttributeError as error:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        if "image_outputs" in str(error) and frame.line.startswith("image_outputs="):
            return None
        raise


def _naflex(vision):
    """SigLIP 2's NaFlex batch: each image as its patches (channels * patch * patch values
    each, here a 4x4 grid padded to num_patches), a mask of the real ones and the grid."""
    import torch

    patch = _whole(vision.patch_size, 8)
    length = _whole(vision.num_patches, 16)
    channels = _whole(vision.num_channels, 3)
    real = min(16, length)
    mask = torch.zeros(BATCH, length, dtype=torch.long)
    mask[:, :real] = 1
    side = 4 if real == 16 else 1
    return {
        "pixel_values": torch.rand(BATCH, length, channels * patch * patch),
        "pixel_attention_mask": mask,
        "spatial_shapes": torch.tensor([[side, real // side]] * BATCH),
    }


def _siglip2_inputs(config, ids):
    return {"input_ids": ids, **_naflex(config.vision_config)}


KH_SIGLIP_VISION = {
    "patch_size": 8,
    "hidden_dim": 32,
    "num_layers": 2,
    "num_heads": 4,
    "intermediate_dim": 64,
    "image_shape": [32, 32, 3],
}
KH_SIGLIP_TEXT = {
    "vocabulary_size": 200,
    "embedding_dim": 32,
    "hidden_dim": 32,
    "num_layers": 2,
    "num_heads": 4,
    "intermediate_dim": 64,
    "max_sequence_length": 8,
}


def _kh_siglip(keras_hub):
    from keras_hub.src.models.siglip.siglip_text_encoder import SigLIPTextEncoder
    from keras_hub.src.models.siglip.siglip_vision_encoder import SigLIPVisionEncoder

    return keras_hub.models.SigLIPBackbone(
        vision_encoder=SigLIPVisionEncoder(**KH_SIGLIP_VISION),
        text_encoder=SigLIPTextEncoder(**KH_SIGLIP_TEXT),
    )


KH_GEMMA3_VISION = {
    "image_size": 16,
    "patch_size": 4,
    "num_heads": 4,
    "hidden_dim": 32,
    "num_layers": 2,
    "intermediate_dim": 64,
    "output_dim": 64,
    "pool_size": 2,
}


def _kh_gemma3_vision(keras_hub):
    from keras_hub.src.models.gemma3.gemma3_vision_encoder import Gemma3VisionEncoder

    return keras_hub.models.Gemma3Backbone(
        vocabulary_size=200,
        image_size=16,
        num_layers=2,
        num_query_heads=4,
        num_key_value_heads=2,
        hidden_dim=64,
        intermediate_dim=128,
        head_dim=16,
        use_sliding_window_attention=True,
        sliding_window_size=16,
        vision_encoder=Gemma3VisionEncoder(**KH_GEMMA3_VISION),
    )


def _kh_gemma3_vision_inputs(model, feed_id=None):
    """What Gemma3CausalLMPreprocessor writes for one image a row: the image, its
    (image // patch)^2 // pool^2 soft tokens at the start of the sequence (vision_indices
    and vision_mask), then the text."""
    import numpy as np

    vision = model.vision_encoder
    tokens = (vision.image_size // vision.patch_size) ** 2 // vision.pool_size**2
    size = vision.image_size
    seq = 8 + tokens
    # Text ids 1..15, as in the generic batch (below a shrunk vocabulary of 20).
    ids = (np.arange(BATCH * seq).reshape(BATCH, seq) % 15 + 1).astype("int32")
    if feed_id is not None:
        ids[0, tokens + 1] = feed_id
    mask = np.zeros((BATCH, seq), "int32")
    mask[:, :tokens] = 1
    return {
        "images": np.random.RandomState(0).rand(BATCH, 1, size, size, 3).astype("float32"),
        "token_ids": ids,
        "padding_mask": np.ones((BATCH, seq), "int32"),
        "vision_indices": np.tile(np.arange(tokens, dtype="int32"), (BATCH, 1)),
        "vision_mask": mask,
    }


def _voxtral_inputs(config, ids):
    """One clip a row: mel features of exactly 2 * max_source_positions frames (the
    encoder checks it), and the processor's audio tokens: the encoder's frames regrouped by
    intermediate_size features, max_source_positions * hidden_size / intermediate_size."""
    import torch

    audio = config.audio_config
    positions = _whole(audio.max_source_positions, 16)
    width, inter = _whole(audio.hidden_size, 32), _whole(audio.intermediate_size, 64)
    count = max(positions * width // inter, 1)
    # A null audio_token_id names no token: the clip's placeholders are then plain ids.
    token = config.audio_token_id if config.audio_token_id is not None else 5
    return {
        "input_ids": _with_image_tokens(ids, token, count),
        "input_features": torch.rand(BATCH, _whole(audio.num_mel_bins, 16), 2 * positions),
    }


def _lfm2_vl_inputs(config, ids):
    """SigLIP 2's NaFlex batch (a 4x4 patch grid a row) and the processor's image tokens:
    the grid regrouped in downsample_factor blocks, (4 // f) * (4 // f) of them."""
    factor = _whole(config.downsample_factor, 2)
    count = max((4 // factor) ** 2, 1)
    return {
        "input_ids": _with_image_tokens(ids, config.image_token_id, count),
        **_naflex(config.vision_config),
    }


LFM2_TEXT = {
    **HF_DEC,
    "block_multiple_of": 16,
    "conv_L_cache": 3,
    "layer_types": ["conv", "full_attention"],
}


KERAS_HUB: dict = {
    "Gemma3Backbone_vision": _kh(
        "Gemma3Backbone",
        {},
        {
            "width": "hidden_dim",
            "heads": "num_query_heads",
            "kv": "num_key_value_heads",
            "head_dim": "head_dim",
            "inter": "intermediate_dim",
            "layers": "num_layers",
            "vocab": "vocabulary_size",
            "window": "sliding_window_size",
            "vision_width": "vision_encoder.config.hidden_dim",
            "vision_heads": "vision_encoder.config.num_heads",
            "image": "vision_encoder.config.image_size",
            "patch": "vision_encoder.config.patch_size",
        },
        derives_head=False,
        build=_kh_gemma3_vision,
        inputs=_kh_gemma3_vision_inputs,
        extra_edits=[
            (
                "vision-output-other",
                "hidden-size",
                "vision_encoder.config.output_dim=48: image tokens of 48 for a text width of 64",
                {"vision_encoder.config.output_dim": 48},
            ),
            (
                "pool-3",
                "image-size",
                "vision_encoder.config.pool_size=3 does not divide the 4x4 patch grid",
                {"vision_encoder.config.pool_size": 3},
            ),
            (
                "pool-4",
                "image-size",
                "vision_encoder.config.pool_size=4: one token an image",
                {"vision_encoder.config.pool_size": 4},
            ),
            (
                "pool-zero",
                "zero",
                "vision_encoder.config.pool_size=0",
                {"vision_encoder.config.pool_size": 0},
            ),
            (
                "vision-layers-zero",
                "zero",
                "vision_encoder.config.num_layers=0",
                {"vision_encoder.config.num_layers": 0},
            ),
            (
                "image-size-mismatch",
                "image-size",
                "image_size=32 while the vision encoder's image_size is 16",
                {"image_size": 32},
            ),
        ],
    ),
    "PaliGemmaBackbone": _kh(
        "PaliGemmaBackbone",
        {
            "vocabulary_size": 200,
            "image_size": 16,
            "num_layers": 2,
            "num_query_heads": 4,
            "num_key_value_heads": 2,
            "hidden_dim": 64,
            "intermediate_dim": 128,
            "head_dim": 16,
            "vit_patch_size": 4,
            "vit_num_heads": 4,
            "vit_hidden_dim": 32,
            "vit_num_layers": 2,
            "vit_intermediate_dim": 64,
        },
        {
            "width": "hidden_dim",
            "heads": "num_query_heads",
            "kv": "num_key_value_heads",
            "head_dim": "head_dim",
            "inter": "intermediate_dim",
            "layers": "num_layers",
            "vocab": "vocabulary_size",
            "rates": ["dropout"],
            "vision_width": "vit_hidden_dim",
            "vision_heads": "vit_num_heads",
        },
        derives_head=False,
        extra_edits=[
            (
                "image-nondiv-patch",
                "image-size",
                "image_size=18: not a multiple of vit_patch_size=4",
                {"image_size": 18},
            ),
            ("patch-zero", "zero", "vit_patch_size=0", {"vit_patch_size": 0}),
            (
                "vit-intermediate-unset",
                "hidden-size",
                "vit_intermediate_dim=null (the backbone uses 4304)",
                {"vit_intermediate_dim": None},
            ),
            (
                "vit-pooling-map",
                "type",
                'vit_pooling="map": attention pooling to one image token',
                {"vit_pooling": "map"},
            ),
            (
                "vit-pooling-gap",
                "type",
                'vit_pooling="gap": average pooling to one image token',
                {"vit_pooling": "gap"},
            ),
            (
                "post-norms",
                "type",
                "use_post_ffw_norm and use_post_attention_norm (Gemma 2 style)",
                {"use_post_ffw_norm": True, "use_post_attention_norm": True},
            ),
            (
                "vit-layers-zero",
                "zero",
                "vit_num_layers=0",
                {"vit_num_layers": 0},
            ),
            (
                "window",
                "window",
                "use_sliding_window_attention with sliding_window_size=4",
                {"use_sliding_window_attention": True, "sliding_window_size": 4},
            ),
        ],
    ),
    "SigLIPBackbone": _kh(
        "SigLIPBackbone",
        {},
        {
            "width": "text_encoder.config.hidden_dim",
            "heads": "text_encoder.config.num_heads",
            "inter": "text_encoder.config.intermediate_dim",
            "layers": "text_encoder.config.num_layers",
            "vocab": "text_encoder.config.vocabulary_size",
            "vision_width": "vision_encoder.config.hidden_dim",
            "vision_heads": "vision_encoder.config.num_heads",
            "image": "vision_encoder.config.image_shape",
            "patch": "vision_encoder.config.patch_size",
        },
        build=_kh_siglip,
        extra_edits=[
            (
                "text-projection",
                "hidden-size",
                "text_encoder.config.projection_dim=16: the text embedding is 16 wide, the "
                "image embedding 32",
                {"text_encoder.config.projection_dim": 16},
            ),
            (
                "text-embedding-dim",
                "hidden-size",
                "text_encoder.config.embedding_dim=48 differs from its hidden_dim=32",
                {"text_encoder.config.embedding_dim": 48},
            ),
            (
                "vision-width-64",
                "hidden-size",
                "vision_encoder.config.hidden_dim=64 (text projection 32)",
                {"vision_encoder.config.hidden_dim": 64},
            ),
            (
                "image-not-square",
                "image-size",
                "vision_encoder.config.image_shape=[32, 24, 3]",
                {"vision_encoder.config.image_shape": [32, 24, 3]},
            ),
            (
                "vision-layers-zero",
                "zero",
                "vision_encoder.config.num_layers=0",
                {"vision_encoder.config.num_layers": 0},
            ),
            (
                "vision-heads-6",
                "num-heads",
                "vision_encoder.config.num_heads=6 does not divide 32",
                {"vision_encoder.config.num_heads": 6},
            ),
        ],
    ),
}
TRANSFORMERS: dict = {
    "siglip": _hf(
        "siglip",
        # The text head projects to the vision width: SiglipModel multiplies the embeddings.
        {
            "text_config": {**SIGLIP_TEXT, "projection_size": 32},
            "vision_config": dict(SIGLIP_VISION),
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "rates": ["text_config.attention_dropout"],
            "tokens": ["text_config.pad_token_id", "text_config.eos_token_id"],
            **VISION_NAMES,
        },
        inputs=_siglip_inputs,
        extra_edits=[
            (
                "vision-no-head",
                "type",
                "vision_config.vision_use_head=false: no attention-pooling head",
                {"vision_config.vision_use_head": False},
            ),
            (
                "text-projection-size",
                "hidden-size",
                "text_config.projection_size=16: the text head projects to 16 features",
                {"text_config.projection_size": 16},
            ),
            (
                "image-size-pair",
                "image-size",
                "vision_config.image_size=[32, 32] (a pair, which the config class allows)",
                {"vision_config.image_size": [32, 32]},
            ),
            (
                "vision-width-nondiv",
                "hidden-size",
                "vision_config.hidden_size=30 is not a multiple of its 4 heads",
                {"vision_config.hidden_size": 30},
            ),
            (
                "vision-width-64",
                "hidden-size",
                "vision_config.hidden_size=64: the image embedding (64) and the text "
                "projection (32) differ",
                {"vision_config.hidden_size": 64},
            ),
            (
                "vision-layers-zero",
                "zero",
                "vision_config.num_hidden_layers=0",
                {"vision_config.num_hidden_layers": 0},
            ),
            (
                "vision-layers-negative",
                "negative",
                "vision_config.num_hidden_layers=-1",
                {"vision_config.num_hidden_layers": -1},
            ),
        ],
    ),
    "siglip_vision_model": _hf(
        "siglip_vision_model",
        {k: v for k, v in SIGLIP_VISION.items() if k != "model_type"},
        {
            "width": "hidden_size",
            "heads": "num_attention_heads",
            "inter": "intermediate_size",
            "layers": "num_hidden_layers",
            "rates": ["attention_dropout"],
            "image": "image_size",
            "patch": "patch_size",
        },
        inputs=_vision_inputs,
        extra_edits=[
            (
                "no-head",
                "type",
                "vision_use_head=false: no attention-pooling head",
                {"vision_use_head": False},
            ),
            (
                "patch-nondiv-width-image",
                "image-size",
                "patch_size=5: 32x32 images hold a 6x6 grid, two pixel rows dropped",
                {"patch_size": 5},
            ),
            ("channels-one", "hidden-size", "num_channels=1 (grey images)", {"num_channels": 1}),
        ],
    ),
    "gemma3": _hf(
        "gemma3",
        {
            "text_config": {
                "model_type": "gemma3_text",
                **HF_DEC,
                "head_dim": 16,
                "sliding_window": 16,
            },
            "vision_config": {**SIGLIP_VISION, "vision_use_head": False},
            "mm_tokens_per_image": 4,
            "image_token_index": IMAGE_TOKEN,
            "boi_token_index": IMAGE_TOKEN + 1,
            "eoi_token_index": IMAGE_TOKEN + 2,
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "kv": "text_config.num_key_value_heads",
            "head_dim": "text_config.head_dim",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "window": "text_config.sliding_window",
            "tokens": ["image_token_index", "text_config.pad_token_id"],
            **VISION_NAMES,
        },
        derives_head=False,
        inputs=_gemma3_inputs,
        extra_edits=[
            (
                "mm-tokens-16",
                "image-size",
                "mm_tokens_per_image=16: a 4x4 grid pooled with a kernel of 1",
                {"mm_tokens_per_image": 16},
            ),
            (
                "mm-tokens-1",
                "image-size",
                "mm_tokens_per_image=1: the 4x4 grid pooled to one token",
                {"mm_tokens_per_image": 1},
            ),
            (
                "mm-tokens-nonsquare",
                "image-size",
                "mm_tokens_per_image=6: not a square; the 4x4 grid pools to 2x2 = 4 features",
                {"mm_tokens_per_image": 6},
            ),
            (
                "mm-tokens-above-grid",
                "image-size",
                "mm_tokens_per_image=25: 5 tokens a side for a 4x4 patch grid",
                {"mm_tokens_per_image": 25},
            ),
            (
                "mm-tokens-zero",
                "zero",
                "mm_tokens_per_image=0",
                {"mm_tokens_per_image": 0},
            ),
            (
                "vision-width-other",
                "hidden-size",
                "vision_config.hidden_size=48: the projector maps 48 vision features to 64",
                {"vision_config.hidden_size": 48},
            ),
            (
                "vision-head",
                "type",
                "vision_config.vision_use_head=true: the tower's pooling head is built",
                {"vision_config.vision_use_head": True},
            ),
            (
                "image-64",
                "image-size",
                "vision_config.image_size=64: an 8x8 grid pooled with a kernel of 4",
                {"vision_config.image_size": 64},
            ),
        ],
    ),
    "paligemma": _hf(
        "paligemma",
        {
            "text_config": {"model_type": "gemma", **HF_DEC, "head_dim": 16},
            "vision_config": {**SIGLIP_VISION, "vision_use_head": False},
            "projection_dim": 64,
            "image_token_index": IMAGE_TOKEN,
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "kv": "text_config.num_key_value_heads",
            "head_dim": "text_config.head_dim",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "tokens": ["image_token_index", "text_config.pad_token_id"],
            **VISION_NAMES,
        },
        derives_head=False,
        inputs=_paligemma_inputs,
        extra_edits=[
            (
                "projection-other",
                "hidden-size",
                "projection_dim=48: image features of 48 for a text width of 64",
                {"projection_dim": 48},
            ),
            (
                "projection-and-width",
                "hidden-size",
                "projection_dim=96 and text_config.hidden_size=96 (heads 4 divide it)",
                {"projection_dim": 96, "text_config.hidden_size": 96},
            ),
            (
                "vision-head-unset",
                "type",
                "vision_config without vision_use_head (the SigLIP default is true)",
                {"vision_config.vision_use_head": DELETE},
            ),
            (
                "vision-width-other",
                "hidden-size",
                "vision_config.hidden_size=48: the projector maps 48 vision features to 64",
                {"vision_config.hidden_size": 48},
            ),
            (
                "image-64",
                "image-size",
                "vision_config.image_size=64: an 8x8 grid, 64 image tokens",
                {"vision_config.image_size": 64},
            ),
        ],
    ),
    "qwen2_vl": _hf(
        "qwen2_vl",
        {
            "text_config": {"model_type": "qwen2_vl_text", **QWEN_VL_TEXT},
            "vision_config": {
                "model_type": "qwen2_vl_vision",
                "depth": 2,
                "embed_dim": 32,
                "hidden_size": 64,
                "mlp_ratio": 2,
                "num_heads": 4,
                "patch_size": 4,
                "temporal_patch_size": 2,
                "spatial_merge_size": 2,
            },
            **QWEN_VL_TOKENS,
        },
        {**QWEN_VL_NAMES, "vision_width": "vision_config.embed_dim"},
        inputs=_qwen_vl_inputs,
        extra_edits=[
            *_qwen_vl_edits("hidden_size"),
            (
                "mlp-ratio-fraction",
                "hidden-size",
                "vision_config.mlp_ratio=1.5 (a float; the MLP is int(32 * 1.5) = 48 wide)",
                {"vision_config.mlp_ratio": 1.5},
            ),
        ],
    ),
    "qwen2_5_vl": _hf(
        "qwen2_5_vl",
        {
            "text_config": {"model_type": "qwen2_5_vl_text", **QWEN_VL_TEXT},
            "vision_config": {
                "model_type": "qwen2_5_vl_vision",
                "depth": 2,
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_heads": 4,
                "patch_size": 4,
                "temporal_patch_size": 2,
                "spatial_merge_size": 2,
                "window_size": 16,
                "out_hidden_size": 64,
                "fullatt_block_indexes": [1],
            },
            **QWEN_VL_TOKENS,
        },
        {**QWEN_VL_NAMES, "vision_width": "vision_config.hidden_size"},
        inputs=_qwen_vl_inputs,
        extra_edits=[
            *_qwen_vl_edits("out_hidden_size"),
            (
                "window-below-merge",
                "window",
                "vision_config.window_size=4: 4 // merge 2 // patch 4 = 0 merged patches a window",
                {"vision_config.window_size": 4},
            ),
            (
                "window-odd",
                "window",
                "vision_config.window_size=20: 20 // 2 // 4 = 2 merged patches a window",
                {"vision_config.window_size": 20},
            ),
            (
                "fullatt-beyond-depth",
                "layers",
                "vision_config.fullatt_block_indexes=[0, 7]: 7 is beyond the 2 blocks",
                {"vision_config.fullatt_block_indexes": [0, 7]},
            ),
        ],
    ),
    "pixtral": _hf(
        "pixtral",
        {k: v for k, v in PIXTRAL.items() if k != "model_type"},
        {
            "width": "hidden_size",
            "heads": "num_attention_heads",
            "inter": "intermediate_size",
            "layers": "num_hidden_layers",
            "rates": ["attention_dropout"],
            "image": "image_size",
            "patch": "patch_size",
        },
        inputs=_pixtral_inputs,
        extra_edits=[
            (
                "heads-8",
                "num-heads",
                "num_attention_heads=8: heads of 4 (axial rotary: 2 frequencies a head)",
                {"num_attention_heads": 8},
            ),
            (
                "heads-16",
                "num-heads",
                "num_attention_heads=16: heads of 2",
                {"num_attention_heads": 16},
            ),
            (
                "width-heads-odd",
                "hidden-size",
                "hidden_size=36 with 4 heads: heads of 9 (odd)",
                {"hidden_size": 36},
            ),
            (
                "width-heads-6",
                "hidden-size",
                "hidden_size=24 with 4 heads: heads of 6 (not a multiple of 4)",
                {"hidden_size": 24},
            ),
        ],
    ),
    "mistral3": _hf(
        "mistral3",
        {
            "text_config": {"model_type": "mistral", **HF_DEC, "head_dim": 16},
            "vision_config": dict(PIXTRAL),
            "image_token_index": IMAGE_TOKEN,
            "spatial_merge_size": 2,
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "kv": "text_config.num_key_value_heads",
            "head_dim": "text_config.head_dim",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "window": "text_config.sliding_window",
            "tokens": ["image_token_index", "text_config.pad_token_id"],
            **VISION_NAMES,
        },
        derives_head=False,
        inputs=_mistral3_inputs,
        extra_edits=[
            (
                "feature-layer-list",
                "layers",
                "vision_feature_layer=[-1, -2]: two layers concatenated (linear_1 twice as wide)",
                {"vision_feature_layer": [-1, -2]},
            ),
            (
                "feature-layer-outside",
                "layers",
                "vision_feature_layer=-4: the tower has 3 hidden states (2 layers)",
                {"vision_feature_layer": -4},
            ),
            (
                "feature-layer-positive",
                "layers",
                "vision_feature_layer=2: the last of 3 hidden states",
                {"vision_feature_layer": 2},
            ),
            (
                "projector-bias",
                "type",
                "multimodal_projector_bias=true",
                {"multimodal_projector_bias": True},
            ),
            (
                "merge-zero",
                "zero",
                "spatial_merge_size=0",
                {"spatial_merge_size": 0},
            ),
            (
                "merge-1",
                "image-size",
                "spatial_merge_size=1 (images of 2x2 patches)",
                {"spatial_merge_size": 1},
            ),
            (
                "vision-width-other",
                "hidden-size",
                "vision_config.hidden_size=48: the projector maps 48 vision features to 64",
                {"vision_config.hidden_size": 48},
            ),
            (
                "vision-heads-8",
                "num-heads",
                "vision_config.num_attention_heads=8: vision heads of 4",
                {"vision_config.num_attention_heads": 8},
            ),
        ],
    ),
    "llava_next": _hf(
        "llava_next",
        {
            "text_config": {"model_type": "llama", **HF_DEC},
            "vision_config": {k: v for k, v in CLIP_VISION.items() if k != "projection_dim"},
            "image_token_index": IMAGE_TOKEN,
            "image_grid_pinpoints": [[32, 32], [32, 64], [64, 32]],
            "image_seq_length": 36,
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "kv": "text_config.num_key_value_heads",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "tokens": ["image_token_index", "text_config.pad_token_id"],
            "vision_width": "vision_config.hidden_size",
            "vision_heads": "vision_config.num_attention_heads",
        },
        inputs=_llava_next_inputs,
        extra_edits=[
            (
                "feature-layer-list",
                "layers",
                "vision_feature_layer=[-1, -2]: two layers concatenated (linear_1 twice as wide)",
                {"vision_feature_layer": [-1, -2]},
            ),
            (
                "feature-layer-outside",
                "layers",
                "vision_feature_layer=-4: the tower has 3 hidden states (2 layers)",
                {"vision_feature_layer": -4},
            ),
            (
                "projector-no-bias",
                "type",
                "multimodal_projector_bias=false",
                {"multimodal_projector_bias": False},
            ),
            (
                "vision-width-other",
                "hidden-size",
                "vision_config.hidden_size=48: the projector maps 48 vision features to 64",
                {"vision_config.hidden_size": 48},
            ),
            (
                "select-strategy-other",
                "type",
                'vision_feature_select_strategy="cls" (not a strategy)',
                {"vision_feature_select_strategy": "cls"},
            ),
        ],
    ),
    "idefics3": _hf(
        "idefics3",
        {
            "text_config": {"model_type": "llama", **HF_DEC},
            "vision_config": {
                "model_type": "idefics3_vision",
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "image_size": 32,
                "patch_size": 8,
            },
            "image_token_id": IMAGE_TOKEN,
            "scale_factor": 2,
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "kv": "text_config.num_key_value_heads",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "tokens": ["image_token_id", "text_config.pad_token_id"],
            **VISION_NAMES,
        },
        inputs=_idefics3_inputs,
        extra_edits=[
            (
                "scale-3",
                "image-size",
                "scale_factor=3 does not divide the 4x4 patch grid",
                {"scale_factor": 3},
            ),
            (
                "scale-4",
                "image-size",
                "scale_factor=4: the 4x4 grid shuffled into one token",
                {"scale_factor": 4},
            ),
            ("scale-zero", "zero", "scale_factor=0", {"scale_factor": 0}),
            (
                "image-48",
                "image-size",
                "vision_config.image_size=48: a 6x6 grid, 9 tokens an image",
                {"vision_config.image_size": 48},
            ),
            (
                "vision-width-other",
                "hidden-size",
                "vision_config.hidden_size=48: the connector maps 4 * 48 features to 64",
                {"vision_config.hidden_size": 48},
            ),
            (
                "vision-layers-zero",
                "zero",
                "vision_config.num_hidden_layers=0",
                {"vision_config.num_hidden_layers": 0},
            ),
        ],
    ),
    "llama4": _hf(
        "llama4",
        {
            "text_config": {
                "model_type": "llama4_text",
                **HF_DEC,
                "head_dim": 16,
                "intermediate_size_mlp": 128,
                "num_local_experts": 2,
                "num_experts_per_tok": 1,
                "attention_chunk_size": 16,
            },
            "vision_config": {
                "model_type": "llama4_vision_model",
                "hidden_size": 32,
                "intermediate_size": 128,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "image_size": 32,
                "patch_size": 8,
                "pixel_shuffle_ratio": 0.5,
                "projector_input_dim": 64,
                "projector_output_dim": 64,
                "vision_output_dim": 64,
            },
            "image_token_index": IMAGE_TOKEN,
            "boi_token_index": IMAGE_TOKEN + 1,
            "eoi_token_index": IMAGE_TOKEN + 2,
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "kv": "text_config.num_key_value_heads",
            "head_dim": "text_config.head_dim",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "tokens": ["image_token_index", "text_config.pad_token_id"],
            **VISION_NAMES,
        },
        derives_head=False,
        inputs=_llama4_inputs,
        forward=_llama4_forward,
        extra_edits=[
            (
                "shuffle-vs-intermediate",
                "hidden-size",
                "vision_config.intermediate_size=64: the shuffled patches have 32 / 0.5^2 = "
                "128 features",
                {"vision_config.intermediate_size": 64},
            ),
            (
                "shuffle-quarter",
                "image-size",
                "vision_config.pixel_shuffle_ratio=0.25 (4x4 patches into one token)",
                {"vision_config.pixel_shuffle_ratio": 0.25},
            ),
            (
                "projector-dims-differ",
                "hidden-size",
                "vision_config.projector_output_dim=48 differs from projector_input_dim=64",
                {"vision_config.projector_output_dim": 48, "vision_config.vision_output_dim": 48},
            ),
            (
                "vision-output-differs",
                "hidden-size",
                "vision_config.vision_output_dim=48 differs from projector_output_dim=64",
                {"vision_config.vision_output_dim": 48},
            ),
            (
                "tied",
                "type",
                "text_config.tie_word_embeddings=true (the LM head shares the embedding)",
                {"text_config.tie_word_embeddings": True},
            ),
            (
                "tied-top",
                "type",
                "tie_word_embeddings=true at the top level",
                {"tie_word_embeddings": True},
            ),
            (
                "vision-heads-8",
                "num-heads",
                "vision_config.num_attention_heads=8: vision heads of 4",
                {"vision_config.num_attention_heads": 8},
            ),
            (
                "feature-layer-outside",
                "layers",
                "vision_config.vision_feature_layer=-4: 3 hidden states",
                {"vision_config.vision_feature_layer": -4},
            ),
        ],
    ),
    "siglip2": _hf(
        "siglip2",
        {
            "text_config": {
                **SIGLIP_TEXT,
                "model_type": "siglip2_text_model",
                "projection_size": 32,
            },
            "vision_config": {
                **{k: v for k, v in SIGLIP_VISION.items() if k != "image_size"},
                "model_type": "siglip2_vision_model",
                "num_patches": 16,
            },
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "rates": ["text_config.attention_dropout"],
            "tokens": ["text_config.pad_token_id", "text_config.eos_token_id"],
            "vision_width": "vision_config.hidden_size",
            "vision_heads": "vision_config.num_attention_heads",
        },
        inputs=_siglip2_inputs,
        extra_edits=[
            (
                "patches-nonsquare",
                "image-size",
                "vision_config.num_patches=12: not a square position grid",
                {"vision_config.num_patches": 12},
            ),
            (
                "patches-64",
                "image-size",
                "vision_config.num_patches=64: an 8x8 position grid resized to 4x4 images",
                {"vision_config.num_patches": 64},
            ),
            (
                "vision-no-head",
                "type",
                "vision_config.vision_use_head=false: no image embedding",
                {"vision_config.vision_use_head": False},
            ),
            (
                "vision-width-64",
                "hidden-size",
                "vision_config.hidden_size=64: the image embedding (64) and the text "
                "projection (32) differ",
                {"vision_config.hidden_size": 64},
            ),
            (
                "patch-4",
                "image-size",
                "vision_config.patch_size=4 (the patch Linear takes 3 * 4 * 4 values)",
                {"vision_config.patch_size": 4},
            ),
        ],
    ),
    # Phi-4-multimodal: the text model's keys at the top level, a SigLIP-like vision tower
    # and a conformer audio encoder. Runs feed text only (input_ids): the image and audio
    # inputs need the processor's crops, masks and feature sizes; building the model checks
    # the vision and audio configs.
    "phi4_multimodal": _hf(
        "phi4_multimodal",
        {
            **HF_DEC,
            "original_max_position_embeddings": 64,
            "vision_config": {
                "model_type": "phi4_multimodal_vision",
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "image_size": 32,
                "patch_size": 8,
                "crop_size": 32,
                "image_token_id": IMAGE_TOKEN,
            },
            "audio_config": {
                "model_type": "phi4_multimodal_audio",
                "hidden_size": 32,
                "intermediate_size": 48,
                "num_blocks": 2,
                "num_attention_heads": 4,
                "ext_pw_out_channel": 32,
                "depthwise_separable_out_channel": 32,
                "nemo_conv_channels": 16,
                "input_size": 16,
                "time_reduction": 4,
                "bias_max_distance": 50,
                "audio_token_id": IMAGE_TOKEN + 1,
            },
        },
        {
            **HF_DEC_NAMES,
            "rates": ["resid_pdrop", "attention_dropout"],
            "rotary": "rope_parameters.partial_rotary_factor",
            "window": "sliding_window",
            "vision_width": "vision_config.hidden_size",
            "vision_heads": "vision_config.num_attention_heads",
            "image": "vision_config.image_size",
            "patch": "vision_config.patch_size",
        },
        extra_edits=[
            (
                "audio-time-reduction-odd",
                "zero",
                "audio_config.time_reduction=3 (not a multiple of 2)",
                {"audio_config.time_reduction": 3},
            ),
            (
                "audio-time-reduction-8",
                "image-size",
                "audio_config.time_reduction=8 (three subsampling convolutions)",
                {"audio_config.time_reduction": 8},
            ),
            (
                "audio-heads-nondiv",
                "num-heads",
                "audio_config.num_attention_heads=5 does not divide its hidden_size=32",
                {"audio_config.num_attention_heads": 5},
            ),
            (
                "audio-blocks-zero",
                "zero",
                "audio_config.num_blocks=0",
                {"audio_config.num_blocks": 0},
            ),
            (
                "audio-downsample-2",
                "hidden-size",
                "audio_config.downsample_rate=2 (the speech projections take 64 features)",
                {"audio_config.downsample_rate": 2},
            ),
            (
                "audio-bias-symmetric",
                "type",
                "audio_config.bias_symmetric=true (50 relative-position buckets, not 100)",
                {"audio_config.bias_symmetric": True},
            ),
            (
                "audio-width-negative",
                "negative",
                "audio_config.hidden_size=-32",
                {"audio_config.hidden_size": -32},
            ),
            (
                "vision-image-odd-grid",
                "image-size",
                "vision_config.image_size=40: a 5x5 patch grid (padded to 6x6 for the 2x2 pooling)",
                {"vision_config.image_size": 40},
            ),
        ],
    ),
    # Ministral 3: the text model of published Mistral 3 configs (Devstral 2, Ministral 3).
    "ministral3": _hf(
        "ministral3",
        {**HF_DEC, "head_dim": 16, "sliding_window": 16},
        {**HF_DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window"},
        derives_head=False,
        extra_edits=[
            (
                "rope-default",
                "rotary",
                "rope_parameters removed: the config's default yarn scaling",
                {"rope_parameters": DELETE},
            ),
            (
                "head-dim-null",
                "head-dim",
                "head_dim=null (derived from hidden_size // num_attention_heads)",
                {"head_dim": None},
            ),
        ],
    ),
    "voxtral": _hf(
        "voxtral",
        {
            "text_config": {"model_type": "llama", **HF_DEC, "head_dim": 16},
            "audio_config": {
                "model_type": "voxtral_encoder",
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "num_mel_bins": 16,
                "max_source_positions": 16,
            },
            "audio_token_id": IMAGE_TOKEN,
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "kv": "text_config.num_key_value_heads",
            "head_dim": "text_config.head_dim",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "tokens": ["audio_token_id", "text_config.pad_token_id"],
        },
        derives_head=False,
        inputs=_voxtral_inputs,
        extra_edits=[
            (
                "audio-heads-nondiv",
                "num-heads",
                "audio_config.num_attention_heads=5 does not divide its hidden_size=32",
                {"audio_config.num_attention_heads": 5},
            ),
            (
                "audio-inter-nondiv",
                "hidden-size",
                "audio_config.intermediate_size=48: 16 frames * 32 features do not regroup by 48",
                {"audio_config.intermediate_size": 48},
            ),
            (
                "audio-inter-128",
                "hidden-size",
                "audio_config.intermediate_size=128: 4 audio tokens a clip",
                {"audio_config.intermediate_size": 128},
            ),
            (
                "audio-layers-zero",
                "zero",
                "audio_config.num_hidden_layers=0",
                {"audio_config.num_hidden_layers": 0},
            ),
            (
                "audio-positions-zero",
                "zero",
                "audio_config.max_source_positions=0",
                {"audio_config.max_source_positions": 0},
            ),
            (
                "audio-token-null",
                "token-id",
                "audio_token_id=null (the default)",
                {"audio_token_id": None},
            ),
        ],
    ),
    # LFM2: a hybrid of short convolutions and attention layers (layer_types), and LFM2-VL.
    "lfm2": _hf(
        "lfm2",
        dict(LFM2_TEXT),
        dict(HF_DEC_NAMES),
        extra_edits=[
            (
                "all-attention",
                "layers",
                "layer_types removed, full_attn_idxs=[0, 1]",
                {"layer_types": DELETE, "full_attn_idxs": [0, 1]},
            ),
            (
                "layer-types-short",
                "layers",
                "layer_types of one entry for 2 layers",
                {"layer_types": ["conv"]},
            ),
            (
                "layer-types-unknown",
                "layers",
                'layer_types with "mamba" (not a kind LFM2 knows)',
                {"layer_types": ["mamba", "full_attention"]},
            ),
            (
                "ffn-no-adjust",
                "hidden-size",
                "block_auto_adjust_ff_dim=false (the MLP is intermediate_size wide)",
                {"block_auto_adjust_ff_dim": False},
            ),
            (
                "ffn-multiplier",
                "hidden-size",
                "block_ffn_dim_multiplier=1.5 (int(2 * 128 / 3) = 85, * 1.5 = 127, rounded to 128)",
                {"block_ffn_dim_multiplier": 1.5},
            ),
            (
                "ffn-multiplier-null",
                "hidden-size",
                "block_ffn_dim_multiplier=null (int(2 * 128 / 3) = 85, not rounded)",
                {"block_ffn_dim_multiplier": None},
            ),
            ("conv-bias", "type", "conv_bias=true", {"conv_bias": True}),
            ("conv-cache-zero", "zero", "conv_L_cache=0", {"conv_L_cache": 0}),
            (
                "multiple-zero",
                "zero",
                "block_multiple_of=0",
                {"block_multiple_of": 0},
            ),
        ],
    ),
    "lfm2_vl": _hf(
        "lfm2_vl",
        {
            "text_config": {"model_type": "lfm2", **LFM2_TEXT},
            "vision_config": {
                **{k: v for k, v in SIGLIP_VISION.items() if k != "image_size"},
                "model_type": "siglip2_vision_model",
                "num_patches": 16,
                "vision_use_head": False,
            },
            "image_token_id": IMAGE_TOKEN,
            "projector_hidden_size": 48,
            "downsample_factor": 2,
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "kv": "text_config.num_key_value_heads",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "tokens": ["image_token_id", "text_config.pad_token_id"],
            "vision_width": "vision_config.hidden_size",
            "vision_heads": "vision_config.num_attention_heads",
        },
        inputs=_lfm2_vl_inputs,
        extra_edits=[
            (
                "factor-1",
                "image-size",
                "downsample_factor=1: one image token a patch",
                {"downsample_factor": 1},
            ),
            (
                "factor-3",
                "image-size",
                "downsample_factor=3 does not divide the 4x4 patch grid",
                {"downsample_factor": 3},
            ),
            ("factor-zero", "zero", "downsample_factor=0", {"downsample_factor": 0}),
            (
                "projector-no-norm-bias",
                "type",
                "projector_use_layernorm=false, projector_bias=false",
                {"projector_use_layernorm": False, "projector_bias": False},
            ),
            (
                "vision-head",
                "type",
                "vision_config.vision_use_head=true (the pooling head is built, unused)",
                {"vision_config.vision_use_head": True},
            ),
        ],
    ),
    # BLIP: BlipModel (image-text contrastive): a BERT-like text decoder with cross-attention
    # to the image, a ViT, two projections.
    "blip": _hf(
        "blip",
        {
            "text_config": {
                "model_type": "blip_text_model",
                "vocab_size": 200,
                "hidden_size": 64,
                "intermediate_size": 128,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "max_position_embeddings": 64,
                "encoder_hidden_size": 32,
                "bos_token_id": 3,
                "sep_token_id": 4,
            },
            "vision_config": {
                "model_type": "blip_vision_model",
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "image_size": 32,
                "patch_size": 8,
            },
            "projection_dim": 32,
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "rates": ["text_config.hidden_dropout_prob"],
            "tokens": ["text_config.pad_token_id", "text_config.bos_token_id"],
            **VISION_NAMES,
        },
        inputs=_siglip_inputs,
        extra_edits=[
            (
                "encoder-width-other",
                "hidden-size",
                "text_config.encoder_hidden_size=48 (BlipConfig sets it to the vision width, 32)",
                {"text_config.encoder_hidden_size": 48},
            ),
            (
                "text-not-decoder",
                "type",
                "text_config.is_decoder=false: no cross-attention",
                {"text_config.is_decoder": False},
            ),
            (
                "vision-width-64",
                "hidden-size",
                "vision_config.hidden_size=64 (heads 4 divide it)",
                {"vision_config.hidden_size": 64},
            ),
            (
                "projection-16",
                "hidden-size",
                "projection_dim=16",
                {"projection_dim": 16},
            ),
        ],
    ),
}
