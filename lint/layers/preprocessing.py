"""Preprocessing layers: shape-preserving ones (Rescaling, Normalization, Random*) and
the ones that resize images to a configured height and width."""

from __future__ import annotations

from kmha_lint.graph import Site, all_ints, is_int, param_rule, product, shape_rule

SHAPE_PRESERVING = (
    "Rescaling",
    "Normalization",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
    "RandomContrast",
    "RandomBrightness",
    "RandomGrayscale",
    "RandomHue",
    "RandomSaturation",
    "RandomSharpness",
    "RandomColorJitter",
    "RandomPosterization",
    "RandomInvert",
    "AutoContrast",
    "Equalization",
    "Solarization",
)
RESIZING = ("Resizing", "CenterCrop", "RandomCrop")


@shape_rule(*SHAPE_PRESERVING)
def shape_preserving(site: Site):
    tensor = site.input()
    return None if tensor is None else [tensor.shape]


@shape_rule(*RESIZING)
def resizing(site: Site):
    tensor, height, width = site.known_input(), site.int("height"), site.int("width")
    if tensor is None or height is None or width is None or len(tensor.shape) not in (3, 4):
        return None
    if site.config.get("data_format") == "channels_first":
        return [tensor.shape[:-2] + (height, width)]
    return [tensor.shape[:-3] + (height, width, tensor.shape[-1])]


@param_rule(*SHAPE_PRESERVING, *RESIZING)
def preprocessing_params(site: Site):
    if site.class_name != "Normalization":
        return 0
    if site.config.get("mean") is not None:
        return 0
    tensor = site.known_input()
    axis = site.config.get("axis", -1)
    axes = [axis] if is_int(axis) else axis if all_ints(axis) else None
    if tensor is None or axes is None:
        return None
    rank = len(tensor.shape)
    if not all(-rank <= a < rank for a in axes):
        return None
    sizes = [tensor.shape[a] for a in axes]
    return None if None in sizes else 2 * product(sizes) + 1
