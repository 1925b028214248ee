"""`nadir demo`: push a synthetic demo patient (baseline + follow-ups) into Orthanc by C-STORE."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, XRayRadiationDoseSRStorage

from api.settings import Settings
from pacs.dimse import DicomPeer, store
from pacs.errors import AssociationRejected, PacsError
from pacs.orthanc import OrthancClient
from synthetic import (
    DEFAULT_TIMEPOINTS,
    DemoPatient,
    SyntheticSpecError,
    demo_patient,
    iter_study,
)

#: The calling AE title of `nadir demo`, a peer of Orthanc only while the demo pushes.
DEMO_AET = "NADIRDEMO"
DEMO_HOST = "127.0.0.1"
DEMO_PORT = 104
DEMO_CONTEXTS = ((CTImageStorage, ExplicitVRLittleEndian),
                 (XRayRadiationDoseSRStorage, ExplicitVRLittleEndian))


def push_demo(settings: Settings, *, calling_aet: str, rows: int, slices: int,
              timepoints: int = DEFAULT_TIMEPOINTS) -> int:
    try:
        demo = demo_patient(matrix=rows, thin_slice_count=slices, timepoints=timepoints)
    except SyntheticSpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with demo_peer(settings, calling_aet):
            return _push(settings, demo, calling_aet)
    except PacsError as exc:
        print(f"error: the demo peer could not be registered or removed in Orthanc "
              f"({exc}); register it yourself: nadir peers add {DEMO_AET} {DEMO_HOST}",
              file=sys.stderr)
        return 1


@contextmanager
def demo_peer(settings: Settings, calling_aet: str) -> Iterator[None]:
    """Orthanc accepts stores from NADIRDEMO@127.0.0.1 while the demo pushes, not after.

    A peer of that name registered by an admin (`nadir peers add`), or another calling AE
    title, is left as it is."""
    if calling_aet != DEMO_AET:
        yield
        return
    with OrthancClient(settings.orthanc_url, settings.orthanc_username,
                       settings.orthanc_password) as client:
        if DEMO_AET in client.modalities():
            yield
            return
        client.put_modality(DEMO_AET, aet=DEMO_AET, host=DEMO_HOST, port=DEMO_PORT)
        print(f"peer {DEMO_AET}@{DEMO_HOST} registered for this push (removed afterwards)")
        try:
            yield
        finally:
            client.delete_modality(DEMO_AET)
            print(f"peer {DEMO_AET} removed")


def remove_standing_demo_peer(client: OrthancClient) -> bool:
    """Remove the peer NADIRDEMO@127.0.0.1 that `nadir start` used to register on every
    start (until issue 15); whether there was one."""
    peer = client.modalities().get(DEMO_AET)
    if peer is None or (peer.get("AET"), peer.get("Host"), peer.get("Port")) != (
            DEMO_AET, DEMO_HOST, DEMO_PORT):
        return False
    client.delete_modality(DEMO_AET)
    return True


def _push(settings: Settings, demo: DemoPatient, calling_aet: str) -> int:
    peer = DicomPeer(settings.orthanc_dicom_host, settings.orthanc_dicom_port,
                     settings.orthanc_aet, calling_aet)
    started = time.monotonic()
    total = 0
    for index, (spec, seed) in enumerate(demo.seeded()):
        label = f"follow-up {index}" if index else "baseline"
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
