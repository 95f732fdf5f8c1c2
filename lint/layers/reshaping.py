"""Reshaping layers: Reshape, Permute, Flatten, RepeatVector, UpSampling, ZeroPadding, Cropping."""

from __future__ import annotations

from kmha_lint import rules
from kmha_lint.graph import Site, all_ints, is_int, param_rule, product, shape_rule, show
from kmha_lint.layers.convolution import join_channels, spatial_input

UPSAMPLING = {"UpSampling1D": 1, "UpSampling2D": 2, "UpSampling3D": 3}
PADDING = {"ZeroPadding1D": 1, "ZeroPadding2D": 2, "ZeroPadding3D": 3}
CROPPING = {"Cropping1D": 1, "Cropping2D": 2, "Cropping3D": 3}


def reshaped(site: Site, shape, target: list, key: str = "target_shape"):
    """``shape`` (batch first) reshaped to ``target`` (without batch); reports a size misfit."""
    if not all(is_int(d) and (d > 0 or d == -1) for d in target):
        return None
    free = target.count(-1)
    pointer = site.layer.config_pointer(key)
    if free > 1:
        site.report(
            rules.RESHAPE_SIZE,
            pointer,
            site.problem(
                key,
                f"only one axis of {key} may be -1",
                "at most one -1",
                str(tuple(target)),
                "give every axis but one a size",
            ),
        )
        return None
    open_target = (None,) + tuple(None if d == -1 else d for d in target)
    if shape is None:
        # Whatever arrives, a valid reshape yields the target: shapes are known again.
        return open_target
    rest = shape[1:]
    fixed = product(d for d in target if d != -1)
    if None in rest:
        return (shape[0],) + open_target[1:]
    total = product(rest)
    if (free and total % fixed) or (not free and total != fixed):
        site.report(
            rules.RESHAPE_SIZE,
            pointer,
            site.problem(
                key,
                f"the target holds {'a multiple of ' if free else ''}{fixed} elements per "
                f"sample, the input {total} {show(shape)}",
                f"{total} elements" + (f" (a multiple of {fixed})" if free else ""),
                f"{tuple(target)} ({fixed} elements)",
                "make the target hold the same number of elements, or use -1 for one axis",
            ),
        )
        return None
    return (shape[0],) + tuple(total // fixed if d == -1 else d for d in target)


@shape_rule("Reshape")
def reshape(site: Site):
    tensor, target = site.input(), site.config.get("target_shape")
    if tensor is None or not isinstance(target, list):
        return None
    result = reshaped(site, tensor.shape, target)
    return None if result is None else [result]


def permuted(site: Site, shape, dims: list, key: str = "dims", offset: int = 1):
    """``shape`` with its axes from ``offset`` on permuted by ``dims``; reports a bad list."""
    rank = len(shape)
    if sorted(dims) != list(range(offset, rank)):
        site.report(
            rules.INVALID_PERMUTATION,
            site.layer.config_pointer(key),
            site.problem(
                key,
                "dims must be a permutation of the non-batch axes"
                if offset
                else "axes must be a permutation of the input's axes",
                f"a permutation of {list(range(offset, rank))} for input {show(shape)}",
                str(dims),
                f"list every axis {offset}..rank-1 exactly once",
            ),
        )
        return None
    return shape[:offset] + tuple(shape[d] for d in dims)


@shape_rule("Permute")
def permute(site: Site):
    tensor, dims = site.known_input(), site.config.get("dims")
    if tensor is None or not all_ints(dims):
        return None
    result = permuted(site, tensor.shape, dims)
    return None if result is None else [result]


@shape_rule("Flatten")
def flatten(site: Site):
    tensor = site.known_input()
    if tensor is None:
        return None
    rest = tensor.shape[1:]
    return [(tensor.shape[0], None if None in rest else product(rest))]


@shape_rule("RepeatVector")
def repeat_vector(site: Site):
    tensor, n = site.known_input(), site.int("n")
    if tensor is None or n is None or not site.needs_rank(tensor, 2, "(batch, features)"):
        return None
    return [(tensor.shape[0], n, tensor.shape[1])]


@shape_rule(*UPSAMPLING)
def upsampling(site: Site):
    rank = UPSAMPLING[site.class_name]
    found = spatial_input(site, rank)
    size = site.ints("size", rank, 2)
    if found is None or size is None:
        return None
    tensor, channels, spatial, first = found
    grown = [None if n is None else n * s for n, s in zip(spatial, size, strict=True)]
    if rank == 1:  # UpSampling1D has no data_format
        return [(tensor.shape[0], grown[0], tensor.shape[2])]
    return [join_channels(tensor.shape[0], grown, channels, first)]


def _pairs(value: object, rank: int, default) -> list[tuple[int, int]] | None:
    """Keras's padding/cropping forms: int, (a, b) per axis or symmetric, ((a, b), ...)."""
    value = default if value is None else value
    if is_int(value):
        return [(int(value), int(value))] * rank
    if not isinstance(value, list):
        return None
    if rank == 1 and all_ints(value) and len(value) == 2:
        return [(value[0], value[1])]
    if len(value) != rank:
        return None
    pairs = []
    for item in value:
        if is_int(item):
            pairs.append((int(item), int(item)))
        elif all_ints(item) and len(item) == 2:
            pairs.append((int(item[0]), int(item[1])))
        else:
            return None
    return pairs


def _padded(site: Site, table: dict, key: str, default, sign: int):
    rank = table[site.class_name]
    found = spatial_input(site, rank)
    pairs = _pairs(site.config.get(key), rank, default)
    if found is None or pairs is None:
        return None
    tensor, channels, spatial, first = found
    if rank == 1:
        channels, spatial, first = tensor.shape[2], [tensor.shape[1]], False
    sizes = [
        None if n is None else n + sign * (a + b) for n, (a, b) in zip(spatial, pairs, strict=True)
    ]
    if any(n is not None and n <= 0 for n in sizes):
        site.report(
            rules.NON_POSITIVE_OUTPUT,
            site.layer.config_pointer(key),
            site.problem(
                key,
                "cropping removes every position of an axis",
                f"less than {show(tuple(spatial))} in total per axis",
                str(site.config.get(key)),
                "crop less, or crop a larger input",
            ),
        )
        return None
    return [join_channels(tensor.shape[0], sizes, channels, first)]


@shape_rule(*PADDING)
def zero_padding(site: Site):
    return _padded(site, PADDING, "padding", 1, +1)


@shape_rule(*CROPPING)
def cropping(site: Site):
    default = 1 if site.class_name == "Cropping1D" else 0
    return _padded(site, CROPPING, "cropping", default, -1)


@param_rule("Reshape", "Permute", "Flatten", "RepeatVector", *UPSAMPLING, *PADDING, *CROPPING)
def no_weights(site: Site):
    return 0
