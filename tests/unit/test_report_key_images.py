"""The report's key images encoded per format (api/report/key_images.py): in the pool's
threads, each picture once per format."""

from __future__ import annotations

import threading

from api.report.key_images import ENCODINGS, PDF_JPEG_QUALITY, Encoding, encode_key_images
from imaging.render import Picture
from tests.report_sample import sample_report_data


def test_a_report_s_key_images_are_encoded_in_threads_once_each() -> None:
    data = sample_report_data(follow_ups=1, targets=3, crop_px=64, thumbnail_px=64,
                              broken_image=(2, 1))
    pictures = [p for les in data.lesions for im in les.images
                for p in (im.crop, im.thumbnail) if p is not None]
    assert len(pictures) == 10  # 3 lesions x 2 timepoints x 2, less the broken image's
    threads: set[str] = set()
    calls: list[Picture] = []

    def png(picture: Picture) -> bytes:
        threads.add(threading.current_thread().name)
        calls.append(picture)
        return picture.png()

    encoding = Encoding(png, Picture.has_png)
    encode_key_images(data, encoding)
    assert all(p.has_png() for p in pictures)
    assert sorted(map(id, calls)) == sorted(map(id, pictures))  # each once
    assert threading.current_thread().name not in threads  # in the pool, not here
    calls.clear()
    encode_key_images(data, encoding)  # all done: nothing to encode
    assert calls == []
    assert not any(p.has_jpeg(PDF_JPEG_QUALITY) for p in pictures)
    encode_key_images(data, ENCODINGS["pdf"])
    assert all(p.has_jpeg(PDF_JPEG_QUALITY) for p in pictures)
