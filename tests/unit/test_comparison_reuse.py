"""When an existing comparison of two studies is still the one to return (issue 22)."""

from __future__ import annotations

from api.workflow.comparisons import _still_covers
from api.workflow.domain import Comparison, ComparisonPair
from imaging.pairing import Pairing, SeriesPair


def _comparison(pairs: list[tuple[str, str, str]], excluded: list[list[str]]) -> Comparison:
    c = Comparison(patient_id="P", baseline_study_uid="1", followup_study_uid="2",
                   created_by="reader", excluded=excluded)
    c.pairs = [ComparisonPair(baseline_series_uid=b, followup_series_uid=f, score=1.0,
                              reasons=[], source=source) for b, f, source in pairs]
    return c


def _pairing(pairs: list[tuple[str, str]], excluded: tuple[str, ...] = ()) -> Pairing:
    return Pairing(pairs=tuple(SeriesPair(b, f, 0.9, ("same",)) for b, f in pairs),
                   unpaired_baseline=(), unpaired_followup=(),
                   excluded=tuple((uid, "scout") for uid in excluded))


def test_the_same_series_keep_the_comparison() -> None:
    c = _comparison([("1.1", "2.1", "auto")], [["1.9", "scout"]])
    assert _still_covers(c, _pairing([("1.1", "2.1")], ("1.9",)))


def test_a_series_indexed_since_makes_a_new_comparison() -> None:
    c = _comparison([("1.1", "2.1", "auto")], [])
    assert not _still_covers(c, _pairing([("1.1", "2.1"), ("1.2", "2.2")]))
    assert not _still_covers(c, _pairing([("1.1", "2.1")], ("2.7",)))


def test_a_radiologists_pairs_stand() -> None:
    c = _comparison([("1.1", "2.2", "manual")], [])
    assert _still_covers(c, _pairing([("1.1", "2.1"), ("1.2", "2.2")]))
