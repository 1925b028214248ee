import { describe, expect, it } from 'vitest';
// The image loader's own search, which the build replaces (vite.config.ts): the baseline.
import loaders from '../node_modules/@cornerstonejs/dicom-image-loader/dist/esm/imageLoader/wadors/findIndexOfString.js';
import ours from '../src/vendor/find-index-of-string';
import { frameAnswer } from './frame-answer';

const theirs = loaders as (data: Uint8Array, str: string, offset?: number) => number;

/** A small deterministic generator (mulberry32): the same cases at every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("findIndexOfString (the image loader's multipart boundary search)", () => {
  it('answers as the loader does on a WADO-RS frame answer', () => {
    const boundary = '--4fb9ff8a-b68d-45e5-bccb-c73fafcef25c';
    const pixels = new Uint8Array(512 * 512 * 2).map((_, i) => (i * 7919) % 251); // many '-' (45) bytes
    const { data, start } = frameAnswer(boundary, pixels);
    for (const [str, offset] of [['\r\n\r\n', undefined], [boundary, start], [boundary, 0], [boundary, 1], ['absent', 0]] as const) {
      expect(ours(data, str, offset)).toBe(theirs(data, str, offset));
    }
    expect(ours(data, boundary, start)).toBe(start + pixels.length + 2);
  });

  it('answers as the loader does on random bytes, strings and integer offsets', () => {
    const next = random(22);
    for (let round = 0; round < 3000; round++) {
      const alphabet = 1 + Math.floor(next() * 4); // few distinct bytes: many partial matches
      const data = new Uint8Array(Math.floor(next() * 64)).map(() => 45 + Math.floor(next() * alphabet));
      const length = 1 + Math.floor(next() * 5);
      let str = '';
      for (let i = 0; i < length; i++) str += String.fromCharCode(45 + Math.floor(next() * alphabet));
      const offsets = [undefined, 0, -3, Math.floor(next() * 70), data.length, data.length + 5, NaN];
      for (const offset of offsets) expect([round, offset, ours(data, str, offset)]).toEqual([round, offset, theirs(data, str, offset)]);
    }
  });

  it('finds no empty string', () => {
    expect(ours(new Uint8Array([1, 2]), '', 0)).toBe(-1);
    expect(ours(new Uint8Array([1, 2]), '', -1)).toBe(-1);
  });

  it('reads each character as the loader does, as one byte (its code modulo 256)', () => {
    const data = new Uint8Array([1, 0x41, 0x42, 3]);
    expect(ours(data, '\u0141B')).toBe(theirs(data, '\u0141B'));
    expect(ours(data, '\u0141B')).toBe(1);
  });
});
