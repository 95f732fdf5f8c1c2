"""The ``moe`` group (see ``families/__init__.py``): mixture-of-experts decoders, multi-head
latent attention and hybrid stacks; entries and their formulas.

transformers: qwen3_moe, qwen2_moe, deepseek_v3, deepseek_v2, deepseek_v32, glm_moe_dsa,
gpt_oss, llama4_text (``hf_llama4_text`` also counts the llama4 container's text model),
phimoe, granitemoe, minimax_m2, mamba, falcon_mamba, jamba, qwen3_5 and qwen3_5_moe (with
their ``*_text`` and ``*_vision`` configs). KerasHub: Qwen3MoeBackbone, QwenMoeBackbone,
GptOssBackbone, Qwen3_5Backbone, Qwen3_5MoeBackbone. ``mixtral_experts`` adds the expert
checks to the Mixtral families defined in ``huggingface.py`` and ``kerashub.py``.

Facts from transformers 5.24.0 (``models/<family>/configuration_*.py``, ``modeling_*.py``)
shared by the families here (the corpus in tests/hparams_corpus/ shows each):

- Experts are 3D parameters run by ``integrations/moe.py``'s default ``grouped_mm`` kernel,
  which needs rows of a multiple of 16 bytes: in float32 (the default when a model is built
  from a config) ``hidden_size`` and the expert width must be multiples of 4, else the first
  batch fails ("strides should be multiple of 16 bytes").
- The router takes ``torch.topk(scores, num_experts_per_tok)``: more experts per token than
  experts fails at the first batch ("selected index k out of range"); zero builds and runs
  (every mixture outputs zeros).
- A negative ``num_hidden_layers`` fails ("__len__() should return >= 0"); zero builds an
  empty stack.
"""

from __future__ import annotations

from dataclasses import replace

from kmha_lint import geometry
from kmha_lint.hparams import rules
from kmha_lint.hparams.builders import hf_decoder, hf_family, kh_family, kh_gqa
from kmha_lint.hparams.checks import Report, _show, check_size, is_int
from kmha_lint.hparams.params import (
    _attention,
    _counted,
    _flag,
    _gated,
    _hf_head_dim,
    _int,
    _ln,
    _opt_int,
    _Unknown,
)
from kmha_lint.hparams.spec import DIVISIBLE, EXPLICIT, FLOORS, Attention, Family, Unit, Values

# ------------------------------------------------------------------------------------------
# Shared checks (each returns a function f(unit, report) for Family.extra)
# ------------------------------------------------------------------------------------------


def _known(report: Report, key: str, minimum: int = 0) -> int | None:
    """The value of `key` when it is a usable integer (not already reported wrong)."""
    value = report.value(key)
    if key in report.bad or not is_int(value) or value < minimum:
        return None
    return int(value)


# Layer plans are built layer by layer: a count beyond any real model is left unknown rather
# than walked (published models have at most a few hundred layers).
_MAX_LAYERS = 100_000


def _layer_count(report: Report) -> int | None:
    """The unit's layer count (its family's first layer argument), when usable."""
    layers = report.unit.family.layers
    count = _known(report, layers[0] if layers else "num_hidden_layers")
    return None if count is None or count > _MAX_LAYERS else count


def _layers(v) -> int:
    """num_hidden_layers as the library builds it: a negative count builds no layer (and
    fails at the first batch, which the checks report)."""
    value = v.get("num_hidden_layers")
    if not is_int(value) or value > _MAX_LAYERS:
        raise _Unknown("num_hidden_layers")
    return max(0, int(value))


def _present(values, keys: tuple[str, ...]) -> str:
    """The first of several spellings present in the config (else the last: its default)."""
    return next((key for key in keys if values.has(key)), keys[-1])


def check_used_size(key: str, used, what: str):
    """A size only some layers use: a zero or negative value is harmless (a warning) when no
    layer uses it, and checked as any size otherwise. ``used(report)`` says whether a layer
    uses it (None: unknown)."""

    def check(unit: Unit, report: Report) -> None:
        value = report.value(key)
        if is_int(value) and value <= 0 and used(report) is False:
            report.add(
                rules.HPARAM_DEGENERATE,
                key,
                f"a size of zero or less; no layer uses it ({what}), so the library builds "
                "and runs, but the value is not the one a layer could use",
                "a positive integer",
                str(value),
                f"set `{key}` to the size you meant",
            )
            return
        check_size(report, key)

    return check


def check_top_k(spellings: tuple[str, ...], top_k: str, has_experts, *, none_fails: bool = False):
    """More experts per token than experts: the router's topk fails at the first batch.
    `spellings`: the expert count's names (an attribute_map alias first)."""

    def check(unit: Unit, report: Report) -> None:
        experts = _present(unit.values, spellings)
        if has_experts(report) is False:
            return
        if top_k in report.bad:
            return
        value = report.value(top_k)
        if value is None and none_fails:
            report.add(
                rules.HPARAM_WRONG_TYPE,
                top_k,
                "no number of experts per token; the router's topk fails at the first batch",
                "a positive integer",
                "null",
                f"set `{top_k}` to how many experts each token is routed to",
            )
            return
        count, k = _known(report, experts), _known(report, top_k)
        if count is None or k is None or k <= count:
            return
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            top_k,
            f"{k} experts per token, more than the {count} experts (`{experts}`); the router's "
            "topk fails at the first batch",
            f"at most {experts}={count}",
            str(k),
            f"set `{top_k}` <= {count}, or raise `{experts}`",
        )

    return check


def check_expert_rows(width_keys: tuple[str, ...], has_experts):
    """The grouped_mm experts kernel: rows of a multiple of 16 bytes (4 float32 numbers)."""

    def check(unit: Unit, report: Report) -> None:
        if has_experts(report) is False:
            return
        for key in width_keys:
            value = _known(report, key, 1)
            if value is None or value % 4 == 0:
                continue
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                key,
                f"{key}={value} is not a multiple of 4; transformers runs the experts with "
                "its grouped_mm kernel, which needs rows of a multiple of 16 bytes (4 float32 "
                "numbers, 8 in bfloat16), so the first batch fails",
                "a multiple of 4 (of 8 for bfloat16)",
                str(value),
                f"set `{key}` to a multiple of 8",
            )

    return check


def check_layer_lists(*keys: str, exact: tuple[str, ...] = ("layer_types",)):
    """Per-layer lists written in the file (to_dict writes them): transformers' layer_types
    (`exact`) of another length fails when the config is read (validate_layer_type); a
    shorter per-layer list fails when the layers are built (indexed per layer)."""

    def check(unit: Unit, report: Report) -> None:
        layers = _layer_count(report)
        if layers is None:
            return
        for key in keys:
            value = report.value(key)
            if not isinstance(value, list):
                continue
            short = len(value) != layers if key in exact else len(value) < layers
            if short:
                report.add(
                    rules.HPARAM_OUT_OF_RANGE,
                    key,
                    f"`{key}` lists {len(value)} layers and num_hidden_layers is {layers}; the "
                    + (
                        "config class rejects it (validate_layer_type)"
                        if key in exact
                        else "layers are built by index into it, so building fails"
                    ),
                    f"one entry per layer ({layers})",
                    f"{len(value)} entries",
                    f"write `{key}` for {layers} layers, or remove it to let the library derive it",
                )

    return check


def check_window_when(flag: str, window: str, sliding_layers=None):
    """A sliding window that only applies when `flag` is true (or some layer slides): zero or
    less breaks the mask there, and is ignored elsewhere."""

    def check(unit: Unit, report: Report) -> None:
        value = report.value(window)
        if value is None:
            return
        if not is_int(value):
            report.add(
                rules.HPARAM_WRONG_TYPE,
                window,
                "wrong type",
                "a positive integer or null",
                _show(value),
                f"write `{window}` as a whole number",
            )
            return
        if value > 0:
            return
        slides = sliding_layers(report) if sliding_layers else bool(report.value(flag))
        if slides:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                window,
                "a sliding window of zero or less; the sliding-window mask breaks at the first "
                "batch",
                "a positive integer",
                str(value),
                f"set `{window}` >= 1, or turn `{flag}` off",
            )
        else:
            report.add(
                rules.HPARAM_DEGENERATE,
                window,
                f"a sliding window of zero or less; no layer slides (`{flag}` is off), so the "
                "library ignores it",
                "a positive integer",
                str(value),
                f"set `{window}` to the window you mean before turning `{flag}` on",
            )

    return check


# ------------------------------------------------------------------------------------------
# Qwen2-MoE and Qwen3-MoE: decoder_sparse_step and mlp_only_layers choose the sparse layers.
# ------------------------------------------------------------------------------------------


# Qwen3-MoE maps num_experts to num_local_experts (attribute_map), and writes the latter.
_QWEN_EXPERTS = ("num_local_experts", "num_experts")


def _qwen_sparse_layers(values, layers: int, index_zero: bool = False) -> list[bool]:
    """Qwen*MoeDecoderLayer: a mixture where the layer is not in mlp_only_layers, there are
    experts, and (index + 1) % decoder_sparse_step == 0. KerasHub's QwenMoeBackbone never
    passes the index (`index_zero`): every layer decides as layer 0."""
    experts = _int(values, _present(values, _QWEN_EXPERTS), 0)
    only = values.get("mlp_only_layers") or []
    if not isinstance(only, list):
        raise _Unknown("mlp_only_layers")
    only = {i for i in only if is_int(i)}
    if experts == 0:
        return [False] * layers
    step = values.get("decoder_sparse_step")
    if not is_int(step) or step == 0:
        raise _Unknown("decoder_sparse_step")
    return [
        (0 if index_zero else i) not in only and ((0 if index_zero else i) + 1) % step == 0
        for i in range(layers)
    ]


def _qwen_plan(report: Report, index_zero: bool) -> list[bool] | None:
    layers = _layer_count(report)
    if layers is None or _present(report.unit.values, _QWEN_EXPERTS) in report.bad:
        return None
    try:
        return _qwen_sparse_layers(report.unit.values, layers, index_zero)
    except _Unknown:
        return None


def _qwen_any(sparse: bool, index_zero: bool = False):
    """Whether some layer is sparse (or dense), None where unknown."""

    def used(report: Report) -> bool | None:
        plan = _qwen_plan(report, index_zero)
        if plan is None:
            return None
        return any(plan) if sparse else not all(plan)

    return used


def _qwen_moe_checks(
    *shared: str,
    top_k: str = "num_experts_per_tok",
    dense: str = "intermediate_size",
    expert: str = "moe_intermediate_size",
    rows: tuple[str, ...] = ("hidden_size", "moe_intermediate_size"),
    index_zero: bool = False,
):
    """The checks of the sizes the sparse or the dense layers use (the names differ between
    transformers and KerasHub); `rows`: the grouped_mm kernel's widths (transformers)."""
    any_sparse, any_dense = _qwen_any(True, index_zero), _qwen_any(False, index_zero)
    return (
        check_used_size(dense, any_dense, "every layer is a mixture"),
        *(
            check_used_size(key, any_sparse, "no layer is a mixture of experts")
            for key in (expert, *shared)
        ),
        check_top_k(_QWEN_EXPERTS, top_k, any_sparse),
        *((check_expert_rows(rows, any_sparse),) if rows else ()),
    )


def _qwen_moe_mlp(v, d: int, *, shared: bool) -> int:
    """The feed-forward weights of every layer: a dense gated MLP, or a router and experts
    (and, with `shared`, a shared gated expert with a one-output gate)."""
    plan = _qwen_sparse_layers(v, _layers(v))
    total = 0
    for sparse in plan:
        if sparse:
            experts = _int(v, _present(v, _QWEN_EXPERTS))
            m = _int(v, "moe_intermediate_size", 0)
            total += experts * d + experts * _gated(d, m)
            if shared:
                total += _gated(d, _int(v, "shared_expert_intermediate_size", 0)) + d
        else:
            total += _gated(d, _int(v, "intermediate_size"))
    return total


def _qwen_moe_attention_layers(v, *, k: int, q_bias: bool, o_bias: bool, qk_norm: bool) -> int:
    d, h = _int(v, "hidden_size"), _int(v, "num_attention_heads")
    kv = _opt_int(v, "num_key_value_heads") or h
    attention = _attention(d, h, k, kv, qkv_bias=q_bias, out_bias=o_bias)
    layer = attention + 2 * d + (2 * k if qk_norm else 0)
    return _layers(v) * layer


@_counted
def hf_qwen3_moe(v) -> int:
    """Qwen3MoeModel: embeddings; per layer attention (attention_bias on q, k, v and o),
    q/k RMSNorms of the head size, two RMSNorms, a gated MLP or a router and experts; a
    final RMSNorm. The head size: head_dim where the file has it, else H // n."""
    d = _int(v, "hidden_size")
    k = _hf_head_dim(v)
    bias = _flag(v, "attention_bias", False)
    layers = _qwen_moe_attention_layers(v, k=k, q_bias=bias, o_bias=bias, qk_norm=True)
    return _int(v, "vocab_size", 0) * d + layers + _qwen_moe_mlp(v, d, shared=False) + d


@_counted
def hf_qwen2_moe(v) -> int:
    """Qwen2MoeModel: as Qwen3-MoE without q/k norms, q/k/v biases (qkv_bias), and a shared
    expert (a gated MLP of shared_expert_intermediate_size) with a one-output gate in every
    sparse layer."""
    d = _int(v, "hidden_size")
    k = _hf_head_dim(v)
    bias = _flag(v, "qkv_bias", True)
    layers = _qwen_moe_attention_layers(v, k=k, q_bias=bias, o_bias=False, qk_norm=False)
    return _int(v, "vocab_size", 0) * d + layers + _qwen_moe_mlp(v, d, shared=True) + d


def _qwen2_sliding_layers(report: Report) -> bool:
    """Qwen2MoeConfig: layer_types as written, else sliding on odd-numbered layers below
    max_window_layers when use_sliding_window is on."""
    types = report.value("layer_types")
    if isinstance(types, list):
        return "sliding_attention" in types
    if not report.value("use_sliding_window"):
        return False
    layers, below = _layer_count(report), _known(report, "max_window_layers")
    if layers is None or below is None:
        return True
    return any((i + 1) % 2 and i < below for i in range(layers))


QWEN3_MOE = hf_decoder(
    "qwen3_moe",
    "Qwen3-MoE",
    derived=FLOORS,
    extra_sizes=("num_local_experts", "num_experts", "num_experts_per_tok", "decoder_sparse_step"),
    params_fn=hf_qwen3_moe,
    vocab_size=151936,
    hidden_size=2048,
    intermediate_size=6144,
    num_hidden_layers=24,
    num_attention_heads=32,
    num_key_value_heads=4,
    max_position_embeddings=32768,
    use_sliding_window=False,
    sliding_window=4096,
    decoder_sparse_step=1,
    moe_intermediate_size=768,
    num_experts_per_tok=8,
    num_experts=128,
    mlp_only_layers=None,
    attention_bias=False,
)

QWEN2_MOE = hf_decoder(
    "qwen2_moe",
    "Qwen2-MoE",
    derived=FLOORS,
    extra_sizes=("num_experts", "num_experts_per_tok", "decoder_sparse_step"),
    params_fn=hf_qwen2_moe,
    vocab_size=151936,
    hidden_size=2048,
    intermediate_size=5632,
    num_hidden_layers=24,
    num_attention_heads=16,
    num_key_value_heads=16,
    max_position_embeddings=32768,
    use_sliding_window=False,
    sliding_window=4096,
    max_window_layers=28,
    decoder_sparse_step=1,
    moe_intermediate_size=1408,
    shared_expert_intermediate_size=5632,
    num_experts_per_tok=4,
    num_experts=60,
    mlp_only_layers=None,
    qkv_bias=True,
)


def _qwen_moe_entry(family: Family, *extra) -> Family:
    """The generic decoder entry, with the sizes only some layers use moved to the checks
    that know which layers do, and the Qwen-MoE facts from the corpus."""
    sizes = tuple(s for s in family.sizes if s != "intermediate_size")
    return replace(
        family,
        sizes=sizes,
        windows=(),
        extra=(*family.extra, *extra),
        # Zero layers build an empty stack (Qwen3-MoE); negative ones fail.
        strict_layers=True,
        # No experts: every layer is a dense MLP. No expert per token: zero outputs.
        zero_ok=frozenset(
            {*_QWEN_EXPERTS, "num_experts_per_tok", "shared_expert_intermediate_size"}
        ),
        negative_ok=frozenset({"decoder_sparse_step"}),
        attention=tuple(replace(a, rotary_above_one_fails=True) for a in family.attention),
    )


QWEN3_MOE = _qwen_moe_entry(
    QWEN3_MOE,
    *_qwen_moe_checks(),
    check_window_when("use_sliding_window", "sliding_window"),
)
# Qwen3-MoE writes no layer_types: zero layers build an empty stack and run.
QWEN3_MOE = replace(QWEN3_MOE, zero_ok=QWEN3_MOE.zero_ok | {"num_hidden_layers"})
QWEN2_MOE = _qwen_moe_entry(
    QWEN2_MOE,
    *_qwen_moe_checks("shared_expert_intermediate_size"),
    check_window_when("use_sliding_window", "sliding_window", _qwen2_sliding_layers),
)


# ------------------------------------------------------------------------------------------
# DeepSeek-V2 and V3: multi-head latent attention, routed and shared experts after
# first_k_dense_replace dense layers.
# ------------------------------------------------------------------------------------------

_MLA_PARTS = ("qk_nope_head_dim", "qk_rope_head_dim")


# DeepSeek-V3.2 reads mlp_layer_types (written by to_dict; else the first_k_dense_replace
# layers dense); V2 and V3 only first_k_dense_replace.
_MLP_LAYER_TYPES = frozenset({"deepseek_v32", "glm_moe_dsa"})


def _deepseek_dense_layers(values, layers: int, family: str) -> int:
    """How many of the layers are dense (the others are mixtures)."""
    types = values.get("mlp_layer_types")
    if family in _MLP_LAYER_TYPES and isinstance(types, list):
        return sum(1 for kind in types[:layers] if kind != "sparse")
    first = values.get("first_k_dense_replace")
    if not is_int(first):
        raise _Unknown("first_k_dense_replace")
    return min(layers, max(first, 0))


def _deepseek_split(report: Report) -> tuple[int, int] | None:
    layers = _layer_count(report)
    if layers is None:
        return None
    try:
        dense = _deepseek_dense_layers(report.unit.values, layers, report.unit.family.name)
    except _Unknown:
        return None
    return dense, layers - dense


def _deepseek_any_moe(report: Report) -> bool | None:
    split = _deepseek_split(report)
    return None if split is None else split[1] > 0


def _deepseek_any_dense(report: Report) -> bool | None:
    split = _deepseek_split(report)
    return None if split is None else split[0] > 0


def _check_first_dense(unit: Unit, report: Report) -> None:
    layers, first = _layer_count(report), report.value("first_k_dense_replace")
    if layers is None or not is_int(first) or layers == 0:
        return
    if first < 0:
        report.add(
            rules.HPARAM_DEGENERATE,
            "first_k_dense_replace",
            "a negative number of leading dense layers; the library reads it as 0 (every "
            "layer is a mixture of experts)",
            f"an integer in [0, {layers}]",
            str(first),
            "set `first_k_dense_replace` to the number of dense layers before the experts",
        )
    elif first >= layers:
        report.add(
            rules.HPARAM_DEGENERATE,
            "first_k_dense_replace",
            f"first_k_dense_replace={first} covers all {layers} layers; the library builds a "
            "dense model and the expert settings are unused",
            f"an integer below num_hidden_layers={layers}",
            str(first),
            "lower `first_k_dense_replace`, or drop the expert settings",
        )


def _check_mla(*, rotary_table_key: str | None, pairs: bool):
    """Multi-head latent attention: the library repeats the (already per-head) keys
    heads // num_key_value_heads times, so anything but 1 fails; the rotary part rotates
    pairs; DeepSeek-V2's complex rotary needs even offsets (pairs=True); DeepSeek-V3 builds
    its rotary table for `head_dim` where the file has it (rotary_table_key)."""

    def check(unit: Unit, report: Report) -> None:
        heads, kv = (
            _known(report, "num_attention_heads", 1),
            _known(report, "num_key_value_heads", 1),
        )
        if heads is not None and kv is not None and heads // kv > 1:
            report.add(
                rules.KEY_VALUE_HEADS,
                "num_key_value_heads",
                f"multi-head latent attention projects keys for all {heads} heads, and the "
                f"library then repeats them num_attention_heads // num_key_value_heads = "
                f"{heads // kv} times, so the first batch fails",
                f"num_key_value_heads=num_attention_heads={heads}",
                str(kv),
                f"set `num_key_value_heads` to {heads}",
            )
        rope = _known(report, "qk_rope_head_dim", 1)
        if rope is None:
            return
        try:
            geometry.rotary_dim(unit.label, rope, 1.0, argument="qk_rope_head_dim")
        except geometry.ShapeError as error:
            report.problem(rules.ROTARY_ODD, "qk_rope_head_dim", error.problem)
            return
        if rotary_table_key and unit.values.has(rotary_table_key):
            table = report.value(rotary_table_key)
            if table is None:
                width, n = _known(report, "hidden_size", 1), heads
                table = width // n if width and n else None
            if is_int(table) and table != rope:
                report.add(
                    rules.HPARAM_OUT_OF_RANGE,
                    rotary_table_key,
                    f"the rotary table is built for `{rotary_table_key}`={table} features, "
                    f"but qk_rope_head_dim={rope} are rotated; the first batch fails",
                    f"{rotary_table_key}=qk_rope_head_dim={rope}",
                    str(table),
                    f"set `{rotary_table_key}` to {rope}, or remove it",
                )
        if pairs:
            for key in ("qk_nope_head_dim", "kv_lora_rank"):
                value = _known(report, key, 1)
                if value is not None and value % 2:
                    report.add(
                        rules.ROTARY_ODD,
                        key,
                        f"{key}={value} is odd; the rotary part starts after it, and the "
                        "library's complex rotary view needs it at an even offset (float32), "
                        "so the first batch fails",
                        "an even number",
                        str(value),
                        f"set `{key}` to an even number",
                    )

    return check


def _check_ignored_layer_freq(unit: Unit, report: Report) -> None:
    """moe_layer_freq (DeepSeek's own code: a mixture every n-th layer) is not read by
    transformers: every layer after first_k_dense_replace is a mixture."""
    freq = report.value("moe_layer_freq")
    if not unit.values.has("moe_layer_freq") or freq == 1 or isinstance(freq, bool):
        return
    report.add(
        rules.HPARAM_DEGENERATE,
        "moe_layer_freq",
        "transformers does not read moe_layer_freq: every layer after first_k_dense_replace "
        "is a mixture of experts, whatever this says",
        "1 (or no such key)",
        _show(freq),
        "remove `moe_layer_freq`, or build the model with code that reads it",
    )


def _check_topk_method(unit: Unit, report: Report) -> None:
    """DeepseekV2TopkRouter knows "greedy" and "group_limited_greedy"; any other method
    leaves the routing weights unset, and the first batch fails."""
    method = report.value("topk_method")
    if method in ("greedy", "group_limited_greedy") or _deepseek_any_moe(report) is False:
        return
    report.add(
        rules.HPARAM_OUT_OF_RANGE,
        "topk_method",
        "an expert routing method transformers' DeepSeek-V2 router does not know; no routing "
        "weights are computed and the first batch fails",
        '"greedy" or "group_limited_greedy"',
        _show(method),
        'set `topk_method` to "greedy" or "group_limited_greedy"',
    )


def _check_groups(method_key: str | None, *, two_per_group: bool, has_experts=None):
    """Group-limited routing (n_group, topk_group): groups must split the experts evenly,
    DeepSeek-V3 scores a group by its best two experts, and topk_group <= n_group."""

    def check(unit: Unit, report: Report) -> None:
        if (has_experts or _deepseek_any_moe)(report) is False:
            return
        if method_key and report.value(method_key) != "group_limited_greedy":
            return
        experts = _known(report, "n_routed_experts")
        for key in ("n_group", "topk_group"):
            if report.value(key) is None:
                report.add(
                    rules.HPARAM_WRONG_TYPE,
                    key,
                    "group-limited routing without a group count; the router fails at the "
                    "first batch",
                    "a positive integer",
                    "null",
                    f"set `{key}`",
                )
                return
        groups, top = _known(report, "n_group", 1), _known(report, "topk_group")
        if experts is None or groups is None:
            return
        least = 2 if two_per_group else 1
        if experts % groups or experts // groups < least:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                "n_group",
                f"n_group={groups} groups of the {experts} experts: the router views the "
                f"experts as n_group equal groups"
                + (" and scores each by its best two" if two_per_group else "")
                + ", so the first batch fails",
                f"a divisor of n_routed_experts={experts} leaving >= {least} per group",
                str(groups),
                "set `n_group` to a divisor of `n_routed_experts`",
            )
        elif top is not None and top > groups:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                "topk_group",
                f"topk_group={top} groups chosen of n_group={groups}; the router's topk fails "
                "at the first batch",
                f"at most n_group={groups}",
                str(top),
                f"set `topk_group` <= {groups}",
            )

    return check


def _check_q_lora_rank(unit: Unit, report: Report) -> None:
    """q_lora_rank: null means a plain q_proj; otherwise a size (zero builds and runs)."""
    if report.value("q_lora_rank") is not None:
        check_size(report, "q_lora_rank")


def _deepseek_mlp(v, d: int, i: int, bias: bool) -> int:
    return _gated(d, i) + ((2 * i + d) if bias else 0)


def _hf_deepseek(v, *, mlp_bias: bool, family: str = "", indexers=None) -> int:
    """`indexers(v, layers)`: how many layers hold a DSA indexer (DeepSeek-V3.2, GLM-5)."""
    d, h = _int(v, "hidden_size"), _int(v, "num_attention_heads", 0)
    q_rank = v.get("q_lora_rank")
    attention = geometry.mla_projection_params(
        d,
        h,
        q_lora_rank=None if q_rank is None else _int(v, "q_lora_rank", 0),
        kv_lora_rank=_int(v, "kv_lora_rank", 0),
        qk_nope_head_dim=_int(v, "qk_nope_head_dim", 0),
        qk_rope_head_dim=_int(v, "qk_rope_head_dim", 0),
        v_head_dim=_int(v, "v_head_dim", 0),
        bias=_flag(v, "attention_bias", False),
    )
    layers = _layers(v)
    dense = _deepseek_dense_layers(v, layers, family)
    total = layers * (attention + 2 * d)
    if indexers is not None:
        # The DSA indexer: wq_b (q_lora_rank -> index heads * index head size), wk, a
        # LayerNorm of the index head size, weights_proj (one weight per index head).
        heads, size = _int(v, "index_n_heads", 0), _int(v, "index_head_dim")
        indexer = _int(v, "q_lora_rank", 0) * heads * size + d * size + _ln(size) + d * heads
        total += indexers(v, layers) * indexer
    if dense:
        total += dense * _deepseek_mlp(v, d, _int(v, "intermediate_size"), mlp_bias)
    if layers - dense:
        experts, m = _int(v, "n_routed_experts", 0), _int(v, "moe_intermediate_size", 0)
        shared = _int(v, "n_shared_experts", 0) * m
        moe = experts * d + experts * _gated(d, m) + _deepseek_mlp(v, d, shared, mlp_bias)
        total += (layers - dense) * moe
    return _int(v, "vocab_size", 0) * d + total + d


@_counted
def hf_deepseek_v3(v) -> int:
    """DeepseekV3Model: embeddings; per layer multi-head latent attention
    (geometry.mla_projection_params), two RMSNorms, and a gated MLP (the first
    first_k_dense_replace layers) or a router (E x H; its score correction bias is a buffer),
    E experts and a shared gated MLP of n_shared_experts * moe_intermediate_size; a final
    RMSNorm."""
    return _hf_deepseek(v, mlp_bias=False)


@_counted
def hf_deepseek_v32(v) -> int:
    """DeepseekV32Model: as V3 with a low-rank query always (q_lora_rank), a DSA indexer in
    every layer, and mlp_layer_types choosing the dense and sparse layers."""
    return _hf_deepseek(v, mlp_bias=False, family="deepseek_v32", indexers=lambda v, n: n)


def glm_moe_dsa_indexed_layers(v, layers: int) -> int:
    """GlmMoeDsaConfig.indexer_types: as written, else from index_topk_pattern ("F" full,
    "S" shared), else "full" where max(i - index_skip_topk_offset + 1, 0) %
    index_topk_freq == 0 (freq 1, offset 2: every layer). Shared layers have no indexer."""
    kinds = v.get("indexer_types")
    if not isinstance(kinds, list):
        pattern = v.get("index_topk_pattern")
        if isinstance(pattern, str):
            kinds = ["full" if c == "F" else "shared" for c in pattern]
        elif isinstance(pattern, list):
            kinds = pattern
        else:
            freq, offset = v.get("index_topk_freq", 1), v.get("index_skip_topk_offset", 2)
            if not (is_int(freq) and is_int(offset)):
                raise _Unknown("index_topk_freq")
            freq = max(freq, 1)
            kinds = [
                "full" if max(i - offset + 1, 0) % freq == 0 else "shared" for i in range(layers)
            ]
    return sum(1 for kind in kinds[:layers] if kind == "full")


@_counted
def hf_glm_moe_dsa(v) -> int:
    """GlmMoeDsaModel (GLM-5): DeepSeek-V3.2's layers, with a DSA indexer only on the
    layers indexer_types marks "full" (the "shared" ones reuse the previous selection)."""
    return _hf_deepseek(
        v, mlp_bias=False, family="glm_moe_dsa", indexers=glm_moe_dsa_indexed_layers
    )


@_counted
def hf_deepseek_v2(v) -> int:
    """DeepseekV2Model: as V3, with mlp_bias on the dense MLPs and the shared experts."""
    return _hf_deepseek(v, mlp_bias=_flag(v, "mlp_bias", False))


def _deepseek(name: str, title: str, *, divisible: bool, params_fn, extra=(), **defaults):
    return hf_family(
        name,
        title,
        (
            Attention(
                "hidden_size",
                "num_attention_heads",
                head_dim_parts=_MLA_PARTS,
                derived=DIVISIBLE if divisible else EXPLICIT,
                divisible_even_with_head_dim=divisible,
            ),
        ),
        sizes=(
            "vocab_size",
            "max_position_embeddings",
            "num_key_value_heads",
            "kv_lora_rank",
            "qk_nope_head_dim",
            "qk_rope_head_dim",
            "v_head_dim",
            "n_shared_experts",
            "num_experts_per_tok",
        ),
        rates=("attention_dropout",),
        rates_unchecked=frozenset({"attention_dropout"}),
        padding_id="pad_token_id",
        strict_layers=True,
        zero_ok=frozenset(
            {"num_hidden_layers", "kv_lora_rank", "q_lora_rank", "num_experts_per_tok"}
        ),
        zero_valid=frozenset({"qk_nope_head_dim", "n_shared_experts"}),
        extra=(
            check_used_size("intermediate_size", _deepseek_any_dense, "no dense layer"),
            check_used_size("moe_intermediate_size", _deepseek_any_moe, "no expert layer"),
            check_used_size("n_routed_experts", _deepseek_any_moe, "no expert layer"),
            check_top_k(
                ("n_routed_experts",), "num_experts_per_tok", _deepseek_any_moe, none_fails=True
            ),
            check_expert_rows(("hidden_size", "moe_intermediate_size"), _deepseek_any_moe),
            _check_first_dense,
            _check_q_lora_rank,
            *extra,
        ),
        defaults={
            "num_key_value_heads": None,
            "q_lora_rank": 1536,
            "kv_lora_rank": 512,
            "qk_rope_head_dim": 64,
            "qk_nope_head_dim": 128,
            "v_head_dim": 128,
            "attention_bias": False,
            **defaults,
        },
        params=params_fn,
    )


DEEPSEEK_V3 = _deepseek(
    "deepseek_v3",
    "DeepSeek-V3",
    divisible=False,
    params_fn=hf_deepseek_v3,
    extra=(
        _check_mla(rotary_table_key="head_dim", pairs=False),
        _check_groups(None, two_per_group=True),
        _check_ignored_layer_freq,
    ),
    vocab_size=129280,
    hidden_size=7168,
    intermediate_size=18432,
    moe_intermediate_size=2048,
    num_hidden_layers=61,
    num_attention_heads=128,
    n_shared_experts=1,
    n_routed_experts=256,
    n_group=8,
    topk_group=4,
    num_experts_per_tok=8,
    first_k_dense_replace=3,
    max_position_embeddings=4096,
    bos_token_id=0,
    eos_token_id=1,
)
# Zero heads build an empty attention (the keys are repeated 0 // kv = 0 times) and run.
DEEPSEEK_V3 = replace(
    DEEPSEEK_V3,
    zero_ok=DEEPSEEK_V3.zero_ok | {"num_attention_heads"},
    sizes=(*DEEPSEEK_V3.sizes, "n_group"),
)

DEEPSEEK_V2 = _deepseek(
    "deepseek_v2",
    "DeepSeek-V2",
    divisible=True,
    params_fn=hf_deepseek_v2,
    extra=(
        _check_mla(rotary_table_key=None, pairs=True),
        _check_groups("topk_method", two_per_group=False),
        _check_ignored_layer_freq,
        _check_topk_method,
    ),
    vocab_size=102400,
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    max_position_embeddings=2048,
    first_k_dense_replace=0,
    n_group=None,
    n_routed_experts=64,
    n_shared_experts=2,
    topk_group=None,
    topk_method="greedy",
    num_experts_per_tok=None,
    moe_intermediate_size=1407,
    mlp_bias=False,
    bos_token_id=1,
    eos_token_id=2,
)


def _check_indexer(unit: Unit, report: Report) -> None:
    """The DSA indexer applies the rotary part to the first qk_rope_head_dim features of its
    heads: an index head narrower than that fails at the first batch."""
    size, rope = _known(report, "index_head_dim", 1), _known(report, "qk_rope_head_dim", 1)
    if size is not None and rope is not None and size < rope:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "index_head_dim",
            f"index_head_dim={size} is narrower than qk_rope_head_dim={rope}; the indexer "
            "splits the rotary part off its heads, so the first batch fails",
            f"at least qk_rope_head_dim={rope}",
            str(size),
            f"set `index_head_dim` >= {rope}",
        )


DEEPSEEK_V32 = _deepseek(
    "deepseek_v32",
    "DeepSeek-V3.2",
    divisible=False,
    params_fn=hf_deepseek_v32,
    extra=(
        _check_mla(rotary_table_key=None, pairs=False),
        _check_groups(None, two_per_group=True),
        _check_ignored_layer_freq,
        _check_indexer,
        check_layer_lists(
            "layer_types", "mlp_layer_types", exact=("layer_types", "mlp_layer_types")
        ),
    ),
    vocab_size=129280,
    hidden_size=7168,
    intermediate_size=18432,
    moe_intermediate_size=2048,
    num_hidden_layers=61,
    num_attention_heads=128,
    num_key_value_heads=128,
    n_shared_experts=1,
    n_routed_experts=256,
    n_group=8,
    topk_group=4,
    num_experts_per_tok=8,
    first_k_dense_replace=3,
    max_position_embeddings=163840,
    index_topk=2048,
    index_head_dim=128,
    index_n_heads=64,
    bos_token_id=0,
    eos_token_id=1,
)
# The query is always low-rank (null fails when the config is read); zero heads run; the
# written layer_types make the layer count strict.
DEEPSEEK_V32 = replace(
    DEEPSEEK_V32,
    sizes=(*DEEPSEEK_V32.sizes, "n_group", "q_lora_rank", "index_n_heads", "index_head_dim"),
    extra=tuple(f for f in DEEPSEEK_V32.extra if f is not _check_q_lora_rank),
    zero_ok=(DEEPSEEK_V32.zero_ok - {"num_hidden_layers"}) | {"num_attention_heads", "index_topk"},
)

GLM_MOE_DSA = replace(
    DEEPSEEK_V32,
    name="glm_moe_dsa",
    title="GLM-5 (MoE, DSA)",
    params=hf_glm_moe_dsa,
    extra=(
        *DEEPSEEK_V32.extra,
        check_layer_lists("indexer_types", exact=()),
    ),
    defaults={
        **DEEPSEEK_V32.defaults,
        "vocab_size": 154880,
        "hidden_size": 6144,
        "intermediate_size": 12288,
        "num_hidden_layers": 78,
        "num_attention_heads": 64,
        "num_key_value_heads": 64,
        "q_lora_rank": 2048,
        "v_head_dim": 256,
        "qk_nope_head_dim": 192,
        "n_group": 1,
        "topk_group": 1,
        "max_position_embeddings": 202752,
        "index_n_heads": 32,
    },
)


# ------------------------------------------------------------------------------------------
# Decoders whose every layer is a mixture (gpt_oss, phimoe, granitemoe) and Llama 4's text
# model (moe_layers choose the mixtures; a shared expert beside the routed ones).
# ------------------------------------------------------------------------------------------


def _all_sparse(report: Report) -> bool | None:
    layers = _layer_count(report)
    return None if layers is None else layers > 0


def _experts_or_none(v, key: str) -> int:
    return _int(v, key, 0)


@_counted
def hf_gpt_oss(v) -> int:
    """GptOssModel: attention with biases on q, k, v and o (attention_bias, default true)
    and one sink logit per head; two RMSNorms; a router with bias; experts with biases
    (gate_up_proj (E, H, 2I) + (E, 2I), down_proj (E, I, H) + (E, H)) in every layer."""
    d = _int(v, "hidden_size")
    h = _int(v, "num_attention_heads")
    kv = _opt_int(v, "num_key_value_heads") or h
    k = _hf_head_dim(v)
    bias = _flag(v, "attention_bias", True)
    e, i = _experts_or_none(v, "num_local_experts"), _int(v, "intermediate_size")
    attention = _attention(d, h, k, kv, qkv_bias=bias, out_bias=bias) + h
    experts = e * (d + 1) + e * (d * 2 * i + 2 * i + i * d + d)
    return _int(v, "vocab_size", 0) * d + _layers(v) * (attention + 2 * d + experts) + d


def _plain_moe(v, *, norm: int) -> int:
    """Attention (attention_bias on q, k, v and o), two norms, a router without bias and E
    gated experts of intermediate_size in every layer; a final norm."""
    d = _int(v, "hidden_size")
    h = _int(v, "num_attention_heads")
    kv = _opt_int(v, "num_key_value_heads") or h
    k = _hf_head_dim(v)
    bias = _flag(v, "attention_bias", False)
    e, i = _experts_or_none(v, "num_local_experts"), _int(v, "intermediate_size", 0)
    layer = _attention(d, h, k, kv, qkv_bias=bias, out_bias=bias) + 2 * norm
    layer += e * d + e * _gated(d, i)
    return _int(v, "vocab_size", 0) * d + _layers(v) * layer + norm


@_counted
def hf_phimoe(v) -> int:
    """PhimoeModel: LayerNorms with bias (2H each) instead of RMSNorms."""
    return _plain_moe(v, norm=2 * _int(v, "hidden_size"))


@_counted
def hf_granitemoe(v) -> int:
    """GraniteMoeModel: RMSNorms; the multipliers are scalars, not weights."""
    return _plain_moe(v, norm=_int(v, "hidden_size"))


def llama4_moe_layers(v, layers: int) -> list[int]:
    """Llama4TextConfig.moe_layers: as written, else every interleave_moe_layer_step-th layer
    (range(step - 1, layers, step))."""
    written = v.get("moe_layers")
    if isinstance(written, list):
        return [i for i in written if is_int(i)]
    step = _int(v, "interleave_moe_layer_step")
    return list(range(step - 1, layers, step))


@_counted
def hf_llama4_text(v) -> int:
    """Llama4TextModel (the text model of Llama 4, also inside the llama4 container):
    embeddings; per layer attention (attention_bias on q, k, v and o; the q/k L2 norm has no
    weight), two RMSNorms, and on the moe_layers a router (E x H), E experts (gate_up_proj
    (E, H, 2I), down_proj (E, I, H)) and a shared gated MLP of intermediate_size, elsewhere a
    gated MLP of intermediate_size_mlp; a final RMSNorm."""
    d = _int(v, "hidden_size")
    h = _int(v, "num_attention_heads")
    kv = _opt_int(v, "num_key_value_heads") or h
    k = _hf_head_dim(v)
    bias = _flag(v, "attention_bias", False)
    layers = _layers(v)
    attention = _attention(d, h, k, kv, qkv_bias=bias, out_bias=bias)
    total = layers * (attention + 2 * d)
    moe = set(llama4_moe_layers(v, layers))
    for index in range(layers):
        if index in moe:
            e, i = _int(v, "num_local_experts", 0), _int(v, "intermediate_size", 0)
            total += e * d + e * 3 * d * i + _gated(d, i)
        else:
            total += _gated(d, _int(v, "intermediate_size_mlp", 0))
    return _int(v, "vocab_size", 0) * d + total + d


def _llama4_any(moe: bool):
    def used(report: Report) -> bool | None:
        layers = _layer_count(report)
        if layers is None:
            return None
        try:
            chosen = set(llama4_moe_layers(report.unit.values, layers))
        except _Unknown:
            return None
        if moe:
            return any(i in chosen for i in range(layers))
        return any(i not in chosen for i in range(layers))

    return used


def _plain_moe_entry(name, title, *, params_fn, extra=(), zero_ok=(), **defaults) -> Family:
    family = hf_decoder(
        name,
        title,
        derived=FLOORS,
        extra_sizes=("num_local_experts", "num_experts_per_tok"),
        params_fn=params_fn,
        **defaults,
    )
    return replace(
        family,
        extra=(*family.extra, *extra),
        zero_ok=frozenset({"num_experts_per_tok", *zero_ok}),
        attention=tuple(replace(a, rotary_above_one_fails=True) for a in family.attention),
    )


GPT_OSS = _plain_moe_entry(
    "gpt_oss",
    "gpt-oss",
    params_fn=hf_gpt_oss,
    extra=(
        check_top_k(("num_local_experts",), "num_experts_per_tok", _all_sparse),
        check_expert_rows(("hidden_size", "intermediate_size"), _all_sparse),
        check_layer_lists("layer_types"),
    ),
    vocab_size=201088,
    hidden_size=2880,
    intermediate_size=2880,
    head_dim_default=64,
    num_hidden_layers=36,
    num_attention_heads=64,
    num_key_value_heads=8,
    num_local_experts=128,
    num_experts_per_tok=4,
    sliding_window=128,
    max_position_embeddings=131072,
    attention_bias=True,
)
# layer_types is written: layer counts must match it; every other layer slides.
GPT_OSS = replace(
    GPT_OSS,
    windows=("sliding_window",),
    strict_windows=True,
    strict_layers=True,
)

PHIMOE = _plain_moe_entry(
    "phimoe",
    "Phi-3.5-MoE",
    params_fn=hf_phimoe,
    extra=(check_expert_rows(("hidden_size", "intermediate_size"), _all_sparse),),
    vocab_size=32064,
    hidden_size=4096,
    intermediate_size=6400,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    num_local_experts=16,
    num_experts_per_tok=2,
    max_position_embeddings=4096 * 32,
    sliding_window=None,
    attention_bias=False,
    pad_token_id=None,
)
# sparsemixer always routes each token to two experts: num_experts_per_tok is not read.
PHIMOE = replace(
    PHIMOE,
    windows=("sliding_window",),
    strict_windows=True,
    strict_layers=True,
    zero_ok=frozenset({"num_hidden_layers", "num_experts_per_tok"}),
)

GRANITEMOE = _plain_moe_entry(
    "granitemoe",
    "GraniteMoE",
    params_fn=hf_granitemoe,
    extra=(
        check_top_k(("num_local_experts",), "num_experts_per_tok", _all_sparse, none_fails=True),
        check_expert_rows(("hidden_size", "intermediate_size"), _all_sparse),
    ),
    vocab_size=32000,
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=None,
    num_local_experts=8,
    num_experts_per_tok=2,
    max_position_embeddings=2048,
    attention_bias=False,
)
GRANITEMOE = replace(
    GRANITEMOE,
    strict_layers=True,
    zero_ok=frozenset({"num_hidden_layers", "num_experts_per_tok"}),
)

LLAMA4_TEXT = _plain_moe_entry(
    "llama4_text",
    "Llama 4 (text)",
    params_fn=hf_llama4_text,
    extra=(
        check_top_k(("num_local_experts",), "num_experts_per_tok", _llama4_any(True)),
        check_used_size("intermediate_size_mlp", _llama4_any(False), "every layer is a mixture"),
        check_layer_lists("layer_types", "no_rope_layers"),
    ),
    zero_ok=("intermediate_size",),
    vocab_size=202048,
    hidden_size=5120,
    intermediate_size=8192,
    intermediate_size_mlp=16384,
    head_dim_default=128,
    num_hidden_layers=48,
    num_attention_heads=40,
    num_key_value_heads=8,
    num_local_experts=16,
    num_experts_per_tok=1,
    interleave_moe_layer_step=1,
    moe_layers=None,
    max_position_embeddings=4096 * 32,
    attention_bias=False,
)
LLAMA4_TEXT = replace(LLAMA4_TEXT, strict_layers=True)


# ------------------------------------------------------------------------------------------
# State-space stacks: Mamba, Falcon-Mamba (no attention), Jamba (Mamba and attention layers,
# dense and expert feed-forwards).
# ------------------------------------------------------------------------------------------


def _dt_rank(v, key: str, d: int) -> int:
    """time_step_rank / mamba_dt_rank: "auto" is ceil(hidden_size / 16)."""
    value = v.get(key)
    if value == "auto":
        return -(-d // 16)
    return _int(v, key)


def _mamba_mixer(
    d: int,
    inner: int,
    state: int,
    conv: int,
    rank: int,
    *,
    bias: bool,
    conv_bias: bool,
    norms: int = 0,
) -> int:
    """One Mamba mixer: in_proj H->2I, a depthwise conv1d of `conv` taps, x_proj I->(R+2N),
    dt_proj R->I with bias, A_log (I, N), D (I), out_proj I->H (+ `norms`: Jamba's RMSNorms
    of dt, B and C)."""
    total = d * 2 * inner + inner * conv + inner * (rank + 2 * state) + rank * inner + inner
    total += inner * state + inner + inner * d + norms
    if bias:
        total += 2 * inner + d
    if conv_bias:
        total += inner
    return total


@_counted
def hf_mamba(v) -> int:
    """MambaModel and FalconMambaModel (whose extra B/C/dt norms have no weights):
    embeddings, per layer an RMSNorm and a mixer, a final RMSNorm. intermediate_size is the
    value written in the file (to_dict writes expand * hidden_size), else expand * hidden."""
    d = _int(v, "hidden_size")
    inner = v.get("intermediate_size")
    inner = _int(v, "intermediate_size") if inner is not None else d * _int(v, "expand")
    mixer = _mamba_mixer(
        d,
        inner,
        _int(v, "state_size", 0),
        _int(v, "conv_kernel", 0),
        _dt_rank(v, "time_step_rank", d),
        bias=_flag(v, "use_bias", False),
        conv_bias=_flag(v, "use_conv_bias", True),
    )
    return _int(v, "vocab_size", 0) * d + _layers(v) * (d + mixer) + d


def _mamba_entry(name: str, title: str, **defaults) -> Family:
    return hf_family(
        name,
        title,
        (),
        sizes=("vocab_size", "hidden_size", "state_size", "conv_kernel", "intermediate_size"),
        strict_layers=True,
        zero_ok=frozenset({"num_hidden_layers", "state_size"}),
        extra=(_check_dt_rank("time_step_rank"),),
        defaults={
            "hidden_size": 768,
            "state_size": 16,
            "num_hidden_layers": 32,
            "expand": 2,
            "conv_kernel": 4,
            "time_step_rank": "auto",
            "use_bias": False,
            "use_conv_bias": True,
            **defaults,
        },
        params=hf_mamba,
    )


def _check_dt_rank(key: str):
    """The rank of the time-step projection: "auto" or a positive integer."""

    def check(unit: Unit, report: Report) -> None:
        value = report.value(key)
        if value == "auto":
            return
        if not is_int(value):
            report.add(
                rules.HPARAM_WRONG_TYPE,
                key,
                "wrong type",
                '"auto" or a positive integer',
                _show(value),
                f'write `{key}` as a whole number, or "auto" (hidden_size / 16)',
            )
        elif value <= 0:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                key,
                "out of range; the time-step initialisation divides by it",
                '"auto" or a positive integer',
                str(value),
                f"set `{key}` >= 1",
            )

    return check


MAMBA = _mamba_entry(
    "mamba", "Mamba", vocab_size=50280, pad_token_id=0, bos_token_id=0, eos_token_id=0
)
FALCON_MAMBA = _mamba_entry(
    "falcon_mamba", "Falcon-Mamba", vocab_size=50280, pad_token_id=0, bos_token_id=0, eos_token_id=0
)


def jamba_layer_kinds(v, layers: int) -> list[tuple[bool, bool]]:
    """JambaConfig.layers_block_type and layers_num_experts: (attention?, experts?) per
    layer: attention where i % attn_layer_period == attn_layer_offset, experts (more than
    one) where i % expert_layer_period == expert_layer_offset."""
    attn_period, attn_offset = _int(v, "attn_layer_period"), _int(v, "attn_layer_offset", 0)
    exp_period, exp_offset = _int(v, "expert_layer_period"), _int(v, "expert_layer_offset", 0)
    experts = _int(v, "num_experts", 0)
    return [
        (i % attn_period == attn_offset, experts > 1 and i % exp_period == exp_offset)
        for i in range(layers)
    ]


@_counted
def hf_jamba(v) -> int:
    """JambaModel: embeddings; per layer two RMSNorms, attention (no biases, H // n head
    size) or a Mamba mixer (mamba_expand * H inner, mamba_dt_rank, with RMSNorms of dt, B and
    C), and a gated MLP or a router and experts of intermediate_size; a final RMSNorm."""
    d, i = _int(v, "hidden_size"), _int(v, "intermediate_size", 0)
    h = _int(v, "num_attention_heads")
    kv = _opt_int(v, "num_key_value_heads") or h
    attention = _attention(d, h, d // h, kv, qkv_bias=False, out_bias=False)
    state, rank = _int(v, "mamba_d_state", 0), _dt_rank(v, "mamba_dt_rank", d)
    mixer = _mamba_mixer(
        d,
        _int(v, "mamba_expand") * d,
        state,
        _int(v, "mamba_d_conv"),
        rank,
        bias=_flag(v, "mamba_proj_bias", False),
        conv_bias=_flag(v, "mamba_conv_bias", True),
        norms=rank + 2 * state,
    )
    e = _int(v, "num_experts", 0)
    total = 0
    for attends, sparse in jamba_layer_kinds(v, _layers(v)):
        total += 2 * d + (attention if attends else mixer)
        total += e * d + e * _gated(d, i) if sparse else _gated(d, i)
    return _int(v, "vocab_size", 0) * d + total + d


def _jamba_any_attention(report: Report) -> bool | None:
    layers = _layer_count(report)
    if layers is None:
        return None
    try:
        return any(a for a, _ in jamba_layer_kinds(report.unit.values, layers))
    except (_Unknown, ZeroDivisionError):
        return None


def _jamba_any_sparse(report: Report) -> bool | None:
    layers = _layer_count(report)
    if layers is None:
        return None
    try:
        return any(e for _, e in jamba_layer_kinds(report.unit.values, layers))
    except (_Unknown, ZeroDivisionError):
        return None


def _check_jamba_periods(unit: Unit, report: Report) -> None:
    """validate_architecture: each offset below its period; and a stack without any
    attention layer fails at the first batch (the cache asks an attention layer for the
    sequence length)."""
    for kind in ("attn", "expert"):
        period = _known(report, f"{kind}_layer_period", 1)
        offset = _known(report, f"{kind}_layer_offset")
        if period is not None and offset is not None and offset >= period:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                f"{kind}_layer_offset",
                f"{kind}_layer_offset={offset} is not below {kind}_layer_period={period}; the "
                "config class rejects it (validate_architecture)",
                f"an integer in [0, {period})",
                str(offset),
                f"set `{kind}_layer_offset` below `{kind}_layer_period`",
            )
            return
    layers = _layer_count(report)
    if layers and _jamba_any_attention(report) is False:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "attn_layer_offset",
            f"no attention layer among the {layers} layers (attention where index % "
            "attn_layer_period == attn_layer_offset); the first batch fails",
            "an attention layer in the stack",
            str(report.value("attn_layer_offset")),
            "lower `attn_layer_offset`, or add layers",
        )


JAMBA = hf_decoder(
    "jamba",
    "Jamba",
    derived=FLOORS,
    extra_sizes=(
        "num_experts",
        "num_experts_per_tok",
        "attn_layer_period",
        "expert_layer_period",
        "mamba_d_state",
        "mamba_d_conv",
        "mamba_expand",
    ),
    params_fn=hf_jamba,
    vocab_size=65536,
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    max_position_embeddings=262144,
    num_experts_per_tok=2,
    num_experts=16,
    expert_layer_period=2,
    expert_layer_offset=1,
    attn_layer_period=8,
    attn_layer_offset=4,
    mamba_d_state=16,
    mamba_d_conv=4,
    mamba_expand=2,
    mamba_dt_rank="auto",
    mamba_conv_bias=True,
    mamba_proj_bias=False,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
)
JAMBA = replace(
    JAMBA,
    # Jamba has no rotary embedding.
    attention=tuple(replace(a, rotary=False, head_dim=None) for a in JAMBA.attention),
    strict_layers=True,
    zero_ok=frozenset({"num_hidden_layers", "num_experts", "num_experts_per_tok", "mamba_d_state"}),
    extra=(
        check_top_k(("num_experts",), "num_experts_per_tok", _jamba_any_sparse),
        check_expert_rows(("hidden_size", "intermediate_size"), _jamba_any_sparse),
        _check_jamba_periods,
        _check_dt_rank("mamba_dt_rank"),
    ),
)


# ------------------------------------------------------------------------------------------
# KerasHub (keras-hub 0.32.0): Qwen3MoeBackbone, QwenMoeBackbone (Qwen1.5/2-MoE),
# GptOssBackbone.
# ------------------------------------------------------------------------------------------

_KH_DECODER = (
    "vocabulary_size",
    "num_layers",
    "num_query_heads",
    "num_key_value_heads",
    "hidden_dim",
    "intermediate_dim",
)


def _kh_qwen_mlp(v, d: int, *, shared: bool, index_zero: bool = False) -> int:
    """Qwen*MoeTransformerDecoder: the same sparse-layer choice as transformers; a sparse
    layer has a router Dense (no bias), experts (E, H, 2m) and (E, m, H), and with `shared`
    a shared gated MLP and its one-unit gate; a dense layer a gated MLP of intermediate_dim."""
    total = 0
    for sparse in _qwen_sparse_layers(v, _kh_layers(v), index_zero):
        if sparse:
            e, m = _int(v, "num_experts"), _int(v, "moe_intermediate_dim", 0)
            total += e * d + e * _gated(d, m)
            if shared:
                total += _gated(d, _int(v, "shared_expert_intermediate_dim")) + d
        else:
            total += _gated(d, _int(v, "intermediate_dim"))
    return total


def _kh_layers(v) -> int:
    value = v.get("num_layers")
    if not (is_int(value) or isinstance(value, bool)) or value > _MAX_LAYERS:
        raise _Unknown("num_layers")
    return max(0, int(value))


def _kh_embeddings(v, d: int, tied_default: bool) -> int:
    return (
        _int(v, "vocabulary_size") * d * (1 if _flag(v, "tie_word_embeddings", tied_default) else 2)
    )


@_counted
def kh_qwen3_moe(v) -> int:
    """Qwen3MoeBackbone: embeddings (untied by default: a reverse embedding too); per layer
    attention without biases (head_dim, or hidden_dim // num_query_heads when 0 or null),
    q/k RMSNorms of the head size, two RMSNorms and the feed-forward; a final RMSNorm."""
    d = _int(v, "hidden_dim")
    kv = _int(v, "num_key_value_heads")
    if v.get("head_dim"):
        # An explicit head size: zero query heads build (and fail at the first batch).
        h, k = _int(v, "num_query_heads", 0), _int(v, "head_dim")
    else:
        h = _int(v, "num_query_heads")
        k = d // h
    layer = _attention(d, h, k, kv, qkv_bias=False, out_bias=False) + 2 * k + 2 * d
    total = _kh_layers(v) * layer + _kh_qwen_mlp(v, d, shared=False)
    return _kh_embeddings(v, d, False) + total + d


@_counted
def kh_qwen_moe(v) -> int:
    """QwenMoeBackbone: attention with q/k/v biases (head size hidden_dim //
    num_query_heads), two RMSNorms, and a shared expert in every sparse layer."""
    d, h = _int(v, "hidden_dim"), _int(v, "num_query_heads")
    kv = _int(v, "num_key_value_heads")
    layer = _attention(d, h, d // h, kv, qkv_bias=True, out_bias=False) + 2 * d
    total = _kh_layers(v) * layer + _kh_qwen_mlp(v, d, shared=True, index_zero=True)
    return _kh_embeddings(v, d, False) + total + d


@_counted
def kh_gpt_oss(v) -> int:
    """GptOssBackbone: untied embeddings; per layer attention with biases on q, k, v and o
    and a sink per head, two RMSNorms, a router Dense with bias and experts with biases; a
    final RMSNorm."""
    d, h = _int(v, "hidden_dim"), _int(v, "num_query_heads")
    kv = _int(v, "num_key_value_heads")
    k = _opt_int(v, "head_dim") or d // h
    e, i = _int(v, "num_experts"), _int(v, "intermediate_dim", 0)
    layer = _attention(d, h, k, kv, qkv_bias=True, out_bias=True) + h + 2 * d
    layer += e * (d + 1) + e * (d * 2 * i + 2 * i + i * d + d)
    return 2 * _int(v, "vocabulary_size") * d + _kh_layers(v) * layer + d


def _check_gpt_oss_rotary(unit: Unit, report: Report) -> None:
    """GptOssAttention rotates (head_dim // 2) * 2 features: an odd head size leaves its
    last feature unrotated, silently."""
    d, h = _known(report, "hidden_dim", 1), _known(report, "num_query_heads", 1)
    k = _known(report, "head_dim", 1) if report.value("head_dim") is not None else None
    if k is None and d is not None and h is not None:
        k = d // h
    if k is None or k % 2 == 0:
        return
    key = "head_dim" if report.value("head_dim") is not None else "num_query_heads"
    report.add(
        rules.ROTARY_ODD_ROUNDED,
        key,
        f"the head size {k} is odd; the library rotates (head_dim // 2) * 2 = {k - 1} "
        "features and leaves the last one unrotated, without a word",
        "an even head size",
        str(k),
        "choose an even head size",
    )


def _check_kh_qwen_moe_index(unit: Unit, report: Report) -> None:
    """QwenMoeBackbone builds every decoder with layer_index=0: decoder_sparse_step and
    mlp_only_layers decide for all layers at once, as for layer 0."""
    step, only = report.value("decoder_sparse_step"), report.value("mlp_only_layers") or []
    if not is_int(step) or step == 0 or not isinstance(only, list):
        return
    layers = _layer_count(report)
    if not layers or layers < 2:
        return
    try:
        meant = _qwen_sparse_layers(unit.values, layers)
        built = _qwen_sparse_layers(unit.values, layers, index_zero=True)
    except _Unknown:
        return
    if meant == built:
        return
    kind = "mixture of experts" if built[0] else "dense MLP"
    key = "mlp_only_layers" if 0 in only else "decoder_sparse_step"
    report.add(
        rules.HPARAM_DEGENERATE,
        key,
        "KerasHub's QwenMoeBackbone builds every decoder layer with layer_index=0, so "
        f"decoder_sparse_step and mlp_only_layers choose for all layers as for layer 0: every "
        f"layer is a {kind}, not the {sum(meant)} sparse layers of {layers} they describe",
        "decoder_sparse_step=1 and no layer 0 in mlp_only_layers",
        _show(report.value(key)),
        "choose the sparse layers in transformers' Qwen2-MoE, or accept one kind for all",
    )


QWEN3_MOE_KH = kh_family(
    "Qwen3MoeBackbone",
    "Qwen3-MoE",
    kh_gqa(head_dim="head_dim"),
    required=(*_KH_DECODER, "moe_intermediate_dim", "num_experts"),
    sizes=("vocabulary_size", "num_experts", "top_k", "decoder_sparse_step"),
    windows=("sliding_window_size",),
    defaults={
        "dropout": 0,
        "head_dim": None,
        "top_k": 4,
        "decoder_sparse_step": 1,
        "tie_word_embeddings": False,
        "sliding_window_size": 32768,
        "mlp_only_layers": None,
    },
    # `if not self.head_dim: head_dim = hidden_dim // num_query_heads`.
    zero_valid=frozenset({"head_dim"}),
    zero_ok=frozenset({"num_experts", "top_k", "moe_intermediate_dim"}),
    negative_ok=frozenset({"decoder_sparse_step"}),
    extra=_qwen_moe_checks(
        top_k="top_k", dense="intermediate_dim", expert="moe_intermediate_dim", rows=()
    ),
    params=kh_qwen3_moe,
)

QWEN_MOE_KH = kh_family(
    "QwenMoeBackbone",
    "Qwen-MoE",
    kh_gqa(),
    required=(
        *_KH_DECODER,
        "moe_intermediate_dim",
        "shared_expert_intermediate_dim",
        "num_experts",
    ),
    sizes=(
        "vocabulary_size",
        "num_experts",
        "top_k",
        "decoder_sparse_step",
        "shared_expert_intermediate_dim",
    ),
    windows=("sliding_window_size",),
    defaults={
        "dropout": 0,
        "top_k": 4,
        "decoder_sparse_step": 1,
        "tie_word_embeddings": False,
        "sliding_window_size": 32768,
        "mlp_only_layers": [],
    },
    zero_ok=frozenset({"num_experts", "top_k", "moe_intermediate_dim"}),
    negative_ok=frozenset({"decoder_sparse_step"}),
    extra=(
        *_qwen_moe_checks(
            top_k="top_k",
            dense="intermediate_dim",
            expert="moe_intermediate_dim",
            rows=(),
            index_zero=True,
        ),
        _check_kh_qwen_moe_index,
    ),
    params=kh_qwen_moe,
)

GPT_OSS_KH = kh_family(
    "GptOssBackbone",
    "gpt-oss",
    (
        Attention(
            width="hidden_dim",
            heads="num_query_heads",
            kv_heads="num_key_value_heads",
            head_dim="head_dim",
            derived=FLOORS,
        ),
    ),
    required=(*_KH_DECODER, "num_experts"),
    sizes=("vocabulary_size", "intermediate_dim", "num_experts", "top_k"),
    windows=("sliding_window",),
    defaults={"dropout": 0, "head_dim": None, "top_k": 2, "sliding_window": 4096},
    # Experts of width zero build and run (their output is the bias).
    zero_ok=frozenset({"top_k", "intermediate_dim"}),
    extra=(
        check_top_k(("num_experts",), "top_k", _all_sparse),
        _check_gpt_oss_rotary,
    ),
    params=kh_gpt_oss,
)


# ------------------------------------------------------------------------------------------
# Mixtral (defined in huggingface.py and kerashub.py): the expert checks shared here.
# ------------------------------------------------------------------------------------------


def negative_layers_as_zero(params_fn, key: str):
    """A count for configs whose negative layer count builds no layer (range(-1) is empty):
    the count of the same config with zero layers."""

    def count(v):
        value = v.get(key)
        if is_int(value) and value < 0:
            v = Values({**v.config, key: 0}, v.defaults)
        return params_fn(v)

    count.__name__, count.__doc__ = params_fn.__name__, params_fn.__doc__
    return count


def mixtral_experts(family: Family) -> Family:
    """transformers' mixtral and KerasHub's MixtralBackbone with the expert checks: top-k
    above the experts fails at the first batch, zero runs (a warning); transformers'
    grouped_mm experts need rows of a multiple of 16 bytes."""
    zero_ok = set(family.zero_ok)
    if family.library == "transformers":
        experts, top_k, rows = "num_local_experts", "num_experts_per_tok", ("hidden_size",)
        rows += ("intermediate_size",)
        # Zero layers build an empty stack; negative ones fail at the first batch.
        zero_ok.add("num_hidden_layers")
    else:
        experts, top_k, rows = "num_experts", "top_k", ()
    checks = (check_top_k((experts,), top_k, _all_sparse),)
    if rows:
        checks += (check_expert_rows(rows, _all_sparse),)
    return replace(
        family,
        zero_ok=frozenset(zero_ok | {top_k}),
        strict_layers=family.strict_layers or family.library == "transformers",
        extra=(*family.extra, *checks),
        params=negative_layers_as_zero(family.params, family.layers[0]),
    )


# ------------------------------------------------------------------------------------------
# Qwen3.5 and Qwen3.5-MoE: containers of a hybrid text model (Gated DeltaNet linear-attention
# layers and gated full-attention layers, layer_types) and a vision tower.
# ------------------------------------------------------------------------------------------


def qwen3_5_layer_types(v, layers: int) -> list[str]:
    """Qwen3_5TextConfig.layer_types: as written, else full attention every
    full_attention_interval-th layer (default 4), linear attention elsewhere."""
    written = v.get("layer_types")
    if isinstance(written, list):
        return written[:layers]  # (transformers requires one per layer; KerasHub indexes it)
    interval = v.get("full_attention_interval") or 4
    if not is_int(interval) or interval <= 0:
        raise _Unknown("full_attention_interval")
    return [
        "full_attention" if (i + 1) % interval == 0 else "linear_attention" for i in range(layers)
    ]


def _qwen3_5_text(v, *, moe: bool) -> int:
    d = _int(v, "hidden_size")
    # With an explicit head size, zero query heads build (and fail at the first batch).
    h = _int(v, "num_attention_heads", 0 if v.get("head_dim") else 1)
    kv = _opt_int(v, "num_key_value_heads") or h
    k = _hf_head_dim(v)
    bias = _flag(v, "attention_bias", False)
    # Full attention: q_proj doubles its output (queries and their output gate), q/k norms.
    full = _attention(d, h, k, kv, qkv_bias=bias, out_bias=bias) + d * h * k + 2 * k
    full += h * k if bias else 0
    key_heads = _int(v, "linear_num_key_heads", 0)
    value_heads = _int(v, "linear_num_value_heads", 0)
    key_dim = key_heads * _int(v, "linear_key_head_dim")
    value_head = _int(v, "linear_value_head_dim")
    value_dim = value_heads * value_head
    conv_dim = 2 * key_dim + value_dim
    linear = conv_dim * _int(v, "linear_conv_kernel_dim", 0) + 2 * value_heads + value_head
    linear += value_dim * d + d * conv_dim + d * value_dim + 2 * d * value_heads
    if moe:
        e, m = _int(v, "num_experts", 0), _int(v, "moe_intermediate_size", 0)
        mlp = e * d + e * _gated(d, m) + _gated(d, _int(v, "shared_expert_intermediate_size", 0))
        mlp += d
    else:
        mlp = _gated(d, _int(v, "intermediate_size"))
    total = 0
    for kind in qwen3_5_layer_types(v, _layers(v)):
        total += 2 * d + mlp + (full if kind == "full_attention" else linear)
    return _int(v, "vocab_size", 0) * d + total + d


@_counted
def hf_qwen3_5_text(v) -> int:
    """Qwen3_5TextModel: embeddings; per layer two RMSNorms, a gated MLP and either gated
    full attention (q_proj of 2 * n * head_dim: queries and a sigmoid output gate; q/k
    RMSNorms; attention_bias on q, k, v and o) or a Gated DeltaNet (in_proj_qkv to 2 * key
    heads * key size + value heads * value size, in_proj_z, in_proj_b and in_proj_a, a
    depthwise conv1d without bias over the qkv channels, dt_bias and A_log per value head, a
    gated RMSNorm of the value head size, out_proj); a final RMSNorm."""
    return _qwen3_5_text(v, moe=False)


@_counted
def hf_qwen3_5_moe_text(v) -> int:
    """Qwen3_5MoeTextModel: as Qwen3.5, every layer's MLP a router, experts and a shared
    gated expert with its one-output gate."""
    return _qwen3_5_text(v, moe=True)


def _qwen3_5_vision(v) -> int:
    """Qwen3_5VisionModel: a Conv3d patch embedding with bias (temporal_patch_size x
    patch_size x patch_size), learned positions, blocks of two LayerNorms, fused qkv and an
    output projection with biases and a GELU MLP with biases; the merger (a LayerNorm of the
    width, then two Linears from width * spatial_merge_size**2 to out_hidden_size)."""
    h, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    _int(v, "num_heads")
    p, t, c = _int(v, "patch_size"), _int(v, "temporal_patch_size"), _int(v, "in_channels")
    merged = h * _int(v, "spatial_merge_size") ** 2
    out = _int(v, "out_hidden_size")
    embed = c * t * p * p * h + h + _int(v, "num_position_embeddings") * h
    block = 2 * _ln(h) + 3 * h * h + 3 * h + h * h + h + 2 * h * i + i + h
    merger = _ln(h) + merged * merged + merged + merged * out + out
    return embed + _int(v, "depth", 0) * block + merger


@_counted
def hf_qwen3_5_vision(v) -> int:
    return _qwen3_5_vision(v)


def _qwen3_5_container_params(text: Family, vision: Family):
    @_counted
    def hf_qwen3_5(v) -> int:
        """Qwen3_5Model / Qwen3_5MoeModel hold no weights of their own: the text and vision
        models are counted with their nested configs, or here with their defaults when the
        file has none. A vision config written with the container's model_type (as
        published: `"model_type": "qwen3_5"`, renamed by the config class) is that tower."""
        if not v.has("text_config") and v.has("depth"):
            return _qwen3_5_vision(v)
        total = 0
        for key, family in (("text_config", text), ("vision_config", vision)):
            if not isinstance(v.get(key), dict) or "model_type" not in v.get(key):
                count = family.params(Values(v.get(key) or {}, family.defaults))
                if count is None:
                    raise _Unknown(key)
                total += count
        return total

    return hf_qwen3_5


def _check_linear_heads(unit: Unit, report: Report) -> None:
    """Gated DeltaNet repeats the key heads linear_num_value_heads //
    linear_num_key_heads times: a remainder fails at the first batch."""
    keys, values = (
        _known(report, "linear_num_key_heads", 1),
        _known(report, "linear_num_value_heads", 1),
    )
    if keys is None or values is None or values % keys == 0:
        return
    report.add(
        rules.KEY_VALUE_HEADS,
        "linear_num_value_heads",
        f"linear_num_value_heads={values} is not a multiple of linear_num_key_heads={keys}; "
        "the linear-attention layers repeat each key head for a group of value heads, so "
        "the first batch fails",
        f"a multiple of linear_num_key_heads={keys}",
        str(values),
        "use a multiple of `linear_num_key_heads` value heads",
    )


def _check_full_attention(unit: Unit, report: Report) -> None:
    """A stack of linear-attention layers only fails at the first batch: the cache asks a
    full-attention layer for the sequence length."""
    layers = _layer_count(report)
    if not layers:
        return
    try:
        kinds = qwen3_5_layer_types(unit.values, layers)
    except _Unknown:
        return
    if len(kinds) == layers and "full_attention" not in kinds:
        key = "layer_types" if unit.values.has("layer_types") else "full_attention_interval"
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            f"no full_attention layer among the {layers} layers; the first batch fails (the "
            "cache asks a full-attention layer for the sequence length)",
            "at least one full_attention layer",
            "only linear_attention layers",
            f"make one layer full_attention in `{key}`",
        )


def _qwen3_5_text_entry(name: str, title: str, *, moe: bool, **defaults) -> Family:
    family = hf_decoder(
        name,
        title,
        derived=FLOORS,
        head_dim_default=256,
        extra_sizes=(
            "linear_num_key_heads",
            "linear_num_value_heads",
            "linear_key_head_dim",
            "linear_value_head_dim",
            "linear_conv_kernel_dim",
            *(
                (
                    "num_experts",
                    "num_experts_per_tok",
                    "moe_intermediate_size",
                    "shared_expert_intermediate_size",
                )
                if moe
                else ()
            ),
        ),
        params_fn=hf_qwen3_5_moe_text if moe else hf_qwen3_5_text,
        **defaults,
    )
    extra = [_check_linear_heads, check_layer_lists("layer_types"), _check_full_attention]
    if moe:
        extra += [
            check_top_k(("num_experts",), "num_experts_per_tok", _all_sparse),
            check_expert_rows(("hidden_size", "moe_intermediate_size"), _all_sparse),
        ]
    return replace(
        family,
        sizes=tuple(s for s in family.sizes if not (moe and s == "intermediate_size")),
        strict_layers=True,
        zero_ok=frozenset(
            {"num_experts_per_tok", "shared_expert_intermediate_size"} if moe else ()
        ),
        extra=(*family.extra, *extra),
        # Partial rotary takes its size from the cos table: odd sizes are rounded up.
        attention=tuple(
            replace(a, rotary_above_one_fails=True, rotary_odd_fails=False)
            for a in family.attention
        ),
    )


_QWEN3_5_TEXT = dict(
    vocab_size=248320,
    hidden_size=4096,
    intermediate_size=12288,
    num_hidden_layers=32,
    num_attention_heads=16,
    num_key_value_heads=4,
    max_position_embeddings=32768,
    attention_bias=False,
    linear_conv_kernel_dim=4,
    linear_key_head_dim=128,
    linear_value_head_dim=128,
    linear_num_key_heads=16,
    linear_num_value_heads=32,
)
QWEN3_5_TEXT = _qwen3_5_text_entry("qwen3_5_text", "Qwen3.5 (text)", moe=False, **_QWEN3_5_TEXT)
QWEN3_5_MOE_TEXT = _qwen3_5_text_entry(
    "qwen3_5_moe_text",
    "Qwen3.5-MoE (text)",
    moe=True,
    **{**_QWEN3_5_TEXT, "hidden_size": 2048, "num_hidden_layers": 40, "num_key_value_heads": 2},
    moe_intermediate_size=512,
    shared_expert_intermediate_size=512,
    num_experts_per_tok=8,
    num_experts=256,
)


def _qwen3_5_vision_entry(name: str, title: str) -> Family:
    return hf_family(
        name,
        title,
        # Qwen3_5VisionAttention: head size hidden_size // num_heads, the fused qkv output
        # reshaped to num_heads heads: a remainder fails at the first image.
        (Attention("hidden_size", "num_heads", derived=DIVISIBLE),),
        layers=("depth",),
        sizes=(
            "intermediate_size",
            "in_channels",
            "patch_size",
            "temporal_patch_size",
            "spatial_merge_size",
            "out_hidden_size",
            "num_position_embeddings",
        ),
        vocab=None,
        token_ids=(),
        defaults={
            "depth": 27,
            "hidden_size": 1152,
            "intermediate_size": 4304,
            "num_heads": 16,
            "in_channels": 3,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": 3584,
            "num_position_embeddings": 2304,
        },
        params=hf_qwen3_5_vision,
    )


QWEN3_5_VISION = _qwen3_5_vision_entry("qwen3_5_vision", "Qwen3.5 vision")
QWEN3_5_MOE_VISION = _qwen3_5_vision_entry("qwen3_5_moe_vision", "Qwen3.5-MoE vision")


def _qwen3_5_container(name: str, title: str, text: Family, vision: Family) -> Family:
    return hf_family(
        name,
        title,
        (),
        layers=(),
        vocab="text_config.vocab_size",
        token_ids=(
            "image_token_id",
            "video_token_id",
            "vision_start_token_id",
            "vision_end_token_id",
        ),
        defaults={},
        params=_qwen3_5_container_params(text, vision),
    )


QWEN3_5 = _qwen3_5_container("qwen3_5", "Qwen3.5", QWEN3_5_TEXT, QWEN3_5_VISION)
QWEN3_5_MOE = _qwen3_5_container("qwen3_5_moe", "Qwen3.5-MoE", QWEN3_5_MOE_TEXT, QWEN3_5_MOE_VISION)


# KerasHub's Qwen3_5Backbone (text only).

_KH_QWEN3_5_NAMES = {
    "vocab_size": "vocabulary_size",
    "hidden_size": "hidden_dim",
    "intermediate_size": "intermediate_dim",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_query_heads",
}


def _kh_qwen3_5(v, *, moe: bool) -> int:
    """Qwen3_5Backbone / Qwen3_5MoeBackbone (text only: a vision_encoder is not counted
    here): the layers of transformers' Qwen3.5 text model under KerasHub's names (no
    attention biases), and the reverse embedding when untied (the default)."""
    if v.get("vision_encoder") is not None:
        raise _Unknown("vision_encoder")
    config = {hf: v.get(kh) for hf, kh in _KH_QWEN3_5_NAMES.items()}
    keys = ("head_dim", "num_key_value_heads", "layer_types", "linear_conv_kernel_dim")
    keys += ("linear_num_key_heads", "linear_num_value_heads")
    keys += ("linear_key_head_dim", "linear_value_head_dim")
    keys += ("num_experts", "shared_expert_intermediate_size")
    config.update({key: v.get(key) for key in keys})
    config["moe_intermediate_size"] = v.get("moe_intermediate_dim")
    config["num_hidden_layers"] = _kh_layers(v)
    text = _qwen3_5_text(Values(config, {}), moe=moe)
    d = _int(v, "hidden_dim")
    return text + (0 if _flag(v, "tie_word_embeddings", False) else _int(v, "vocabulary_size") * d)


@_counted
def kh_qwen3_5(v) -> int:
    return _kh_qwen3_5(v, moe=False)


@_counted
def kh_qwen3_5_moe(v) -> int:
    """As Qwen3_5Backbone, every layer a router, experts and a gated shared expert."""
    return _kh_qwen3_5(v, moe=True)


QWEN3_5_KH = kh_family(
    "Qwen3_5Backbone",
    "Qwen3.5 (text)",
    kh_gqa(
        head_dim="head_dim", rotary_fraction="partial_rotary_factor", rotary_fraction_default=0.25
    ),
    required=(*_KH_DECODER, "head_dim"),
    sizes=(
        "vocabulary_size",
        "intermediate_dim",
        "linear_num_key_heads",
        "linear_num_value_heads",
        "linear_key_head_dim",
        "linear_value_head_dim",
        "linear_conv_kernel_dim",
    ),
    defaults={
        "dropout": 0.0,
        "layer_types": None,
        "partial_rotary_factor": 0.25,
        "tie_word_embeddings": False,
        "linear_num_key_heads": 16,
        "linear_num_value_heads": 32,
        "linear_key_head_dim": 128,
        "linear_value_head_dim": 128,
        "linear_conv_kernel_dim": 4,
    },
    extra=(_check_linear_heads, check_layer_lists("layer_types", exact=())),
    params=kh_qwen3_5,
)

QWEN3_5_MOE_KH = replace(
    QWEN3_5_KH,
    name="Qwen3_5MoeBackbone",
    title="Qwen3.5-MoE (text)",
    required=(
        *(k for k in QWEN3_5_KH.required if k != "intermediate_dim"),
        "moe_intermediate_dim",
        "shared_expert_intermediate_size",
        "num_experts",
        "top_k",
    ),
    sizes=(
        *(k for k in QWEN3_5_KH.sizes if k != "intermediate_dim"),
        "moe_intermediate_dim",
        "shared_expert_intermediate_size",
        "num_experts",
        "top_k",
    ),
    # Zero experts per token run; a shared expert of width 0 fails (Dense(units=0)).
    zero_ok=frozenset({"top_k"}),
    extra=(
        *QWEN3_5_KH.extra,
        check_top_k(("num_experts",), "top_k", _all_sparse),
    ),
    params=kh_qwen3_5_moe,
)


# ------------------------------------------------------------------------------------------
# MiniMax-M2: every layer a mixture; q/k RMSNorms over all heads; partial rotary from the
# legacy rotary_dim.
# ------------------------------------------------------------------------------------------


@_counted
def hf_minimax_m2(v) -> int:
    """MiniMaxM2Model: attention without biases, q/k RMSNorms over all query / key heads
    (n*k and kv*k weights), two RMSNorms, a router (E x H; its score correction bias is a
    buffer) and E gated experts of intermediate_size in every layer; a final RMSNorm."""
    d, h = _int(v, "hidden_size"), _int(v, "num_attention_heads")
    kv = _opt_int(v, "num_key_value_heads") or h
    k = _hf_head_dim(v)
    e, i = _int(v, "num_local_experts", 0), _int(v, "intermediate_size", 0)
    layer = _attention(d, h, k, kv, qkv_bias=False, out_bias=False) + h * k + kv * k + 2 * d
    layer += e * d + e * _gated(d, i)
    return _int(v, "vocab_size", 0) * d + _layers(v) * layer + d


def _check_rotary_dim(unit: Unit, report: Report) -> None:
    """rotary_dim (as published) becomes partial_rotary_factor = rotary_dim / head_dim when
    rope_parameters has none: the rotated size is rotary_dim itself."""
    if unit.values.has("rope_parameters.partial_rotary_factor") or unit.values.has(
        "partial_rotary_factor"
    ):
        return
    rotary, k = _known(report, "rotary_dim", 1), _known(report, "head_dim", 1)
    if rotary is None or k is None:
        return
    if rotary > k:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "rotary_dim",
            f"rotary_dim={rotary} is wider than the heads (head_dim={k}); the library cannot "
            "slice that many rotary features",
            f"at most head_dim={k}",
            str(rotary),
            f"set `rotary_dim` <= {k}",
        )
    elif rotary % 2:
        report.add(
            rules.ROTARY_ODD_ROUNDED,
            "rotary_dim",
            f"the rotary dimension {rotary} is odd; the library rounds it up and rotates "
            f"{rotary + 1} features without a word",
            "an even rotary dimension",
            str(rotary),
            "choose an even `rotary_dim`",
        )


MINIMAX_M2 = _plain_moe_entry(
    "minimax_m2",
    "MiniMax-M2",
    params_fn=hf_minimax_m2,
    extra=(
        check_top_k(("num_local_experts",), "num_experts_per_tok", _all_sparse),
        check_expert_rows(("hidden_size", "intermediate_size"), _all_sparse),
        _check_rotary_dim,
    ),
    vocab_size=200064,
    hidden_size=3072,
    intermediate_size=1536,
    head_dim_default=128,
    num_hidden_layers=62,
    num_attention_heads=48,
    num_key_value_heads=8,
    num_local_experts=256,
    num_experts_per_tok=8,
    max_position_embeddings=196608,
    bos_token_id=200034,
    eos_token_id=200020,
)
# No layer_types: zero layers build an empty stack; negative ones fail at the first batch.
MINIMAX_M2 = replace(
    MINIMAX_M2,
    strict_layers=True,
    zero_ok=MINIMAX_M2.zero_ok | {"num_hidden_layers"},
    attention=tuple(replace(a, rotary_odd_fails=False) for a in MINIMAX_M2.attention),
)


# ------------------------------------------------------------------------------------------
# Nemotron-H: a stack of blocks, each one of Mamba2 mixer, attention, MoE or MLP
# (layers_block_type / hybrid_override_pattern).
# ------------------------------------------------------------------------------------------

_NEMOTRON_PATTERN = {"M": "linear_attention", "E": "moe", "*": "full_attention", "-": "mlp"}
_NEMOTRON_LEGACY = {"mamba": "linear_attention", "attention": "full_attention"}


def nemotron_h_blocks(v) -> list[str]:
    """NemotronHConfig.layers_block_type (also spelled layer_types): as written, else from
    hybrid_override_pattern (M Mamba2, E MoE, * attention, - MLP), else four blocks.
    num_hidden_layers is ignored: the count is the length of this list."""
    for key in ("layers_block_type", "layer_types"):
        written = v.config.get(key)
        if isinstance(written, list):
            return [_NEMOTRON_LEGACY.get(kind, kind) for kind in written]
    pattern = v.get("hybrid_override_pattern")
    if isinstance(pattern, str):
        if any(char not in _NEMOTRON_PATTERN for char in pattern):
            raise _Unknown("hybrid_override_pattern")
        return [_NEMOTRON_PATTERN[char] for char in pattern]
    return ["linear_attention", "moe", "full_attention", "mlp"]


def _nemotron_mlp(d: int, i: int, bias: bool) -> int:
    """NemotronHMLP: up and down projections (relu2, not gated)."""
    return 2 * d * i + ((i + d) if bias else 0)


@_counted
def hf_nemotron_h(v) -> int:
    """NemotronHModel: embeddings; per block an RMSNorm and its mixer: Mamba2 (in_proj to
    2I + 2*n_groups*N + heads, a depthwise conv1d over I + 2*n_groups*N channels, dt_bias,
    A_log and D per head, a gated RMSNorm of I, out_proj; I = mamba_num_heads *
    mamba_head_dim), attention without biases (head_dim), an MLP, or an MoE (router, E
    non-gated experts of moe_intermediate_size on the hidden or latent width, the latent
    projections, a shared MLP of moe_shared_expert_intermediate_size); a final RMSNorm."""
    d = _int(v, "hidden_size")
    bias, mlp_bias = _flag(v, "use_bias", False), _flag(v, "mlp_bias", False)
    total = 0
    for kind in nemotron_h_blocks(v):
        total += d
        if kind == "linear_attention":
            heads = _int(v, "mamba_num_heads", 0)
            inner = heads * _int(v, "mamba_head_dim")
            conv_dim = inner + 2 * _int(v, "n_groups") * _int(v, "ssm_state_size", 0)
            projection = inner + conv_dim + heads
            total += d * projection + (projection if bias else 0)
            total += conv_dim * _int(v, "conv_kernel", 0)
            total += conv_dim if _flag(v, "use_conv_bias", True) else 0
            total += 3 * heads + inner + inner * d + (d if bias else 0)
        elif kind == "full_attention":
            h, k = _int(v, "num_attention_heads"), _int(v, "head_dim")
            kv = _opt_int(v, "num_key_value_heads") or h
            total += _attention(d, h, k, kv, qkv_bias=False, out_bias=False)
        elif kind == "mlp":
            total += _nemotron_mlp(d, _int(v, "intermediate_size"), mlp_bias)
        elif kind == "moe":
            e, m = _int(v, "n_routed_experts", 0), _int(v, "moe_intermediate_size", 0)
            latent = _opt_int(v, "moe_latent_size")
            width = latent or d
            total += e * d + e * 2 * width * m
            total += _nemotron_mlp(d, _int(v, "moe_shared_expert_intermediate_size"), mlp_bias)
            if latent:
                total += 2 * d * latent + ((latent + d) if mlp_bias else 0)
        else:
            raise _Unknown("layers_block_type")
    return _int(v, "vocab_size", 0) * d + total + d


def _nemotron_has(kind: str):
    def has(report: Report) -> bool | None:
        try:
            return kind in nemotron_h_blocks(report.unit.values)
        except _Unknown:
            return None

    return has


def _check_nemotron_blocks(unit: Unit, report: Report) -> None:
    """A stack without an attention block fails at the first batch (the cache asks one for
    the sequence length); Mamba2 groups must divide its heads (repeat_interleave)."""
    if _nemotron_has("full_attention")(report) is False:
        key = (
            "layers_block_type"
            if unit.values.has("layers_block_type")
            else ("hybrid_override_pattern")
        )
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            "no full_attention block; the first batch fails (the cache asks an attention "
            "layer for the sequence length)",
            "at least one full_attention block",
            "none",
            f"add an attention block to `{key}`",
        )
    heads, groups = _known(report, "mamba_num_heads", 1), _known(report, "n_groups", 1)
    if _nemotron_has("linear_attention")(report) and heads and groups and heads % groups:
        report.add(
            rules.KEY_VALUE_HEADS,
            "n_groups",
            f"n_groups={groups} does not divide mamba_num_heads={heads}; the Mamba2 mixer "
            "repeats each group's B and C for a share of the heads, so the first batch fails",
            f"a divisor of mamba_num_heads={heads}",
            str(groups),
            "use a divisor of `mamba_num_heads`",
        )


def _check_nemotron_rows(unit: Unit, report: Report) -> None:
    """The grouped_mm experts run on the latent width when moe_latent_size is set."""
    keys = ("moe_latent_size" if report.value("moe_latent_size") else "hidden_size",)
    check_expert_rows((*keys, "moe_intermediate_size"), _nemotron_has("moe"))(unit, report)


NEMOTRON_H = hf_family(
    "nemotron_h",
    "Nemotron-H",
    # Attention without rotary embeddings, an explicit head_dim.
    (
        Attention(
            "hidden_size",
            "num_attention_heads",
            kv_heads="num_key_value_heads",
            head_dim="head_dim",
            derived=EXPLICIT,
        ),
    ),
    layers=(),
    sizes=(
        "vocab_size",
        "max_position_embeddings",
        "mamba_num_heads",
        "mamba_head_dim",
        "n_groups",
        "ssm_state_size",
        "conv_kernel",
        "n_routed_experts",
        "num_experts_per_tok",
        "moe_intermediate_size",
        "moe_shared_expert_intermediate_size",
    ),
    rates=("attention_dropout",),
    rates_unchecked=frozenset({"attention_dropout"}),
    zero_ok=frozenset({"num_experts_per_tok"}),
    extra=(
        check_used_size("intermediate_size", _nemotron_has("mlp"), "no mlp block"),
        check_top_k(("n_routed_experts",), "num_experts_per_tok", _nemotron_has("moe")),
        _check_nemotron_rows,
        _check_nemotron_blocks,
        # The router scores groups by their best two experts, as DeepSeek-V3's.
        _check_groups(None, two_per_group=True, has_experts=_nemotron_has("moe")),
    ),
    defaults={
        "vocab_size": 131072,
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "max_position_embeddings": 4096,
        "intermediate_size": 21504,
        "mlp_bias": False,
        "ssm_state_size": 128,
        "mamba_num_heads": 128,
        "mamba_head_dim": 64,
        "n_groups": 8,
        "conv_kernel": 4,
        "use_conv_bias": True,
        "use_bias": False,
        "n_routed_experts": 8,
        "moe_intermediate_size": 7688,
        "moe_shared_expert_intermediate_size": 7688,
        "moe_latent_size": None,
        "num_experts_per_tok": 2,
        "n_group": 1,
        "topk_group": 1,
        "pad_token_id": 0,
        "bos_token_id": 1,
        "eos_token_id": 2,
    },
    params=hf_nemotron_h,
)


FAMILIES: tuple[Family, ...] = (
    QWEN3_MOE,
    DEEPSEEK_V3,
    DEEPSEEK_V2,
    DEEPSEEK_V32,
    GLM_MOE_DSA,
    QWEN2_MOE,
    GPT_OSS,
    LLAMA4_TEXT,
    PHIMOE,
    GRANITEMOE,
    MINIMAX_M2,
    MAMBA,
    FALCON_MAMBA,
    JAMBA,
    NEMOTRON_H,
    QWEN3_5,
    QWEN3_5_TEXT,
    QWEN3_5_VISION,
    QWEN3_5_MOE,
    QWEN3_5_MOE_TEXT,
    QWEN3_5_MOE_VISION,
    QWEN3_MOE_KH,
    QWEN_MOE_KH,
    GPT_OSS_KH,
    QWEN3_5_KH,
    QWEN3_5_MOE_KH,
)
