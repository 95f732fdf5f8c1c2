"""Attention layers: MultiHeadAttention (Keras's and kmha's), GroupQueryAttention,
Attention and AdditiveAttention. The geometry is kmha_lint.geometry, shared with the layer."""

from __future__ import annotations

from kmha_lint import geometry, rules
from kmha_lint.document import MAX_SIZE
from kmha_lint.graph import (
    Shape,
    Site,
    Tensor,
    all_ints,
    as_shape,
    constant_shape,
    is_int,
    param_rule,
    shape_rule,
    show,
)
from kmha_lint.problem import ShapeError


def _inputs(site: Site):
    query, value, key = (site.argument(i, n) for i, n in enumerate(("query", "value", "key")))
    if not isinstance(query, Tensor) or not isinstance(value, Tensor):
        return None
    has_key = isinstance(key, Tensor)
    return {"query": query, "value": value, "key": key if has_key else value}, has_key


@shape_rule("MultiHeadAttention")
def multi_head_attention(site: Site):
    found = _inputs(site)
    if found is None:
        return None
    tensors, has_key = found
    query = tensors["query"]
    if any(t.shape is None for t in tensors.values()):
        return _attention_output(site, query.shape, None)
    shapes = {name: t.shape for name, t in tensors.items()}
    if _tf_keras_width_one_recorded(site, shapes):
        return None
    axes_value = site.config.get("attention_axes")
    if not (axes_value is None or is_int(axes_value) or all_ints(axes_value)):
        return _attention_output(site, shapes["query"], None)  # Keras 2 leniency: 1.0
    kmha = site.layer.kmha
    rank = len(shapes["query"])
    ranks_agree = rank >= 3 and all(len(shape) == rank for shape in shapes.values())
    if not kmha and ranks_agree and not _keras_axes_in_range(site, axes_value, rank):
        return None
    if not kmha:
        # Keras's attention_axes index the projected (batch, ..., heads, key_dim) tensor.
        problem = _keras_heads_axis_problem(site, axes_value, shapes)
        if problem:
            site.report(rules.KEY_VALUE_AXES, tensors[problem.argument].pointer, problem)
            return _attention_output(site, shapes["query"], None)
        if site.layer.keras_major == 2:  # its negative axes count one further than the input's
            axes_value = geometry.keras_projected_axes(axes_value, rank, 2)
    masks = _attention_masks(site, rank)
    config = _attention_config(site, axes_value)
    if config is None:
        return _attention_output(site, shapes["query"], None)
    built = {name: site.built_shape(f"{name}_shape") for name in ("query", "value", "key")}
    if built["key"] is None:
        built["key"] = built["value"]
    # The layer's own sequence (kmha_lint.geometry): `build`, from the shapes recorded in
    # the config's build_config when there are some (Keras builds from them on load),
    # else from the call's; then the call, masks included.
    try:
        if built["query"] is None or built["value"] is None:
            checked = geometry.check_build(site.name, shapes, config, has_key=has_key)
        else:
            checked = geometry.check_build(
                site.name, built, config, has_key=site.built_shape("key_shape") is not None
            )
        solved = geometry.check_call(
            site.name,
            {**shapes, **{name: tensor.shape for name, tensor in masks.items()}},
            config,
            has_key=has_key,
            use_causal_mask=kmha and site.kwargs.get("use_causal_mask") is True,
            built_rank=checked.rank,
            built_widths=checked.widths,
        )
    except geometry.CallError as error:
        return _report_call_error(site, tensors, masks, error)
    if has_key and not kmha and site.layer.keras_major == 3:
        _keras_key_value_shapes(site, tensors["key"], shapes["key"], shapes["value"])
    return _attention_output(site, shapes["query"], (solved.rank, solved.axes, shapes))


def _attention_config(site: Site, attention_axes: object) -> geometry.AttentionConfig | None:
    """The layer's settings as the call check reads them; invalid sizes (the schema reports
    them) as None, and head sizes resolved for kmha's layer only. None when kmha's layer
    cannot be constructed (its num_key_value_heads does not divide num_heads, reported once
    per layer by schema.config_checks): it is never called."""
    config = site.config

    def size(key):
        value = config.get(key)
        return int(value) if is_int(value) and value > 0 else None

    keys = ("num_heads", "key_dim", "value_dim", "d_model")
    valid = all(config.get(k) is None or size(k) for k in keys) and size("num_heads")
    heads, kv_heads = size("num_heads"), size("num_key_value_heads")
    if site.layer.kmha and heads and kv_heads and heads % kv_heads:
        return None
    return geometry.AttentionConfig(
        num_heads=heads,
        num_key_value_heads=kv_heads,
        key_dim=size("key_dim"),
        value_dim=size("value_dim"),
        d_model=size("d_model"),
        attention_axes=attention_axes,
        sliding_window=size("sliding_window") if site.layer.kmha else None,
        resolve_heads=bool(site.layer.kmha and valid),
    )


def _report_call_error(site: Site, tensors: dict, masks: dict, error: geometry.CallError):
    """Report a call-check failure where it belongs; return the output shapes (None where
    the failure leaves them unknown)."""
    query = tensors["query"].shape
    argument = error.argument
    if error.check == "built":
        site.report_stale_build(tensors.get(argument, tensors["query"]), error.problem)
        return _attention_output(site, query, None)
    if not site.layer.kmha and argument == "attention_axes":
        # keras.layers.MultiHeadAttention counts attention_axes in the projected
        # (batch, ..., heads, key_dim) tensor and runs with "invalid" axes such as the
        # heads axis: nothing to check against, and never an error.
        return _attention_output(site, query, None)
    if argument in masks:
        pointer = masks[argument].pointer
    elif argument in tensors:
        pointer = site.input_pointer(tensors[argument])
    elif argument == "use_causal_mask" and site.call is not None:
        pointer = site.call.pointer + "/kwargs/use_causal_mask"
    else:
        pointer = site.layer.config_pointer(argument)
    site.report(geometry.call_rule(error), pointer, error.problem)
    if error.check in ("rank", "unknown_rank", "feature_width"):
        return None
    return _attention_output(site, query, None)


def _tf_keras_width_one_recorded(site: Site, shapes: dict) -> bool:
    """tf.keras rebuilds the layer from the shapes in its config: a projection recorded for
    width 1 then broadcasts over another width, and its output keeps width 1 (Keras runs
    it). Neither the output shape nor the parameters are then what they seem: unknown."""
    if site.layer.keras_major != 2 or site.layer.kmha:
        return False
    for name, shape in shapes.items():
        recorded = as_shape(site.config.get(f"{name}_shape"))
        if recorded and recorded[-1] == 1 and shape and shape[-1] not in (1, None):
            return True
    return False


# Call arguments after query, value and key, in the order both layers take them.
_MASK_ARGUMENTS = [*geometry.PADDING_MASK_SOURCES, "attention_mask"]


def _attention_masks(site: Site, rank: int) -> dict[str, Tensor]:
    """Masks passed in the call, by argument name. For Keras's layer only a (B, T, S)
    attention_mask with rank-3 inputs: Keras broadcasts other forms its own way."""
    masks = {}
    for position, name in enumerate(_MASK_ARGUMENTS, start=3):
        tensor = site.argument(position, name)
        constant = constant_shape(tensor)
        if constant is not None and site.call is not None:  # e.g. a fixed causal mask
            where = f"/args/{position}" if len(site.args) > position else f"/kwargs/{name}"
            tensor = Tensor(constant, site.call.pointer + where)
        if isinstance(tensor, Tensor) and tensor.shape is not None:
            masks[name] = tensor
    if not site.layer.kmha:
        mask = masks.get("attention_mask")
        keras_checked = mask is not None and rank == 3 and len(mask.shape) == 3
        masks = {"attention_mask": mask} if keras_checked else {}
    return masks


def _keras_key_value_shapes(site: Site, key: Tensor, key_shape: Shape, value_shape: Shape):
    """Keras 3's MultiHeadAttention compares key and value shapes (but the last axis) as
    tuples when it builds: an unknown size differs from a known one there."""
    for axis in range(1, len(key_shape) - 1):
        if key_shape[axis] != value_shape[axis]:
            site.report(
                rules.KEY_VALUE_AXES,
                key.pointer,
                site.problem(
                    "key",
                    "keras.layers.MultiHeadAttention requires key and value shapes to be "
                    "identical but for the last axis, unknown (None) sizes included",
                    f"{value_shape[axis]}, as in `value` {show(value_shape)}",
                    f"{key_shape[axis]} (key shape {show(key_shape)})",
                    "declare the same size for key and value on this axis (both None or both "
                    "the same number)",
                    axis=str(axis),
                ),
            )
            return


def _keras_axes_in_range(site: Site, axes_value: object, rank: int) -> bool:
    """keras.layers.MultiHeadAttention indexes attention_axes into the projected query,
    (batch, ..., heads, key_dim), of rank + 1 axes. Keras 3 first adds the input rank to
    a negative axis; tf.keras does not, and cannot attend over the key_dim axis."""
    axes = [axes_value] if is_int(axes_value) else axes_value or []
    projected = rank + 1
    if site.layer.keras_major == 3:
        bad = [a for a in axes if not (0 <= a < projected or -projected - rank <= a < 0)]
    else:
        bad = [a for a in axes if not -projected <= a < projected or a % projected == rank]
    if not bad:
        return True
    site.report(
        rules.ATTENTION_RANK_OR_AXES,
        site.layer.config_pointer("attention_axes"),
        site.problem(
            "attention_axes",
            f"attention axis {bad[0]} is outside the rank-{projected} projected query "
            f"(rank-{rank} inputs)",
            f"axes 1..{rank - 2} (or -{rank - 1}..-2) of the inputs",
            str(axes_value),
            "pick attention axes between batch and features, or None for all of them",
        ),
    )
    return False


def _attention_output(site: Site, query: Shape | None, solved):
    if query is None:
        return None
    output = site.config.get("output_shape")
    if output is not None and not (is_int(output) or all_ints(output)):
        return None
    if not site.layer.kmha:
        output = output or None  # Keras's layer: output_shape 0 or [] is the query width
    result = tuple(query[:-1]) + geometry.output_feature_shape(output, query[-1])
    if site.kwargs.get("return_attention_scores") is not True:
        return [result]
    if solved is None:
        return [result, None]
    rank, axes, shapes = solved
    return [result, geometry.scores_shape(rank, axes, site.config.get("num_heads"), shapes)]


@shape_rule("GroupQueryAttention", "GroupedQueryAttention")
def group_query_attention(site: Site):
    found = _inputs(site)
    if found is None:
        return None
    tensors, _ = found
    if any(t.shape is None for t in tensors.values()):
        return None
    shapes = {name: t.shape for name, t in tensors.items()}
    if not _same_sequence(site, tensors, shapes):
        return None
    for name, tensor in tensors.items():
        if not site.needs_known_axis(tensor, -1, argument=name):
            return None
    return [shapes["query"]]


def _same_sequence(site: Site, tensors, shapes) -> bool:
    """Key and value share their positions (all axes but the features)."""
    key, value = shapes["key"], shapes["value"]
    if len(key) != len(value):
        return True
    for axis in range(len(key) - 1):
        if key[axis] is not None and value[axis] is not None and key[axis] != value[axis]:
            site.report(
                rules.KEY_VALUE_AXES,
                tensors["key"].pointer,
                site.problem(
                    "key",
                    "key and value must have the same positions (all axes but the features)",
                    f"{value[axis]}, as in `value` {show(value)}",
                    f"{key[axis]} (key shape {show(key)})",
                    "give key and value the same number of positions",
                    axis=str(axis),
                ),
            )
            return False
    return True


def _list_attention_inputs(site: Site):
    tensors = site.input_list()
    if tensors is None or len(tensors) not in (2, 3) or any(t.shape is None for t in tensors):
        return None
    names = ("query", "value", "key")
    tensors = dict(zip(names, tensors, strict=False))
    tensors.setdefault("key", tensors["value"])
    return tensors


@shape_rule("Attention", "AdditiveAttention")
def dot_attention(site: Site):
    tensors = _list_attention_inputs(site)
    if tensors is None:
        return None
    shapes = {name: t.shape for name, t in tensors.items()}
    if not _same_sequence(site, tensors, shapes):
        return None
    query, key = shapes["query"], shapes["key"]
    if query[-1] is not None and key[-1] is not None and query[-1] != key[-1]:
        site.report(
            rules.ATTENTION_SCORE_WIDTH,
            tensors["key"].pointer,
            site.problem(
                "key",
                f"{site.class_name} scores query against key, so their feature sizes must agree",
                f"{query[-1]}, the query width",
                str(key[-1]),
                "project query and key to one width first (e.g. Dense layers)",
                axis=f"{len(key) - 1} (features)",
            ),
        )
        return None
    outputs = [query[:-1] + shapes["value"][-1:]]
    if site.kwargs.get("return_attention_scores") is True:
        outputs.append(query[:-1] + key[-2:-1])
    return outputs


@param_rule("Attention", "AdditiveAttention")
def dot_attention_params(site: Site):
    use_scale = site.config.get("use_scale") is True
    if site.class_name == "Attention":
        return use_scale + (site.config.get("score_mode") == "concat")
    tensors = _list_attention_inputs(site)
    if not use_scale:
        return 0
    return None if tensors is None else tensors["query"].shape[-1]


# -- Parameter counts (issue 16): the projections' weights, from kmha_lint.geometry ------------


def _widths(site: Site) -> dict[str, int] | None:
    """The feature widths of query, key (the value when omitted) and value, or None."""
    found = _inputs(site)
    if found is None:
        return None
    widths = {name: t.shape[-1] if t.shape else None for name, t in found[0].items()}
    return widths if all(is_int(w) and w > 0 for w in widths.values()) else None


def _positive(site: Site, *keys: str) -> list[int] | None:
    values = [site.int(key) for key in keys]
    return values if all(v is not None and v > 0 for v in values) else None


def _output_dims(site: Site, query_width: int) -> tuple[int, ...] | None:
    """The output's trailing dims. Keras's layer takes a falsy output_shape (0, []) for
    None, the query width, and sizes 0 inside a list; kmha's takes positive sizes only."""
    output = site.config.get("output_shape")
    if not site.layer.kmha and (output is None or (is_int(output) or all_ints(output))):
        output = output or None
    if not (output is None or is_int(output) or (all_ints(output) and output)):
        return None
    dims = geometry.output_feature_shape(output, query_width)
    return dims if all(int(site.layer.kmha) <= d < MAX_SIZE for d in dims) else None


def _keras_head_dims(site: Site) -> geometry.HeadDims | None:
    """Keras's layer: a falsy value_dim is key_dim; tf.keras also builds num_heads=0 (no
    head weights), which Keras 3 refuses."""
    heads, key_dim, value_dim = (site.int(k) for k in ("num_heads", "key_dim", "value_dim"))
    least_heads = 0 if site.layer.keras_major == 2 else 1
    value_set = site.config.get("value_dim") not in (None, 0)
    if heads is None or heads < least_heads or key_dim is None or key_dim < 1:
        return None
    if value_set and (value_dim is None or value_dim < 1):
        return None
    return geometry.HeadDims(heads, heads, key_dim, value_dim if value_set else key_dim)


def _kmha_head_dims(site: Site, query_width: int) -> geometry.HeadDims | None:
    """kmha's layer: key_dim from d_model or the query width when omitted, grouped-query
    key/value heads; None where the layer refuses its arguments (the checks report it)."""
    optional = ("key_dim", "value_dim", "d_model", "num_key_value_heads")
    given = [key for key in optional if site.config.get(key) is not None]
    if _positive(site, "num_heads", *given) is None:
        return None
    try:
        return geometry.resolve_head_dims(
            layer=site.name,
            num_heads=site.int("num_heads"),
            query_width=query_width,
            **{key: site.int(key) for key in optional},
        )
    except ShapeError:
        return None


@param_rule("MultiHeadAttention")
def multi_head_attention_params(site: Site):
    """Query, key and value project to (heads, key_dim / value_dim), the output from
    (num_heads, value_dim) to output_shape (the query width by default); kmha's layer adds
    num_key_value_heads and a gate (kmha_lint.geometry.projection_weight_shapes)."""
    widths = _widths(site)
    if widths is None:
        return None
    if site.layer.kmha:
        dims = _kmha_head_dims(site, widths["query"])
    elif _tf_keras_width_one_recorded(site, {n: t.shape for n, t in _inputs(site)[0].items()}):
        return None
    else:
        dims = _keras_head_dims(site)
    output = _output_dims(site, widths["query"])
    if dims is None or output is None:
        return None
    shapes = geometry.projection_weight_shapes(
        widths,
        dims,
        output,
        use_bias=site.config.get("use_bias", True) is not False,
        use_gate=site.layer.kmha and site.config.get("use_gate") is True,
    )
    return geometry.projection_params(shapes)


@param_rule("GroupQueryAttention", "GroupedQueryAttention")
def group_query_attention_params(site: Site):
    """Keras's GroupQueryAttention: K = V = head_dim, and the output has the query width."""
    widths = _widths(site)
    sizes = _positive(site, "num_query_heads", "num_key_value_heads", "head_dim")
    if widths is None or sizes is None:
        return None
    heads, kv_heads, head_dim = sizes
    dims = geometry.HeadDims(heads, kv_heads, head_dim, head_dim)
    use_bias = site.config.get("use_bias", True) is not False
    shapes = geometry.projection_weight_shapes(widths, dims, (widths["query"],), use_bias=use_bias)
    return geometry.projection_params(shapes)


# -- Keras's attention over the heads axis (issue 16) -----------------------------------------


def _keras_heads_axis_problem(site: Site, axes_value: object, shapes: dict[str, Shape]):
    """keras.layers.MultiHeadAttention with the heads axis among its attention_axes: the axes
    not attended must agree between query and key/value (geometry.heads_axis_attention_problem).
    Keras 3 runs rank-3 inputs without dropout or returned scores through
    ops.dot_product_attention, which ignores attention_axes: no failure there."""
    rank, major = len(shapes["query"]), site.layer.keras_major
    if major == 3 and rank == 3:
        dropout = site.config.get("dropout")
        einsum = geometry.is_number(dropout) and dropout > 0
        if not (einsum or site.kwargs.get("return_attention_scores") is True):
            return None
    projected = geometry.keras_projected_axes(axes_value, rank, major)
    return geometry.heads_axis_attention_problem(site.name, projected, shapes)
