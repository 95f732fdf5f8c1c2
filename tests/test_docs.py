"""The README and docs/: short, linked, and showing what the code really does.

The linter's console examples are checked where they are (test_lint_cli.py,
test_lint_custom_layers.py, test_lint_hparams_files.py), the rules page in
test_lint_rules.py, the quiet start in test_startup.py, the serving door in test_export.py.
Here: the README's size and test command, every link, the layer example, the settings example,
and the layer's messages shown in docs/layer.md.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from kmha_lint.settings import layer_from_table

import kmha

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 200


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def _section(text: str, heading: str) -> str:
    """The text under a heading (## or deeper), up to the next heading of its level."""
    level = heading.split(" ", 1)[0]
    body = text.split(f"\n{heading}\n", 1)[1]
    return re.split(rf"\n{level} ", body, maxsplit=1)[0]


def test_readme_is_short_and_its_test_command_is_ci():
    text = README.read_text()
    assert text.count("\n") <= MAX_README_LINES
    (command,) = re.findall(r"^python3 -m venv \.venv && .*\[test\].*$", text, re.M)
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert command == ci


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors and explicit <a id> anchors of a markdown page."""
    headings = re.findall(r"^#+ (.*)$", text, re.M)
    slugs = {
        re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        for heading in (re.sub(r"<a id=\"[^\"]+\"></a>", "", h) for h in headings)
    }
    return slugs | set(re.findall(r'<a id="([^"]+)"></a>', text))


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_anchor(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    checked = 0
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.is_file(), f"{page.name}: {link} leads nowhere"
        if anchor and target.suffix == ".md":
            assert anchor in _anchors(target.read_text()), f"{page.name}: no #{anchor}"
        checked += 1
    assert checked
    if page != README:
        assert "](../README.md#documentation)" in text


def test_readme_links_every_docs_page():
    text = README.read_text()
    for page in PAGES:
        assert f"](docs/{page.name})" in text, page.name


@pytest.mark.parametrize("page", [README, ROOT / "docs" / "layer.md"], ids=["README", "layer"])
def test_the_layer_example_builds(page):
    (example,) = [block for block in _python_blocks(page.read_text()) if "cross_attn" in block]
    scope: dict = {}
    exec(compile(example, str(page), "exec"), scope)
    assert tuple(scope["x"].shape) == (None, None, 512)
    assert tuple(scope["y"].shape) == (None, None, 512)


# The calls behind each message shown in docs/layer.md (B=32, T=50, S=40, H=8).
def _wrong_batch():
    layer = kmha.MultiHeadAttention(num_heads=8, key_dim=64, name="cross_attn")
    layer(np.zeros((32, 50, 512), "float32"), np.zeros((16, 40, 256), "float32"))


def _padding_mask_as_attention_mask():
    layer = kmha.MultiHeadAttention(num_heads=8, key_dim=64, name="cross_attn")
    query, value = np.zeros((32, 50, 512), "float32"), np.zeros((32, 40, 256), "float32")
    layer(query, value, attention_mask=np.ones((32, 40), bool))


def _heads_do_not_divide():
    x = np.zeros((2, 5, 512), "float32")
    kmha.MultiHeadAttention(num_heads=6, name="self_attn")(x, x)


def _key_value_heads():
    kmha.MultiHeadAttention(num_heads=8, num_key_value_heads=3, key_dim=16, name="gqa")


def _additive_mask():
    x = np.zeros((2, 5, 16), "float32")
    mask = np.where(np.eye(5, dtype=bool), 0.0, -1e9).astype("float32")[None]
    kmha.MultiHeadAttention(num_heads=2, key_dim=8, name="attn")(x, x, attention_mask=mask)


CALLS = {
    "Layer `cross_attn`, argument `value`": _wrong_batch,
    "Layer `cross_attn`, argument `attention_mask`": _padding_mask_as_attention_mask,
    "Layer `self_attn`, argument `num_heads`": _heads_do_not_divide,
    "Layer `gqa`, argument `num_key_value_heads`": _key_value_heads,
    "Layer `attn`, argument `attention_mask`": _additive_mask,
}


@pytest.mark.parametrize(("page", "count"), [(README, 1), (ROOT / "docs" / "layer.md", len(CALLS))])
def test_layer_messages_in_the_docs_are_what_the_layer_raises(page, count):
    shown = re.findall(r"^kmha\.ShapeError: (.*)$", page.read_text(), re.M)
    assert len(shown) == count
    for message in shown:
        (call,) = [call for where, call in CALLS.items() if re.match(f"{where}[:,]", message)]
        with pytest.raises(kmha.ShapeError) as caught:
            call()
        assert str(caught.value) == message


def test_the_settings_example_reads_as_settings():
    text = (ROOT / "docs" / "settings.md").read_text()
    (example,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    layer = layer_from_table(tomllib.loads(example)["tool"]["kmha-lint"], "settings.md", None)
    assert layer.ignore == ("KMHA105",)
    assert layer.select == ("KMHA",)
    assert layer.max_bytes == 64 * 2**20  # "default 64 MiB", as the comment says
    assert [p.endswith("models") for p in layer.paths] == [True]


def test_corpus_counts_on_the_agreement_page_are_the_manifests():
    text = " ".join((ROOT / "docs" / "agreement.md").read_text().split())
    corpus = json.loads((ROOT / "tests" / "corpus" / "manifest.json").read_text())["entries"]
    keras3 = sum(entry["kind"] == "keras3" for entry in corpus)
    runs = sum(entry["runs"] for entry in corpus)
    fails = len(corpus) - runs
    assert f"{len(corpus)} generated configs in `tests/corpus/` ({keras3} Keras 3, " in text
    assert f"{len(corpus) - keras3} tf.keras" in text
    assert f"No error on any of the {runs} configs Keras runs; an error on {fails} of" in text
    realworld = json.loads((ROOT / "tests" / "realworld" / "manifest.json").read_text())
    runs = sum(entry["runs"] for entry in realworld["entries"])
    assert f"{len(realworld['entries'])} configs in `tests/realworld/`" in text
    assert f"{len(realworld['entries']) - runs} of them hand-style edits" in text
    assert f"no error on the {runs} configs Keras runs | breaking edits caught (of " in text
