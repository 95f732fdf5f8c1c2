"""The position-keeping JSON layer: pointers, key vs value positions, duplicates, limits."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kmha_lint.api import lint_text
from kmha_lint.jsonsource import Malformed, SourceMap, TooDeep, loads, parse, pointer_of

TEXT = """{
  "config": {
    "a/b": [10, {"~k": "v"}],
    "n": null
  }
}"""


def test_positions_of_values_and_keys_are_one_based():
    source = SourceMap(TEXT)
    assert source.position("") == (1, 1)
    assert source.position("/config/n") == (4, 10)
    assert source.position("/config/n", at_key=True) == (4, 5)
    assert source.position(pointer_of("config", "a/b", 1, "~k")) == (3, 24)
    assert pointer_of("config", "a/b", 1, "~k") == "/config/a~1b/1/~0k"


def test_missing_member_falls_back_to_nearest_ancestor():
    assert SourceMap(TEXT).position("/config/missing/deeper") == (2, 13)


def test_duplicate_keys_are_found_with_both_positions():
    text = '{"layer": {"num_heads": 8,\n  "num_heads": 6}}'
    parsed = parse(text)
    assert parsed.has_duplicate_keys and parsed.value == {"layer": {"num_heads": 6}}
    (dup,) = SourceMap(text).duplicates()
    assert dup.pointer == "/layer/num_heads"
    source = SourceMap(text)
    assert source.line_column(dup.offset) == (2, 3)
    assert source.line_column(dup.first_offset) == (1, 12)


def test_malformed_json_reports_its_position():
    with pytest.raises(Malformed) as caught:
        parse('{\n  "units": 4,\n}')
    assert (caught.value.line, caught.value.column) == (3, 1)
    (finding,) = lint_text('{\n  "units": 4,\n}', "m.json")
    assert (finding.code, finding.line, finding.column) == ("KMHA001", 3, 1)
    assert "Expecting property name" in finding.message
    for blank in ("", " \n"):
        (finding,) = lint_text(blank, "m.json")
        assert finding.code == "KMHA001" and finding.message == "Invalid JSON: the input is empty."


def test_too_deep_and_too_large():
    with pytest.raises(TooDeep):
        parse("[" * 5000 + "]" * 5000)
    (finding,) = lint_text("[" * 5000 + "]" * 5000)
    assert finding.code == "KMHA003" and "nests deeper than the parser allows" in finding.message
    (finding,) = lint_text('{"class_name": "Sequential"}', max_bytes=10)
    assert finding.code == "KMHA003" and "above the limit of 10 bytes" in finding.message


def test_escaped_keys_and_unicode_columns():
    text = '{"caf\\u00e9": {"\\"q\\"": 1}, "é": [true, false, 2.5e3]}'
    source = SourceMap(text)
    assert source.position('/café/"q"') == (1, 25)
    assert source.position("/é/2") == (1, 48)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(json_values, st.sampled_from([None, 1, 2]))
def test_every_pointer_locates_its_own_value(value, indent):
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    source = SourceMap(text)
    lines = text.split("\n")

    def walk(node, pointer):
        line, column = source.position(pointer)
        rest = "\n".join([lines[line - 1][column - 1 :], *lines[line:]])
        decoded, _ = json.JSONDecoder().raw_decode(rest)
        assert decoded == node
        children = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else []
        )
        for key, child in children:
            walk(child, pointer + pointer_of(key))

    walk(value, "")


def _reference(text: str, **hooks):
    """What json.loads says: the value (as its repr, so that NaN equals NaN), or (message,
    line, column) of its error."""
    try:
        return "value", repr(json.loads(text, **hooks))
    except json.JSONDecodeError as error:
        return "error", (error.msg, error.lineno, error.colno)
    except ValueError as error:
        return "ValueError", str(error)


def _ours(text: str, **hooks):
    try:
        return "value", repr(loads(text, **hooks))
    except Malformed as error:
        return "error", (error.reason, error.line, error.column)
    except ValueError as error:
        return "ValueError", str(error)


# Texts near JSON: fragments of valid documents, glued, cut and salted with stray
# characters, so that every error json can report (and every position) comes up.
JSONISH = st.one_of(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=8,
    ).map(lambda v: json.dumps(v, indent=1)),
    st.text(alphabet=' \t\n\r{}[]:,"\\0123456789-+.eEtrufalsnNIy\ufeff\x01é', max_size=30),
)


@settings(max_examples=600, deadline=None)
@given(JSONISH, st.integers(0, 40), st.integers(0, 40), st.text(max_size=3))
def test_loads_says_what_json_loads_says(text, cut, at, salt):
    """kmha_lint.jsonsource.loads calls the C parser without the json package: its value,
    error message, line and column equal json.loads's on valid, cut and salted texts."""
    for variant in (text, text[:cut], text[:at] + salt + text[at:], text + salt):
        assert _ours(variant) == _reference(variant), variant


def test_loads_hooks_and_limits_match_json_loads():
    pairs = []
    text = '{"a": 1, "a": [NaN, -Infinity, 2.5], "b": {"c": 3}}'

    def hook(items):
        pairs.append(items)
        return dict(items)

    assert _ours(text, object_pairs_hook=hook) == _reference(text)
    assert pairs[0] == [("c", 3)] and len(pairs) == 2
    assert _ours("7" * 5000) == _reference("7" * 5000)  # ValueError: too many digits
    assert _ours(" 12 ", parse_int=lambda d: -int(d)) == ("value", "-12")
    assert _ours("\ufeff{}") == _reference("\ufeff{}")  # the BOM error, from json itself
    with pytest.raises(RecursionError):
        loads("[" * 100_000 + "]" * 100_000)


def test_loads_without_the_c_scanner_uses_json(monkeypatch):
    import kmha_lint.jsonsource as source

    monkeypatch.setattr(source, "_c_scanner", None)
    for text in ('{"a": [1, 2]}', '{"a": }', "[1] x", ""):
        assert _ours(text) == _reference(text)
