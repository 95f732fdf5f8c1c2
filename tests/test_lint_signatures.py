"""Custom-layer shape declarations (kmha_lint.signatures): parsing, arithmetic, matching.

Sizes are distinct in every case (batch 3, tokens 16, features 192, width 64...) so that an
axis read from the wrong place cannot pass.
"""

from __future__ import annotations

import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kmha_lint.geometry import is_int
from kmha_lint.signatures import (
    Declaration,
    SignatureError,
    Unfit,
    evaluate,
    match,
    parse_condition,
    parse_expression,
    parse_pattern,
    read_declarations,
)


def declare(origin: str = "kmha-lint.toml", **entries) -> dict[str, Declaration]:
    return read_declarations({f"pkg>{k}": v for k, v in entries.items()}, origin)


PATCH_ENCODER = {
    "inputs": ["batch, num_patches, features"],
    "output": "batch, num_patches, projection_dim",
    "params": "(features + 1) * projection_dim + num_patches * projection_dim",
}
PATCHES = {
    "inputs": ["batch, height, width, channels"],
    "output": "batch, (height // size) * (width // size), size * size * channels",
}


# -- parsing ---------------------------------------------------------------------------------


def test_expressions_follow_arithmetic_precedence():
    env = {("a", None): 7, ("b", None): 3, ("c", 1): 5}

    def value(text):
        return evaluate(parse_expression(text), lambda name, index: env.get((name, index)))

    assert value("a + b * 2") == 13
    assert value("(a + b) * 2") == 20
    assert value("a - b - 1") == 3  # left to right
    assert value("a // b * b + a % b") == 7
    assert value("-a + c[1]") == -2
    assert value("--a") == 7
    assert value("a // (b - 3)") is None  # a division by zero is unknown, not an error
    assert value("a * missing") is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("a +", "expected more in 'a +', found the end"),
        ("a $ b", "unexpected '$' in 'a $ b'"),
        ("(a + b", "expected ')' in '(a + b', found the end"),
        ("a b", "unexpected 'b' in 'a b'"),
        ("a[b]", "an index must be an integer in 'a[b]'"),
        ("a[1", "expected ']' in 'a[1', found the end"),
        ("a" * 1001, "longer than 1000 characters"),
        ("* a", "unexpected '*' in '* a'"),
    ],
)
def test_bad_expressions_say_what_is_wrong(text, message):
    with pytest.raises(SignatureError) as raised:
        parse_expression(text)
    assert str(raised.value) == message


def test_patterns_and_conditions():
    pattern = parse_pattern(" batch , ..., 2 * width ")
    assert pattern.parts == ("batch", "...", "2 * width") and pattern.ellipsis == 1
    assert parse_pattern("").axes == ()  # a scalar
    with pytest.raises(SignatureError, match=r"`\.\.\.` more than once in '\.\.\., \.\.\.'"):
        parse_pattern("..., ...")
    with pytest.raises(SignatureError, match="an empty axis in 'a, , b'"):
        parse_pattern("a, , b")
    condition = parse_condition("length <= sequence_length")
    assert condition.operator == "<="
    with pytest.raises(SignatureError) as raised:
        parse_condition("a + b")
    assert str(raised.value) == "expected one of == != <= >= < > in 'a + b'"
    with pytest.raises(SignatureError, match="unexpected '<' in 'a < b < c'"):
        parse_condition("a < b < c")


@pytest.mark.parametrize(
    "entry, message",
    [
        ("a shape", "'pkg>L': expected a table with `inputs` and `output`"),
        ({"output": "a"}, "'pkg>L': give `inputs` (a list of shapes) and one of `output`"),
        ({"inputs": ["a"], "output": "a", "outputs": ["a"]}, "one of `output` or `outputs`"),
        ({"inputs": "a", "output": "a"}, "'pkg>L': `inputs` must be a list of strings, got 'a'"),
        ({"inputs": ["a"], "output": "a", "shape": 1}, "unknown key(s) ['shape']; known:"),
        ({"inputs": ["a"], "output": "a +"}, "'pkg>L': expected more in 'a +', found the end, an"),
        ({"inputs": ["a"], "output": "a", "params": 3}, "`params` must be a string, got 3"),
        ({"inputs": ["a"], "output": "a", "where": ["a"]}, "expected one of =="),
        ({"inputs": ["a"], "output": "..., a"}, "an output uses `...` but no input does"),
        ({"inputs": ["a"], "outputs": []}, "'pkg>L': `outputs` is empty"),
    ],
)
def test_bad_declarations_name_the_entry_and_the_mistake(entry, message):
    with pytest.raises(SignatureError) as raised:
        declare(L=entry)
    assert message in str(raised.value)


def test_declarations_are_not_tables():
    with pytest.raises(SignatureError, match="expected a table of class name"):
        read_declarations(["pkg>L"], None)


# -- arithmetic, against Python's ------------------------------------------------------------

_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_OPERATORS.update({"//": operator.floordiv, "%": operator.mod})


@st.composite
def expressions(draw, depth=0):
    """(text, value by Python's own arithmetic, or None where a divisor is zero)."""
    kind = draw(st.sampled_from(["int", "name", "neg", "op"] if depth < 4 else ["int", "name"]))
    if kind == "int":
        value = draw(st.integers(0, 50))
        return str(value), value
    if kind == "name":
        name = draw(st.sampled_from(["a", "b", "c"]))
        return name, {"a": 7, "b": 3, "c": 12}[name]
    if kind == "neg":
        text, value = draw(expressions(depth + 1))
        return f"-({text})", None if value is None else -value
    symbol = draw(st.sampled_from(sorted(_OPERATORS)))
    (left, x), (right, y) = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    if x is None or y is None or (symbol in ("//", "%") and y == 0):
        return f"({left}) {symbol} ({right})", None
    return f"({left}) {symbol} ({right})", _OPERATORS[symbol](x, y)


@settings(max_examples=300, deadline=None)
@given(expressions())
def test_evaluation_equals_python_arithmetic(case):
    text, expected = case
    env = {"a": 7, "b": 3, "c": 12}
    got = evaluate(parse_expression(text), lambda name, index: env[name])
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab1_ ()[]+-*/%<=>!,.", max_size=30))
def test_any_text_parses_or_says_why(text):
    for parse in (parse_expression, parse_pattern, parse_condition):
        try:
            parse(text)
        except SignatureError as error:
            assert str(error)


# -- matching a call -------------------------------------------------------------------------


def test_config_values_and_bound_sizes_give_the_outputs_and_params():
    (encoder,) = declare(E=PATCH_ENCODER).values()
    found = match(encoder, [(None, 16, 192)], {"num_patches": 16, "projection_dim": 64})
    assert found.mismatches == [] and found.outputs == [(None, 16, 64)]
    assert found.value(encoder.params) == 193 * 64 + 16 * 64
    assert found.sources[("features", None)] == "input 0, axis 2"


def test_a_config_value_that_disagrees_with_the_input_is_a_mismatch():
    (encoder,) = declare(E=PATCH_ENCODER).values()
    found = match(encoder, [(3, 16, 192)], {"num_patches": 17, "projection_dim": 64})
    (mismatch,) = found.mismatches
    assert (mismatch.input, mismatch.axis) == (0, 1)
    assert mismatch.expected == "17 (`num_patches` in its config)"
    assert mismatch.received == "16"
    assert found.outputs is None  # nothing is followed past a mismatch


def test_expressions_compute_outputs_and_unknown_stays_unknown():
    (patches,) = declare(P=PATCHES).values()
    assert match(patches, [(3, 32, 48, 5)], {"size": 8}).outputs == [(3, 24, 320)]
    assert match(patches, [(3, None, 48, 5)], {"size": 8}).outputs == [(3, None, 320)]
    assert match(patches, [None], {"size": 8}).outputs == [(None, None, None)]


def test_a_size_variable_must_agree_wherever_it_appears():
    (pair,) = declare(
        P={"inputs": ["batch, t, d", "batch, s, d"], "output": "batch, t, s"}
    ).values()
    assert match(pair, [(3, 5, 64), (3, 7, 64)], {}).outputs == [(3, 5, 7)]
    (mismatch,) = match(pair, [(3, 5, 64), (3, 7, 48)], {}).mismatches
    assert (mismatch.input, mismatch.axis) == (1, 2)
    assert mismatch.expected == "64 (`d`, as at input 0, axis 2)" and mismatch.received == "48"
    # An unknown size is bound by a later known one, and checked after that.
    assert match(pair, [(None, 5, None), (3, 7, 48)], {}).outputs == [(3, 5, 7)]


def test_expression_axes_of_inputs_are_checked_after_every_name_is_bound():
    (split,) = declare(S={"inputs": ["b, 2 * d", "b, d"], "output": "b, d"}).values()
    assert match(split, [(3, 128), (3, 64)], {}).mismatches == []
    (mismatch,) = match(split, [(3, 100), (3, 64)], {}).mismatches
    assert mismatch.expected == "128 (`2 * d`)" and mismatch.received == "100"


def test_ranks_with_and_without_an_ellipsis():
    (same,) = declare(S={"inputs": ["..."], "output": "..."}).values()
    assert match(same, [(3, 16, 64)], {}).outputs == [(3, 16, 64)]
    assert match(same, [()], {}).outputs == [()]
    (fixed,) = declare(F={"inputs": ["b, t, d"], "output": "b, t"}).values()
    (mismatch,) = match(fixed, [(3, 16, 64, 2)], {}).mismatches
    assert mismatch.expected == "rank 3 (`b, t, d`)" and mismatch.received == "rank 4"
    (tail,) = declare(T={"inputs": ["..., d, e"], "output": "..., e"}).values()
    assert match(tail, [(3, 16, 64, 5)], {}).outputs == [(3, 16, 5)]
    (mismatch,) = match(tail, [(64,)], {}).mismatches
    assert mismatch.expected == "rank >= 2 (`..., d, e`)"


def test_every_ellipsis_is_the_same_axes():
    (distance,) = declare(
        D={"inputs": ["..., width"] * 3, "outputs": ["...", "..."], "params": "0"}
    ).values()
    assert match(distance, [(3, 64)] * 3, {}).outputs == [(3,), (3,)]
    (mismatch,) = match(distance, [(3, 64), (5, 64), (3, 64)], {}).mismatches
    assert (mismatch.input, mismatch.axis) == (1, 0) and mismatch.received == "5"
    (mismatch,) = match(distance, [(3, 64), (3, 2, 64), (3, 64)], {}).mismatches
    assert mismatch.expected == "1 as before" and mismatch.received == "2 axes under `...`"


def test_conditions_hold_fail_or_are_unknown():
    (table,) = declare(
        T={"inputs": ["b, length, w"], "output": "b, length, w", "where": ["length <= rows"]}
    ).values()
    assert match(table, [(3, 16, 64)], {"rows": 16}).mismatches == []
    assert match(table, [(3, None, 64)], {"rows": 8}).mismatches == []
    (mismatch,) = match(table, [(3, 16, 64)], {"rows": 8}).mismatches
    assert mismatch.input is None and mismatch.condition.text == "length <= rows"
    assert mismatch.expected == (
        "`length <= rows` (length = 16, from input 0, axis 1; rows = 8, `rows` in its config)"
    )
    assert mismatch.received == "16 > 8"


def test_list_items_of_the_config():
    (tubelets,) = declare(
        T={
            "inputs": ["b, f, h, w, c"],
            "output": "b, (f // p[0]) * (h // p[1]) * (w // p[-1]), d",
        }
    ).values()
    found = match(tubelets, [(3, 8, 32, 48, 3)], {"p": [2, 8, 16], "d": 64})
    assert found.outputs == [(3, 4 * 4 * 3, 64)]


def test_a_negative_computed_size_is_unknown_and_a_null_config_value_too():
    (crop,) = declare(C={"inputs": ["b, t"], "output": "b, t - cut, width"}).values()
    assert match(crop, [(3, 5)], {"cut": 9, "width": None}).outputs == [(3, None, None)]


@pytest.mark.parametrize(
    "entry, config, shapes, expected, received",
    [
        (PATCH_ENCODER, {"num_patches": 16, "projection_dim": 64}, [(3, 16, 192)] * 2,
         "1 input tensor(s)", "2 in this call"),
        ({"inputs": ["b, t"], "output": "b, p[0]"}, {"p": 4}, [(3, 5)],
         "a list `p` of length >= 1 in its config (for `p[0]`)", "4"),
        ({"inputs": ["b, t"], "output": "b, p[-3]"}, {"p": [1, 2]}, [(3, 5)],
         "a list `p` of length >= 3 in its config (for `p[-3]`)", "[1, 2]"),
        ({"inputs": ["b, t"], "output": "b, q[0]"}, {}, [(3, 5)],
         "a list `q` in its config (for `q[0]`)", "no such key"),
        ({"inputs": ["b, t"], "output": "b, units"}, {"units": "64"}, [(3, 5)],
         "an integer `units` in its config", "'64'"),
        ({"inputs": ["b, t"], "output": "b, units"}, {"units": True}, [(3, 5)],
         "an integer `units` in its config", "True"),
        ({"inputs": ["b, t"], "output": "b, embed_dim"}, {"embedding_dim": 64}, [(3, 5)],
         "`embed_dim` to be a key of its config or an input axis", "neither"),
    ],
)  # fmt: skip
def test_a_declaration_that_does_not_fit_the_layer_is_unfit(
    entry, config, shapes, expected, received
):
    (declaration,) = declare(L=entry).values()
    with pytest.raises(Unfit) as raised:
        match(declaration, shapes, config)
    assert (raised.value.expected, raised.value.received) == (expected, received)


_AXES = st.sampled_from(["b", "t", "d", "_", "...", "2 * d", "t // k", "k", "p[1]", "7", "d - k"])
_SHAPES = st.one_of(st.none(), st.lists(st.one_of(st.none(), st.integers(0, 9)), max_size=5))
_CONFIG_VALUES = st.one_of(
    st.none(), st.integers(-3, 9), st.lists(st.integers(0, 9), max_size=3), st.text(max_size=2)
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.lists(_AXES, max_size=4), min_size=1, max_size=3),
    st.lists(st.lists(_AXES, max_size=4), min_size=1, max_size=2),
    st.lists(_SHAPES, min_size=1, max_size=3),
    st.fixed_dictionaries({}, optional={"k": _CONFIG_VALUES, "p": _CONFIG_VALUES}),
)
def test_matching_any_shapes_gives_a_match_or_says_why_the_declaration_does_not_fit(
    inputs, outputs, shapes, config
):
    entry = {"inputs": [", ".join(a) for a in inputs], "outputs": [", ".join(a) for a in outputs]}
    entry["where"] = ["t <= k"] if "k" in config else []
    try:
        (declaration,) = declare(L=entry).values()
    except SignatureError:
        return  # `...` twice, or only in an output
    shapes = [None if s is None else tuple(s) for s in shapes]
    try:
        found = match(declaration, shapes, config)
    except Unfit as unfit:
        assert unfit.expected and unfit.received
        return
    if found.mismatches:
        assert found.outputs is None
        assert all(m.expected and m.received for m in found.mismatches)
    else:
        assert len(found.outputs) == len(declaration.outputs)
        for shape in found.outputs:
            assert shape is None or all(d is None or (is_int(d) and d >= 0) for d in shape)


def test_deep_nesting_and_huge_values_are_bounded():
    with pytest.raises(SignatureError, match="nested more than 32 levels deep"):
        parse_expression("(" * 40 + "a" + ")" * 40)
    with pytest.raises(SignatureError, match="nested more than 32 levels deep"):
        parse_expression("-" * 40 + "a")
    assert evaluate(parse_expression("(" * 30 + "a" + ")" * 30), lambda n, i: 5) == 5
    (wide,) = declare(W={"inputs": ["b"], "output": "b, units, units * units"}).values()
    # A size beyond 2**62 (from the config or computed) is unknown, never a huge number.
    assert match(wide, [(3,)], {"units": 2**70}).outputs == [(3, None, None)]
    assert match(wide, [(3,)], {"units": 2**40}).outputs == [(3, 2**40, None)]
