"""Corpus tables of the ``multimodal`` group (see lint/hparams/families/__init__.py): tiny originals
and their argument names, per library; ``generate.py`` merges them."""

from bases import DELETE, HF_DEC, HF_DEC_NAMES, HF_ENC, HF_ENC_NAMES, _hf, _kh  # noqa: F401

KERAS_HUB: dict = {}
TRANSFORMERS: dict = {}
