"""Changes to a case, as its readers are told of them live (issue 18).

The case service publishes one :class:`CaseEvent` after each committed change (a
measurement, a lesion added, changed or deleted, a sign-off) to a
:class:`CaseEventPublisher`; the event stream of ``GET /cases/{id}/events`` delivers it
to every reader of the case, whichever Nadir process made the change
(:mod:`api.workflow.event_bus`, :mod:`api.adapters.pg_events`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol


class ChangeKind(StrEnum):
    MEASUREMENT = "measurement"
    LESION_ADDED = "lesion_added"
    LESION_CHANGED = "lesion_changed"
    LESION_DELETED = "lesion_deleted"
    SIGNED_OFF = "signed_off"
    SR_IMPORTED = "sr_imported"  # measurements of an SR (import or confirmed draft)
    TIMEPOINT_DATED = "timepoint_dated"  # an undated study dated by hand joins the case


@dataclass(frozen=True)
class CaseEvent:
    """One committed change: what, where (lesion, timepoint), who, and the new version."""

    case_id: int
    kind: ChangeKind
    who: str
    at: str
    lesion_id: int | None = None
    timepoint_id: str | None = None
    version: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ChangeKind(self.kind))
        if not isinstance(self.case_id, int) or self.case_id < 1:
            raise ValueError(f"case_id: must be a positive integer, got {self.case_id!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> CaseEvent:
        """Read an event another process published; ValueError when it is not one."""
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("an event is a JSON object")
        return cls(**data)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class CaseEventPublisher(Protocol):
    """Where committed changes are announced (called after the commit)."""

    def publish(self, event: CaseEvent) -> None: ...


def announce(events: CaseEventPublisher | None, case_id: int, kind: ChangeKind, who: str, *,
             lesion_id: int | None = None, timepoint_id: str | None = None,
             version: int | None = None) -> None:
    """Tell the case's readers of a committed change (call it after the commit)."""
    if events is not None:
        events.publish(CaseEvent(case_id, kind, who, now_iso(), lesion_id, timepoint_id,
                                 version))
