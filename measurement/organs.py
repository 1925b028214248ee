"""Organ names as comparison keys, shared by the engine's per-organ rules, the SR's
finding sites and the report's window presets."""

from __future__ import annotations

from types import MappingProxyType

_ORGAN_ALIASES = MappingProxyType({
    "lungs": "lung", "pulmonary": "lung", "hepatic": "liver", "node": "lymph node",
    "nodes": "lymph node", "lymph nodes": "lymph node", "lymph-node": "lymph node",
    "adrenal": "adrenal gland", "adrenals": "adrenal gland", "kidneys": "kidney",
    "renal": "kidney", "pleural": "pleura", "bones": "bone", "osseous": "bone",
    "peritoneal": "peritoneum",
})


def organ_key(organ: str) -> str:
    """An organ's name as a comparison key: case-folded, single-spaced, aliases resolved
    ("Lungs" and "pulmonary" are both "lung")."""
    key = " ".join(organ.casefold().split())
    return _ORGAN_ALIASES.get(key, key)
