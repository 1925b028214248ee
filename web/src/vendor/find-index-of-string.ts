/**
 * Stands in for the image loader's `findIndexOfString` (@cornerstonejs/dicom-image-loader,
 * imageLoader/wadors/findIndexOfString.js) in the build (vite.config.ts), with the same
 * arguments and the same answer for those the loader passes: a string of one or more
 * characters (a boundary, or the blank line ending a part's headers) and an integer offset,
 * or none. (For an empty string the loader's loop answers a negative offset itself; this
 * answers -1.)
 *
 * The loader looks for the multipart boundary that ends each WADO-RS frame answer with it,
 * from the start of the pixel data to their end: 512 KB for a 512x512 CT slice, compared byte
 * by byte in script, on the page's main thread, for every image the viewer loads (the first
 * two before they are drawn, then every neighbour it prefetches). Here the array's own
 * `indexOf` (native) finds each place where the boundary's first byte occurs, and only those
 * are compared in full.
 */

function tokenAt(token: Uint8Array, data: ArrayLike<number>, at: number): boolean {
  if (at + token.length > data.length) return false;
  for (let i = 1; i < token.length; i++) if (token[i] !== data[at + i]) return false;
  return true;
}

/** The first index at or after `offset` where `data` holds the bytes of `str` (one per
 * character code), or -1. */
export default function findIndexOfString(data: Uint8Array, str: string, offset?: number): number {
  if (!str.length) return -1;
  const token = new Uint8Array(str.length);
  for (let i = 0; i < str.length; i++) token[i] = str.charCodeAt(i);
  // The loader's loop starts at its offset and never matches before index 0.
  for (let at = data.indexOf(token[0], Math.max(0, offset || 0)); at !== -1; at = data.indexOf(token[0], at + 1)) {
    if (tokenAt(token, data, at)) return at;
  }
  return -1;
}
