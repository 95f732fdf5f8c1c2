"""Gather and label the corpus of real published Hugging Face config.json files in
``published/`` (see published/README.md).

Not run in CI. Two commands:

``add``: copy one config.json, byte for byte, out of a local git snapshot of a public
repository that holds a verbatim copy of a hub model's config (an inference engine's test
data, a project that committed a downloaded model folder, ...), and record where it came
from (repository, path, commit) and which published model it is::

    python tests/hparams_corpus/label_published.py add --git-dir SNAPSHOT.git \\
        --repo OWNER/NAME --path PATH/config.json --model ORG/MODEL [--commit SHA] \\
        [--note "..."]

The file is written to ``published/configs/<model_type>__<org>_<model>.json`` and entered in
``published/manifest.json`` without labels. The content is never edited.

``label``: label every manifest entry (or ``--only FILE ...``) with what transformers does
with the file, each in its own subprocess (``nice``, a time limit)::

    nice -n 10 /work/venvs/hub/bin/python tests/hparams_corpus/label_published.py label

For each file: ``CONFIG_MAPPING[model_type].from_dict(json)`` (what ``from_pretrained``
does with a config.json), then, under ``with torch.device("meta")``,
``AutoModel.from_config(config)`` and ``model.num_parameters()`` (no memory is allocated,
even for 600B models); the model class; and, for models of at most ``--run-limit``
parameters (default 200M), the model built again on the CPU and one batch run through it
(``runs``). Versions go to ``manifest.json["versions"]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PUBLISHED = HERE / "published"
CONFIGS = PUBLISHED / "configs"
MANIFEST = PUBLISHED / "manifest.json"
RUN_LIMIT = 200_000_000
BATCH, SEQ = 1, 8


# --------------------------------------------------------------------------------------------
# manifest
# --------------------------------------------------------------------------------------------


def read_manifest() -> dict:
    if MANIFEST.is_file():
        return json.loads(MANIFEST.read_text())
    return {
        "generated_by": "tests/hparams_corpus/label_published.py",
        "versions": {},
        "hf_build": "",
        "entries": [],
    }


def write_manifest(manifest: dict) -> None:
    manifest["entries"].sort(key=lambda e: e["file"])
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def file_name(model_type: str, model: str, variant: str | None = None) -> str:
    """``<model_type>__<org>_<model>.json`` (``..._<variant>.json`` for a second copy)."""
    org, _, name = model.partition("/")
    tail = f"_{slug(variant)}" if variant else ""
    return f"{slug(model_type)}__{slug(org)}_{slug(name)}{tail}.json"


def add(args: argparse.Namespace) -> None:
    if args.file:
        # Read through the search index's read_file (the repository is too large to copy):
        # the text as stored at --commit, written out unchanged.
        if not args.commit:
            raise SystemExit("--file needs --commit (the commit read_file reported)")
        commit, data = args.commit, Path(args.file).read_bytes()
    else:
        commit = (
            args.commit
            or subprocess.run(
                ["git", "--git-dir", args.git_dir, "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        data = subprocess.run(
            ["git", "--git-dir", args.git_dir, "show", f"{commit}:{args.path}"],
            capture_output=True,
            check=True,
        ).stdout
    document = json.loads(data)
    model_type = document["model_type"]
    name = file_name(model_type, args.model, args.variant)
    CONFIGS.mkdir(parents=True, exist_ok=True)
    previous = CONFIGS / name
    if previous.is_file() and previous.read_bytes() != data:
        raise SystemExit(f"{name} exists with other content: give --variant")
    (CONFIGS / name).write_bytes(data)
    manifest = read_manifest()
    manifest["entries"] = [e for e in manifest["entries"] if e["file"] != f"configs/{name}"]
    entry = {
        "file": f"configs/{name}",
        "model": args.model,
        "model_type": model_type,
        "source": {"repository": args.repo, "path": args.path, "commit": commit},
    }
    if args.file:
        entry["source"]["read_through"] = "search index read_file (snapshot over 500 MB)"
    if args.note:
        entry["note"] = args.note
    manifest["entries"].append(entry)
    write_manifest(manifest)
    print(name)


# --------------------------------------------------------------------------------------------
# labelling (worker, one file per subprocess)
# --------------------------------------------------------------------------------------------


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:400]


def _image_size(config) -> int:
    for source in (getattr(config, "vision_config", None), config):
        size = getattr(source, "image_size", None) if source is not None else None
        if isinstance(size, int):
            return size
        if isinstance(size, (list, tuple)) and size:
            return int(size[0])
        if isinstance(size, dict) and "height" in size:
            return int(size["height"])
    return 224


def inputs(model, config) -> dict:
    """One small batch for the model's forward signature."""
    import inspect

    import torch

    names = set(inspect.signature(model.forward).parameters)
    vocab = getattr(config, "vocab_size", None) or getattr(
        getattr(config, "text_config", None), "vocab_size", 100
    )
    ids = (torch.arange(BATCH * SEQ).reshape(BATCH, SEQ) % max(2, min(vocab, 100) - 1) + 1).long()
    feed: dict = {}
    if "input_features" in names:
        frames = 2 * getattr(config, "max_source_positions", 1500)
        feed["input_features"] = torch.rand(BATCH, config.num_mel_bins, frames)
    elif "pixel_values" in names and "input_ids" not in names:
        size = _image_size(config)
        channels = getattr(config, "num_channels", 3)
        feed["pixel_values"] = torch.rand(BATCH, channels, size, size)
    else:
        feed["input_ids"] = ids
        if "pixel_values" in names and getattr(config, "model_type", "") in ("clip", "siglip"):
            size = _image_size(config)
            feed["pixel_values"] = torch.rand(BATCH, 3, size, size)
    if "decoder_input_ids" in names:
        feed["decoder_input_ids"] = ids
    return feed


def worker(path: str, run_limit: int) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    import torch
    from transformers import AutoModel
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    document = json.loads(Path(path).read_text())
    res: dict = {
        "config_loads": False,
        "builds": False,
        "error": None,
        "error_stage": None,
        "params": None,
        "model_class": None,
    }
    try:
        config = CONFIG_MAPPING[document["model_type"]].from_dict(dict(document))
        res["config_loads"] = True
    except Exception as exc:  # noqa: BLE001
        res["error"], res["error_stage"] = first_line(exc), "config"
        return res
    try:
        with torch.device("meta"):
            model = AutoModel.from_config(config)
        res["builds"] = True
        res["model_class"] = type(model).__name__
        res["params"] = int(model.num_parameters())
    except Exception as exc:  # noqa: BLE001
        res["error"], res["error_stage"] = first_line(exc), "build"
        return res
    if res["params"] > run_limit:
        return res
    try:
        torch.manual_seed(0)
        model = AutoModel.from_config(config)
        model.eval()
        with torch.no_grad():
            model(**inputs(model, config))
        res["runs"] = True
    except Exception as exc:  # noqa: BLE001
        res["runs"] = False
        res["error"], res["error_stage"] = first_line(exc), "run"
    return res


def versions() -> dict:
    from importlib.metadata import version

    out = {"python": sys.version.split()[0]}
    for package in ("transformers", "torch", "huggingface-hub"):
        try:
            out[package] = version(package)
        except Exception:  # noqa: BLE001
            out[package] = None
    return out


def _run_workers(files: list[str], run_limit: int, timeout: int) -> dict[str, dict]:
    """Labels of several files from one worker process (one import of torch and
    transformers); a file whose worker crashed or timed out is labelled so."""
    command = [sys.executable, __file__, "worker", *files, "--run-limit", str(run_limit)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        out, err = done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = f"timed out after {timeout} s"
    labels = {}
    for line in out.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            labels[record.pop("file")] = record
    tail = (err.strip().splitlines() or ["no output"])[-1][:400]
    for file in files:
        if file not in labels:
            stage = "timeout" if tail.startswith("timed out") else "crash"
            labels[file] = {"builds": False, "error": tail, "error_stage": stage}
    return labels


def label(args: argparse.Namespace) -> None:
    manifest = read_manifest()
    only = set(args.only or ())
    pending = [
        entry["file"]
        for entry in manifest["entries"]
        if (not only or entry["file"] in only or Path(entry["file"]).name in only)
        and not (args.missing and "labels" in entry)
    ]
    for start in range(0, len(pending), args.batch):
        batch = pending[start : start + args.batch]
        labels = _run_workers(
            [str(PUBLISHED / f) for f in batch], args.run_limit, args.timeout * len(batch)
        )
        if len(batch) > 1 and any(
            v.get("error_stage") in ("crash", "timeout") for v in labels.values()
        ):
            # One file brought the batch down: label each file of it on its own.
            labels = {}
            for file in batch:
                labels.update(_run_workers([str(PUBLISHED / file)], args.run_limit, args.timeout))
        # Read again before writing: entries may have been added meanwhile.
        current = read_manifest()
        for entry in current["entries"]:
            key = str(PUBLISHED / entry["file"])
            if key in labels:
                entry["labels"] = labels[key]
                print(entry["file"], json.dumps(labels[key]), flush=True)
        write_manifest(current)
    manifest = read_manifest()
    manifest["versions"] = versions()
    manifest["hf_build"] = (
        'CONFIG_MAPPING[model_type].from_dict(file); with torch.device("meta"): '
        "AutoModel.from_config(config).num_parameters(); runs: built on the CPU and one "
        f"batch run, for models of at most {args.run_limit} parameters"
    )
    write_manifest(manifest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_add = sub.add_parser("add", help="copy a config.json out of a git snapshot")
    where = p_add.add_mutually_exclusive_group(required=True)
    where.add_argument("--git-dir", help="a local git snapshot of the repository")
    where.add_argument("--file", help="the file's text, as read from the repository")
    p_add.add_argument("--repo", required=True, help="OWNER/NAME of the public repository")
    p_add.add_argument("--path", required=True)
    p_add.add_argument("--commit")
    p_add.add_argument("--model", required=True, help="the hub model id, ORG/NAME")
    p_add.add_argument("--note")
    p_add.add_argument("--variant", help="a name suffix for a second copy of one model")
    p_label = sub.add_parser("label", help="label the manifest's files with transformers")
    p_label.add_argument("--only", nargs="*")
    p_label.add_argument("--missing", action="store_true", help="only entries without labels")
    p_label.add_argument("--run-limit", type=int, default=RUN_LIMIT)
    p_label.add_argument("--timeout", type=int, default=600, help="seconds per file")
    p_label.add_argument("--batch", type=int, default=8, help="files per worker process")
    p_worker = sub.add_parser("worker")
    p_worker.add_argument("files", nargs="+")
    p_worker.add_argument("--run-limit", type=int, default=RUN_LIMIT)
    args = parser.parse_args()
    if args.command == "add":
        add(args)
    elif args.command == "label":
        label(args)
    else:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        for file in args.files:
            print(json.dumps({"file": file, **worker(file, args.run_limit)}), flush=True)


if __name__ == "__main__":
    main()
