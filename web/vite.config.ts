/**
 * Build of the review workstation into web/dist: index.html at the root, hashed bundles,
 * the image loader's decoding worker and the codecs' WebAssembly under /assets/ (Vite
 * follows the loader's `new URL('@cornerstonejs/codec-…', import.meta.url)` and emits each
 * binary). Nothing is fetched from a CDN or anywhere else at run time.
 *
 * Vite 6 because it runs on Debian 12's Node.js 18, which scripts/setup.sh installs where
 * Node.js is missing. The `events` package stands in for Node's module of that name:
 * vtk.js (under cornerstone3D) imports xmlbuilder2, whose builder extends EventEmitter.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    sourcemap: false,
    // dist/.vite/manifest.json: which chunks the review page needs, for Nadir to preload
    // them on /cases/{id} only (api/routes/web.py); login and worklist never load them.
    manifest: true,
  },
  worker: { format: 'es' },
  optimizeDeps: {
    exclude: ['@cornerstonejs/dicom-image-loader'],
    include: ['dicom-parser'],
  },
});
