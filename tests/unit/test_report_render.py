"""The report as HTML and PDF: numbers, labels, escaping, embedded images, every page rendered.

Reports are built here (tests.unit.test_report_factories) with Pillow-drawn key images: 3
timepoints x 4 target lesions, one image that could not be decoded, a lesion without an image
at one timepoint, and hostile text in an organ name, a label and the patient's name. PDF pages
are rasterised with poppler's pdftoppm and inspected as pixel arrays.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from api.report.errors import ReportError
from api.report.key_images import PDF_JPEG_QUALITY
from api.report.model import LesionRow, ReportData
from api.report.render import (
    _KeyImageFetcher,
    display_name,
    fmt_moment,
    render_html,
    render_pdf,
)
from api.report.vocabulary import STATUS_MEANINGS
from imaging.render import Picture
from measurement.figures import tenths
from measurement.vocabulary import LesionStatus
from tests.report_sample import sample_report_data
from tests.unit.test_report_factories import MALICIOUS, key_image, lesion, report, sized_case

SIZES = [[32.0, 22.0, 20.0], [24.0, 18.0, 16.0], [41.0, 25.0, 23.0], [18.0, 14.0, 26.0]]
ORGANS = ["liver", "lung", MALICIOUS, "adrenal gland"]
DATA_PNG = "data:image/png;base64,"


@pytest.fixture(scope="module")
def data() -> ReportData:
    """3 timepoints x 4 targets; T2's image at FU1 is broken; a non-target lesion; hostile
    text in T3's organ, a non-target label and the patient's name."""
    case = sized_case(SIZES, ["PR", "SD"], broken=(1, 1), organs=ORGANS, mixed=[False, True],
                      best="PR", image_px=64)
    fu1 = case.timepoints[1]
    extra = (
        lesion("NT<1>", [("BL", None, "present"), ("FU1", None, "present"),
                         ("FU2", None, "absent")], kind="non_target", organ="pleura"),
        # A target whose FU2 reading is "not evaluable" and has no image there.
        lesion("T5", [("BL", 15.0, None), ("FU1", 12.0, None), ("FU2", None, "not_evaluable")],
               images=[key_image("BL", case.baseline.date, 15.0, seed=91),
                       key_image("FU1", fu1.date, 12.0, seed=92)]),
    )
    return report(case.timepoints, case.lesions + extra, best="PR",
                  patient_name="<b>DOE</b>^JANE",
                  warnings=[("TARGET_BELOW_MEASURABLE_SIZE", "T5 & T4: check < 10 mm")])


@pytest.fixture(scope="module")
def html(data: ReportData) -> str:
    return render_html(data)


def test_html_shows_the_header_facts(html: str) -> None:
    for text in ("Tumour response report", "P-001", "DOE&lt;/b&gt;, JANE", "1960-02-01", "female",
                 "RECIST 1.1", "2026-05-04 09:30 UTC", "Nadir 0.1.0-test",
                 "dr.baseline", "dr.followup", "2026-01-14 16:05 UTC",
                 "#2 CT 1.25 mm venous (300 images)", "#3 CT 1.25 mm venous (298 images)",
                 "0.91", "automatic", "CT thorax-abdomen"):
        assert text in html, text


def test_html_shows_the_timepoint_numbers_and_responses(data: ReportData, html: str) -> None:
    for row in data.timepoints:
        assert f"{tenths(row.sum_mm)}" in html
    fu1, fu2 = data.timepoints[1:]
    # Sums 115.0, 79.0, 85.0: -31.3 % then -26.1 % from baseline; FU2 +7.6 %, +6.0 mm on nadir.
    assert fu1.sum_mm == 79.0 and fu2.sum_mm == 85.0
    for text in ("-31.3 %", "-26.1 %", "+7.6 %", "+6.0 mm", "-36.0 mm"):
        assert text in html, text
    assert html.count('<span class="code">PR</span><span class="meaning">partial response'
                      '</span>') == 2  # target and overall at FU1
    assert '<span class="code">SD</span><span class="meaning">stable disease</span>' in html
    assert "<strong>PR</strong> — partial response" in html  # best overall response
    assert "Latest reading (" in html and "Mixed response: specialist review" in html


def test_html_shows_every_lesion_with_its_measurements(html: str) -> None:
    for label in ("T1", "T2", "T3", "T4", "T5"):
        assert f"<strong>{label}</strong>" in html
    for value in ("32.0 mm", "22.0 mm", "20.0 mm", "26.0 mm", "12.0 mm"):
        assert value in html
    for change in ("-37.5 %", "-33.3 %", "+44.4 %"):  # T1, T2, T4 from baseline
        assert change in html
    assert "not evaluable" in html and "present" in html and "absent" in html
    assert "non-target" in html and "adrenal gland" in html


def test_html_escapes_hostile_text(html: str) -> None:
    assert "<script" not in html and "<b>DOE" not in html and "NT<1>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;b&gt;DOE&lt;/b&gt;" in html and "NT&lt;1&gt;" in html
    assert "T5 &amp; T4: check &lt; 10 mm" in html


def test_html_embeds_the_key_images_as_png_data_uris(data: ReportData, html: str) -> None:
    pictures = [picture for les in data.lesions for image in les.images
                for picture in (image.crop, image.thumbnail) if picture is not None]
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == len(pictures) and all(s.startswith(DATA_PNG) for s in sources)
    first = base64.b64decode(sources[0].removeprefix(DATA_PNG))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(first)).convert("RGB")),
                          np.asarray(pictures[0].image()))
    assert "href=" not in html and "url(" not in html  # nothing else to load


def test_html_names_images_that_cannot_be_shown(html: str) -> None:
    assert "Image could not be shown." in html
    assert "cannot decode the pixel data of SOP Instance 1.2.3.11" in html
    assert "No key image: not evaluable." in html
    assert "Some key images could not be shown" in html  # and a note says so


def test_html_carries_charts_notes_print_css_and_the_disclaimer(html: str) -> None:
    assert html.count("<svg") == 2 and 'id="sum-chart"' in html and 'id="lesion-chart"' in html
    for title in ("What these results mean", "Latest scan (", "Mixed response: flagged",
                  "A target lesion below measurable size", "Scans are one part of the picture"):
        assert title in html, title
    assert "@page" in html and "size: A4" in html and "counter(pages)" in html
    assert html.count("This is a computed reading to support, not replace, the "
                      "interpretation of a qualified oncologist.") == 2  # note and footer
    for tag in ("table", "div", "section", "svg", "figure"):
        assert html.count(f"<{tag}") == html.count(f"</{tag}>"), tag


def test_every_lesion_status_has_report_words() -> None:
    assert set(STATUS_MEANINGS) == {status.value for status in LesionStatus}


def test_html_words_an_irecist_further_increase() -> None:
    case = sized_case([[40.0, 50.0, 60.0]], ["iUPD", "iUPD"], criteria="iRECIST")
    non_target = lesion("NT1", [("BL", None, "present"), ("FU1", None, "unequivocal_progression"),
                                ("FU2", None, "unequivocal_further_increase")],
                        kind="non_target", organ="pleura")
    html = render_html(report(case.timepoints, case.lesions + (non_target,), criteria="iRECIST",
                              best="iUPD"))
    assert ('<span class="status">unequivocal further increase (grew again after unconfirmed '
            "progression, iUPD)</span>") in html
    assert '<span class="status">unequivocal progression</span>' in html


def test_html_is_deterministic(data: ReportData, html: str) -> None:
    assert render_html(data) == html


@pytest.fixture(scope="module")
def pdf(data: ReportData) -> bytes:
    return render_pdf(data)


def rasterise(pdf: bytes, folder: Path, dpi: int = 50) -> list[np.ndarray]:
    """Every page as an RGB array, by pdftoppm; skips when poppler is not installed."""
    if any(shutil.which(tool) is None for tool in ("pdftoppm", "pdfinfo", "pdftotext")):
        pytest.skip("pdftoppm, pdfinfo or pdftotext (poppler-utils) is not installed")
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))  # type: ignore[union-attr]
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(path), str(folder / "page")],
                   check=True, timeout=120)
    files = sorted(folder.glob("page-*.png"))
    assert len(files) == pages  # every page rendered
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def test_pdf_renders_every_page_with_content(pdf: bytes, tmp_path: Path) -> None:
    assert pdf.startswith(b"%PDF-")
    pages = rasterise(pdf, tmp_path)
    assert len(pages) >= 3
    for page in pages:
        grey = page.mean(axis=2)
        assert page.shape[0] > page.shape[1]  # A4 portrait
        assert grey.std() > 5 and (grey < 200).mean() > 0.005  # text, tables, images


def test_pdf_shows_the_key_images(pdf: bytes, tmp_path: Path) -> None:
    pages = rasterise(pdf, tmp_path, dpi=60)
    # The caliper's yellow survives JPEG in the PDF; the grey squares are large mid-grey areas.
    yellow = [((p[..., 0] > 190) & (p[..., 1] > 150) & (p[..., 2] < 110)).sum() for p in pages]
    assert sum(yellow) > 50
    images_page = pages[yellow.index(max(yellow))]
    mid_grey = (np.abs(images_page.astype(int) - 110).max(axis=2) < 25).mean()
    assert mid_grey > 0.05


def test_pdf_of_a_realistic_case_renders(tmp_path: Path) -> None:
    """2 timepoints x 5 targets with 384 px crops and 256 px thumbnails (see bench/), and two
    tumour markers."""
    pdf = render_pdf(sample_report_data(follow_ups=1, targets=5, broken_image=(4, 1),
                                        markers=True))
    pages = rasterise(pdf, tmp_path, dpi=40)
    assert all(page.mean(axis=2).std() > 5 for page in pages)
    # The marker charts' text is laid out as text in the PDF.
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    for words in ("CEA · ng/mL", "ULN 5 ng/mL", "ULN 37 U/mL", "test 2026-02-16",
                  "Tumour markers: a blood test beside the scans"):
        assert words in text, words


def test_pdf_loads_nothing_but_its_own_images() -> None:
    fetcher = _KeyImageFetcher()
    url = fetcher.add(key_image_picture())
    assert fetcher.fetch(url).read().startswith(b"\xff\xd8")  # JPEG
    for other in ("file:///etc/hostname", "http://127.0.0.1/x.png", "nadir-image:99"):
        with pytest.raises(ReportError, match="only its own key images"):
            fetcher.fetch(other)


def key_image_picture() -> Picture:
    view = key_image("BL", datetime.date(2026, 1, 1), 10.0)
    assert view.crop is not None
    return view.crop


def test_the_pdf_embeds_each_picture_as_its_jpeg_and_keeps_it() -> None:
    picture = key_image_picture()
    fetcher = _KeyImageFetcher()
    body = fetcher.fetch(fetcher.add(picture)).read()
    assert body == picture.jpeg(PDF_JPEG_QUALITY)
    # Encoded once: the next PDF of an unchanged case takes the same bytes.
    assert picture.jpeg(PDF_JPEG_QUALITY) is picture.jpeg(PDF_JPEG_QUALITY)
    original = np.asarray(picture.image()).astype(int)
    jpeg = np.asarray(Image.open(io.BytesIO(body)).convert("RGB")).astype(int)
    assert original.shape == jpeg.shape and np.abs(original - jpeg).mean() < 3


@pytest.mark.parametrize(("value", "expected"), [
    (datetime.datetime(2026, 5, 4, 9, 30, tzinfo=datetime.UTC), "2026-05-04 09:30 UTC"),
    (datetime.datetime(2026, 5, 4, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
     "2026-05-04 09:30 UTC+02:00"),
    (datetime.datetime(2026, 5, 4, 9, 30), "2026-05-04 09:30"),
    (None, "—"),
])
def test_times_show_their_offset(value: datetime.datetime | None, expected: str) -> None:
    assert fmt_moment(value) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("DOE^JANE", "DOE, JANE"), ("DOE^JANE^M^DR^", "DOE, DR JANE M"), ("Jane Doe", "Jane Doe"),
    ("", "(no name recorded)"), ("^^^^", "(no name recorded)"),
])
def test_person_names_read_naturally(name: str, expected: str) -> None:
    assert display_name(name) == expected


def test_a_report_without_follow_up_or_images_renders(tmp_path: Path) -> None:
    data = sized_case([[20.0]], [], best="NE")
    bare = report(data.timepoints, (LesionRow("T1", "target", "liver", False,
                                              data.lesions[0].cells, None, ()),))
    html = render_html(bare)
    assert "Baseline only" in html and "No key image: no image recorded." in html
    assert render_pdf(bare).startswith(b"%PDF-")


def _boxes(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", ()):
        yield from _boxes(child)


def test_the_studies_and_series_tables_have_fixed_widths_and_keep_text_in_its_column() -> None:
    """Their widths come from the template, not from measuring every cell at each possible
    break (which the UIDs made costly); a word wider than its column, as a long user name or
    a series description without spaces, breaks inside the column rather than running over
    the next one."""
    from weasyprint import HTML

    data = sample_report_data(study_uids=True)
    signed = dataclasses.replace(
        data.timepoints[0], signed_off_by="radiologist.anne-marie.vandenberghe@hospital.example",
        signed_off_at=datetime.datetime(2026, 1, 14, 9, 5, tzinfo=datetime.UTC))
    pair = dataclasses.replace(data.pairs[0],
                               baseline_description="CHEST_ABDOMEN_PORTAL_VENOUS_5.0MM_B30F_SOFT")
    data = dataclasses.replace(data, timepoints=(signed, *data.timepoints[1:]),
                               pairs=(pair, *data.pairs[1:]))
    first = HTML(string=render_html(data)).render().pages[0]._page_box
    tables = {cls: box for box in _boxes(first)
              if box.element_tag == "table" and box.element is not None
              and (cls := box.element.get("class", "")) in ("grid studies", "grid series")}
    assert set(tables) == {"grid studies", "grid series"}
    for table in tables.values():
        assert table.style["table_layout"] == "fixed"
        cells = [box for box in _boxes(table) if box.element_tag in ("td", "th")]
        assert cells
        for cell in cells:
            right = cell.content_box_x() + cell.width
            for text in _boxes(cell):
                if type(text).__name__ == "TextBox":
                    assert text.position_x + text.width <= right + 0.5, text.text
