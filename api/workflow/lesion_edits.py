"""Changing and deleting a lesion: the requests and their rules (pure).

A change is refused where a reading forbids it: the kind and the nodal flag say what a
reading means (a long or a short axis, a size or a status), so they change only while the
lesion has no reading. Any change to a lesion read at a signed-off timepoint alters that
timepoint's result, so it needs an amendment reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from api.workflow.domain import Lesion
from api.workflow.errors import Conflict, InvalidInput, TimepointSignedOff
from measurement.vocabulary import LesionKind

#: Nadir contract: a reason (deletion, amendment, undo) is at most this many characters.
MAX_REASON_CHARS = 2000
#: The fields of a lesion that PATCH may change.
CHANGEABLE = ("kind", "nodal", "organ", "label", "equivocal", "confirmed_at")


def reason_text(name: str, value: str | None, *, required: bool) -> str | None:
    """A reason as stored: stripped, None when blank (refused when ``required``)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{name}: a reason is required")
        return None
    if len(text) > MAX_REASON_CHARS:
        raise InvalidInput(f"{name}: at most {MAX_REASON_CHARS} characters, got {len(text)}")
    return text


def version_reason(reason: str | None, amendment_reason: str | None) -> str | None:
    """The reason a measurement version keeps: why it was written ("undo"), and the
    amendment reason when it changes a signed-off timepoint."""
    if reason and amendment_reason:
        return f"{reason}; amendment: {amendment_reason}"
    return amendment_reason or reason


@dataclass(frozen=True)
class LesionDeletion:
    """Why a lesion is deleted; ``amendment_reason`` when a signed-off timepoint changes."""

    reason: str
    amendment_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", reason_text("reason", self.reason, required=True))
        object.__setattr__(self, "amendment_reason", reason_text(
            "amendment_reason", self.amendment_reason, required=False))


@dataclass(frozen=True)
class LesionChanges:
    """Only the fields named in ``given`` are changed."""

    given: frozenset[str]
    organ: str | None = None
    label: str | None = None
    equivocal: bool | None = None
    confirmed_at: str | None = None
    kind: LesionKind | None = None
    nodal: bool | None = None
    amendment_reason: str | None = None

    def __post_init__(self) -> None:
        for name in ("kind", "nodal", "organ", "label", "equivocal"):
            if name in self.given and getattr(self, name) is None:
                raise InvalidInput(f"{name}: must not be null")
        if self.kind is LesionKind.NEW:
            raise InvalidInput("kind: a lesion becomes new only when it is added with the "
                               "timepoint of its first sighting")
        object.__setattr__(self, "amendment_reason", reason_text(
            "amendment_reason", self.amendment_reason, required=False))


def differences(lesion: Lesion, changes: LesionChanges) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` of each given field whose value would change."""
    found: dict[str, list[Any]] = {}
    for name in CHANGEABLE:
        if name not in changes.given:
            continue
        new = getattr(changes, name)
        if name == "organ" and new is not None:
            new = new.strip()
        if name == "kind" and new is not None:
            new = new.value
        old = getattr(lesion, name)
        if new != old:
            found[name] = [old, new]
    return found


def check_change(lesion: Lesion, changed: dict[str, list[Any]], readings: int,
                 signed_read_at: Sequence[str], amendment_reason: str | None) -> None:
    """Refuse a change that a reading forbids, or that alters a signed-off timepoint
    without an amendment reason."""
    if {"equivocal", "confirmed_at"} & changed.keys() and lesion.kind != LesionKind.NEW:
        raise InvalidInput("equivocal and confirmed_at apply to new lesions only")
    meaning = sorted({"kind", "nodal"} & changed.keys())
    if meaning and readings:
        raise Conflict(
            f"lesion {lesion.label} has {readings} reading(s): its {' and '.join(meaning)} "
            "say what they mean, so they can change only before the first reading (delete "
            "the lesion and add it again)", extra={"fields": meaning})
    if changed and signed_read_at and amendment_reason is None:
        raise TimepointSignedOff(signed_read_at[0])


def signed_timepoints_read(read_at: Iterable[str], signed: Iterable[str]) -> list[str]:
    """The signed-off timepoints where the lesion has a reading (sorted)."""
    return sorted(set(read_at) & set(signed))
