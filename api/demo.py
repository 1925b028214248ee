"""`nadir demo`: push a synthetic demo patient (baseline + follow-up) into Orthanc by C-STORE."""

from __future__ import annotations

import sys
import time

from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, XRayRadiationDoseSRStorage

from api.settings import Settings
from imaging.synthetic import SyntheticSpecError, demo_patient, iter_study
from pacs.dimse import DicomPeer, store
from pacs.errors import AssociationRejected, PacsError

DEMO_CONTEXTS = ((CTImageStorage, ExplicitVRLittleEndian),
                 (XRayRadiationDoseSRStorage, ExplicitVRLittleEndian))
BASELINE_SEED = 1
FOLLOWUP_SEED = 2


def push_demo(settings: Settings, *, calling_aet: str, rows: int, slices: int) -> int:
    try:
        demo = demo_patient(matrix=rows, thin_slice_count=slices)
    except SyntheticSpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    peer = DicomPeer(settings.orthanc_dicom_host, settings.orthanc_dicom_port,
                     settings.orthanc_aet, calling_aet)
    started = time.monotonic()
    total = 0
    for label, spec, seed in (("baseline", demo.baseline, BASELINE_SEED),
                              ("follow-up", demo.followup, FOLLOWUP_SEED)):
        # Generated lazily: a refused peer fails on the first object, not after generating all.
        datasets = iter_study(spec, seed=seed)
        try:
            sent = store(peer, datasets, contexts=DEMO_CONTEXTS)
            total += len(sent)
        except AssociationRejected as exc:
            hint = f". Register it: nadir peers add {calling_aet} 127.0.0.1" \
                if exc.calling_aet_unknown else ""
            print(f"error: {exc}{hint}", file=sys.stderr)
            return 1
        except PacsError as exc:
            # The message names the cause (no listener, refusal status, no response).
            print(f"error: C-STORE of the {label} as {calling_aet} failed: {exc}",
                  file=sys.stderr)
            return 1
        print(f"{label}: study of {spec.study_date.isoformat()} sent ({len(sent)} objects)")
    patient_id = demo.baseline.patient.patient_id
    print(f"sent {total} synthetic objects in {time.monotonic() - started:.1f} s "
          f"for demo patient {patient_id}")
    print(f"In a few seconds: GET /api/v1/patients/{patient_id}/studies, then "
          f"POST /api/v1/comparisons {{\"patient_id\": \"{patient_id}\"}}")
    return 0
