"""Normalised features of a series for pairing: kernel family, contrast, words, regions.

Pure functions over the strings of a :class:`~imaging.model.SeriesDescriptor`. Vendor
names of reconstruction kernels (Convolution Kernel (0018,1210), PS3.3 C.8.2.1) are
mapped to families by the vendors' published naming schemes; these are heuristics and
say "unknown" rather than guess.
"""

from __future__ import annotations

import enum
import re

from imaging.model import SeriesDescriptor


class KernelFamily(enum.Enum):
    LUNG = "lung"  # very sharp, high-resolution lung kernels
    SHARP = "sharp"  # sharp kernels whose use (lung or bone) the name does not tell
    BONE = "bone"
    SOFT = "soft"  # standard / smooth / soft-tissue kernels
    UNKNOWN = "unknown"


# Words that name a family anywhere in a kernel name (GE, Philips, Canon, generic).
_KERNEL_WORDS: tuple[tuple[str, KernelFamily], ...] = (
    ("LUNG", KernelFamily.LUNG),
    ("PULM", KernelFamily.LUNG),
    ("BONE", KernelFamily.BONE),
    ("OSSEOUS", KernelFamily.BONE),
    ("SKELET", KernelFamily.BONE),
    ("STANDARD", KernelFamily.SOFT),
    ("SOFT", KernelFamily.SOFT),
    ("SMOOTH", KernelFamily.SOFT),
    ("BODY", KernelFamily.SOFT),
    ("MEDIASTIN", KernelFamily.SOFT),
    ("ABDOMEN", KernelFamily.SOFT),
    ("DETAIL", KernelFamily.SOFT),  # GE DETAIL: a little sharper than STANDARD
    ("EDGE", KernelFamily.SHARP),
    ("ULTRA", KernelFamily.SHARP),
    ("SHARP", KernelFamily.SHARP),
    ("CHEST", KernelFamily.SHARP),  # GE CHEST: sharp, for lungs and ribs alike
)
_KERNEL_EXACT = {"STD": KernelFamily.SOFT, "STND": KernelFamily.SOFT, "HR": KernelFamily.LUNG}
# Philips letter kernels: A-C smooth to standard, L lung, Y-series sharp, D-E bone.
_PHILIPS = {
    "A": KernelFamily.SOFT,
    "B": KernelFamily.SOFT,
    "C": KernelFamily.SOFT,
    "UA": KernelFamily.SOFT,
    "UB": KernelFamily.SOFT,
    "UC": KernelFamily.SOFT,
    "L": KernelFamily.LUNG,
    "LA": KernelFamily.LUNG,
    "YA": KernelFamily.LUNG,
    "YB": KernelFamily.LUNG,
    "YC": KernelFamily.BONE,
    "YD": KernelFamily.BONE,
    "YE": KernelFamily.BONE,
    "D": KernelFamily.BONE,
    "E": KernelFamily.BONE,
    "EB": KernelFamily.BONE,
}
# Siemens: a letter (B body, I iterative, D dual energy, ...) or, since the SOMATOM
# Force, letter + type (Br regular, Bl lung, Bv vascular, Hr head) then a two-digit
# sharpness and an optional suffix ("B70f", "I30f\3", "Br40d", "Bl57").
_SIEMENS = re.compile(r"^([BCDHIJQU])([a-z]?)(\d{2})[a-z]?$")
# Canon / Toshiba: FC01-FC2x body, FC3x bone, FC5x and FC8x lung.
_CANON = re.compile(r"^FC(\d{2})$")

# How alike two kernel families are for reading the same lesions.
_KERNEL_SIMILARITY = {
    frozenset({KernelFamily.LUNG, KernelFamily.SHARP}): 0.6,
    frozenset({KernelFamily.BONE, KernelFamily.SHARP}): 0.6,
    frozenset({KernelFamily.LUNG, KernelFamily.BONE}): 0.3,
}


def kernel_family(kernel: str | None) -> KernelFamily:
    """The family of a Convolution Kernel value (first value if several)."""
    if not kernel:
        return KernelFamily.UNKNOWN
    name = kernel.split("\\")[0].strip()
    upper = name.upper()
    if upper in _KERNEL_EXACT:
        return _KERNEL_EXACT[upper]
    for word, family in _KERNEL_WORDS:
        if word in upper:
            return family
    if upper in _PHILIPS:
        return _PHILIPS[upper]
    siemens = _SIEMENS.match(name)
    if siemens:
        return _siemens_family(siemens.group(2), int(siemens.group(3)))
    canon = _CANON.match(upper)
    if canon:
        return _canon_family(int(canon.group(1)))
    return KernelFamily.UNKNOWN


def _siemens_family(kind: str, sharpness: int) -> KernelFamily:
    if kind == "l":
        return KernelFamily.LUNG
    if kind:  # Br, Bv, Bf, Qr, Hr...: 60+ are the bone kernels
        if sharpness >= 60:
            return KernelFamily.BONE
        return KernelFamily.SHARP if sharpness >= 50 else KernelFamily.SOFT
    if sharpness >= 70:  # B70f, B80f: the classic lung kernels
        return KernelFamily.LUNG
    return KernelFamily.SHARP if sharpness >= 50 else KernelFamily.SOFT


def _canon_family(number: int) -> KernelFamily:
    if number < 30:
        return KernelFamily.SOFT
    if number < 40:
        return KernelFamily.BONE
    if 50 <= number < 60 or 80 <= number < 90:
        return KernelFamily.LUNG
    return KernelFamily.UNKNOWN


def kernel_similarity(a: KernelFamily, b: KernelFamily) -> float | None:
    """1 for the same family, 0 for soft against sharp; None when either is unknown."""
    if KernelFamily.UNKNOWN in (a, b):
        return None
    if a is b:
        return 1.0
    return _KERNEL_SIMILARITY.get(frozenset({a, b}), 0.0)


# Phrases rewritten before tokenising, so "w/o", "non-contrast" and "C+" become words.
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\bw/o\b|\bwithout\s+contrast\b|\bnon[-\s]?contrast\b|\bc-(?=\W|$)"),
        " noncontrast ",
    ),
    (re.compile(r"\bc\+|\+c\b|\bw/\s*c\b|\bwith\s+contrast\b|\bw/(?=\s|$)"), " contrast "),
    (re.compile(r"\bsoft[-\s]tissue\b"), " soft "),
)
_TOKEN = re.compile(r"[a-z0-9]+(?:\.\d+)?")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)(?:mm)?$")
_SYNONYMS = {
    "thorax": "chest",
    "thx": "chest",
    "thoracic": "chest",
    "lungs": "lung",
    "pulmonary": "lung",
    "pulm": "lung",
    "abd": "abdomen",
    "abdo": "abdomen",
    "abdominal": "abdomen",
    "cor": "coronal",
    "sag": "sagittal",
    "ax": "axial",
    "std": "standard",
    "mediastinum": "soft",
    "mediastinal": "soft",
    "nativ": "noncontrast",
    "native": "noncontrast",
    "plain": "noncontrast",
    "nc": "noncontrast",
    "unenhanced": "noncontrast",
    "pre": "noncontrast",
    "ce": "contrast",
    "km": "contrast",  # German Kontrastmittel
    "enhanced": "contrast",
    "post": "contrast",
    "pv": "venous",
    "portal": "venous",
    "art": "arterial",
}
_STOP_WORDS = frozenset({"mm", "ct", "and", "with", "the", "of", "series", "recon", "w"})
_CONTRAST_PHASES = frozenset({"contrast", "venous", "arterial", "delayed", "nephrographic"})


def description_tokens(text: str | None) -> frozenset[str]:
    """Lower-case words and numbers of a description, with synonyms merged.

    "Chest-Abd C+ 5.0 Soft" -> {"chest", "abdomen", "contrast", "5", "soft"}.
    """
    if not text:
        return frozenset()
    lowered = text.lower()
    for pattern, replacement in _PHRASES:
        lowered = pattern.sub(replacement, lowered)
    tokens = set()
    for token in _TOKEN.findall(lowered):
        number = _NUMBER.match(token)
        if number:  # "5.0", "5mm" and "5" are the same thickness
            token = str(float(number.group(1))).removesuffix(".0")
        token = _SYNONYMS.get(token, token)
        if token not in _STOP_WORDS:
            tokens.add(token)
    return frozenset(tokens)


def contrast_state(series: SeriesDescriptor) -> bool | None:
    """Whether contrast was given: True, False, or None when nothing says.

    A Contrast/Bolus Agent (0018,0010) value wins, since descriptions get renamed; only
    without it do description words decide. The protocol name is not used: one protocol
    names every series of the examination, plain and enhanced alike.
    """
    agent = (series.contrast_agent or "").strip().upper()
    if agent and agent not in ("NONE", "NO", "N/A", "0"):
        return True
    tokens = description_tokens(series.description)
    if "noncontrast" in tokens:
        return False
    if tokens & _CONTRAST_PHASES:
        return True
    return None


_REGION_WORDS = (
    ("HEAD", "head"),
    ("BRAIN", "head"),
    ("NECK", "neck"),
    ("CHEST", "chest"),
    ("THORAX", "chest"),
    ("LUNG", "chest"),
    ("ABD", "abdomen"),
    ("LIVER", "abdomen"),
    ("PELV", "pelvis"),
)
_REGION_CODES = {
    "CAP": frozenset({"chest", "abdomen", "pelvis"}),
    "WHOLEBODY": frozenset({"head", "neck", "chest", "abdomen", "pelvis"}),
    "TSPINE": frozenset({"chest"}),
    "LSPINE": frozenset({"abdomen"}),
}


def body_regions(body_part: str | None) -> frozenset[str]:
    """Regions named by Body Part Examined (0018,0015), e.g. CHESTABDOMEN -> chest, abdomen.

    Accepts the PS3.16 Annex L terms (CHESTABDPELVIS) and common local spellings
    (CHEST_ABDOMEN, "Thorax Abdomen").
    """
    if not body_part:
        return frozenset()
    compact = re.sub(r"[^A-Z]", "", body_part.upper())
    if compact in _REGION_CODES:
        return _REGION_CODES[compact]
    return frozenset(region for word, region in _REGION_WORDS if word in compact)
