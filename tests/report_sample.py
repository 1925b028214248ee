"""A synthetic, deterministic :class:`ReportData` for the report tests and the benchmark.

The key images imitate rendered CT crops and thumbnails (:mod:`imaging.render`): a noisy
soft-tissue background with a brighter lesion, the yellow caliper and the cyan crop outline,
as pictures of the renderer's sizes, so that their encodings (about 60-150 KB of PNG) and
encoding costs are those of real ones. Nothing here is read from a patient.
"""

from __future__ import annotations

import datetime

import numpy as np
from PIL import Image, ImageDraw

from api.report.model import (
    KeyImageView,
    LesionCell,
    LesionRow,
    MarkerPoint,
    MarkerSeries,
    ReportData,
    SeriesPairView,
    TimepointRow,
)
from imaging.render import Picture

CALIPER_RGB = (255, 210, 0)  # as imaging.render.draw
CROP_FRAME_RGB = (0, 200, 255)
NOISE_SD = 4.0  # grey levels: quantum noise of a soft-tissue CT window
ORGANS = ("liver", "lung", "mediastinum", "adrenal gland", "peritoneum", "kidney", "spleen")
BASELINE_SIZES_MM = (32.0, 24.0, 41.0, 18.0, 27.0, 22.0, 35.0, 15.0)
# Relative size at each follow-up: shrink, then regrowth of one lesion (a mixed picture).
FOLLOW_UP_FACTORS = ((0.62, 0.7, 0.55, 0.8, 0.66), (0.58, 0.66, 0.5, 1.45, 0.6),
                     (0.6, 0.7, 0.52, 1.9, 0.62))
GENERATED_AT = datetime.datetime(2026, 5, 4, 9, 30, tzinfo=datetime.UTC)
# Tumour markers: (name, unit, upper limit of normal, level at baseline and each follow-up,
# days the blood test comes before its scan). CEA falls but stays above its limit; CA 19-9
# falls back to normal. A CA 19-9 test between the first two scans belongs to no scan.
MARKERS = (("CEA", "ng/mL", 5.0, (18.4, 9.6, 6.1, 7.3), 2),
           ("CA 19-9", "U/mL", 37.0, (112.0, 41.0, 30.0, 33.5), 0))
EXTRA_CA19_9 = (35, 58.0)  # (days after the baseline scan, level)


def sample_picture(size: int, *, seed: int, length_frac: float = 0.4, frame: bool = False
                   ) -> Picture:
    """A picture like a rendered key image: noisy grey anatomy, a lesion and a caliper."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    body = 70.0 + 50.0 * (((x - 0.5) / 0.45) ** 2 + ((y - 0.5) / 0.38) ** 2 < 1.0)
    lesion = 60.0 * np.exp(-(((x - 0.5) ** 2 + (y - 0.5) ** 2) / (2 * (length_frac / 3.2) ** 2)))
    grey = body + lesion + rng.normal(0.0, NOISE_SD, (size, size))
    image = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), mode="L").convert("RGB")
    draw = ImageDraw.Draw(image)
    half = size * length_frac / 2
    width = max(1, round(size / 192))
    draw.line([(size / 2 - half, size / 2 + half * 0.3), (size / 2 + half, size / 2 - half * 0.3)],
              fill=CALIPER_RGB, width=width)
    if frame:
        draw.rectangle([size * 0.3, size * 0.3, size * 0.7, size * 0.7], outline=CROP_FRAME_RGB,
                       width=width)
    return Picture(image)


def sample_report_data(*, follow_ups: int = 1, targets: int = 5, crop_px: int = 384,
                       thumbnail_px: int = 256, criteria: str = "RECIST1.1",
                       broken_image: tuple[int, int] | None = None,
                       markers: bool = False, study_uids: bool = False) -> ReportData:
    """A case of ``targets`` target lesions over a baseline and ``follow_ups`` follow-ups.

    ``broken_image`` = (lesion index, timepoint index) makes that key image an error, as the
    data assembly reports an image that could not be decoded. Sums, changes and responses
    are computed like the engine does for these sizes (PR, then a regrowing lesion).
    ``markers`` adds CEA and CA 19-9 levels (:data:`MARKERS`). ``study_uids`` names the
    timepoints by Study Instance UIDs of the longest length (64 characters, PS3.5 9.1), as
    pydicom's ``generate_uid`` makes them under its root, instead of ``BL`` and ``FU1``: the
    report prints them, and WeasyPrint lays a long UID out at some cost.
    """
    if not 1 <= follow_ups <= len(FOLLOW_UP_FACTORS):
        raise ValueError(f"follow_ups must be within 1..{len(FOLLOW_UP_FACTORS)}")
    if not 1 <= targets <= len(BASELINE_SIZES_MM):
        raise ValueError(f"targets must be within 1..{len(BASELINE_SIZES_MM)}")
    dates = [datetime.date(2026, 1, 12) + datetime.timedelta(days=63 * i)
             for i in range(follow_ups + 1)]
    ids = ([f"1.2.826.0.1.3680043.8.498.{(7 ** 45 + 10 ** 36 * t) % 10 ** 38:038d}"
            for t in range(follow_ups + 1)]
           if study_uids else ["BL"] + [f"FU{i}" for i in range(1, follow_ups + 1)])
    sizes = [[round(BASELINE_SIZES_MM[n] * (1.0 if t == 0 else
                                            FOLLOW_UP_FACTORS[t - 1][n % 5]), 1)
              for t in range(follow_ups + 1)] for n in range(targets)]
    lesions = tuple(
        _lesion(n, sizes[n], ids, dates, crop_px, thumbnail_px, broken_image)
        for n in range(targets))
    return ReportData(
        patient_id="NADIR-DEMO-001", patient_name="DEMO^ALEX", birth_date=datetime.date(1961, 3, 2),
        sex="F", case_id="42", criteria=criteria, generated_at=GENERATED_AT,
        software_version="0.1.0", timepoints=_timepoints(ids, dates, sizes, criteria),
        best_overall_response="PR" if criteria == "RECIST1.1" else "iPR",
        warnings=(), pairs=tuple(
            SeriesPairView("CT CHEST-ABDOMEN 1.25 mm VENOUS", f"CT CAP 1.25 mm venous {tp}",
                           0.93, "auto") for tp in ids[1:]),
        lesions=lesions, markers=_markers(ids, dates) if markers else (),
    )


def _markers(ids: list[str], dates: list[datetime.date]) -> tuple[MarkerSeries, ...]:
    series = []
    for name, unit, uln, levels, days_before in MARKERS:
        points = [MarkerPoint(day - datetime.timedelta(days=days_before), level, tp)
                  for tp, day, level in zip(ids, dates, levels, strict=False)]
        if name == "CA 19-9" and len(ids) > 1:
            days, level = EXTRA_CA19_9
            points.insert(1, MarkerPoint(dates[0] + datetime.timedelta(days=days), level, None))
        series.append(MarkerSeries(name, unit, uln, tuple(points)))
    return tuple(series)


def _lesion(n: int, sizes: list[float], ids: list[str], dates: list[datetime.date],
            crop_px: int, thumbnail_px: int, broken: tuple[int, int] | None) -> LesionRow:
    images = []
    for t, (tp, day) in enumerate(zip(ids, dates, strict=True)):
        if broken == (n, t):
            images.append(KeyImageView(
                tp, day, f"1.2.826.0.1.3680043.10.1{n}{t}", None, None, sizes[t], "liver",
                None, f"cannot decode the pixel data of SOP Instance 1.2.826.0.1.3680043.10.1{n}"
                      f"{t} in transfer syntax JPEG 2000 (1.2.840.10008.1.2.4.91): truncated"))
            continue
        frac = 0.45 * sizes[t] / max(sizes)
        images.append(KeyImageView(
            tp, day, f"1.2.826.0.1.3680043.10.1{n}{t}",
            sample_picture(crop_px, seed=100 * n + t, length_frac=frac),
            sample_picture(thumbnail_px, seed=100 * n + t + 50, length_frac=frac / 4, frame=True),
            sizes[t], "lung" if n % 5 == 1 else "mediastinum", 20.0, None))
    change = round((sizes[-1] - sizes[0]) * 100 / sizes[0], 1) if len(sizes) > 1 else None
    return LesionRow(
        label=f"T{n + 1}", kind="target", organ=ORGANS[n % len(ORGANS)], nodal=n % 5 == 2,
        cells=tuple(LesionCell(tp, size, None) for tp, size in zip(ids, sizes, strict=True)),
        change_from_baseline_pct=change, images=tuple(images))


def _timepoints(ids: list[str], dates: list[datetime.date], sizes: list[list[float]],
                criteria: str) -> tuple[TimepointRow, ...]:
    sums = [round(sum(lesion[t] for lesion in sizes), 1) for t in range(len(ids))]
    signed = datetime.datetime(2026, 1, 14, 16, 5, tzinfo=datetime.UTC)
    rows = [TimepointRow(ids[0], dates[0], "CT thorax-abdomen-pelvis with contrast", sums[0],
                         None, None, None, None, None, None, None, None, None, "dr.radiologist",
                         signed)]
    nadir = sums[0]
    for t in range(1, len(ids)):
        pct = round((sums[t] - sums[0]) * 100 / sums[0], 1)
        overall = "PR" if pct <= -30 else ("PD" if sums[t] >= max(1.2 * nadir, nadir + 5)
                                           else "SD")
        code = f"i{overall}" if criteria == "iRECIST" and overall != "PD" else overall
        if criteria == "iRECIST" and overall == "PD":
            code = "iUPD"
        rows.append(TimepointRow(
            ids[t], dates[t], "CT thorax-abdomen-pelvis with contrast", sums[t], nadir, pct,
            round((sums[t] - nadir) * 100 / nadir, 1), round(sums[t] - nadir, 1), overall,
            "NA", False, code, _mixed(sizes, t), "dr.radiologist",
            signed + datetime.timedelta(days=63 * t)))
        nadir = min(nadir, sums[t])
    return tuple(rows)


def _mixed(sizes: list[list[float]], t: int) -> bool:
    """Nadir's mixed-response flag: one lesion >= 30 % below its baseline while another is
    >= 20 % and >= 5 mm above its own smallest earlier size."""
    shrunk = {n for n, les in enumerate(sizes) if les[t] <= 0.7 * les[0]}
    grown = {n for n, les in enumerate(sizes)
             if les[t] - min(les[:t]) >= max(5.0, 0.2 * min(les[:t]))}
    return any(g != s for g in grown for s in shrunk)
