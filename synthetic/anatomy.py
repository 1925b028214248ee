"""A Hounsfield-unit phantom of an adult trunk, rendered one plane at a time.

The anatomy is a painter's list of ellipses per body-frame z (see :mod:`.spec`): fat and
muscle of the body wall, ribs, lungs, mediastinum with trachea, heart and aorta, liver,
spleen, stomach, kidneys, spine, the table, and the study's spherical lesions drawn last as
the sphere's exact cross-section on each plane. A body lying straight is painted plane by
plane exactly; a turned body (a follow-up's pose) is rendered by resampling the anatomy:
body-frame planes 1 mm apart are painted once and sampled (trilinear) at the moved
position of each pixel, while the table stays where the scanner has it (and flattens
what would sink into it). HU values are textbook attenuations (air -1000, lung -850, fat
-100, soft tissue 40, bone 700); contrast-enhanced series raise blood pool and parenchyma
as in a portal-venous phase.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from imaging.rigid import Matrix
from synthetic.spec import (
    BODY_HALF_DEPTH_MM,
    TABLE_PAD_MM,
    SyntheticLesion,
)

HU_AIR = -1000
HU_LUNG = -850
HU_FAT = -100
HU_MEDIASTINAL_FAT = -90
HU_MUSCLE = 50
HU_ABDOMINAL_CONTENT = -30  # mesenteric fat mixed with bowel loops
HU_BONE = 700
HU_DISC = 90
HU_CSF = 15
HU_MATTRESS = -750
HU_TABLE_SHELL = 250  # carbon-fibre skin of the table top
HU_TABLE_CORE = -950  # foam core of the table top

# (plain, contrast-enhanced) attenuation; contrast series are portal-venous phase.
HU_BLOOD = (40, 180)
HU_MYOCARDIUM_AND_BLOOD = (40, 150)
HU_LIVER = (55, 105)
HU_SPLEEN = (45, 115)
HU_KIDNEY = (35, 170)
HU_STOMACH_WALL = (35, 60)

# Discs between vertebral bodies: one motion segment every 32 mm, 6 mm of it disc.
VERTEBRA_PITCH_MM = 32.0
DISC_HEIGHT_MM = 6.0

HUArray = npt.NDArray[np.int16]


@dataclass(frozen=True)
class PlaneGrid:
    """Pixel centres of an axial image in patient mm: columns along +x, rows along +y."""

    x0: float
    y0: float
    column_spacing: float
    row_spacing: float
    columns: int
    rows: int

    @classmethod
    def centred(cls, center_x: float, center_y: float, fov_mm: float, matrix: int) -> PlaneGrid:
        """A square reconstruction field of view centred on (center_x, center_y)."""
        spacing = fov_mm / matrix
        half = fov_mm / 2.0 - spacing / 2.0
        return cls(center_x - half, center_y - half, spacing, spacing, matrix, matrix)


@dataclass(frozen=True)
class _Ellipse:
    cx: float
    cy: float
    a: float  # half-axis along x
    b: float  # half-axis along y
    hu: int


def _interp(z: float, zs: Sequence[float], values: Sequence[float]) -> float:
    return float(np.interp(z, zs, values))


def _extent_factor(z: float, top: float, bottom: float, dome: float, taper: float) -> float:
    """Width factor of an organ along z: 0 outside, rising like a dome from the top.

    ``dome`` and ``taper`` are the fractions of the organ's height over which its cross
    section grows from the top and shrinks towards the bottom.
    """
    if not bottom < z < top:
        return 0.0
    t = (top - z) / (top - bottom)
    grow = math.sqrt(min(1.0, t / dome)) if dome > 0 else 1.0
    shrink = math.sqrt(min(1.0, (1.0 - t) / taper)) if taper > 0 else 1.0
    return grow * shrink


class Phantom:
    """The phantom patient placed on the table of one study.

    ``body_origin_mm`` is where the body frame's origin lies in patient coordinates;
    ``table_top_y_mm`` is the patient-coordinate y of the table top (Table Height);
    ``rotation`` (3 x 3, about the body origin) turns the body, None lies it straight.
    """

    def __init__(
        self,
        lesions: Sequence[SyntheticLesion],
        body_origin_mm: tuple[float, float, float],
        table_top_y_mm: float,
        rotation: Matrix | None = None,
    ) -> None:
        self._lesions = tuple(lesions)
        self._origin = body_origin_mm
        self._table_top_y = table_top_y_mm
        self._rotation = rotation
        self._body_planes: dict[tuple[float, float, bool], _BodyPlanes] = {}

    def render_axial(self, z_mm: float, grid: PlaneGrid, *, contrast: bool) -> HUArray:
        """HU image of the axial plane at patient z ``z_mm`` (no noise)."""
        img = np.full((grid.rows, grid.columns), HU_AIR, dtype=np.int16)
        if self._rotation is not None:
            # The table is painted last: a turned body cannot sink into the mattress.
            self._paint_turned_body(img, z_mm, grid, contrast)
            self._paint_table(img, grid)
            return img
        self._paint_table(img, grid)
        ox, oy, oz = self._origin
        for e in self.cross_section(z_mm - oz, contrast=contrast):
            _fill_ellipse(img, grid, e.cx + ox, e.cy + oy, e.a, e.b, e.hu)
        return img

    def _paint_turned_body(self, img: HUArray, z_mm: float, grid: PlaneGrid,
                           contrast: bool) -> None:
        """Sample the turned anatomy at every pixel centre of the plane."""
        assert self._rotation is not None
        key = (grid.row_spacing, grid.column_spacing, contrast)
        planes = self._body_planes.get(key)
        if planes is None:
            planes = self._body_planes[key] = _BodyPlanes(self, grid.row_spacing,
                                                          grid.column_spacing, contrast)
        ys = grid.y0 + np.arange(grid.rows) * grid.row_spacing
        xs = grid.x0 + np.arange(grid.columns) * grid.column_spacing
        # Body point of each pixel: b = R^T (p - origin); affine in (row, column).
        inverse = self._rotation.T
        d = np.array([0.0, 0.0, z_mm]) - np.asarray(self._origin)
        body = [inverse[k, 0] * xs[None, :] + inverse[k, 1] * ys[:, None]
                + (inverse[k, 0] * d[0] + inverse[k, 1] * d[1] + inverse[k, 2] * d[2])
                for k in range(3)]
        sampled = planes.sample(body[0], body[1], body[2])
        inside = sampled > HU_AIR + 0.5
        img[inside] = np.rint(sampled[inside]).astype(np.int16)

    def body_plane(self, z: float, grid: PlaneGrid, *, contrast: bool) -> HUArray:
        """The anatomy alone on a body-frame plane at body-frame ``z`` (air around it)."""
        img = np.full((grid.rows, grid.columns), HU_AIR, dtype=np.int16)
        for e in self.cross_section(z, contrast=contrast):
            _fill_ellipse(img, grid, e.cx, e.cy, e.a, e.b, e.hu)
        return img

    def cross_section(self, z: float, *, contrast: bool) -> list[_Ellipse]:
        """Body-frame ellipses at body-frame ``z``, in painting order."""
        phase = 1 if contrast else 0
        a = _interp(z, (-420.0, -250.0, -100.0, 20.0, 60.0), (165.0, 160.0, 168.0, 172.0, 150.0))
        b = _interp(z, (-420.0, -250.0, -100.0, 20.0, 60.0), (118.0, 120.0, 117.0, 112.0, 100.0))
        # The back rests on the mattress: keep the posterior skin at the same y.
        cy = BODY_HALF_DEPTH_MM - b
        shapes = [
            _Ellipse(0.0, cy, a, b, HU_FAT),
            _Ellipse(0.0, cy, a - 14.0, b - 14.0, HU_MUSCLE),
            _Ellipse(0.0, cy, a - 24.0, b - 24.0, HU_ABDOMINAL_CONTENT),
        ]
        shapes += _ribs(z, a - 19.0, b - 19.0, cy)
        shapes += _abdomen(z, phase)
        shapes += _thorax(z, a, b, phase)
        shapes += _spine(z, b, cy)
        shapes += self._lesion_sections(z)
        return shapes

    def _lesion_sections(self, z: float) -> list[_Ellipse]:
        # Each lesion is the sphere's exact cross-section at the plane's z, so the
        # in-plane diameter on the central plane equals the lesion's diameter.
        out = []
        for les in self._lesions:
            dz = z - les.center_mm[2]
            r2 = les.radius_mm**2 - dz * dz
            if r2 > 0:
                r = math.sqrt(r2)
                out.append(_Ellipse(les.center_mm[0], les.center_mm[1], r, r, round(les.hu)))
        return out

    def _paint_table(self, img: HUArray, grid: PlaneGrid) -> None:
        top = self._table_top_y
        _fill_rows(img, grid, top - TABLE_PAD_MM, top, -230.0, 230.0, HU_MATTRESS)
        _fill_rows(img, grid, top, top + 30.0, -240.0, 240.0, HU_TABLE_SHELL)
        _fill_rows(img, grid, top + 4.0, top + 26.0, -236.0, 236.0, HU_TABLE_CORE)


class _BodyPlanes:
    """Body-frame axial planes of the anatomy, painted once each as they are needed."""

    STEP_MM = 1.0
    KEEP = 64  # planes kept beyond the ones a slice needs
    # The trunk and everything in it lies within these body-frame bounds (mm).
    X_RANGE = (-200.0, 200.0)
    Y_RANGE = (-150.0, 140.0)

    def __init__(self, phantom: Phantom, row_spacing: float, column_spacing: float,
                 contrast: bool) -> None:
        self._phantom = phantom
        self._contrast = contrast
        x0, y0 = self.X_RANGE[0], self.Y_RANGE[0]
        columns = math.ceil((self.X_RANGE[1] - x0) / column_spacing) + 1
        rows = math.ceil((self.Y_RANGE[1] - y0) / row_spacing) + 1
        self._grid = PlaneGrid(x0, y0, column_spacing, row_spacing, columns, rows)
        self._planes: dict[int, HUArray] = {}

    def _plane(self, k: int) -> HUArray:
        plane = self._planes.get(k)
        if plane is None:
            plane = self._planes[k] = self._phantom.body_plane(
                k * self.STEP_MM, self._grid, contrast=self._contrast)
        return plane

    def sample(self, bx: npt.NDArray[np.float64], by: npt.NDArray[np.float64],
               bz: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        """Trilinear HU at body points (air outside the anatomy's bounds)."""
        k0 = math.floor(float(bz.min()) / self.STEP_MM)
        k1 = math.floor(float(bz.max()) / self.STEP_MM) + 1
        # Slices come in order along z: keep the planes near this one only.
        for k in [k for k in self._planes if not k0 - self.KEEP <= k <= k1 + self.KEEP]:
            del self._planes[k]
        stack = np.stack([self._plane(k) for k in range(k0, k1 + 1)])
        g = self._grid
        coordinates = np.stack([
            bz / self.STEP_MM - k0,
            (by - g.y0) / g.row_spacing,
            (bx - g.x0) / g.column_spacing,
        ])
        out: npt.NDArray[np.float32] = ndimage.map_coordinates(
            stack, coordinates, output=np.float32, order=1, mode="constant", cval=HU_AIR)
        return out


def _ribs(z: float, ring_a: float, ring_b: float, cy: float) -> list[_Ellipse]:
    if not -240.0 < z < 10.0:
        return []
    # Ribs run obliquely down and forward, so their cross-sections rotate with z.
    turn = z * 0.004
    out = []
    for k in range(5):
        for side in (-1.0, 1.0):
            theta = 0.55 + k * 0.42 + turn
            x = side * ring_a * math.sin(theta)
            y = cy - ring_b * math.cos(theta)
            out.append(_Ellipse(x, y, 6.0, 5.0, HU_BONE))
    return out


def _thorax(z: float, a: float, b: float, phase: int) -> list[_Ellipse]:
    out: list[_Ellipse] = []
    for side, bottom in ((-1.0, -215.0), (1.0, -235.0)):  # the liver lifts the right base
        w = _extent_factor(z, 35.0, bottom, dome=0.3, taper=0.15)
        if w > 0:
            t = (35.0 - z) / (35.0 - bottom)
            # Bases sit in the posterior costophrenic recesses.
            lung_cy = -5.0 + 45.0 * max(0.0, t - 0.7) / 0.3
            out.append(_Ellipse(side * 0.45 * a, lung_cy, 0.33 * a * w, 0.68 * b * w, HU_LUNG))
    if -210.0 < z < 25.0:
        out.append(_Ellipse(0.0, -10.0, 40.0, 72.0, HU_MEDIASTINAL_FAT))
    if -60.0 < z < 60.0:
        out.append(_Ellipse(0.0, -5.0, 9.0, 9.0, HU_AIR))  # trachea, down to the carina
    heart = _extent_factor(z, -80.0, -205.0, dome=0.35, taper=0.3)
    if heart > 0:
        out.append(
            _Ellipse(18.0, -25.0, 58.0 * heart, 52.0 * heart, HU_MYOCARDIUM_AND_BLOOD[phase])
        )
    if -80.0 < z < -20.0:
        out.append(_Ellipse(10.0, -20.0, 15.0, 15.0, HU_BLOOD[phase]))  # ascending aorta
    if z < -20.0:
        out.append(_Ellipse(22.0, 45.0, 12.0, 12.0, HU_BLOOD[phase]))  # descending aorta
    if z < -200.0:
        out.append(_Ellipse(-25.0, 30.0, 11.0, 11.0, HU_BLOOD[phase]))  # inferior vena cava
    return out


def _abdomen(z: float, phase: int) -> list[_Ellipse]:
    out: list[_Ellipse] = []
    liver = _extent_factor(z, -170.0, -330.0, dome=0.3, taper=0.4)
    if liver > 0:
        out.append(_Ellipse(-60.0, 5.0, 85.0 * liver, 80.0 * liver, HU_LIVER[phase]))
    spleen = _extent_factor(z, -190.0, -280.0, dome=0.3, taper=0.3)
    if spleen > 0:
        out.append(_Ellipse(85.0, 35.0, 30.0 * spleen, 45.0 * spleen, HU_SPLEEN[phase]))
    stomach = _extent_factor(z, -180.0, -250.0, dome=0.2, taper=0.3)
    if stomach > 0:
        out.append(_Ellipse(45.0, -40.0, 40.0 * stomach, 30.0 * stomach, HU_STOMACH_WALL[phase]))
        out.append(_Ellipse(45.0, -50.0, 30.0 * stomach, 16.0 * stomach, HU_AIR))  # gas
    for side, top in ((-1.0, -270.0), (1.0, -260.0)):  # the liver pushes the right kidney down
        kidney = _extent_factor(z, top, top - 100.0, dome=0.25, taper=0.25)
        if kidney > 0:
            out.append(_Ellipse(side * 75.0, 50.0, 27.0 * kidney, 38.0 * kidney, HU_KIDNEY[phase]))
    return out


def _spine(z: float, b: float, cy: float) -> list[_Ellipse]:
    back = cy + b  # posterior skin
    body_hu = HU_DISC if (z % VERTEBRA_PITCH_MM) < DISC_HEIGHT_MM else HU_BONE
    return [
        _Ellipse(-35.0, back - 32.0, 24.0, 20.0, HU_MUSCLE),  # paraspinal muscles
        _Ellipse(35.0, back - 32.0, 24.0, 20.0, HU_MUSCLE),
        _Ellipse(0.0, back - 52.0, 18.0, 16.0, body_hu),  # vertebral body
        _Ellipse(0.0, back - 28.0, 14.0, 9.0, HU_BONE),  # neural arch
        _Ellipse(0.0, back - 29.0, 7.5, 6.5, HU_CSF),  # spinal canal
        _Ellipse(0.0, back - 14.0, 4.0, 9.0, HU_BONE),  # spinous process
    ]


def _index_range(lo: float, hi: float, origin: float, spacing: float, n: int) -> tuple[int, int]:
    start = max(0, math.ceil((lo - origin) / spacing))
    stop = min(n, math.floor((hi - origin) / spacing) + 1)
    return start, stop


def _fill_ellipse(
    img: HUArray, grid: PlaneGrid, cx: float, cy: float, a: float, b: float, hu: int
) -> None:
    """Set pixels whose centres lie inside the ellipse; work only on its bounding box."""
    if a <= 0 or b <= 0:
        return
    j0, j1 = _index_range(cx - a, cx + a, grid.x0, grid.column_spacing, grid.columns)
    i0, i1 = _index_range(cy - b, cy + b, grid.y0, grid.row_spacing, grid.rows)
    if j0 >= j1 or i0 >= i1:
        return
    u = ((grid.x0 + np.arange(j0, j1) * grid.column_spacing - cx) / a) ** 2
    v = ((grid.y0 + np.arange(i0, i1) * grid.row_spacing - cy) / b) ** 2
    img[i0:i1, j0:j1][v[:, None] + u[None, :] <= 1.0] = hu


def _fill_rows(
    img: HUArray, grid: PlaneGrid, y_lo: float, y_hi: float, x_lo: float, x_hi: float, hu: int
) -> None:
    i0, i1 = _index_range(y_lo, y_hi, grid.y0, grid.row_spacing, grid.rows)
    j0, j1 = _index_range(x_lo, x_hi, grid.x0, grid.column_spacing, grid.columns)
    if i0 < i1 and j0 < j1:
        img[i0:i1, j0:j1] = hu


class NoiseBank:
    """Pre-drawn quantum-noise fields, sampled per image by a random shift.

    Drawing fresh Gaussian noise for every 512 x 512 slice would dominate generation time;
    a few fields larger than the image, cut at random offsets, look independent enough.
    Soft-tissue kernels low-pass the noise (PS3.3 C.8.2.1 Convolution Kernel), so their
    fields are smoothed and rescaled to the same standard deviation.
    """

    _FIELDS = 6
    _MARGIN = 64

    def __init__(
        self, rng: np.random.Generator, rows: int, columns: int, sd_hu: float, smooth: bool
    ) -> None:
        shape = (self._FIELDS, rows + self._MARGIN, columns + self._MARGIN)
        noise = rng.standard_normal(shape, dtype=np.float32)
        if smooth:
            noise = ndimage.gaussian_filter(noise, sigma=(0.0, 1.0, 1.0))
            noise /= max(float(noise.std()), 1e-6)
        self._fields = np.rint(noise * sd_hu).astype(np.int16)
        self._rows = rows
        self._columns = columns

    def sample(self, rng: np.random.Generator) -> HUArray:
        k = int(rng.integers(self._FIELDS))
        dy, dx = (int(v) for v in rng.integers(0, self._MARGIN, size=2))
        window: HUArray = self._fields[k, dy : dy + self._rows, dx : dx + self._columns]
        return window
