"""Split and coalesced lesions in the case workflow (RECIST 1.1 s4.3.2), on in-memory fakes.

RECIST 1.1 (Eisenhauer et al. 2009) section 4.3.2: "when non-nodal lesions 'fragment',
the longest diameters of the fragmented portions should be added together to calculate the
target lesion sum. Similarly, as lesions coalesce, a plane between them may be maintained
that would aid in obtaining maximal diameter measurements of each individual lesion. If the
lesions have truly coalesced such that they are no longer separable, the vector of the
longest diameter in this instance should be the maximal longest diameter for the
'coalesced lesion'."
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from api.report.assemble import build_report_data
from api.report.notes import report_notes
from api.report.render import render_html
from api.routes.case_report import report_json
from api.workflow.case_reader import CaseReader
from api.workflow.cases import CaseService, NewCase, NewLesion
from api.workflow.errors import Conflict, InvalidMeasurement, NotAllowed, StaleVersion
from api.workflow.lesion_edits import LesionChanges, LesionDeletion
from api.workflow.reading_rules import MeasurementInput
from api.workflow.roles import Principal, Role
from api.workflow.split_lesions import MAX_FRAGMENTS, FragmentInput
from measurement.result import CoalescedLesion, Response, SplitLesion
from measurement.vocabulary import Criteria, LesionKind
from tests.unit.workflow_fakes import FakeCaseStore, FakePacs

PID = "P-1"
RADIOLOGIST = Principal(1, "rad", Role.RADIOLOGIST)
SPECIALIST = Principal(2, "spec", Role.SPECIALIST)
ADMIN = Principal(3, "admin", Role.ADMIN)



class World:
    """A case of two timepoints; images of 64 x 64 pixels of 0.5 x 0.8 mm, so a caliper
    along a row of ``n`` columns measures 0.8 n mm."""

    def __init__(self) -> None:
        self.store = FakeCaseStore()
        bl, self.bl_imgs = self.store.add_study(PID, dt.date(2026, 1, 5))
        fu, self.fu_imgs = self.store.add_study(PID, dt.date(2026, 3, 2))
        _, self.other_imgs = self.store.add_study("P-2", dt.date(2026, 1, 5))
        self.bl, self.fu = bl.study_instance_uid, fu.study_instance_uid
        self.service = CaseService(CaseReader(self.store), FakePacs())
        self.case = self.service.create_case(RADIOLOGIST, NewCase(PID, Criteria.RECIST_1_1)
                                             ).case.id

    def lesion(self, kind: LesionKind = LesionKind.TARGET, *, nodal: bool = False,
               case: int | None = None) -> int:
        return self.service.add_lesion(RADIOLOGIST, case or self.case,
                                       NewLesion(kind, "liver", nodal=nodal)).id

    def caliper(self, lesion: int, tp: str, columns: float, img: str | None = None) -> None:
        img = img or (self.bl_imgs if tp == self.bl else self.fu_imgs)[0]
        self.put(lesion, tp, MeasurementInput(sop_instance_uid=img,
                                              endpoints=[[1, 0], [1, columns]]))

    def put(self, lesion: int, tp: str, given: MeasurementInput,
            who: Principal = RADIOLOGIST) -> None:
        self.service.record_measurement(who, self.case, lesion, tp, given)

    def fragments(self, *columns: float, img: str | None = None) -> MeasurementInput:
        return MeasurementInput(fragments=[
            FragmentInput(sop_instance_uid=img or self.fu_imgs[i % len(self.fu_imgs)],
                          endpoints=[[2, 0], [2, cols]]) for i, cols in enumerate(columns)])


@pytest.fixture
def world() -> World:
    return World()


def test_split_lesion_counts_the_sum_of_its_fragments(world: World) -> None:
    """s4.3.2: "the longest diameters of the fragmented portions should be added together
    to calculate the target lesion sum"; the server sums, from the calipers."""
    t1 = world.lesion()
    world.caliper(t1, world.bl, 50)  # 40 mm
    world.put(t1, world.fu, world.fragments(20, 10, 5))  # 16 + 8 + 4 mm
    view = world.service.read_measurement(SPECIALIST, world.case, t1, world.fu)
    assert view.measurement.length_mm == 28.0
    assert [f.length_mm for f in view.measurement.fragments] == [16.0, 8.0, 4.0]
    assert [f.sop_instance_uid for f in view.measurement.fragments] == world.fu_imgs[:3]
    assert view.measurement.fragments[1].endpoints == [[2.0, 0.0], [2.0, 10.0]]
    assert view.measurement.sop_instance_uid is None  # no single caliper stands for it
    result = world.service.response(SPECIALIST, world.case).result
    assert result is not None
    row = result.timepoints[1]
    assert row.sum_mm == Decimal("28")
    assert row.split_lesions == (SplitLesion("T1", (Decimal("16"), Decimal("8"),
                                                    Decimal("4")), Decimal("28")),)
    assert row.target_response is Response.PR  # 28 against 40: -30 % (s4.3.1)


def test_each_version_keeps_its_fragments_and_an_undo_restores_them(world: World) -> None:
    t1 = world.lesion()
    world.caliper(t1, world.bl, 50)
    world.put(t1, world.fu, world.fragments(20, 10))
    world.caliper(t1, world.fu, 30)  # the reader changes their mind: one caliper
    world.put(t1, world.fu, MeasurementInput(
        fragments=world.fragments(20, 10).fragments, reason="undo"))
    _, versions, _ = world.service.lesion_history(SPECIALIST, world.case, t1)
    assert [(v.version, v.length_mm, [f.length_mm for f in v.fragments], v.reason)
            for v in versions] == [(1, 40.0, [], None), (2, 24.0, [16.0, 8.0], None),
                                   (3, 24.0, [], None), (4, 24.0, [16.0, 8.0], "undo")]


def test_coalesced_lesion_counts_0_mm_and_is_not_disappeared(world: World) -> None:
    """s4.3.2: the coalesced lesion's longest diameter is recorded on one of them; the
    other counts 0 mm, and a lesion inside another has not disappeared (so no CR)."""
    t1, t2 = world.lesion(), world.lesion()
    world.caliper(t1, world.bl, 25)  # 20 mm
    world.caliper(t2, world.bl, 25)  # 20 mm
    world.put(t2, world.fu, MeasurementInput(coalesced_into=t1))
    # The merged lesion is not measured yet: the timepoint waits for it, the case is read.
    state = world.service.response(SPECIALIST, world.case)
    assert [m.label for m in state.states[1].missing] == ["T1"]
    world.caliper(t1, world.fu, 35)  # 28 mm for the merged lesion
    view = world.service.read_measurement(SPECIALIST, world.case, t2, world.fu)
    assert (view.measurement.coalesced_into, view.measurement.length_mm,
            view.measurement.status) == (t1, 0.0, None)
    state = world.service.response(SPECIALIST, world.case)
    assert state.states[1].complete  # a coalesced reading is a reading
    assert state.result is not None
    row = state.result.timepoints[1]
    assert row.coalesced_lesions == (CoalescedLesion("T2", "T1"),)
    assert row.sum_mm == Decimal("28")
    assert row.target_response is Response.PR  # 28 against 40 mm: -30 %


def test_split_and_merge_refusals_name_the_problem_and_write_nothing(world: World) -> None:
    t1, t2, t3 = world.lesion(), world.lesion(), world.lesion()
    node = world.lesion(nodal=True)
    nt = world.lesion(LesionKind.NON_TARGET)
    for lesion in (t1, t2, t3):
        world.caliper(lesion, world.bl, 25)
    world.caliper(node, world.bl, 25)
    world.put(nt, world.bl, MeasurementInput(status="present"))
    other_case = world.service.create_case(RADIOLOGIST, NewCase(
        PID, Criteria.IRECIST, allow_duplicate=True)).case.id
    elsewhere = world.lesion(case=other_case)
    gone = world.lesion()
    world.service.delete_lesion(RADIOLOGIST, world.case, gone, LesionDeletion("mistake"))
    world.put(t3, world.fu, MeasurementInput(coalesced_into=t1))
    before = len(world.store.versions)
    many = world.fragments(*([1] * (MAX_FRAGMENTS + 1))).fragments
    refusals: list[tuple[int, str, MeasurementInput, str]] = [
        (t2, world.bl, world.fragments(10, 10, img=world.bl_imgs[0]),
         "cannot be split or coalesced at baseline"),
        (t2, world.bl, MeasurementInput(coalesced_into=t1),
         "cannot be split or coalesced at baseline"),
        (t2, world.fu, world.fragments(10), "from 2 to 20 fragments, got 1"),
        (t2, world.fu, MeasurementInput(fragments=many), "from 2 to 20 fragments, got 21"),
        (node, world.fu, world.fragments(10, 10), "a lymph node is measured by its short"),
        (nt, world.fu, world.fragments(10, 10), "only a target lesion"),
        (nt, world.fu, MeasurementInput(coalesced_into=t1), "only a target lesion"),
        (t2, world.fu, world.fragments(10, 10, img=world.bl_imgs[0]),
         r"fragments\[0\]: sop_instance_uid .* is not an instance of timepoint"),
        (t2, world.fu, world.fragments(10, 99), r"fragments\[1\]: .* outside the 64x64"),
        (t2, world.fu, world.fragments(10, 0), r"fragments\[1\]"),
        (t2, world.fu, MeasurementInput(fragments=world.fragments(10, 10).fragments,
                                        status="too_small"),
         "give one of .* got a status and fragments"),
        (t2, world.fu, MeasurementInput(coalesced_into=t1, sop_instance_uid=world.fu_imgs[0],
                                        endpoints=[[0, 0], [0, 1]]),
         "got a caliper and coalesced_into"),
        (t2, world.fu, MeasurementInput(coalesced_into=t2), "cannot coalesce into itself"),
        (t2, world.fu, MeasurementInput(coalesced_into=gone), "was deleted"),
        (t2, world.fu, MeasurementInput(coalesced_into=elsewhere), "no such lesion in this"),
        (t2, world.fu, MeasurementInput(coalesced_into=99999), "no such lesion in this case"),
        (t2, world.fu, MeasurementInput(coalesced_into=nt), "is not a target lesion"),
        (t2, world.fu, MeasurementInput(coalesced_into=node), "is a lymph node and this"),
        (t2, world.fu, MeasurementInput(coalesced_into=t3),
         "T3 is itself recorded as coalesced into another lesion"),
    ]
    for lesion, tp, given, message in refusals:
        with pytest.raises(InvalidMeasurement, match=message):
            world.put(lesion, tp, given)
    assert len(world.store.versions) == before


def test_a_lesion_others_merged_into_carries_the_merged_diameter(world: World) -> None:
    t1, t2, t3 = world.lesion(), world.lesion(), world.lesion()
    for lesion in (t1, t2, t3):
        world.caliper(lesion, world.bl, 25)
    world.put(t2, world.fu, MeasurementInput(coalesced_into=t1))
    before = len(world.store.versions)
    for given, words in ((MeasurementInput(status="not_evaluable"), "\"T1\" must carry the "
                          "merged lesion's diameter in mm"),
                         (MeasurementInput(status="disappeared"), "must carry"),
                         (world.fragments(10, 10), "must carry"),
                         (MeasurementInput(coalesced_into=t3), "T2 coalesced into T1")):
        with pytest.raises(InvalidMeasurement, match=words):
            world.put(t1, world.fu, given)
    # Into one that has a status there already: refused too.
    world.put(t3, world.fu, MeasurementInput(status="too_small"))
    with pytest.raises(InvalidMeasurement, match="\"T3\" must carry the merged"):
        world.put(t2, world.fu, MeasurementInput(coalesced_into=t3))
    assert len(world.store.versions) == before + 1
    # Deleting, or changing the kind of, the merged lesion would orphan T2's reading.
    with pytest.raises(Conflict, match="T2 recorded as coalesced into T1"):
        world.service.delete_lesion(RADIOLOGIST, world.case, t1, LesionDeletion("wrong"))
    with pytest.raises(Conflict, match="T2 recorded as coalesced into T1"):
        world.service.change_lesion(RADIOLOGIST, world.case, t1, LesionChanges(
            frozenset({"nodal"}), nodal=True))
    assert world.store.lesions[t1].deleted_at is None
    # Once T2 is read otherwise, T1 is free again.
    world.caliper(t2, world.fu, 10)
    world.put(t1, world.fu, MeasurementInput(status="not_evaluable"))


def test_only_a_radiologist_splits_or_merges(world: World) -> None:
    t1, t2 = world.lesion(), world.lesion()
    world.caliper(t1, world.bl, 25)
    world.caliper(t2, world.bl, 25)
    for who in (SPECIALIST, ADMIN):
        with pytest.raises(NotAllowed):
            world.put(t1, world.fu, world.fragments(10, 10), who=who)
        with pytest.raises(NotAllowed):
            world.put(t2, world.fu, MeasurementInput(coalesced_into=t1), who=who)
    world.put(t1, world.fu, world.fragments(10, 10))
    etag = world.service.read_measurement(SPECIALIST, world.case, t1, world.fu).etag
    world.store.collide_next_write = True
    with pytest.raises(StaleVersion):
        world.put(t1, world.fu, world.fragments(10, 12))
    with pytest.raises(StaleVersion):
        world.put(t1, world.fu, MeasurementInput(
            fragments=world.fragments(10, 12).fragments, if_match='"m1-v9"'))
    world.put(t1, world.fu, MeasurementInput(fragments=world.fragments(10, 12).fragments,
                                             if_match=etag))


def _split_and_merged_case(world: World) -> tuple[int, int, int]:
    t1, t2, t3 = world.lesion(), world.lesion(), world.lesion()
    for lesion in (t1, t2, t3):
        world.caliper(lesion, world.bl, 25)  # 20 mm each
    world.put(t1, world.fu, world.fragments(20, 10))  # 16 + 8 mm
    world.put(t3, world.fu, MeasurementInput(coalesced_into=t2))
    world.caliper(t2, world.fu, 37.5)  # 30 mm for T2 and T3 merged
    return t1, t2, t3


def test_report_says_which_lesions_split_or_merged(world: World) -> None:
    """The report's timepoint rows name the lesions that split or merged there (RECIST 1.1
    s4.3.2), its lesion cells show the fragments and the lesion merged into, a note says
    what that means, and the JSON carries both."""
    _split_and_merged_case(world)
    case = world.service.reader.case(world.case)
    data, response = build_report_data(world.service.reader, world.service.pacs, case,
                                       now=dt.datetime(2026, 3, 3, tzinfo=dt.UTC))
    follow_up = data.timepoints[1]
    assert (follow_up.split, follow_up.coalesced, follow_up.sum_mm) == (
        ("T1",), (("T3", "T2"),), 54.0)
    cells = {les.label: les.cell(world.fu) for les in data.lesions}
    assert cells["T1"] is not None and cells["T1"].fragments_mm == (16.0, 8.0)
    assert cells["T1"].value_mm == 24.0
    assert cells["T3"] is not None and (cells["T3"].coalesced_into, cells["T3"].value_mm) == (
        "T2", 0.0)
    # Each fragment has its key image (here named as not shown: the fake PACS has no file).
    t1_images = next(les.images for les in data.lesions if les.label == "T1")
    assert [im.sop_instance_uid for im in t1_images if im.timepoint_id == world.fu] == \
        world.fu_imgs[:2]
    html = render_html(data)
    assert "split: 16.0 + 8.0 mm (fragments)" in html
    assert "merged into T2" in html
    assert "T1 split; T3 merged into T2" in html
    assert "No key image: merged into T2." in html  # T3 has no caliper of its own there
    note = next(n for n in report_notes(data) if n.kind == "split_or_merged")
    assert "T1 split into pieces; T3 merged into T2" in note.text and "4.3.2" in note.text
    body = report_json(data, response)
    measured = {les["label"]: les["measurements"][1] for les in body["lesions"]}
    assert (measured["T1"]["fragments_mm"], measured["T1"]["length_mm"]) == ([16.0, 8.0], 24.0)
    assert (measured["T3"]["coalesced_into"], measured["T3"]["length_mm"]) == ("T2", 0.0)
    assert measured["T2"]["fragments_mm"] == [] and measured["T2"]["coalesced_into"] is None
    row = body["timepoints"][1]
    assert [s["id"] for s in row["split"]] == ["T1"]
    assert [(c["id"], c["into"]) for c in row["coalesced"]] == [("T3", "T2")]


def test_the_case_sr_carries_fragments_and_merges_and_imports_them_back(
        world: World, tmp_path: Path) -> None:
    """A timepoint's TID 1500 report names the fragments of a split lesion (each length
    with its SCOORD) and the lesion a coalesced one merged into; read back and imported,
    it records the same readings, checked as a reading typed in by hand."""
    from api.workflow.sr_export import timepoint_sr
    from api.workflow.sr_import import import_report
    from imaging.sr import read_measurement_report
    from tests.unit.test_sr_factories import dciodvfy, reread

    t1, t2, t3 = _split_and_merged_case(world)
    case = world.service.reader.case(world.case)
    study = world.service.reader.timepoint(case, world.fu)
    ds = timepoint_sr(world.store, case, study, world.service.reader.current(case), None,
                      now=dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC))
    assert ds is not None
    errors = [line for line in dciodvfy(ds, tmp_path) if line.startswith("Error")]
    assert errors == []
    report = read_measurement_report(reread(ds))
    by_label = {m.tracking_id: m for m in report.measurements}
    assert [f.length_mm for f in by_label["T1"].fragments] == [16.0, 8.0]
    assert by_label["T3"].coalesced_into == world.store.lesions[t2].tracking_uid
    # The reader changed their mind; importing the report brings the SR's readings back.
    world.caliper(t1, world.fu, 30)
    world.caliper(t3, world.fu, 10)
    outcome = import_report(world.service.rules, case, "rad", report, source="sr")
    assert {(i["lesion_id"], i["length_mm"]) for i in outcome["imported"]} >= {
        (t1, 24.0), (t3, 0.0)}, outcome
    current = world.service.reader.current(case)
    assert [f.length_mm for f in current[(t1, world.fu)].fragments] == [16.0, 8.0]
    assert [f.sop_instance_uid for f in current[(t1, world.fu)].fragments] == \
        world.fu_imgs[:2]
    assert current[(t3, world.fu)].coalesced_into == t2
    assert current[(t3, world.fu)].reason == f"imported from SR {report.sop_instance_uid}"


def test_an_imported_merge_is_checked_like_one_typed_in(world: World) -> None:
    from api.workflow.sr_export import timepoint_sr
    from api.workflow.sr_import import import_report
    from imaging.sr import read_measurement_report
    from tests.unit.test_sr_factories import reread

    t1, t2, t3 = _split_and_merged_case(world)
    case = world.service.reader.case(world.case)
    ds = timepoint_sr(world.store, case, world.service.reader.timepoint(case, world.fu),
                      world.service.reader.current(case), None,
                      now=dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC))
    assert ds is not None
    read = read_measurement_report(reread(ds))
    # Without T2's own reading in it, the report cannot make T2 the merged lesion's
    # carrier again: T2 is "not evaluable" here now, so T3 cannot coalesce into it.
    report = replace(read, measurements=tuple(m for m in read.measurements
                                              if m.tracking_id != "T2"))
    world.caliper(t3, world.fu, 10)
    world.put(t2, world.fu, MeasurementInput(status="not_evaluable"))
    before = len(world.store.versions)
    outcome = import_report(world.service.rules, case, "rad", report, source="sr")
    refused = [n for n in outcome["not_mapped"] if "T3" in n["what"]]
    assert refused and "must carry the merged lesion's diameter" in refused[0]["why"]
    assert all(i["lesion_id"] != t3 for i in outcome["imported"])
    assert len(world.store.versions) == before + len(outcome["imported"])
