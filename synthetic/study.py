"""Generate the objects of a synthetic study and write them as PS3.10 files."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pydicom import Dataset

from synthetic.ct import SeriesContext, axial_series, coronal_mpr_series, localizer_series
from synthetic.dose_sr import dose_report_series
from synthetic.modules import StudyUIDs, study_uids
from synthetic.secondary import dose_screen_series
from synthetic.spec import SeriesKind, StudySpec, SyntheticSpecError

_BUILDERS: dict[SeriesKind, Callable[[SeriesContext], Iterator[Dataset]]] = {
    SeriesKind.LOCALIZER: localizer_series,
    SeriesKind.AXIAL: axial_series,
    SeriesKind.CORONAL_MPR: coronal_mpr_series,
    SeriesKind.DOSE_SCREEN: dose_screen_series,
    SeriesKind.DOSE_REPORT: dose_report_series,
}


def iter_study(spec: StudySpec, seed: int = 0) -> Iterator[Dataset]:
    """Yield the study's objects series by series, in ``spec.series`` order.

    Objects are built lazily, so a 2 x 300-slice study never sits in memory whole. The
    same ``spec`` and ``seed`` always give identical objects, UIDs included.
    """
    uids = study_uids(spec, seed)
    for series in spec.series:
        yield from _BUILDERS[series.kind](SeriesContext(spec, series, uids, seed))


def generate_study(spec: StudySpec, seed: int = 0) -> list[Dataset]:
    """All objects of the study (see :func:`iter_study`)."""
    return list(iter_study(spec, seed))


def uids_of(spec: StudySpec, seed: int = 0) -> StudyUIDs:
    """The Study, Frame of Reference and Series Instance UIDs :func:`iter_study` will use."""
    return study_uids(spec, seed)


def write_study(datasets: Iterable[Dataset], directory: Path | str) -> list[Path]:
    """Write each object as a DICOM file ``S<series number>/I<instance number>.dcm``.

    Files carry the PS3.10 preamble and file meta (``enforce_file_format``). One study
    per directory; two objects that would share a path raise instead of overwriting.
    """
    root = Path(directory)
    written: list[Path] = []
    seen: set[Path] = set()
    for ds in datasets:
        path = root / f"S{int(ds.SeriesNumber):04d}" / f"I{int(ds.InstanceNumber):05d}.dcm"
        if path in seen:
            raise SyntheticSpecError(
                f"two objects map to {path}: series {ds.SeriesNumber}, instance {ds.InstanceNumber}"
            )
        seen.add(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written
