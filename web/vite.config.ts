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
import { defineConfig, type Plugin } from 'vite';

/**
 * @cornerstonejs/metadata compiles its display-set split rules at import
 * (`compiledDisplaySetRules`), a constant that neither cornerstone3D nor this viewer uses.
 * Rollup drops the unused constant but keeps the call, which cannot be proven free of side
 * effects: about 190 ms of the review page's main thread before its first images, in a
 * Chromium trace at load 15. Marking that one call pure lets Rollup drop it while nothing
 * uses it; were anything to import the constant, it would be compiled at import as before.
 */
function unusedRulesArePure(): Plugin {
  const file = /@cornerstonejs\/metadata\/dist\/esm\/displayset\/compiledDisplaySetRules\.js$/;
  const call = 'createDisplaySetSplitRules(displaySetRules)';
  return {
    name: 'nadir-unused-rules-are-pure',
    transform(code, id) {
      if (!file.test(id)) return null;
      if (!code.includes(call)) this.error(`${id} no longer calls ${call}: review this plugin`);
      return { code: code.replace(call, `/*#__PURE__*/ ${call}`), map: null };
    },
  };
}

export default defineConfig({
  plugins: [unusedRulesArePure()],
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
