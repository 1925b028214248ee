// Compress the build's assets once, at build time: each text or WebAssembly file under
// dist/assets gets a .br (brotli, quality 11) and a .gz (gzip -9) beside it, when that is
// smaller. Nadir serves them with Content-Encoding to browsers that accept it
// (api/routes/web.py); the names are hashed, so they never go stale.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const assets = new URL('../dist/assets/', import.meta.url).pathname;
const compressible = /\.(js|mjs|css|wasm|json|svg|html|map)$/;
let before = 0;
let after = 0;
for (const name of readdirSync(assets)) {
  const path = join(assets, name);
  if (!compressible.test(name) || !statSync(path).isFile()) continue;
  const raw = readFileSync(path);
  const br = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  });
  const gz = gzipSync(raw, { level: 9 });
  before += raw.length;
  after += Math.min(br.length, raw.length);
  if (br.length < raw.length) writeFileSync(`${path}.br`, br);
  if (gz.length < raw.length) writeFileSync(`${path}.gz`, gz);
}
console.log(`assets: ${(before / 1e6).toFixed(1)} MB, ${(after / 1e6).toFixed(1)} MB with brotli`);
