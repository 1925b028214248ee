/**
 * Image geometry in the DICOM patient coordinate system (PS3.3 C.7.6.2.1.1: +x towards the
 * patient's left, +y posterior, +z head; mm). Pure functions, no cornerstone.
 *
 * Image coordinates are (row, column) with (0, 0) the top-left corner of the top-left
 * pixel (PS3.3 C.18.6.1.1), as the API takes caliper endpoints: a pixel's centre is at
 * (r + 0.5, c + 0.5), and Image Position (Patient) is the centre of the first pixel.
 */
export type Vec3 = [number, number, number];
/** A 4x4 matrix, row-major, acting on homogeneous column vectors. */
export type Mat4 = number[][];

export interface PlaneGeometry {
  /** Image Position (Patient): centre of the first pixel. */
  position: Vec3;
  /** Direction of increasing column index (first triplet of Image Orientation). */
  rowCosines: Vec3;
  /** Direction of increasing row index (second triplet). */
  columnCosines: Vec3;
  /** Pixel Spacing: [between rows (mm), between columns (mm)], row spacing first. */
  spacing: [number, number];
  rows: number;
  columns: number;
}

export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

export const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];

export function normalize(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  return n > 0 ? [v[0] / n, v[1] / n, v[2] / n] : [0, 0, 0];
}

/** The series normal: row cosines x column cosines (+z, towards the head, for axial slices). */
export const sliceNormal = (g: Pick<PlaneGeometry, 'rowCosines' | 'columnCosines'>): Vec3 =>
  normalize(cross(g.rowCosines, g.columnCosines));

/** A point's position along a normal, in mm (for a slice: its Image Position's). */
export const positionAlong = (point: Vec3, normal: Vec3): number => dot(point, normal);

/** Patient coordinates of the image point (row, column). */
export function imageToPatient(g: PlaneGeometry, row: number, column: number): Vec3 {
  const [rowSpacing, columnSpacing] = g.spacing;
  const along = (column - 0.5) * columnSpacing;
  const down = (row - 0.5) * rowSpacing;
  return [0, 1, 2].map((i) => g.position[i] + g.rowCosines[i] * along + g.columnCosines[i] * down) as Vec3;
}

/** The image point (row, column) of a patient point projected onto the image plane. */
export function patientToImage(g: PlaneGeometry, point: Vec3): [number, number] {
  const d: Vec3 = [point[0] - g.position[0], point[1] - g.position[1], point[2] - g.position[2]];
  const [rowSpacing, columnSpacing] = g.spacing;
  return [dot(d, g.columnCosines) / rowSpacing + 0.5, dot(d, g.rowCosines) / columnSpacing + 0.5];
}

/** Centre of the image in patient coordinates. */
export const imageCentre = (g: PlaneGeometry): Vec3 => imageToPatient(g, g.rows / 2, g.columns / 2);

export function applyMatrix(m: Mat4, p: Vec3): Vec3 {
  const h = [p[0], p[1], p[2], 1];
  const out = m.map((row) => row[0] * h[0] + row[1] * h[1] + row[2] * h[2] + row[3] * h[3]);
  const w = out[3] || 1;
  return [out[0] / w, out[1] / w, out[2] / w];
}

/** Inverse of a 4x4 matrix (Gauss-Jordan with partial pivoting); null when singular. */
export function invert(m: Mat4): Mat4 | null {
  const n = 4;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    if (Math.abs(a[pivot][col]) < 1e-12) return null;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    const p = a[col][col];
    for (let j = 0; j < 2 * n; j++) a[col][j] /= p;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r][col];
      for (let j = 0; j < 2 * n; j++) a[r][j] -= f * a[col][j];
    }
  }
  return a.map((row) => row.slice(n));
}

export function isMat4(m: unknown): m is Mat4 {
  return (
    Array.isArray(m) &&
    m.length === 4 &&
    m.every((row) => Array.isArray(row) && row.length === 4 && row.every((v) => Number.isFinite(v)))
  );
}

/** Index of the value nearest `target` in `positions` (any order); -1 when empty. */
export function nearestIndex(positions: readonly number[], target: number): number {
  let best = -1;
  let bestDistance = Infinity;
  positions.forEach((p, i) => {
    const d = Math.abs(p - target);
    if (d < bestDistance) {
      best = i;
      bestDistance = d;
    }
  });
  return best;
}

/**
 * The patient-direction letters of a direction (PS3.3 C.7.6.1.1.1): L/R for x, P/A for y,
 * H/F for z, the main one first and others when they weigh more than 0.25 (oblique).
 */
export function directionLetters(v: Vec3): string {
  const names: [string, string][] = [
    ['L', 'R'],
    ['P', 'A'],
    ['H', 'F'],
  ];
  return [0, 1, 2]
    .filter((i) => Math.abs(v[i]) > 0.25)
    .sort((i, j) => Math.abs(v[j]) - Math.abs(v[i]))
    .map((i) => (v[i] > 0 ? names[i][0] : names[i][1]))
    .join('');
}

const negate = (v: Vec3): Vec3 => [-v[0], -v[1], -v[2]];

/** Letters at the four edges of an image shown unrotated and unflipped. */
export function edgeLetters(g: Pick<PlaneGeometry, 'rowCosines' | 'columnCosines'>) {
  return {
    left: directionLetters(negate(g.rowCosines)),
    right: directionLetters(g.rowCosines),
    top: directionLetters(negate(g.columnCosines)),
    bottom: directionLetters(g.columnCosines),
  };
}
