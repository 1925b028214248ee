/**
 * cornerstone3D set-up, once per page: the rendering core (CPU rendering when WebGL is
 * missing or only emulated in software, as in headless browsers), the DICOMweb image loader with its codecs (bundled
 * by the build under /assets/, never a CDN) and the bearer token on every image request, and the
 * interaction tools. Nothing outside viewport/ and measure/ imports cornerstone.
 */
import {
  RenderingEngine,
  getRenderingCapabilities,
  getShouldUseCPURendering,
  init as initCore,
} from '@cornerstonejs/core';
import { init as initLoader, wadors } from '@cornerstonejs/dicom-image-loader';
import { PanTool, WindowLevelTool, ZoomTool, addTool, init as initTools } from '@cornerstonejs/tools';
import { currentToken } from '../api/session';
import type { StackImage } from './stack';

let engine: RenderingEngine | null = null;

export interface RenderingInfo {
  cpu: boolean;
  webgl: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ToolClass = Parameters<typeof addTool>[0];

/**
 * cornerstone3D's `loadAndCacheImage` hands the image's promise to its cache without
 * handling the cache's copy of it, so every failed image load (an HTTP error, a dropped
 * connection) also rejects a promise nobody can reach, with the XMLHttpRequest as reason.
 * The failure itself is handled where the image was asked for (the pane says so; a prefetch
 * tries again later); this drops only that unreachable copy, nothing else.
 */
function ignoreUnreachableImageLoadRejections(): void {
  window.addEventListener('unhandledrejection', (event) => {
    if (event.reason instanceof XMLHttpRequest) event.preventDefault();
  });
}

export function startCornerstone(extraTools: ToolClass[] = []): RenderingEngine {
  if (engine) return engine;
  ignoreUnreachableImageLoadRejections();
  const gpu = getRenderingCapabilities();
  // No WebGL (headless browsers), or only a software rasteriser (SwiftShader, llvmpipe): the
  // CPU path draws a stack image faster than software WebGL and its copy back to a canvas.
  initCore({ rendering: { useCPURendering: !gpu.webgl || gpu.softwareRasterizer } } as Parameters<typeof initCore>[0]);
  initLoader({
    // Two cores on the machines this runs on: one decoding worker leaves one for rendering.
    // The loader's own WADO-RS metadata store, fed the series' DICOM JSON as it comes: about
    // 1 ms for 300 images, where the newer naturalised metadata takes 50-90 ms per series
    // on the way to the first image.
    useLegacyMetadataProvider: true,
    maxWebWorkers: Math.max(1, Math.min(2, Math.floor((navigator.hardwareConcurrency || 2) / 2))),
    beforeSend: (): Record<string, string> => {
      const token = currentToken();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
  });
  initTools();
  for (const tool of [PanTool, ZoomTool, WindowLevelTool, ...extraTools]) addTool(tool);
  engine = new RenderingEngine('nadir-review');
  return engine;
}

export function renderingInfo(): RenderingInfo {
  return { cpu: getShouldUseCPURendering(), webgl: Boolean(getRenderingCapabilities().webgl) };
}

/** Hand the images' DICOM JSON to the loader's metadata providers before they are shown. */
export function registerImages(images: StackImage[]): void {
  for (const image of images) {
    // A multi-frame instance is registered once, under its first frame's id: the loader
    // derives every other frame's metadata from it (its functional groups, frame by frame).
    if (image.frame !== null && image.frame !== 1) continue;
    wadors.metaDataManager.add(image.imageId, image.metadata as never);
  }
}
