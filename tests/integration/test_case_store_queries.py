"""The SQL store's batch reads give what their one-by-one forms give, on SQLite and
PostgreSQL (issue 22: a case's current reading loads no history; a report's key images are
located in one query)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy.orm import Session

from api.workflow.timeline import current_measurements

pytestmark = pytest.mark.integration


def test_newest_measurements_and_located_instances_match_their_slow_forms(
        database_url: str) -> None:
    from api.adapters.sql_store import SqlCaseStore
    from api.db.models import Instance, Patient, Series, Study
    from api.db.session import make_engine, migrate
    from api.workflow.domain import Case, Lesion, MeasurementVersion
    from measurement.vocabulary import Criteria, LesionKind

    engine = make_engine(database_url)
    migrate(engine)
    rng = random.Random(22)
    timepoints = ["1.2.3.1", "1.2.3.2", "1.2.3.3"]
    with Session(engine) as s, s.begin():
        patient = Patient(patient_id="P-Q", patient_name="Q^Q")
        s.add(patient)
        s.flush()
        uids = []
        for i, tp in enumerate(timepoints):
            study = Study(study_instance_uid=tp, patient_pk=patient.id, orthanc_id=f"st{i}")
            s.add(study)
            s.flush()
            series = Series(series_instance_uid=f"{tp}.1", study_pk=study.id,
                            orthanc_id=f"se{i}", modality="CT",
                            sop_class_uid="1.2.840.10008.5.1.4.1.1.2", instance_count=4)
            s.add(series)
            s.flush()
            for n in range(4):
                uid = f"{tp}.1.{n}"
                uids.append(uid)
                s.add(Instance(sop_instance_uid=uid, series_pk=series.id,
                               orthanc_id=f"in{i}-{n}", instance_number=n))
        case = Case(patient_id="P-Q", criteria=Criteria.RECIST_1_1,
                    baseline_study_uid=timepoints[0], created_by="rad")
        s.add(case)
        s.flush()
        lesions = []
        for n in range(4):
            lesion = Lesion(case_id=case.id, kind=LesionKind.TARGET, organ="lung",
                            label=f"T{n + 1}", tracking_uid=f"2.25.{n + 1}", created_by="rad")
            s.add(lesion)
            s.flush()
            lesions.append(lesion.id)
        # Versions numbered per lesion, in a shuffled order of timepoints and redraws.
        for lesion_id in lesions:
            writes = [tp for tp in timepoints for _ in range(rng.randint(0, 4))]
            rng.shuffle(writes)
            for version, tp in enumerate(writes, start=1):
                s.add(MeasurementVersion(lesion_id=lesion_id, timepoint_uid=tp, version=version,
                                         author="rad", length_mm=rng.uniform(5, 40)))
    with Session(engine) as s:
        store = SqlCaseStore(s)
        everything = store.measurements(lesions)
        newest = store.newest_measurements(lesions)
        assert len(newest) < len(everything)  # some were drawn again
        assert current_measurements(newest) == current_measurements(everything)
        assert [m.version for m in newest] == sorted(m.version for m in newest)
        assert store.newest_measurements(lesions[:1]) == [
            m for m in newest if m.lesion_id == lesions[0]]
        assert store.newest_measurements([]) == []
        asked = [*uids[::3], "1.2.999", uids[0]]
        located = store.locate_instances(asked)
        assert set(located) == {u for u in asked if u != "1.2.999"}
        assert all(located[u] == store.locate_instance(u) for u in located)
        assert store.locate_instances([]) == {}
    engine.dispose()
