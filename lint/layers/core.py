"""Core layers: Dense, EinsumDense, Embedding, activations, dropout and normalization."""

from __future__ import annotations

from kmha_lint import rules
from kmha_lint.graph import Site, all_ints, is_int, param_rule, product, shape_rule, show

SHAPE_PRESERVING = (
    "Dropout",
    "Activation",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "Softmax",
    "Identity",
    "Masking",
    "ActivityRegularization",
    "UnitNormalization",
)
NORMALIZATION = ("LayerNormalization", "BatchNormalization", "GroupNormalization")


@shape_rule(*SHAPE_PRESERVING, keeps_attention_origin=True)
def shape_preserving(site: Site):
    tensor = site.input()
    return None if tensor is None else [tensor.shape]


@shape_rule("LayerScale", keeps_attention_origin=True)
def layer_scale(site: Site):
    """keras.applications' LayerScale (ConvNeXt): a learned per-channel scale."""
    tensor = site.input()
    return None if tensor is None else [tensor.shape]


@param_rule("LayerScale")
def layer_scale_params(site: Site):
    return site.int("projection_dim")


@param_rule(*SHAPE_PRESERVING)
def no_weights(site: Site):
    if site.class_name == "PReLU":
        tensor = site.known_input()
        if tensor is None or None in tensor.shape[1:]:
            return None
        shared = site.config.get("shared_axes") or []
        shared = [shared] if is_int(shared) else shared
        return product(d for i, d in enumerate(tensor.shape) if i and i not in shared)
    return 0


def normalized_axes(site: Site) -> list[int] | None:
    axis = site.config.get("axis", -1)
    axes = axis if isinstance(axis, list) else [axis]
    return [int(a) for a in axes] if all_ints(axes) else None


@shape_rule(*NORMALIZATION, keeps_attention_origin=True)
def normalization(site: Site):
    tensor = site.input()
    if tensor is None:
        return None
    axes = normalized_axes(site)
    if tensor.shape is not None and axes is not None:
        if not _normalized_axes_known(site, tensor, axes):
            return None
        if not site.check_built_axes(tensor, axes):
            return None
        if site.class_name == "GroupNormalization" and not _groups_divide(site, tensor, axes):
            return None
    return [tensor.shape]


def _groups_divide(site: Site, tensor, axes) -> bool:
    groups, channels = site.int("groups", 32), tensor.shape[axes[0]]
    if groups is None or groups <= 0 or channels is None or channels % groups == 0:
        return True
    site.report(
        rules.GROUPS_DO_NOT_DIVIDE_CHANNELS,
        site.layer.config_pointer("groups"),
        site.problem(
            "groups",
            f"the {channels} channels are not divisible by groups",
            f"a divisor of {channels}",
            str(groups),
            "choose groups that divides the number of channels",
        ),
    )
    return False


def _normalized_axes_known(site: Site, tensor, axes: list[int]) -> bool:
    """Normalization weights have one entry per position of the normalized axes."""
    rank = len(tensor.shape)
    for axis in axes:
        inside = -rank <= axis < rank
        if inside and tensor.shape[axis] is not None:
            continue
        site.report(
            rules.AXIS_OUT_OF_RANGE,
            site.layer.config_pointer("axis"),
            site.problem(
                "axis",
                f"axis {axis} "
                + ("is outside" if not inside else "has an unknown size in")
                + f" the input {show(tensor.shape)}, so the scale and offset cannot be sized",
                f"an axis in {-rank}..{rank - 1} with a known size, usually -1 (features)",
                str(axis),
                "normalize over the feature axis: axis=-1",
            ),
        )
        return False
    return True


@param_rule(*NORMALIZATION)
def normalization_params(site: Site):
    tensor, axes = site.known_input(), normalized_axes(site)
    if tensor is None or axes is None:
        return None
    rank = len(tensor.shape)
    if not all(-rank <= a < rank for a in axes):
        return None
    sizes = [tensor.shape[a] for a in axes]
    if None in sizes:
        return None
    size = product(sizes)
    config = site.config
    if site.class_name == "BatchNormalization":
        return size * (
            2 + (config.get("center", True) is not False) + (config.get("scale", True) is not False)
        )
    return size * (
        (config.get("center", True) is not False) + (config.get("scale", True) is not False)
    )


@shape_rule("Dense")
def dense(site: Site):
    tensor, units = site.known_input(), site.int("units")
    if tensor is None or units is None:
        return None
    if not site.needs_rank(tensor, 2, "(batch, ..., features)", at_least=True):
        return None
    if not site.needs_known_axis(tensor, -1):
        return None
    if not site.check_built_axes(tensor, [-1]):
        return None
    return [tensor.shape[:-1] + (units,)]


@param_rule("Dense")
def dense_params(site: Site):
    tensor, units = site.known_input(), site.int("units")
    if tensor is None or units is None or not tensor.shape or tensor.shape[-1] is None:
        return None
    return tensor.shape[-1] * units + (units if site.config.get("use_bias", True) else 0)


@shape_rule("Embedding")
def embedding(site: Site):
    tensor, width = site.input(), site.int("output_dim")
    if tensor is None or tensor.shape is None or width is None:
        return None
    return [tensor.shape + (width,)]


@param_rule("Embedding")
def embedding_params(site: Site):
    rows, width = site.int("input_dim"), site.int("output_dim")
    return None if rows is None or width is None else rows * width


def _einsum_parts(site: Site):
    equation = site.config.get("equation")
    if not isinstance(equation, str):
        return None
    try:
        operands, out = equation.replace(" ", "").split("->")
        source, kernel = operands.split(",")
    except ValueError:
        return None
    if "." in source + kernel + out:
        return None  # ellipsis equations: leave the shape open rather than guess
    return source, kernel, out


def _einsum_output(site: Site, tensor, parts):
    source, _, out = parts
    partial = site.config.get("output_shape")
    partial = [partial] if is_int(partial) else partial
    if not isinstance(partial, list) or not all(v is None or is_int(v) for v in partial):
        return None
    sizes = dict(zip(source, tensor.shape, strict=True))
    given = list(partial)
    if len(given) == len(out) - 1:
        given = [None] + given
    if len(given) != len(out):
        return None
    return tuple(sizes[c] if c in sizes else given[i] for i, c in enumerate(out))


@shape_rule("EinsumDense")
def einsum_dense(site: Site):
    tensor, parts = site.known_input(), _einsum_parts(site)
    if tensor is None or parts is None:
        return None
    source, kernel, out = parts
    equation = site.config["equation"]
    shape = tensor.shape
    if len(source) != len(shape):
        site.report(
            rules.INPUT_RANK,
            site.input_pointer(tensor),
            site.problem(
                "inputs",
                f"the input rank does not match the equation '{equation}'",
                f"rank {len(source)}",
                f"rank {len(shape)} {show(shape)}",
                "change the equation's input subscripts, or reshape the input",
            ),
        )
        return None
    stray = sorted(set(kernel) - set(source) - set(out))
    if stray:
        site.report(
            rules.INVALID_VALUE,
            site.layer.config_pointer("equation"),
            site.problem(
                "equation",
                f"weight subscript(s) {', '.join(stray)} appear in neither the input nor the "
                "output, so the kernel cannot be sized",
                "every kernel subscript in the input or the output",
                repr(equation),
                "use subscripts of the input (contracted) or the output (produced) in the kernel",
            ),
        )
        return None
    axes = [i for i, letter in enumerate(source) if letter in kernel]
    if not site.check_built_axes(tensor, axes):
        return None
    result = _einsum_output(site, tensor, parts)
    return None if result is None else [result]


@param_rule("EinsumDense")
def einsum_dense_params(site: Site):
    tensor, parts = site.known_input(), _einsum_parts(site)
    if tensor is None or parts is None or len(parts[0]) != len(tensor.shape):
        return None
    source, kernel, out = parts
    result = _einsum_output(site, tensor, parts)
    if result is None:
        return None
    sizes = dict(zip(source, tensor.shape, strict=True)) | dict(zip(out, result, strict=True))
    kernel_sizes = [sizes.get(c) for c in kernel]
    if None in kernel_sizes:
        return None
    count = product(kernel_sizes)
    bias_axes = site.config.get("bias_axes")
    if isinstance(bias_axes, str) and bias_axes:
        first = (
            min(out.index(c) for c in bias_axes if c in out)
            if all(c in out for c in bias_axes)
            else None
        )
        if first is None:
            return None
        bias = [sizes.get(c) for c in out[first:]]
        bias = [1 if c not in bias_axes else s for c, s in zip(out[first:], bias, strict=True)]
        if None in bias:
            return None
        count += product(bias)
    return count
