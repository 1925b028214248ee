"""The image a series' thumbnail shows (api/adapters/series_metadata.py): the middle one by
Instance Number, and of a multi-frame image its middle frame."""

from __future__ import annotations

from api.adapters.series_metadata import IndexedImage, RepresentativeImage, representative


def test_the_middle_image_by_instance_number_whatever_the_order_stored() -> None:
    images = [IndexedImage(f"1.2.{n}", n) for n in (5, 1, 4, 2, 3)]
    assert representative(images) == RepresentativeImage("1.2.3")
    # An even count: the upper of the two middle ones, as the viewer opens a series.
    assert representative(images[:4]) == RepresentativeImage("1.2.4")


def test_missing_numbers_count_zero_and_ties_go_by_uid() -> None:
    images = [IndexedImage("1.9", None), IndexedImage("1.3", 1), IndexedImage("1.1", None)]
    # Ordered 1.1 (0), 1.9 (0), 1.3 (1): the middle is 1.9.
    assert representative(images) == RepresentativeImage("1.9")
    assert representative([IndexedImage("1.2", 7), IndexedImage("1.1", 7),
                           IndexedImage("1.3", 7)]) == RepresentativeImage("1.2")


def test_a_multi_frame_image_gives_its_middle_frame() -> None:
    assert representative([IndexedImage("1.2", 1, tuple(range(1, 11)))]) \
        == RepresentativeImage("1.2", 6)
    assert representative([IndexedImage("1.2", 1, (3, 1, 2))]) == RepresentativeImage("1.2", 2)
    # One frame listed is a single frame: no frame number.
    assert representative([IndexedImage("1.2", 1, (1,))]) == RepresentativeImage("1.2")


def test_no_image_no_thumbnail() -> None:
    assert representative([]) is None
