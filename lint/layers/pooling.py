"""Pooling and global pooling of every rank."""

from __future__ import annotations

from kmha_lint.graph import Site, param_rule, shape_rule
from kmha_lint.layers.convolution import (
    conv_length,
    join_channels,
    report_empty_output,
    spatial_input,
)

POOLING = {
    f"{kind}Pooling{rank}D": rank for kind in ("Max", "Average", "Avg") for rank in (1, 2, 3)
}
GLOBAL = {
    f"Global{kind}Pooling{rank}D": rank for kind in ("Max", "Average", "Avg") for rank in (1, 2, 3)
}


@shape_rule(*POOLING)
def pooling(site: Site):
    rank = POOLING[site.class_name]
    found = spatial_input(site, rank)
    if found is None:
        return None
    tensor, channels, spatial, first = found
    pool = site.ints("pool_size", rank, 2)
    strides = site.ints("strides", rank, None) if site.config.get("strides") is not None else pool
    if pool is None or strides is None or min(pool + strides) <= 0:
        return None
    padding = site.config.get("padding", "valid")
    lengths = [
        conv_length(n, k, s, 1, padding) for n, k, s in zip(spatial, pool, strides, strict=True)
    ]
    if any(n is not None and n <= 0 for n in lengths):
        report_empty_output(site, spatial, "pool_size")
        return None
    return [join_channels(tensor.shape[0], lengths, channels, first)]


@shape_rule(*GLOBAL)
def global_pooling(site: Site):
    rank = GLOBAL[site.class_name]
    found = spatial_input(site, rank)
    if found is None:
        return None
    tensor, channels, spatial, first = found
    if site.config.get("keepdims") is True:
        return [join_channels(tensor.shape[0], [1] * rank, channels, first)]
    return [(tensor.shape[0], channels)]


@param_rule(*POOLING, *GLOBAL)
def no_weights(site: Site):
    return 0
