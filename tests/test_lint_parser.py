"""The position-keeping JSON layer: pointers, key vs value positions, duplicates, limits."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kmha_lint.api import lint_text
from kmha_lint.jsonsource import Malformed, SourceMap, TooDeep, parse, pointer_of

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
