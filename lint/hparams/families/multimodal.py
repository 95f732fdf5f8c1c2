"""The ``multimodal`` group (see ``families/__init__.py``): entries and their formulas."""

from __future__ import annotations

from kmha_lint.hparams.spec import Family

FAMILIES: tuple[Family, ...] = ()
