import { describe, expect, it } from 'vitest';
import {
  applyMatrix,
  directionLetters,
  edgeLetters,
  imageToPatient,
  invert,
  patientToImage,
  sliceNormal,
  type Mat4,
  type PlaneGeometry,
} from '../src/viewport/geometry';

const axial: PlaneGeometry = {
  position: [-190, -40, -130],
  rowCosines: [1, 0, 0],
  columnCosines: [0, 1, 0],
  spacing: [0.5, 0.8], // row spacing first, as Pixel Spacing
  rows: 64,
  columns: 64,
};

describe('image <-> patient coordinates', () => {
  it('puts Image Position at the centre of the first pixel', () => {
    expect(imageToPatient(axial, 0.5, 0.5)).toEqual([-190, -40, -130]);
  });

  it('uses row spacing down the rows and column spacing along them', () => {
    // 10 rows down = 5 mm along +y; 10 columns across = 8 mm along +x.
    expect(imageToPatient(axial, 10.5, 10.5)).toEqual([-182, -35, -130]);
  });

  it('round-trips sub-pixel points', () => {
    const [r, c] = patientToImage(axial, imageToPatient(axial, 12.25, 40.75));
    expect(r).toBeCloseTo(12.25, 10);
    expect(c).toBeCloseTo(40.75, 10);
  });

  it('projects on an oblique plane too', () => {
    const s = Math.SQRT1_2;
    const oblique: PlaneGeometry = { ...axial, rowCosines: [s, s, 0], columnCosines: [0, 0, -1] };
    const [r, c] = patientToImage(oblique, imageToPatient(oblique, 3.5, 7.25));
    expect(r).toBeCloseTo(3.5, 10);
    expect(c).toBeCloseTo(7.25, 10);
  });
});

describe('normals and letters', () => {
  it('has +z (head) as the axial normal', () => {
    expect(sliceNormal(axial)).toEqual([0, 0, 1]);
  });

  it('names the edges of an axial image as radiologists read it', () => {
    expect(edgeLetters(axial)).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
  });

  it('names the edges of a coronal image', () => {
    expect(edgeLetters({ rowCosines: [1, 0, 0], columnCosines: [0, 0, -1] })).toEqual({ left: 'R', right: 'L', top: 'H', bottom: 'F' });
  });

  it('names oblique directions by weight', () => {
    expect(directionLetters([0.8, -0.6, 0])).toBe('LA');
  });
});

describe('matrices', () => {
  const m: Mat4 = [
    [1, 0, 0, 3],
    [0, 0.9961947, -0.0871557, -5],
    [0, 0.0871557, 0.9961947, 6.25],
    [0, 0, 0, 1],
  ];

  it('maps a point (row-major, homogeneous)', () => {
    expect(applyMatrix(m, [0, 0, 0])).toEqual([3, -5, 6.25]);
  });

  it('inverts', () => {
    const back = applyMatrix(invert(m)!, applyMatrix(m, [10, -20, 30]));
    back.forEach((v, i) => expect(v).toBeCloseTo([10, -20, 30][i], 9));
  });

  it('refuses a singular matrix', () => {
    expect(invert([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])).toBeNull();
  });
});
