/**
 * The multipart boundary search of one WADO-RS frame answer (a 512x512 16-bit CT slice),
 * the image loader's own against Nadir's stand-in (src/vendor/find-index-of-string.ts), in
 * the same run: `npx vitest bench --run` in web/. Each run of either is a fresh search of
 * the same answer, as the loader makes once per image.
 */
import { bench, describe } from 'vitest';
import loaders from '../node_modules/@cornerstonejs/dicom-image-loader/dist/esm/imageLoader/wadors/findIndexOfString.js';
import ours from '../src/vendor/find-index-of-string';
import { frameAnswer } from '../test/frame-answer';

const theirs = loaders as (data: Uint8Array, str: string, offset?: number) => number;

const boundary = '--4fb9ff8a-b68d-45e5-bccb-c73fafcef25c-1d117cab-1cc6-4c13-9845-9d215d2f0';
// CT-like samples: -1000 to 1500 HU around a body, little-endian, so '-' (45) bytes occur.
const pixels = new Uint8Array(512 * 512 * 2);
const view = new DataView(pixels.buffer);
for (let i = 0; i < 512 * 512; i++) {
  const r = Math.hypot((i % 512) - 256, Math.floor(i / 512) - 256);
  view.setInt16(2 * i, r > 200 ? -1000 : Math.round(40 + 30 * Math.sin(i / 97) + (i % 13)), true);
}
const { data: answer } = frameAnswer(boundary, pixels);

describe('boundary search in one 512x512 frame answer (524 KB)', () => {
  bench("the image loader's findIndexOfString", () => {
    const headers = theirs(answer, '\r\n\r\n');
    theirs(answer, boundary, headers + 4);
  });
  bench("Nadir's (the array's indexOf finds the candidates)", () => {
    const headers = ours(answer, '\r\n\r\n');
    ours(answer, boundary, headers + 4);
  });
});
