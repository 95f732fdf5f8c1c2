"""Transformer hyperparameter configs: KerasHub presets and backbones, Hugging Face config.json.

Recognised by content (never by file name): a KerasHub serialized object (``registered_name``
``keras_hub>...`` or a ``keras_hub.`` module) whose backbone may sit inside a task model, a
KerasHub preset's metadata.json, and a transformers config (a ``model_type`` key, with
nested ``text_config``/``vision_config``/``encoder``/``decoder`` configs).

Importing this package does no work: the family tables load on first use.
"""

from __future__ import annotations

KERAS_HUB = "kerashub"
HUGGING_FACE = "hf"
KINDS = (KERAS_HUB, HUGGING_FACE)


def document_kind(document: object) -> str | None:
    """The kind: "kerashub", "hf", or None when the document is neither."""
    if not isinstance(document, dict):
        return None
    from kmha_lint.hparams import huggingface, kerashub

    if kerashub.is_document(document):
        return KERAS_HUB
    if huggingface.is_document(document):
        return HUGGING_FACE
    return None


def units(document: object, kind: str | None = None) -> list:
    """The config objects to check, each with its family (see :class:`spec.Unit`)."""
    from kmha_lint.hparams import huggingface, kerashub

    kind = kind or document_kind(document)
    if kind == KERAS_HUB:
        return kerashub.units(document)
    if kind == HUGGING_FACE:
        return huggingface.units(document)
    return []


def check(document: object, kind: str | None = None) -> list:
    """All Issues of a hyperparameter config (positions are added by the caller)."""
    from kmha_lint.hparams.checks import check_unit

    issues = []
    for unit in units(document, kind):
        issues += check_unit(unit)
    return issues
