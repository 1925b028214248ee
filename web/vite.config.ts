/**
 * Build of the review workstation into web/dist: index.html at the root, hashed bundles,
 * the image loader's decoding worker and the codecs' WebAssembly under /assets/ (Vite
 * follows the loader's `new URL('@cornerstonejs/codec-…', import.meta.url)` and emits each
 * binary). Nothing is fetched from a CDN or anywhere else at run time.
 *
 * Vite 6 because it runs on Debian 12's Node.js 18, which scripts/setup.sh installs where
 * Node.js is missing.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

/**
 * loglevel (bundled inside dcmjs, which cornerstone3D logs through) looks up a persisted
 * level for each logger it makes: in localStorage, and when that holds none, in
 * `document.cookie`. cornerstone3D makes about 190 loggers at import, and each cookie read
 * is a round trip to Chromium's network service (0.2 to 0.35 ms here): about 40 ms of the
 * review page's main thread before its first images, in a CPU profile of a warm visit.
 * Nadir never sets loglevel cookies, and the cookie is only loglevel's fallback for a browser
 * without localStorage: with this change it is read only when localStorage cannot be (the
 * read throws). A level set in localStorage (`loglevel:<name>`) still works.
 */
function logLevelsFromLocalStorage(): Plugin {
  const dcmjs = /\/dcmjs\/build\/dcmjs\.es\.js$/;
  const loglevel = /\/loglevel\/lib\/loglevel\.js$/;
  const read = 'storedLevel = window.localStorage[storageKey];';
  return {
    name: 'nadir-log-levels-from-local-storage',
    transform(code, id) {
      if (!dcmjs.test(id) && !loglevel.test(id)) return null;
      const at = code.indexOf(read);
      if (at < 0 || code.indexOf(read, at + 1) >= 0) {
        this.error(`${id} no longer reads loglevel's level once as \`${read}\`: review this plugin`);
      }
      // Reached only when the read did not throw: localStorage works, so no cookie.
      const kept = `${read} if (typeof storedLevel === "undefined") return undefined;`;
      return { code: code.replace(read, kept), map: null };
    },
  };
}

/**
 * The image loader's search for a frame's multipart boundary (dicom-image-loader, wadors/
 * findIndexOfString.js) compares byte by byte in script; src/vendor/find-index-of-string.ts
 * gives the same answers with the array's own indexOf finding the candidates. In a CPU profile
 * of warm visits (the first two frames only) the loader's search took about 9 ms of the main
 * thread before the first images, and it runs again for every image prefetched or scrolled to.
 */
function nativeBoundarySearch(): Plugin {
  const importer = /@cornerstonejs\/dicom-image-loader\/dist\/esm\/imageLoader\/wadors\/extractMultipart\.js$/;
  const replacement = fileURLToPath(new URL('./src/vendor/find-index-of-string.ts', import.meta.url));
  let replaced = false;
  return {
    name: 'nadir-native-boundary-search',
    enforce: 'pre',
    resolveId(source, from) {
      if (source !== './findIndexOfString.js' || !from || !importer.test(from)) return null;
      replaced = true;
      return replacement;
    },
    buildEnd(error) {
      // The review imports the loader's multipart parser: should it no longer import the
      // search by that name, this stand-in would silently stop standing in.
      if (!error && [...this.getModuleIds()].some((id) => importer.test(id)) && !replaced) {
        this.error('dicom-image-loader no longer imports ./findIndexOfString.js from extractMultipart.js: review this plugin');
      }
    },
  };
}

/**
 * Whether a module may have side effects, as its package declares in the `sideEffects`
 * field of its own package.json (the package at `node_modules/<name>` or
 * `node_modules/@scope/<name>`).
 *
 * cornerstone3D's packages declare `"sideEffects": false` there, but each also ships
 * `dist/esm/package.json` holding only `{"type": "module"}`, and bundlers read the package.json
 * nearest the file (the same trap esbuild fell into in wix-incubator/pro-gallery#1434). So the
 * declaration never reached Rollup, and a single `import { PanTool } from '@cornerstonejs/tools'`
 * brought every tool of the library (segmentation, crosshairs, volume cropping, clipper2 ...)
 * into the review: 3.45 MB against 0.65 MB with the declaration honoured, in a one-import build.
 * Every module of the review is parsed at each visit that has no code cache for it, before the
 * first images. A package whose root declares nothing, or a list of files, keeps Rollup's default:
 * its modules are kept.
 * Of the 300 modules this left out of the build, one did something at import: core's
 * spatial-registration metadata provider registers itself, and its only reader, the tools'
 * image-slice synchronizer, is left out too (Nadir links its panes itself, viewport/sync.ts).
 */
const sideEffectFree = new Map<string, boolean>();
function declaredFree(id: string): boolean {
  const at = id.lastIndexOf('/node_modules/');
  if (at < 0) return false;
  const rest = id.slice(at + '/node_modules/'.length).split('/');
  const name = rest[0].startsWith('@') ? rest.slice(0, 2).join('/') : rest[0];
  const root = `${id.slice(0, at)}/node_modules/${name}`;
  let free = sideEffectFree.get(root);
  if (free === undefined) {
    try {
      free = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { sideEffects?: unknown }).sideEffects === false;
    } catch {
      free = false;
    }
    sideEffectFree.set(root, free);
  }
  return free;
}

export default defineConfig({
  plugins: [unusedRulesArePure(), logLevelsFromLocalStorage(), nativeBoundarySearch()],
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
    rollupOptions: {
      // A module is dropped when nothing of it is used, where its package says it may be.
      treeshake: { moduleSideEffects: (id) => !declaredFree(id) },
      output: {
        // The review's code in four chunks rather than one: the browser fetches them at once
        // (the page preloads each) and parses each on a thread of its own. As one 4.2 MB
        // chunk, its parse alone took about 290 ms on one thread, before the viewer's code
        // could run, at every visit without a code cache. Their modules run in the order
        // they did in one chunk (Rollup keeps it; the build has no circular chunks).
        manualChunks(id) {
          if (id.includes('/node_modules/@kitware/vtk.js/')) return 'vtk';
          if (id.includes('/node_modules/@cornerstonejs/tools/')) return 'cs-tools';
          if (id.includes('/node_modules/dcmjs/')) return 'dcmjs';
          return undefined;
        },
      },
    },
  },
  resolve: {
    // See src/vendor/no-xmlbuilder2.ts.
    alias: [{ find: /^xmlbuilder2$/, replacement: fileURLToPath(new URL('./src/vendor/no-xmlbuilder2.ts', import.meta.url)) }],
  },
  worker: { format: 'es' },
  optimizeDeps: {
    exclude: ['@cornerstonejs/dicom-image-loader'],
    include: ['dicom-parser'],
  },
});
