"""Custom-layer declarations end to end: found in settings files as other settings are,
checked at each call, followed through the graph, shown by --summary, and bad ones refused
with exit status 2.

The configs are from tests/realworld (labelled there by Keras): vit.json runs;
vit__num-patches.json fails inside its PatchEncoder, whose `num_patches` was edited.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from kmha_lint.cli import main
from kmha_lint.settings import layer_from_table

CONFIGS = Path(__file__).parent / "realworld" / "configs"
VIT = CONFIGS / "keras3" / "vit.json"
VIT_EDITED = CONFIGS / "keras3" / "vit__num-patches.json"
SIAMESE_TF = CONFIGS / "keras2" / "siamese_triplet.json"
ENCODER = """
[tool.kmha-lint.custom-layers."kmha_realworld>PatchEncoder"]
inputs = ["batch, num_patches, features"]
output = "batch, num_patches, projection_dim"
params = "(features + 1) * projection_dim + num_patches * projection_dim"
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    shutil.copy(VIT, tmp_path / "models" / "vit.json")
    shutil.copy(VIT_EDITED, tmp_path / "models" / "edited.json")
    return tmp_path


def lint(capsys, *args):
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_without_a_declaration_the_custom_layer_is_not_checked(project, capsys):
    assert lint(capsys, "models")[0] == 0


def test_a_declaration_in_pyproject_catches_the_edit(project, capsys):
    (project / "pyproject.toml").write_text(ENCODER)
    status, out, _ = lint(capsys, "models", "--format", "json")
    assert status == 1
    (finding,) = json.loads(out)
    assert finding["path"] == "models/edited.json" and finding["code"] == "KMHA314"
    assert finding["message"] == (
        "Layer `patch_encoder`, argument `inputs`, axis 1: the input does not fit the shape "
        "declared for `kmha_realworld>PatchEncoder` in pyproject.toml "
        "(`batch, num_patches, features`). Expected 17 (`num_patches` in its config); "
        "received 16 (shape (None, 16, 192))."
    )
    assert finding["pointer"] == "/config/layers/3/inbound_nodes/0/args/0/config/keras_history"


def test_declarations_follow_settings_discovery_and_config_files(project, capsys):
    # The closest settings file wins, as for every setting: models/ has its own, without it.
    (project / "pyproject.toml").write_text(ENCODER)
    (project / "models" / "kmha-lint.toml").write_text('ignore = ["KMHA105"]\n')
    assert lint(capsys, "models")[0] == 0
    # --config FILE replaces discovery for every input.
    (project / "declared.toml").write_text(ENCODER.replace("[tool.kmha-lint.", "["))
    status, out, _ = lint(capsys, "models", "--config", "declared.toml")
    assert status == 1 and "KMHA314" in out and "in declared.toml" in out
    # Selection applies to the declaration rules like any other.
    assert lint(capsys, "models", "--config", "declared.toml", "--ignore", "KMHA314")[0] == 0


def test_the_summary_shows_declared_shapes_and_parameters(project, capsys):
    status, before, _ = lint(capsys, "--summary", "models/vit.json")
    assert status == 0
    row = next(line for line in before.splitlines() if line.startswith("patch_encoder"))
    assert row.split()[-1] == "?" and "PatchEncoder" in before.split("Not modelled")[1]
    (project / "pyproject.toml").write_text(ENCODER)
    _, after, _ = lint(capsys, "--summary", "models/vit.json", "--format", "json")
    (summary,) = json.loads(after)
    (row,) = [r for r in summary["layers"] if r["name"] == "patch_encoder"]
    # Keras's model.summary() for this model (tests/realworld/manifest.json).
    assert row["output_shape"] == [None, 16, 32] and row["params"] == 193 * 32 + 16 * 32
    assert "PatchEncoder" not in " ".join(summary["notes"])


def test_tf_keras_calls_with_several_tensors_are_matched(capsys, tmp_path, monkeypatch):
    """tf.keras records every argument after the first as a keyword: they are inputs too."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kmha-lint.toml").write_text(
        '[custom-layers."kmha_realworld_tf>TFDistanceLayer"]\n'
        'inputs = ["..., width", "..., width", "..., width"]\n'
        'outputs = ["...", "..."]\nparams = "0"\n'
    )
    shutil.copy(SIAMESE_TF, tmp_path / "siamese.json")
    status, out, _ = lint(capsys, "--summary", "siamese.json", "--format", "json")
    assert status == 0
    (row,) = [r for r in json.loads(out)[0]["layers"] if r["name"] == "tf_distance_layer"]
    assert row["output_shape"] == [[None], [None]] and row["params"] == 0


@pytest.mark.parametrize(
    "table, message",
    [
        (
            '[tool.kmha-lint.custom-layers."a>B"]\ninputs = ["b, t"]\noutput = "b, t +"\n',
            "pyproject.toml: `custom-layers` 'a>B': expected more in 't +', found the end, an "
            "axis of the shape 'b, t +'",
        ),
        (
            '[tool.kmha-lint.custom-layers."a>B"]\ninputs = ["b, t"]\n',
            "pyproject.toml: `custom-layers` 'a>B': give `inputs` (a list of shapes) and one of",
        ),
        (
            '[tool.kmha-lint]\ncustom-layers = ["a>B"]\n',
            "pyproject.toml: `custom-layers` expected a table of class name",
        ),
    ],
)
def test_a_bad_declaration_is_a_usage_error(project, capsys, table, message):
    (project / "pyproject.toml").write_text(table)
    status, out, err = lint(capsys, "models")
    assert status == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_a_nested_model_called_with_a_dict_is_matched_by_input_name(capsys):
    """Perceiver's cross-attention block is a functional model called with a dict; the
    latent array's declared width (64 after the edit) reaches its `latent_array` input."""
    edited = CONFIGS / "keras3" / "perceiver__latent-dim.json"
    status, out, _ = lint(capsys, edited, "--format", "json")  # tests/realworld's settings
    assert status == 1
    (finding,) = json.loads(out)
    assert finding["code"] == "KMHA309"
    assert finding["message"].startswith(
        'Layer `cross_attention`, argument `inputs["latent_array"]`, axis 2: the input does not '
        "match the nested model's declared input. Expected 32; received 64"
    )


def test_the_docs_page_shows_real_output_and_valid_declarations(capsys, monkeypatch):
    root = Path(__file__).resolve().parents[1]
    section = (root / "docs" / "custom-layers.md").read_text()
    # The example declarations read as settings.
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    table = tomllib.loads(example)["tool"]["kmha-lint"]
    declared = layer_from_table(table, "docs/custom-layers.md", None).custom_layers
    assert sorted(declared) == [
        "my_project>PatchEncoder",
        "my_project>PositionEmbedding",
        "my_project>StochasticDepth",
    ]
    # The console example is what kmha-lint prints.
    command, shown = section.split("```console\n$ kmha-lint ", 1)[1].split("\n", 1)
    monkeypatch.chdir(root)
    status, out, _ = lint(capsys, *command.split())
    assert status == 1 and out == shown.split("```", 1)[0]


def test_an_inline_config_setting_declares_a_layer_too(project, capsys):
    inline = (
        'custom-layers."kmha_realworld>PatchEncoder" = '
        '{inputs = ["b, num_patches, f"], output = "b, num_patches, projection_dim"}'
    )
    status, out, _ = lint(capsys, "models/edited.json", "--config", inline)
    assert status == 1 and "KMHA314" in out and "declared for" in out and "in --config" in out
    status, _, err = lint(
        capsys, "models/edited.json", "--config", inline.split(", output")[0] + "}"
    )
    assert status == 2 and "--config: `custom-layers` 'kmha_realworld>PatchEncoder': give" in err
