"""The families added by group, one module per kind of model, each holding its
:class:`~kmha_lint.hparams.spec.Family` entries beside their parameter-count formulas (a
family is a data entry plus its formula, so that the next family is one small change):

- ``dense``: decoder-only language models with one attention stack;
- ``moe``: mixture-of-experts decoders, multi-head latent attention, hybrid and state-space
  stacks;
- ``multimodal``: containers of a text and a vision (or audio) config, and vision towers;
- ``encoders``: encoder-only and encoder-decoder text models, and vision encoders.

``huggingface.py`` and ``kerashub.py`` merge the entries of their library from every module
named in ``GROUPS``; nothing here is imported until a hyperparameter config is checked.
"""

from __future__ import annotations

from importlib import import_module

GROUPS = ("dense", "moe", "multimodal", "encoders")


def of_library(library: str) -> list:
    """Every group's families of one library ("transformers" or "keras_hub")."""
    found = []
    for group in GROUPS:
        module = import_module(f"kmha_lint.hparams.families.{group}")
        found += [f for f in module.FAMILIES if f.library == library]
    return found
