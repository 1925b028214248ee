"""The specialist report as HTML and PDF, from one Jinja2 template.

:func:`render_html` fills ``templates/report.html.j2`` (autoescaped) with a
:class:`ReportData`, the SVG charts (:mod:`api.report.charts`: the sum of diameters, each
tumour marker when there are any, each lesion's change) and the notes
(:mod:`api.report.notes`), the key images embedded as ``data:`` URIs (RFC 2397).
:func:`render_pdf` lays the same HTML out with WeasyPrint (print CSS: A4 pages, running
header and footer, page numbers).

Speed of the PDF (2 timepoints x 5 targets, 384 px crops and 256 px thumbnails, two cores;
``bench/test_report_pdf_bench.py``): about 1.5 s as first written, 0.34-0.42 s in
2026-12 on a quiet machine (cProfile of the same case: styles and layout about 60 %, writing
about 25 %; the two SVG charts' 37 labels about 12 % of the instructions, 2026-12-06:
WeasyPrint 70 lays SVG text out letter by letter, but the same labels as HTML placed over
the chart cost as much (2,159 against 2,179 million instructions per render under
callgrind), so the cost is laying text out at all; only glyph outlines would save it, and
the labels would then no longer be text that can be selected or searched).

* WeasyPrint decodes every PNG and compresses its pixels again with zlib (about 0.6 s for
  those 20 images), while a JPEG goes into the PDF as it is (DCTDecode). So the PDF embeds the
  key images as JPEG of high quality without chroma subsampling (caliper lines stay sharp),
  encoded from the rendered pixels (:class:`~imaging.render.Picture`); the HTML keeps the
  lossless PNGs.
* WeasyPrint's HTML parser scans a megabyte of base64 slowly; the PDF's HTML names the images
  by short internal URLs that its URL fetcher serves from memory.
* Tables whose columns are known (studies, series compared, the header's two columns) have
  fixed widths: WeasyPrint sizes an automatic table by laying every cell's text out at each
  possible break, which for the Study Instance UIDs (breakable after any digit) cost about
  8 % of a PDF (``python -m bench.report_layout --instructions``).
* Fonts are subset into the PDF, by fontTools unless libharfbuzz-subset is installed (then
  about 0.15 s faster). One family in two weights; Nimbus Sans (URW's Helvetica) subsets
  faster than DejaVu Sans, whose large kerning tables fontTools reads in full.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from api.report.charts import lesion_chart_svg, marker_charts_svg, sum_chart_svg
from api.report.errors import ReportError
from api.report.key_images import PDF_JPEG_QUALITY
from api.report.model import KeyImageView, LesionCell, LesionRow, ReportData
from api.report.notes import DISCLAIMER, report_notes
from api.report.vocabulary import (
    CRITERIA_NAMES,
    FINAL_SOURCE_NAMES,
    KIND_NAMES,
    SEX_NAMES,
    STATUS_MEANINGS,
    response_code,
    response_meaning,
)
from imaging.render import Picture, png_data_uri
from measurement.figures import signed_tenths, tenths

TEMPLATE_DIR = Path(__file__).with_name("templates")
TEMPLATE_NAME = "report.html.j2"
FIGURES_PER_ROW = 2  # key images of a lesion: baseline and follow-ups, two side by side
# Internal URL scheme of the key images inside the PDF rendering (never leaves this module).
IMAGE_SCHEME = "nadir-image"

ImageSource = Callable[[Picture], str]


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML document (images as ``data:image/png`` URIs)."""
    return _render(data, lambda picture: png_data_uri(picture.png()))


def render_pdf(data: ReportData) -> bytes:
    """The report as PDF, laid out by WeasyPrint from the same template as :func:`render_html`.

    Key images are embedded as JPEG (quality
    :data:`~api.report.key_images.PDF_JPEG_QUALITY`, 4:4:4), encoded
    from their pixels (never through PNG), once per rendered picture. The HTML
    handed to WeasyPrint names them by short internal URLs (``nadir-image:3``) served from
    memory, rather than as megabytes of base64 for its HTML parser to scan; its URL
    fetcher serves those and refuses everything else (no file or network access).
    """
    fetcher = _KeyImageFetcher()
    html = _render(data, fetcher.add)
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf()
    if not isinstance(pdf, bytes):  # write_pdf returns bytes when given no target
        raise ReportError("WeasyPrint returned no PDF bytes")
    return pdf


#: A page in the report's typefaces, laid out once at start-up by :func:`warm_up`.
_WARM_UP_PAGE = (
    '<html style=\'font-family: "Nimbus Sans", Helvetica, Arial, "DejaVu Sans", sans-serif\'>'
    "<body><p>Sum of diameters <b>32.0 mm</b> <i>(−12.5 %)</i></p>"
    "<table><tr><th>T1</th><td>—</td></tr></table>"
    '<svg width="10" height="10"><text x="1" y="9">1</text></svg></body></html>')


def warm_up() -> None:
    """Load now what the first report after a start would otherwise load while its reader
    waits: WeasyPrint (imported with this module, about 1.7 s on this machine under load),
    the template, and the report's fonts, by laying out one small page in them."""
    _environment().get_template(TEMPLATE_NAME)
    HTML(string=_WARM_UP_PAGE).write_pdf()


class _KeyImageFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint has no type hints
    """Serves the report's key images, as JPEG, by internal URL; refuses any other URL."""

    def __init__(self) -> None:
        super().__init__()
        self._images: dict[str, bytes] = {}

    def add(self, picture: Picture) -> str:
        url = f"{IMAGE_SCHEME}:{len(self._images)}"
        # The picture keeps its JPEG: an unchanged case's pictures come from the key-image
        # cache (:mod:`api.report.key_images`), so a second PDF does not encode them again.
        self._images[url] = picture.jpeg(PDF_JPEG_QUALITY)
        return url

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        body = self._images.get(url)
        if body is None:  # WeasyPrint logs it and leaves the resource out
            raise ReportError(f"the report PDF loads only its own key images, not {url!r}")
        return URLFetcherResponse(url, body, {"Content-Type": "image/jpeg"})


@dataclass(frozen=True)
class Figure:
    """One key-image panel: a lesion at one timepoint, or why it cannot be shown."""

    timepoint_id: str
    date: datetime.date
    crop_src: str | None
    thumbnail_src: str | None
    image: KeyImageView | None
    message: str | None  # the rendering error, or why there is no image


@dataclass(frozen=True)
class LesionFigures:
    """A lesion's key images, baseline first, in rows of :data:`FIGURES_PER_ROW`."""

    lesion: LesionRow
    rows: tuple[tuple[Figure, ...], ...]


def _render(data: ReportData, image_source: ImageSource) -> str:
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(
        data=data,
        patient_name=display_name(data.patient_name),
        sex=SEX_NAMES.get(data.sex or "", "not recorded"),
        criteria=CRITERIA_NAMES[data.criteria],
        latest=data.timepoints[-1] if data.follow_ups else None,
        notes=report_notes(data),
        sum_chart=Markup(sum_chart_svg(data)),  # every text in the SVG is escaped
        lesion_chart=Markup(lesion_chart_svg(data)),  # likewise
        marker_charts=tuple(Markup(svg) for svg in marker_charts_svg(data)),  # likewise
        figures=tuple(_lesion_figures(data, image_source)),
        figures_per_row=FIGURES_PER_ROW,
        disclaimer=DISCLAIMER,
    )


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(mm=fmt_mm, pct=fmt_pct, signed_mm=fmt_signed_mm, day=fmt_day,
                       moment=fmt_moment, yes_no=fmt_yes_no, score=fmt_score)
    env.globals.update(response_code=response_code, response_meaning=response_meaning,
                       kind_name=KIND_NAMES.__getitem__, cell_text=cell_text,
                       status_text=status_text, final_sources=FINAL_SOURCE_NAMES)
    return env


def _lesion_figures(data: ReportData, image_source: ImageSource) -> Iterator[LesionFigures]:
    """Target lesions at every timepoint (a placeholder where there is no image); other
    lesions only where they have images."""
    for lesion in data.lesions:
        if lesion.kind == "target":
            figures = [figure for row in data.timepoints
                       for figure in _figures_at(lesion, row.id, row.date, image_source)]
        else:
            figures = [_figure(image, image_source) for image in lesion.images]
        if figures:
            yield LesionFigures(lesion, tuple(_chunks(figures, FIGURES_PER_ROW)))


def _figures_at(lesion: LesionRow, timepoint_id: str, day: datetime.date,
                image_source: ImageSource) -> list[Figure]:
    images = [image for image in lesion.images if image.timepoint_id == timepoint_id]
    if images:
        return [_figure(image, image_source) for image in images]
    cell = lesion.cell(timepoint_id)
    # A status, or a lesion merged into another there (RECIST 1.1 s4.3.2), says why.
    why = status_text(cell) or "no image recorded"
    return [Figure(timepoint_id, day, None, None, None, f"No key image: {why}.")]


def _figure(image: KeyImageView, image_source: ImageSource) -> Figure:
    def source(picture: Picture | None) -> str | None:
        return None if picture is None else image_source(picture)

    return Figure(image.timepoint_id, image.timepoint_date, source(image.crop),
                  source(image.thumbnail), image, image.error)


def _chunks(items: Sequence[Figure], size: int) -> Iterator[tuple[Figure, ...]]:
    for start in range(0, len(items), size):
        yield tuple(items[start:start + size])


def display_name(name: str) -> str:
    """A DICOM person name (PS3.5 6.2, ``Family^Given^Middle^Prefix^Suffix``) for reading."""
    if "^" not in name:
        return name.strip() or "(no name recorded)"
    family, given, middle, prefix, suffix = (name.split("=")[0].split("^") + [""] * 5)[:5]
    first = " ".join(part for part in (prefix, given, middle) if part)
    text = ", ".join(part for part in (family, first) if part)
    return f"{text} {suffix}".strip() or "(no name recorded)"


def cell_text(cell: LesionCell) -> str:
    """A lesion's size at a timepoint as the table shows it: "32.0 mm", nothing when only a
    status was recorded, an em dash when neither was."""
    if cell.value_mm is not None and cell.long_axis_mm and cell.short_axis_mm:
        return (f"{tenths(cell.value_mm)} mm ({tenths(cell.long_axis_mm)} × "
                f"{tenths(cell.short_axis_mm)})")
    if cell.value_mm is not None:
        return f"{tenths(cell.value_mm)} mm"
    return "" if cell.status else "—"


def status_text(cell: LesionCell | None) -> str:
    """What a cell's number does not say: its status, or that the lesion split into
    fragments or merged into another one there (RECIST 1.1 s4.3.2)."""
    if cell is None:
        return ""
    if cell.fragments_mm:
        return (f"split: {' + '.join(tenths(size) for size in cell.fragments_mm)} mm "
                "(fragments)")
    if cell.coalesced_into is not None:
        return f"merged into {cell.coalesced_into}"
    return "" if cell.status is None else STATUS_MEANINGS[cell.status]


def fmt_mm(value: float | None) -> str:
    return "—" if value is None else tenths(value)


def fmt_signed_mm(value: float | None) -> str:
    return "—" if value is None else f"{signed_tenths(value)} mm"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{signed_tenths(value)} %"


def fmt_score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def fmt_day(value: datetime.date | None) -> str:
    return "—" if value is None else value.isoformat()


def fmt_moment(value: datetime.datetime | None) -> str:
    """Date and time to the minute, with the UTC offset when the value has one."""
    if value is None:
        return "—"
    text = value.strftime("%Y-%m-%d %H:%M")
    offset = value.utcoffset()
    if offset is None:
        return text
    if not offset:
        return f"{text} UTC"
    zone = value.strftime("%z")  # e.g. +0100
    return f"{text} UTC{zone[:3]}:{zone[3:5]}"


def fmt_yes_no(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")
