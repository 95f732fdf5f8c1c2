"""Every shape mistake raises kmha.ShapeError naming layer, argument, axis, expected,
received and a fix, in each way a layer is used:

- eager on a fresh layer (the check runs in `build`) and on a built one (in `call`);
- symbolic, with `keras.Input`s of concrete shapes (the check runs in
  `compute_output_spec`, so a model fails when it is defined, not when it first runs);
- `tf.function` with an input_signature whose batch and sequence dims are None: mistakes
  that only show at run time raise tf.errors.InvalidArgumentError with the same message;
  the rest are still ShapeErrors, raised while tracing.

Sizes: B=3, T=4, S=5, H=2, query width 14 (key_dim derived: 7), value 9, key 11.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field

import keras
import numpy as np
import pytest
import tensorflow as tf
from reference import as_scores_mask, attention, projection_weights, random_mask

import kmha
from kmha import ShapeError

B, T, S, H = 3, 4, 5, 2
DQ, DV, DK = 14, 9, 11
NAME = "attn"
GOOD = {"query": (B, T, DQ), "value": (B, S, DV), "key": (B, S, DK)}
FEATURES = ("query", "value", "key")
MASK_FORMS = "(B, H, T, S), e.g. (B, T, S), (T, S) or (B, 1, S)"


@dataclass(frozen=True, eq=False)  # hashed by identity: cached per case
class Case:
    """One mistake: the argument shapes that differ from GOOD and what the message says.

    ``dynamic``: with None batch/sequence dims the mistake is only visible at run time.
    ``after_build``: the mistake is a change from the shapes the layer was built with.
    ``graph_fragments``: where the run-time message may word sizes differently.
    """

    id: str
    shapes: dict[str, tuple[int, ...]]
    fragments: tuple[str, ...]
    argument: str
    layer: tuple[tuple[str, object], ...] = ()
    dynamic: bool = True
    after_build: bool = False
    graph_fragments: tuple[str, ...] | None = None
    base: dict[str, tuple[int, ...]] = field(default_factory=lambda: GOOD)

    def all_shapes(self) -> dict[str, tuple[int, ...]]:
        return {**self.base, **self.shapes}


RANK4 = {"query": (B, 6, T, DQ), "value": (B, 6, S, DV), "key": (B, 6, S, DK)}

CASES = [
    Case(
        "query rank 2",
        {"query": (B, DQ)},
        ("rank >= 3", "received rank 2", "Fix: add a sequence axis"),
        "query",
        dynamic=False,
    ),
    Case(
        "value rank 4",
        {"value": (B, 1, S, DV)},
        ("rank 3, like `query`", "received rank 4", "Fix: give query, value and key the same rank"),
        "value",
        dynamic=False,
    ),
    Case("key rank 2", {"key": (B, DK)}, ("received rank 2",), "key", dynamic=False),
    Case(
        "value batch",
        {"value": (6, S, DV)},
        ("axis 0 (batch)", "Expected 3; received 6", "Fix: give query, value and key the same"),
        "value",
    ),
    Case("key batch", {"key": (6, S, DK)}, ("axis 0 (batch)", "Expected 3; received 6"), "key"),
    Case(
        "key vs value sequence",
        {"key": (B, 6, DK)},
        ("axis 1 (sequence)", "axis 1 of `value`", "Expected 5; received 6", "each key position"),
        "key",
    ),
    Case(
        "query_mask batch",
        {"query_mask": (6, T)},
        ("axis 0 (batch)", "Expected 3; received 6", "Fix: pass a mask shaped like `query`"),
        "query_mask",
    ),
    Case(
        "query_mask length",
        {"query_mask": (B, S)},
        ("axis 1 (sequence)", "Expected 4; received 5"),
        "query_mask",
    ),
    Case(
        "value_mask batch",
        {"value_mask": (6, S)},
        ("axis 0 (batch)", "Expected 3; received 6"),
        "value_mask",
    ),
    Case(
        "value_mask length",
        {"value_mask": (B, T)},
        ("axis 1 (sequence)", "Expected 5; received 4", "shaped like `value`"),
        "value_mask",
    ),
    Case(
        "key_mask batch",
        {"key_mask": (6, S)},
        ("axis 0 (batch)", "Expected 3; received 6"),
        "key_mask",
    ),
    Case(
        "key_mask length",
        {"key_mask": (B, 6)},
        ("axis 1 (sequence)", "Expected 5; received 6", "shaped like `key`"),
        "key_mask",
    ),
    Case(
        "query_mask rank",
        {"query_mask": (B, T, 1)},
        ("mask rank does not match `query`", "rank 2", "received rank 3", "attention_mask"),
        "query_mask",
        dynamic=False,
    ),
    Case(
        "attention_mask batch",
        {"attention_mask": (6, T, S)},
        ("axis 0 (B)", "(B, H, T, S) = (3, 2, 4, 5)", "received (6, 4, 5)", MASK_FORMS),
        "attention_mask",
    ),
    Case(
        "attention_mask heads",
        {"attention_mask": (B, H + 1, T, S)},
        ("axis 1 (H)", "(B, H, T, S) = (3, 2, 4, 5)", "received (3, 3, 4, 5)", MASK_FORMS),
        "attention_mask",
    ),
    Case(
        "attention_mask key length",
        {"attention_mask": (B, T, 6)},
        ("axis 2 (S)", "received (3, 4, 6)", MASK_FORMS),
        "attention_mask",
    ),
    Case(
        "attention_mask transposed (B,S,T)",
        {"attention_mask": (B, S, T)},
        ("look swapped", "received (3, 5, 4)", "transpose the last two axes of the mask"),
        "attention_mask",
    ),
    Case(
        "attention_mask transposed (S,T)",
        {"attention_mask": (S, T)},
        ("look swapped", "received (5, 4)", "transpose the last two axes of the mask"),
        "attention_mask",
    ),
    Case(
        "padding mask as attention_mask",
        {"attention_mask": (B, S)},
        ("looks like a (B, S) padding mask", "received (3, 5)", "as `value_mask=`"),
        "attention_mask",
    ),
    Case(
        "attention_mask rank 5",
        {"attention_mask": (B, 1, H, T, S)},
        ("attention_mask has rank 5", "received (3, 1, 2, 4, 5)", MASK_FORMS),
        "attention_mask",
        dynamic=False,
        graph_fragments=("attention_mask has rank 5", MASK_FORMS),
    ),
    Case(
        "attention_mask rank 1",
        {"attention_mask": (S,)},
        ("attention_mask has rank 1", MASK_FORMS),
        "attention_mask",
        dynamic=False,
    ),
    Case(
        "rank after build",
        RANK4,
        ("built for", "Expected rank 3; received rank 4", "build a new layer for rank-4"),
        "query",
        dynamic=False,
        after_build=True,
    ),
    Case(
        "query width after build",
        {"query": (B, T, 16)},
        ("axis 2 (features)", "built for", "Expected 14; received 16", "build a new layer"),
        "query",
        dynamic=False,
        after_build=True,
    ),
    Case(
        "value width after build",
        {"value": (B, S, 8)},
        ("axis 2 (features)", "Expected 9; received 8", "Fix: feed `value` with 9 features"),
        "value",
        dynamic=False,
        after_build=True,
    ),
    Case(
        "key width after build",
        {"key": (B, S, 12)},
        ("axis 2 (features)", "Expected 11; received 12", "Fix: feed `key` with 11 features"),
        "key",
        dynamic=False,
        after_build=True,
    ),
    Case(
        "d_model",
        {},
        ("axis -1 (features)", "Expected d_model=16; received 14", "set d_model=14"),
        "query",
        layer=(("d_model", 16),),
        dynamic=False,
    ),
    Case(
        "width not divisible by num_heads",
        {},
        (
            "query width 14 is not divisible",
            "received 3",
            "use num_heads in 1, 2, 7, 14",
            "key_dim",
        ),
        "num_heads",
        layer=(("num_heads", 3),),
        dynamic=False,
    ),
    Case(
        "d_model not divisible by num_heads",
        {"query": (B, T, 10)},
        ("width 10 is not divisible", "received 4", "use num_heads in 1, 2, 5, 10"),
        "num_heads",
        layer=(("num_heads", 4), ("d_model", 10)),
        dynamic=False,
    ),
    Case(
        "attention_axes out of range",
        {},
        ("5, outside an input of rank 3", "Expected axis 1 (or -2)", "attention_axes=1 or None"),
        "attention_axes",
        layer=(("attention_axes", 5),),
        dynamic=False,
    ),
    Case(
        "attention_axes batch",
        {},
        ("0, the batch axis",),
        "attention_axes",
        layer=(("attention_axes", 0),),
        dynamic=False,
    ),
    Case(
        "attention_axes feature",
        {},
        ("-1, the feature axis",),
        "attention_axes",
        layer=(("attention_axes", -1),),
        dynamic=False,
    ),
    Case(
        "attention_axes feature rank 4",
        {},
        ("3, the feature axis", "axes 1..2 (or -3..-2)"),
        "attention_axes",
        layer=(("attention_axes", (1, 3)),),
        dynamic=False,
        base=RANK4,
    ),
    Case(
        "rank 4 non-attended axis",
        {"value": (B, 7, S, DV), "key": (B, 7, S, DK)},
        ("axis 1 (not attended)", "Expected 6; received 7", "attention_axes"),
        "value",
        layer=(("attention_axes", (2,)),),
        base=RANK4,
    ),
]
CASE_IDS = [case.id for case in CASES]


def _layer_kwargs(case: Case) -> dict:
    return {"num_heads": H, "name": NAME, **dict(case.layer)}


@functools.cache
def _built_layer(layer_items: tuple, base_items: tuple) -> kmha.MultiHeadAttention:
    """A layer built eagerly with good shapes, shared by the cases that need one."""
    layer = kmha.MultiHeadAttention(**{"num_heads": H, "name": NAME, **dict(layer_items)})
    layer(**_arrays(dict(base_items)))
    return layer


def _arrays(shapes: dict) -> dict:
    rng = np.random.default_rng(0)
    return {
        name: rng.normal(size=shape).astype("float32") if name in FEATURES else np.ones(shape, bool)
        for name, shape in shapes.items()
    }


def _builds_with_good_shapes(case: Case) -> bool:
    """Whether a layer with this case's config can be built from the case's base shapes
    (not when the config itself is the mistake)."""
    return case.layer == () or case.id == "rank 4 non-attended axis"


def _layer_for(case: Case, built: bool) -> kmha.MultiHeadAttention:
    if built:
        return _built_layer(case.layer, tuple(case.base.items()))
    return kmha.MultiHeadAttention(**_layer_kwargs(case))


def _check_message(error: Exception, fragments, case: Case) -> None:
    message = str(error.message if isinstance(error, tf.errors.OpError) else error)
    head = f"Layer `{NAME}`, argument `{case.argument}`"
    for expected in (head, "Expected", "received", "Fix: ", *fragments):
        assert expected in message, f"{expected!r} missing from the message:\n{message}"
    if isinstance(error, ShapeError):
        assert (error.layer, error.argument) == (NAME, case.argument)


def _mode_params():
    params = []
    for case in CASES:
        modes = ["eager built", "symbolic built"] if case.after_build else ["eager", "symbolic"]
        if not case.after_build and _builds_with_good_shapes(case):
            modes.append("eager built")
        modes.append("graph")
        params += [pytest.param(case, mode, id=f"{case.id}-{mode}") for mode in modes]
    return params


@pytest.mark.parametrize(("case", "mode"), _mode_params())
def test_mistake_is_named(case: Case, mode: str):
    shapes = case.all_shapes()
    if mode == "graph":
        _check_graph(case, shapes)
        return
    layer = _layer_for(case, built=mode.endswith("built"))
    if mode.startswith("eager"):
        inputs = _arrays(shapes)
    else:
        inputs = {
            name: keras.Input(batch_shape=shape, dtype="float32" if name in FEATURES else "bool")
            for name, shape in shapes.items()
        }
    with pytest.raises(ShapeError) as caught:
        layer(**inputs)
    _check_message(caught.value, case.fragments, case)


def _signature_shape(name: str, shape: tuple[int, ...]) -> tuple[int | None, ...]:
    """None everywhere but the feature axis of query, value and key."""
    if name in FEATURES:
        return (None,) * (len(shape) - 1) + (shape[-1],)
    return (None,) * len(shape)


@functools.cache
def _graph_function(case: Case):
    """A tf.function over every argument the case passes, with None batch/sequence dims.

    Cached per case structure, so that the dynamic cases trace once each."""
    layer = _layer_for(case, built=_builds_with_good_shapes(case))
    shapes = case.all_shapes()
    names = list(shapes)
    signature = [
        tf.TensorSpec(_signature_shape(n, shapes[n]), "float32" if n in FEATURES else "bool")
        for n in names
    ]

    @tf.function(input_signature=signature)
    def run(*tensors):
        return layer(**dict(zip(names, tensors, strict=True)))

    return run, names


def _check_graph(case: Case, shapes: dict) -> None:
    fragments = case.graph_fragments or case.fragments
    arrays = _arrays(shapes)
    if not case.dynamic:
        with pytest.raises(ShapeError) as caught:
            run, names = _graph_function(case)
            run(*(arrays[n] for n in names))
        _check_message(caught.value, fragments, case)
        return
    run, names = _graph_function(case)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        run(*(arrays[n] for n in names))
    _check_message(caught.value, fragments, case)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.dynamic and not c.graph_fragments],
    ids=lambda c: c.id,
)
def test_graph_message_equals_eager_message(case: Case):
    arrays = _arrays(case.all_shapes())
    with pytest.raises(ShapeError) as eager:
        kmha.MultiHeadAttention(**_layer_kwargs(case))(**arrays)
    run, names = _graph_function(case)
    with pytest.raises(tf.errors.InvalidArgumentError) as graph:
        run(*(arrays[n] for n in names))
    assert str(eager.value) in graph.value.message, (
        f"graph message differs from eager:\n{graph.value.message}\n{eager.value}"
    )


ACCEPTED_MASKS = [(B, T, S), (T, S), (B, 1, S), (B, H, T, S), (1, 1, S), (B, 1, 1, S), (T, 1)]


def test_accepted_attention_mask_forms_mean_their_broadcast():
    layer = _built_layer((), tuple(GOOD.items()))
    inputs = _arrays(GOOD)
    weights = projection_weights(layer)
    rng = np.random.default_rng(1)
    for shape in ACCEPTED_MASKS:
        mask = random_mask(rng, shape)
        broadcast = np.broadcast_to(as_scores_mask(mask), (B, H, T, S))
        want, _ = attention(
            weights, **{k: v.astype("float64") for k, v in inputs.items()}, attention_mask=broadcast
        )
        got = layer(**inputs, attention_mask=mask)
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=f"attention_mask {shape}")
        symbolic = layer(
            keras.Input(batch_shape=GOOD["query"]),
            keras.Input(batch_shape=GOOD["value"]),
            keras.Input(batch_shape=GOOD["key"]),
            attention_mask=keras.Input(batch_shape=shape, dtype="bool"),
        )
        assert tuple(symbolic.shape) == (B, T, DQ), f"attention_mask {shape}"


def test_two_dimensional_mask_that_may_be_padding_warns_when_batch_equals_t():
    """(T, S) and a (B, S) padding mask look alike when B == T: read as (T, S), with a
    warning that says how to pass either one unambiguously."""
    shapes = {"query": (T, T, DQ), "value": (T, S, DV)}  # batch size T
    layer = kmha.MultiHeadAttention(num_heads=H, name=NAME)
    symbolic = {n: keras.Input(batch_shape=shape) for n, shape in shapes.items()}
    for inputs, mask in ((_arrays(shapes), np.ones((T, S), bool)), (symbolic, None)):
        mask = keras.Input(batch_shape=(T, S), dtype="bool") if mask is None else mask
        with pytest.warns(UserWarning) as caught:
            layer(**inputs, attention_mask=mask)
        message = "\n".join(str(w.message) for w in caught)
        for fragment in (
            f"Layer `{NAME}`, argument `attention_mask`",
            f"the mask ({T}, {S}) is read as (T, S)",
            f"the batch size equals T ({T})",
            "pass it as `value_mask=`",
            "pass it as (1, T, S)",
        ):
            assert fragment in message, message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(**_arrays(shapes), attention_mask=np.ones((1, T, S), bool))
        other_batch = {"query": GOOD["query"], "value": GOOD["value"]}  # B != T
        layer(**_arrays(other_batch), attention_mask=np.ones((T, S), bool))


def test_accepted_shapes_run_under_dynamic_graph():
    """No over-validation: distinct widths, T != S, every mask, None dims in the graph."""
    case = Case("masks", {"query_mask": (B, T), "attention_mask": (B, T, S)}, (), "")
    run, names = _graph_function(case)
    for batch, query_len, key_len in ((B, T, S), (2, 7, 3)):
        shapes = {
            "query": (batch, query_len, DQ),
            "value": (batch, key_len, DV),
            "key": (batch, key_len, DK),
            "query_mask": (batch, query_len),
            "attention_mask": (batch, query_len, key_len),
        }
        arrays = _arrays(shapes)
        output = run(*(arrays[n] for n in names))
        assert tuple(output.shape) == (batch, query_len, DQ)


@pytest.mark.parametrize("mode", ["eager", "symbolic", "graph"])
@pytest.mark.parametrize("argument", ["use_causal_mask", "sliding_window"])
def test_position_masks_need_one_attention_axis(argument, mode):
    window = {"sliding_window": 2} if argument == "sliding_window" else {}
    layer = kmha.MultiHeadAttention(num_heads=H, attention_axes=(1, 2), name=NAME, **window)
    causal = {"use_causal_mask": True} if argument == "use_causal_mask" else {}
    arrays = _arrays({"query": RANK4["query"], "value": RANK4["value"]})
    with pytest.raises(ShapeError) as caught:
        if mode == "eager":
            layer(**arrays, **causal)
        elif mode == "symbolic":  # the model fails when it is defined
            layer(*(keras.Input(batch_shape=a.shape) for a in arrays.values()), **causal)
        else:
            spec = [tf.TensorSpec((None, None, None, a.shape[-1])) for a in arrays.values()]
            tf.function(lambda q, v: layer(q, v, **causal), input_signature=spec)(*arrays.values())
    message = str(caught.value)
    for fragment in (
        f"argument `{argument}`",
        f"{argument} needs a single attention axis",
        "received attention_axes=(1, 2)",
        "Fix: attend over one axis",
    ):
        assert fragment in message, message


SIZE_ARGUMENTS = ["num_heads", "key_dim", "value_dim", "d_model", "num_key_value_heads"]


@pytest.mark.parametrize("argument", [*SIZE_ARGUMENTS, "sliding_window"])
@pytest.mark.parametrize(
    ("value", "received", "fix"),
    [
        (0, "received 0 (int)", ">= 1"),
        (-2, "received -2 (int)", ">= 1"),
        (True, "received True (bool)", "as an int"),
        (2.0, "received 2.0 (float)", "as an int"),
        ("2", "received '2' (str)", "as an int"),
    ],
    ids=["zero", "negative", "bool", "float", "str"],
)
def test_invalid_sizes_rejected_at_construction(argument, value, received, fix):
    kwargs = {"num_heads": 2, argument: value}
    with pytest.raises(ShapeError) as caught:
        kmha.MultiHeadAttention(name=NAME, **kwargs)
    message = str(caught.value)
    for fragment in (f"Layer `{NAME}`, argument `{argument}`", "positive integer", received, fix):
        assert fragment in message, f"{fragment!r} missing from:\n{message}"


@pytest.mark.parametrize(
    ("output_shape", "received"),
    [
        (0, "received 0 (int)"),
        ((4, 0), "received 0 (int)"),
        (True, "received True"),
        (2.0, "received 2.0"),
        ("8", "received '8'"),
        ((), "received ()"),
        ((4, 2.0), "argument `output_shape`, axis 1: Invalid `output_shape`: invalid size"),
        ((4, 0), "received 0 (int) in (4, 0)"),
    ],
    ids=str,
)
def test_invalid_output_shape_rejected_at_construction(output_shape, received):
    with pytest.raises(ShapeError) as caught:
        kmha.MultiHeadAttention(num_heads=2, output_shape=output_shape, name=NAME)
    message = str(caught.value)
    for fragment in (f"Layer `{NAME}`, argument `output_shape`", "positive int", received, "Fix: "):
        assert fragment in message, f"{fragment!r} missing from:\n{message}"


def test_numpy_integers_accepted():
    layer = kmha.MultiHeadAttention(
        num_heads=np.int64(4),
        key_dim=np.int32(3),
        value_dim=np.int16(5),
        d_model=np.int64(DQ),
        num_key_value_heads=np.int64(2),
        sliding_window=np.int64(3),
        output_shape=np.int64(6),
        attention_axes=np.int64(1),
        dropout=np.float32(0.25),
    )
    config = layer.get_config()
    for key in ("num_heads", "key_dim", "value_dim", "d_model", "num_key_value_heads"):
        assert type(config[key]) is int, f"{key} stored as {type(config[key]).__name__}"
    output = layer(**_arrays(GOOD))
    assert tuple(output.shape) == (B, T, 6)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, True, "0.1", None])
def test_dropout_outside_unit_interval_rejected(rate):
    with pytest.raises(ShapeError) as caught:
        kmha.MultiHeadAttention(num_heads=2, dropout=rate, name=NAME)
    message = str(caught.value)
    for fragment in ("argument `dropout`", "a float in [0, 1)", repr(rate), "Fix: "):
        assert fragment in message, f"{fragment!r} missing from:\n{message}"


def test_key_value_heads_must_divide_num_heads():
    with pytest.raises(ShapeError) as caught:
        kmha.MultiHeadAttention(num_heads=6, num_key_value_heads=4, name=NAME)
    message = str(caught.value)
    for fragment in (
        "argument `num_key_value_heads`",
        "a divisor of num_heads=6",
        "received 4",
        "use num_key_value_heads in 1, 2, 3, 6",
    ):
        assert fragment in message, f"{fragment!r} missing from:\n{message}"


@pytest.mark.parametrize("axes", ["1", 1.5, (1, "2"), True])
def test_attention_axes_type_rejected_at_construction(axes):
    with pytest.raises(ShapeError) as caught:
        kmha.MultiHeadAttention(num_heads=2, attention_axes=axes, name=NAME)
    message = str(caught.value)
    assert "argument `attention_axes`" in message and repr(axes) in message, message
