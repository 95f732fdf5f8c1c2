"""Convolutions of every rank: plain, transposed, depthwise and separable."""

from __future__ import annotations

from kmha_lint import rules
from kmha_lint.graph import Shape, Site, param_rule, product, shape_rule, show

PLAIN = {"Conv1D": 1, "Conv2D": 2, "Conv3D": 3}
PLAIN |= {"Convolution1D": 1, "Convolution2D": 2, "Convolution3D": 3}
TRANSPOSED = {"Conv1DTranspose": 1, "Conv2DTranspose": 2, "Conv3DTranspose": 3}
TRANSPOSED |= {"Convolution2DTranspose": 2, "Convolution3DTranspose": 3}
DEPTHWISE = {"DepthwiseConv1D": 1, "DepthwiseConv2D": 2}
SEPARABLE = {"SeparableConv1D": 1, "SeparableConv2D": 2}
SEPARABLE |= {"SeparableConvolution1D": 1, "SeparableConvolution2D": 2}
ALL = PLAIN | TRANSPOSED | DEPTHWISE | SEPARABLE


def conv_length(size, kernel, stride, dilation, padding) -> int | None:
    """Output positions along one axis (Keras's conv_output_length)."""
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def transposed_length(size, kernel, stride, dilation, padding, output_padding) -> int | None:
    if size is None:
        return None
    kernel = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        return size * stride + max(kernel - stride, 0) if padding == "valid" else size * stride
    pad = kernel // 2 if padding == "same" else 0
    return (size - 1) * stride + kernel - 2 * pad + output_padding


def split_channels(site: Site, shape: Shape) -> tuple[int | None, list, bool]:
    """(channels, spatial sizes, channels_first) of an input."""
    first = site.config.get("data_format") == "channels_first"
    if first:
        return shape[1], list(shape[2:]), True
    return shape[-1], list(shape[1:-1]), False


def join_channels(batch, spatial, channels, first: bool) -> Shape:
    return (batch, channels, *spatial) if first else (batch, *spatial, channels)


def spatial_input(site: Site, rank: int):
    """The input of a rank-``rank`` spatial layer, checked: (tensor, channels, spatial, first)."""
    tensor = site.known_input()
    if tensor is None:
        return None
    if len(tensor.shape) != rank + 2:
        if len(tensor.shape) > rank + 2 and site.layer.keras_major == 2:
            return None  # tf.keras folds extra leading axes into the batch
        form = (
            "(batch, steps, channels)" if rank == 1 else f"(batch, {rank} spatial axes, channels)"
        )
        site.needs_rank(tensor, rank + 2, form)
        return None
    channels, spatial, first = split_channels(site, tensor.shape)
    return tensor, channels, spatial, first


def report_empty_output(site: Site, spatial, key: str = "kernel_size") -> None:
    site.report(
        rules.NON_POSITIVE_OUTPUT,
        site.layer.config_pointer(key),
        site.problem(
            key,
            "the window leaves no output positions",
            f"a (dilated) window of at most {show(tuple(spatial))} with padding 'valid'",
            f"{key} {site.config.get(key)} on {show(tuple(spatial))}",
            f"use a smaller {key}, padding='same', or a larger input",
        ),
    )


@shape_rule(*ALL)
def convolution(site: Site):
    rank = ALL[site.class_name]
    found = spatial_input(site, rank)
    if found is None:
        return None
    tensor, channels, spatial, first = found
    kernel = site.ints("kernel_size", rank, None)
    strides, dilation = site.ints("strides", rank), site.ints("dilation_rate", rank)
    padding = site.config.get("padding", "valid")
    if kernel is None or strides is None or dilation is None or min(strides + dilation) <= 0:
        return None
    if not site.needs_known_axis(tensor, 1 if first else -1):
        return None
    if not site.check_built_axes(tensor, [1 if first else -1]):
        return None
    if site.class_name in DEPTHWISE:
        multiplier = site.int("depth_multiplier", 1)
        filters = None if multiplier is None else channels * multiplier
    else:
        filters = site.int("filters")
    if filters is None:
        return None
    groups = site.int("groups", 1) or 1
    if site.class_name in PLAIN and groups > 1 and (channels % groups or filters % groups):
        site.report(
            rules.GROUPS_DO_NOT_DIVIDE_CHANNELS,
            site.layer.config_pointer("groups"),
            site.problem(
                "groups",
                "the input channels (and filters) are not divisible by groups",
                f"a divisor of {channels} and of filters {filters}",
                str(groups),
                "choose groups that divides the input channels and the filters",
            ),
        )
        return None
    if site.class_name in TRANSPOSED:
        output_padding = site.ints("output_padding", rank, None)
        lengths = [
            transposed_length(n, k, s, d, padding, None if output_padding is None else p)
            for n, k, s, d, p in zip(
                spatial, kernel, strides, dilation, output_padding or [0] * rank, strict=True
            )
        ]
    else:
        lengths = [
            conv_length(n, k, s, d, padding)
            for n, k, s, d in zip(spatial, kernel, strides, dilation, strict=True)
        ]
    if any(n is not None and n <= 0 for n in lengths):
        report_empty_output(site, spatial)
        return None
    return [join_channels(tensor.shape[0], lengths, filters, first)]


@param_rule(*ALL)
def convolution_params(site: Site):
    rank = ALL[site.class_name]
    tensor = site.known_input()
    kernel = site.ints("kernel_size", rank, None)
    if tensor is None or kernel is None or len(tensor.shape) != rank + 2:
        return None
    channels, _, _ = split_channels(site, tensor.shape)
    if channels is None:
        return None
    window = product(kernel)
    bias = site.config.get("use_bias", True) is not False
    if site.class_name in DEPTHWISE:
        multiplier = site.int("depth_multiplier", 1)
        return None if multiplier is None else (window + bias) * channels * multiplier
    filters = site.int("filters")
    if filters is None:
        return None
    if site.class_name in SEPARABLE:
        multiplier = site.int("depth_multiplier", 1)
        if multiplier is None:
            return None
        return window * channels * multiplier + channels * multiplier * filters + bias * filters
    groups = site.int("groups", 1) or 1
    if site.class_name in TRANSPOSED:
        return window * channels * filters + bias * filters
    return window * (channels // groups) * filters + bias * filters
