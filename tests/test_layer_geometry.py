"""kmha_lint.geometry: the pure-Python rules that the layer and the linter share."""

from __future__ import annotations

import subprocess
import sys

import pytest
from kmha_lint import geometry
from kmha_lint.problem import ShapeError

LAYER = "attn"


def test_geometry_imports_neither_tensorflow_nor_keras():
    probe = (
        "import sys, kmha_lint, kmha_lint.geometry, kmha_lint.problem, kmha_lint.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]", f"imported: {result.stdout.strip()}"


@pytest.mark.parametrize(
    ("width", "near", "expected"),
    [
        (14, 3, [1, 2, 7, 14]),
        (12, 5, [2, 3, 4, 6]),
        (7, 4, [1, 7]),
        (1, 8, [1]),
        (768, 10, [4, 6, 8, 12]),  # 4 and 16 tie at distance 6: the smaller wins
    ],
)
def test_valid_head_counts_are_nearest_divisors_sorted(width, near, expected):
    counts = geometry.valid_head_counts(width, near)
    assert counts == sorted(expected), f"valid_head_counts({width}, {near}) = {counts}"
    assert all(width % c == 0 for c in counts)


def _resolve(**overrides):
    arguments = {
        "layer": LAYER,
        "num_heads": 2,
        "num_key_value_heads": None,
        "key_dim": None,
        "value_dim": None,
        "d_model": None,
        "query_width": 14,
    }
    return geometry.resolve_head_dims(**{**arguments, **overrides})


def test_resolve_head_dims_derives_and_keeps_sizes():
    assert _resolve() == geometry.HeadDims(2, 2, 7, 7)
    assert _resolve(key_dim=3, value_dim=5, num_key_value_heads=1) == geometry.HeadDims(2, 1, 3, 5)
    assert _resolve(num_heads=4, d_model=16, query_width=None) == geometry.HeadDims(4, 4, 4, 4)
    # key_dim given: the width need not be divisible (Keras's style).
    assert _resolve(num_heads=3, key_dim=5) == geometry.HeadDims(3, 3, 5, 5)


@pytest.mark.parametrize(
    ("overrides", "argument", "fragments"),
    [
        ({"num_heads": 4}, "num_heads", ("width 14 is not divisible", "1, 2, 7, 14", "key_dim")),
        ({"d_model": 16}, "query", ("d_model=16", "received 14", "set d_model=14")),
        ({"query_width": None}, "key_dim", ("unknown query width", "pass key_dim or d_model")),
        ({"num_heads": 6, "num_key_value_heads": 4}, "num_key_value_heads", ("1, 2, 3, 6",)),
    ],
    ids=["divisibility", "d_model", "unknown width", "kv heads"],
)
def test_resolve_head_dims_errors(overrides, argument, fragments):
    with pytest.raises(ShapeError) as caught:
        _resolve(**overrides)
    error = caught.value
    assert (error.layer, error.argument) == (LAYER, argument)
    for fragment in fragments:
        assert fragment in str(error), f"{fragment!r} missing from:\n{error}"


@pytest.mark.parametrize(
    ("axes", "rank", "expected"),
    [(None, 3, (1,)), (None, 5, (1, 2, 3)), (-2, 4, (2,)), ((2, 1, 2), 4, (2, 1)), ([-3], 5, (2,))],
)
def test_normalize_attention_axes(axes, rank, expected):
    assert geometry.normalize_attention_axes(LAYER, axes, rank) == expected


@pytest.mark.parametrize(
    ("axes", "rank", "received"),
    [
        (5, 3, "5, outside an input of rank 3"),
        (-4, 3, "-4, outside an input of rank 3"),
        (0, 4, "0, the batch axis"),
        (-4, 4, "-4, the batch axis"),
        ((1, 3), 4, "3, the feature axis"),
        ((), 3, "received ()"),
    ],
)
def test_normalize_attention_axes_errors(axes, rank, received):
    with pytest.raises(ShapeError) as caught:
        geometry.normalize_attention_axes(LAYER, axes, rank)
    message = str(caught.value)
    valid = "axis 1 (or -2)" if rank == 3 else f"axes 1..{rank - 2} (or -{rank - 1}..-2)"
    for fragment in ("argument `attention_axes`", received, f"Expected {valid}", "Fix: "):
        assert fragment in message, f"{fragment!r} missing from:\n{message}"


# B=3, T=4, S=5, H=2 for rank-3 inputs.
DIMS = {"query": (3, 4, 14), "value": (3, 5, 9)}


def _mask_problem(mask_shape, dims=DIMS, rank=3, axes=(1,)):
    return geometry.attention_mask_problem(LAYER, mask_shape, rank, axes, 2, dims)


@pytest.mark.parametrize(
    "mask_shape",
    [(3, 4, 5), (4, 5), (3, 1, 5), (3, 2, 4, 5), (1, 1, 5), (4, 1), (1, 2, 1, 5), (None, 4, 5)],
)
def test_attention_mask_problem_accepts_broadcasting_forms(mask_shape):
    assert _mask_problem(mask_shape) is None


@pytest.mark.parametrize(
    ("mask_shape", "fragments"),
    [
        ((6, 4, 5), ("axis 0 (B)", "(B, H, T, S) = (3, 2, 4, 5)", "received (6, 4, 5)")),
        ((3, 3, 4, 5), ("axis 1 (H)",)),
        ((3, 5), ("(B, S) padding mask", "`value_mask=`")),
        ((3, 5, 4), ("look swapped", "transpose")),
        ((5,), ("rank 1",)),
        ((1, 3, 2, 4, 5), ("rank 5",)),
    ],
    ids=["batch", "heads", "padding", "transposed", "rank 1", "rank 5"],
)
def test_attention_mask_problem_names_the_mistake(mask_shape, fragments):
    problem = _mask_problem(mask_shape)
    assert problem is not None, f"{mask_shape} accepted"
    message = problem.message()
    for fragment in (f"Layer `{LAYER}`, argument `attention_mask`", *fragments, "Fix: "):
        assert fragment in message, f"{fragment!r} missing from:\n{message}"


def test_attention_mask_problem_with_several_attention_axes():
    dims = {"query": (3, 6, 4, 14), "value": (3, 7, 5, 9)}
    assert _mask_problem((3, 2, 6, 4, 7, 5), dims, rank=4, axes=(1, 2)) is None
    problem = _mask_problem((3, 2, 6, 4, 5, 7), dims, rank=4, axes=(1, 2))
    assert problem is not None and "(B, H, T1, T2, S1, S2)" in problem.message()


def test_projection_weight_shapes_follow_the_head_geometry():
    dims = geometry.HeadDims(num_heads=6, num_key_value_heads=2, key_dim=5, value_dim=3)
    widths = {"query": 24, "key": 12, "value": 20}
    shapes = geometry.projection_weight_shapes(widths, dims, (4, 2), use_bias=True, use_gate=True)
    assert shapes == {
        "query": ((24, 6, 5), (6, 5)),
        "key": ((12, 2, 5), (2, 5)),
        "gate": ((24, 6, 3), (6, 3)),
        "value": ((20, 2, 3), (2, 3)),
        "attention_output": ((6, 3, 4, 2), (4, 2)),
    }
    no_bias = geometry.projection_weight_shapes(widths, dims, (24,), use_bias=False)
    assert list(no_bias) == ["query", "key", "value", "attention_output"]
    assert all(bias is None for _, bias in no_bias.values())
    assert geometry.projection_params(no_bias) == 24 * 30 + 12 * 10 + 20 * 6 + 18 * 24
    assert geometry.projection_params(shapes) == 720 + 30 + 120 + 10 + 432 + 18 + 120 + 6 + 144 + 8
