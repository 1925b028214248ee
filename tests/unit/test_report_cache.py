"""The digest that keys cached reports (api/report/cache.py): every field the report shows
changes it, the clock does not, and a kind of value it does not know is refused."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.report.cache import TEMPLATE_PATH, ReportCache, report_digest
from api.report.errors import ReportError
from api.report.model import ReportData
from api.report.render import TEMPLATE_DIR, TEMPLATE_NAME
from imaging.render import Picture
from imaging.render import picture as picture_module
from tests.report_sample import sample_report_data

RESPONSE = {"best_overall_response": "PR", "timepoints": [{"id": "1.2", "sum_mm": 10.5}]}


def _changed(value: Any) -> Any:
    """Another value of the same kind, or None when there is none to make here."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, enum.Enum):
        others = [m for m in type(value) if m is not value]
        return others[0] if others else None
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, Picture):
        changed = value.image()
        changed.putpixel((0, 0), tuple(255 - v for v in changed.getpixel((0, 0))))
        return Picture(changed)  # one pixel of a key image
    if isinstance(value, datetime.datetime | datetime.date):
        return value + datetime.timedelta(days=1)
    return None


def _variants(value: Any, path: str = "data") -> Iterator[tuple[str, Any]]:
    """(path, a copy of ``value`` with one leaf changed or one item dropped), for each leaf."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            inner = getattr(value, field.name)
            for where, other in _variants(inner, f"{path}.{field.name}"):
                try:
                    yield where, dataclasses.replace(value, **{field.name: other})
                except (ReportError, ValueError, TypeError):
                    continue  # the model refuses that value: it cannot reach a report
    elif isinstance(value, tuple):
        if value:
            yield f"{path}[-1] dropped", value[:-1]
        for i, item in enumerate(value):
            for where, other in _variants(item, f"{path}[{i}]"):
                yield where, value[:i] + (other,) + value[i + 1:]
    else:
        other = _changed(value)
        if other is not None:
            yield path, other


def test_every_field_of_the_report_changes_its_digest() -> None:
    data = sample_report_data(follow_ups=2, targets=3, crop_px=64, thumbnail_px=64,
                              markers=True)
    digest = report_digest(data, RESPONSE, "pdf")
    seen = {digest}
    checked = []
    for where, other in _variants(data):
        if where == "data.generated_at":
            continue
        new = report_digest(other, RESPONSE, "pdf")
        assert new != digest, f"changing {where} left the report's digest as it was"
        seen.add(new)
        checked.append(where)
    assert len(seen) == len(checked) + 1  # no two changes collide either
    assert len(checked) > 100
    touched = {w.split("[")[0].split(" ")[0] for w in checked}
    for name in ("data.lesions", "data.timepoints", "data.markers", "data.patient_name",
                 "data.pairs"):
        assert any(t.startswith(name) for t in touched), name


def test_the_response_format_and_template_change_it_and_the_clock_does_not(
        tmp_path: Path) -> None:
    data = sample_report_data(follow_ups=1, targets=2, crop_px=64, thumbnail_px=64)
    digest = report_digest(data, RESPONSE, "pdf")
    later = dataclasses.replace(data, generated_at=data.generated_at + datetime.timedelta(1))
    assert report_digest(later, RESPONSE, "pdf") == digest
    assert report_digest(data, RESPONSE, "json") != digest
    assert report_digest(data, {**RESPONSE, "best_overall_response": "SD"}, "pdf") != digest
    assert report_digest(data, {**RESPONSE, "timepoints": [{"id": "1.2", "sum_mm": 10.6}]},
                         "pdf") != digest
    # 10.5 mm against "10.5": a number and a text are told apart.
    assert report_digest(data, {**RESPONSE, "timepoints": [{"id": "1.2", "sum_mm": "10.5"}]},
                         "pdf") != digest
    template = tmp_path / "report.html.j2"
    template.write_bytes(TEMPLATE_PATH.read_bytes() + b" ")
    assert report_digest(data, RESPONSE, "pdf", template) != digest
    assert TEMPLATE_PATH == TEMPLATE_DIR / TEMPLATE_NAME  # the file the renderer fills


def test_an_unknown_kind_of_content_is_refused_not_skipped() -> None:
    data = sample_report_data(follow_ups=1, targets=1, crop_px=64, thumbnail_px=64)
    with pytest.raises(TypeError, match="set"):
        report_digest(data, {"odd": {1, 2}}, "json")


def test_the_cache_renders_once_per_digest_and_stays_within_its_bytes() -> None:
    cache = ReportCache(max_bytes=10)
    rendered: list[str] = []

    def render(body: bytes) -> Any:
        return lambda: rendered.append(body.decode()) or body

    assert cache.get_or_render("a", render(b"aaaa")) == b"aaaa"
    assert cache.get_or_render("a", render(b"other")) == b"aaaa"
    assert cache.get_or_render("b", render(b"bbbb")) == b"bbbb"
    assert cache.get_or_render("c", render(b"cccc")) == b"cccc"  # "a" goes: 12 > 10 bytes
    assert cache.bytes == 8 and len(cache) == 2
    assert cache.get_or_render("a", render(b"aaaa")) == b"aaaa"
    assert cache.get_or_render("huge", render(b"h" * 11)) == b"h" * 11  # served, not kept
    assert len(cache) == 2 and rendered == ["aaaa", "bbbb", "cccc", "aaaa", "hhhhhhhhhhh"]
    assert (cache.hits, cache.misses) == (1, 5)


def test_the_responses_that_count_in_a_case_read_twice_change_it() -> None:
    """An adjudication changes a case's final responses (issue 21): a new report. The loop
    above cannot reach them (they are empty, or a set of names, in the sample)."""
    data = sample_report_data(follow_ups=2, targets=2, crop_px=64, thumbnail_px=64)
    twice = dataclasses.replace(data, final_best_overall_response="PR", timepoints=tuple(
        dataclasses.replace(tp, final_response="PR", final_source="agreed")
        for tp in data.timepoints))
    assert twice.read_twice
    digest = report_digest(twice, RESPONSE, "pdf")
    assert digest != report_digest(data, RESPONSE, "pdf")
    last = len(twice.timepoints) - 1
    others = [dataclasses.replace(twice, final_best_overall_response="SD")]
    for field, value in (("final_response", "SD"), ("final_response", None),
                         ("final_source", "adjudicated"), ("final_source", "primary")):
        rows = list(twice.timepoints)
        rows[last] = dataclasses.replace(rows[last], **{field: value})
        others.append(dataclasses.replace(twice, timepoints=tuple(rows)))
    digests = {report_digest(other, RESPONSE, "pdf") for other in others}
    assert digest not in digests and len(digests) == len(others)
    final = {**RESPONSE, "final_best_overall_response": "PR"}
    assert report_digest(twice, final, "pdf") != digest
    assert report_digest(twice, {**final, "final_best_overall_response": "SD"}, "pdf") != \
        report_digest(twice, final, "pdf")


def test_pictures_are_fed_by_their_pixels_and_hashed_once_per_object(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = sample_report_data(follow_ups=1, targets=1, crop_px=64, thumbnail_px=64)
    crop = data.lesions[0].images[0].crop
    assert crop is not None
    first = report_digest(data, RESPONSE, "json")
    twin = Picture(crop.image())  # the same pixels in another object
    assert report_digest(_with_crop(data, twin), RESPONSE, "json") == first
    changed = crop.image()
    changed.putpixel((0, 0), (1, 2, 3))
    assert report_digest(_with_crop(data, Picture(changed)), RESPONSE, "json") != first
    # Encoding it does not change what it is.
    crop.png()
    assert report_digest(data, RESPONSE, "json") == first

    hashed: list[int] = []
    real = picture_module.hashlib.blake2b

    def counting(*args: Any, **kwargs: Any) -> Any:
        if args and re.fullmatch(rb"\d+x\d+:", args[0]):  # a picture's size, then its pixels
            hashed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(picture_module.hashlib, "blake2b", counting)
    for _ in range(3):
        assert report_digest(data, RESPONSE, "json") == first
    assert hashed == []  # each picture keeps its digest
    assert report_digest(_with_crop(data, Picture(crop.image())), RESPONSE, "json") == first
    assert hashed == [1]  # a new picture is hashed once


def _with_crop(data: ReportData, crop: Picture) -> ReportData:
    lesion = data.lesions[0]
    image = dataclasses.replace(lesion.images[0], crop=crop)
    lesion = dataclasses.replace(lesion, images=(image, *lesion.images[1:]))
    return dataclasses.replace(data, lesions=(lesion, *data.lesions[1:]))
