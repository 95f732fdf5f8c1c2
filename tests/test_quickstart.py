"""The README's main job, as a new user runs it: quiet, correct, and writing nothing here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tree(folder: Path) -> set[str]:
    skip = (".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis")
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if not any(part in skip or part.endswith(".egg-info") for part in p.parts)
    }


def test_quickstart_runs_quietly_and_writes_nothing_into_the_checkout(tmp_path):
    before = _tree(ROOT)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    steps = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert [s[:5] for s in steps] == ["[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"]
    assert "      no findings" in done.stdout  # its own config lints clean
    # the served graph answers as the Keras model does (LayerNormalization alone differs by
    # ~1e-7 between eager and graph execution on CPU)
    (gap,) = re.findall(r"max \|served - Keras model\| = (\S+)", done.stdout)
    assert float(gap) < 1e-5, gap
    # TensorFlow's C++ start-up lines (oneDNN, CUDA probing) are held back
    for noise in ("I0000", "E0000", "cuInit", "absl::InitializeLog"):
        assert noise not in done.stderr, done.stderr[:2000]
    assert list(tmp_path.iterdir()) == []  # nothing in the working directory
    assert _tree(ROOT) == before  # nor in the repository
