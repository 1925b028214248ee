/**
 * One viewport of the review: a cornerstone3D stack viewport in the page element
 * `[data-viewport="left|right"]`, its overlays (orientation letters, image number and
 * position, study date, window) and the neighbour prefetch. The element's data-*
 * attributes are the automation contract: they follow every image change.
 */
import {
  Enums,
  cache,
  imageLoader,
  type RenderingEngine,
  type StackViewport,
  type Types,
} from '@cornerstonejs/core';
import { registerImages } from './cornerstone';
import { edgeLetters } from './geometry';
import { ReadOnlyLayer, type ReadOnlyCaliper } from './lines';
import { voiRangeOf, windowOf } from './presets';
import type { SeriesStack, StackImage } from './stack';

export type Side = 'left' | 'right';

export interface PaneLabel {
  /** "Baseline", "Follow-up 2" */
  timepoint: string;
  /** Study date as shown, e.g. "15 Jan 2024" */
  date: string;
}

/** A point to look at on one image: where the registration proposes a lesion is. */
export interface ImageMarker {
  sopInstanceUid: string;
  /** The frame of a multi-frame image (1-based); null or absent for a single-frame one. */
  frame?: number | null;
  row: number;
  column: number;
  text: string;
}

/** A place on one image, for something pinned there (a caliper's Retry and Discard). */
export interface ImagePoint {
  sopInstanceUid: string;
  frame?: number | null;
  row: number;
  column: number;
}

export interface CameraState {
  zoom: number;
  pan: [number, number];
}

/** Images each side loads at once ahead of the reader: two per pane leave the browser two of
 * its six connections to the server for the reader's own jumps and the API. */
const PREFETCH_CONCURRENCY = 2;

/**
 * Prefetch waits until the page allows it (once both first images are drawn), so that one
 * pane's neighbours do not delay the other pane's first image.
 */
let prefetchAllowed = false;
const waitingToPrefetch = new Set<ReviewPane>();

export function allowPrefetch(): void {
  prefetchAllowed = true;
  for (const pane of waitingToPrefetch) pane.startPrefetch();
  waitingToPrefetch.clear();
}

export class ReviewPane {
  readonly element: HTMLDivElement;
  readonly viewportId: string;
  stack: SeriesStack | null = null;
  timepointId: string | null = null;
  private readonly host: HTMLDivElement;
  private readonly overlay: HTMLDivElement;
  private readonly message: HTMLDivElement;
  private readonly markerElement: HTMLDivElement;
  private marker: ImageMarker | null = null;
  private readonly pins: { at: ImagePoint; element: HTMLElement }[] = [];
  /** Other readers' calipers, read-only (viewport/lines.ts). */
  private readonly readOnly = new ReadOnlyLayer();
  private label: PaneLabel = { timepoint: '', date: '' };
  private shownImageId: string | null = null;
  /** Waiting for the pane's next image to be drawn (or for its series to fail). */
  private drawnWaiters: (() => void)[] = [];
  /** How many times the reader has pressed on this pane (a jump that arrives after a press
   * leaves the pane where the reader is working). */
  touches = 0;
  private generation = 0;
  private prefetching = 0;
  private readonly listeners: ((pane: ReviewPane) => void)[] = [];
  private readonly cameraListeners: ((pane: ReviewPane) => void)[] = [];
  private readonly windowListeners: ((pane: ReviewPane) => void)[] = [];
  private suppressEvents = 0;
  /** A button is down in this pane: camera changes now are the reader's (zoom, pan). */
  private interacting = false;
  /** The window the reader chose (drag, preset, the other pane's); null: each image's own. */
  private chosenWindow: { center: number; width: number } | null = null;

  constructor(
    readonly side: Side,
    private readonly engine: RenderingEngine,
    element: HTMLDivElement,
  ) {
    this.element = element;
    this.viewportId = `nadir-${side}`;
    element.dataset.viewport = side;
    element.classList.add('viewport');
    // Focusable, so that the keys reach a pane without the pointer over it (Tab, or a click).
    element.id = `viewport-${side}`;
    element.tabIndex = 0;
    element.setAttribute('role', 'application');
    element.setAttribute('aria-roledescription', 'image pane');
    element.setAttribute('aria-label', `${side === 'left' ? 'Left' : 'Right'} image pane: arrow keys scroll, ? lists every key`);
    this.host = document.createElement('div');
    this.host.className = 'viewport-canvas';
    this.host.addEventListener('contextmenu', (e) => e.preventDefault());
    this.overlay = document.createElement('div');
    this.overlay.className = 'viewport-overlay';
    this.message = document.createElement('div');
    this.message.className = 'viewport-message';
    this.markerElement = document.createElement('div');
    this.markerElement.className = 'viewport-marker';
    this.markerElement.hidden = true;
    element.replaceChildren(this.host, this.readOnly.element, this.overlay, this.markerElement, this.message);
    engine.enableElement({
      viewportId: this.viewportId,
      element: this.host,
      type: Enums.ViewportType.STACK,
      defaultOptions: { background: [0, 0, 0] as Types.Point3 },
    });
    this.host.addEventListener(Enums.Events.IMAGE_RENDERED, () => this.rendered());
    this.host.addEventListener(Enums.Events.CAMERA_MODIFIED, () => {
      this.placeMarker();
      this.placePins();
      this.placeReadOnly();
      // Only the reader's zoom and pan are passed on: a pane fitting its image after a new
      // series or a resize must not move the other pane's image.
      if (!this.suppressEvents && this.interacting) this.cameraListeners.forEach((f) => f(this));
    });
    element.addEventListener('pointerdown', () => {
      this.interacting = true;
      this.touches++;
      // cornerstone's tools cancel the default, which would have focused the pane.
      element.focus({ preventScroll: true });
    }, { capture: true });
    document.addEventListener('pointerup', () => (this.interacting = false), { capture: true });
    this.host.addEventListener(Enums.Events.VOI_MODIFIED, () => {
      if (this.interacting) this.chosenWindow = this.getWindow();
      this.drawOverlay();
      // Likewise only the reader's windowing (presets are applied to both panes directly).
      if (!this.suppressEvents && this.interacting) this.windowListeners.forEach((f) => f(this));
    });
    new ResizeObserver(() => {
      // The image fits the pane again unless the reader has zoomed or panned it.
      this.engine.resize(true, this.stack !== null && this.cameraChanged());
      this.drawOverlay();
      this.placeMarker();
      this.placePins();
      this.placeReadOnly();
    }).observe(element);
  }

  get viewport(): StackViewport {
    return this.engine.getViewport(this.viewportId) as StackViewport;
  }

  /** The element cornerstone draws in (tools and annotations are bound to it). */
  get canvasElement(): HTMLDivElement {
    return this.host;
  }

  get index(): number {
    return this.stack ? this.viewport.getCurrentImageIdIndex() : -1;
  }

  get image(): StackImage | null {
    const i = this.index;
    return this.stack && i >= 0 ? this.stack.images[i] : null;
  }

  onImageChange(listener: (pane: ReviewPane) => void): void {
    this.listeners.push(listener);
  }

  onCameraChange(listener: (pane: ReviewPane) => void): void {
    this.cameraListeners.push(listener);
  }

  onWindowChange(listener: (pane: ReviewPane) => void): void {
    this.windowListeners.push(listener);
  }

  /** Show a series of a timepoint, at `index` (default: the middle image). */
  async show(stack: SeriesStack, timepointId: string, label: PaneLabel, index?: number): Promise<void> {
    const generation = ++this.generation;
    this.stack = stack;
    this.timepointId = timepointId;
    this.label = label;
    this.shownImageId = null;
    this.element.dataset.timepointId = timepointId;
    this.element.dataset.seriesUid = stack.seriesUid;
    this.setMessage('');
    performance.mark(`nadir:register-${this.side}`);
    registerImages(stack.images);
    performance.mark(`nadir:registered-${this.side}`);
    const start = clamp(index ?? Math.floor(stack.images.length / 2), 0, stack.images.length - 1);
    try {
      await this.viewport.setStack(stack.imageIds, start);
    } catch (error) {
      if (generation === this.generation) this.setMessage(`This image could not be shown: ${describe(error)}`);
      this.settleDrawn();
      return;
    }
    if (generation !== this.generation) return;
    this.viewport.render();
  }

  /**
   * Settles once the pane has drawn an image of its series (at once when it has), or its
   * series could not be shown: what waits for the first images (the neighbours' prefetch,
   * the thumbnails) starts after it. `show` resolves earlier, when the image is loaded and
   * its drawing only scheduled for the next frame.
   */
  drawn(): Promise<void> {
    if (this.shownImageId !== null) return Promise.resolve();
    return new Promise((resolve) => this.drawnWaiters.push(resolve));
  }

  private settleDrawn(): void {
    this.drawnWaiters.splice(0).forEach((resolve) => resolve());
  }

  async setIndex(index: number): Promise<void> {
    if (!this.stack) return;
    const target = clamp(index, 0, this.stack.images.length - 1);
    if (target === this.index && this.shownImageId === this.stack.images[target].imageId) return;
    try {
      await this.viewport.setImageIdIndex(target);
    } catch (error) {
      this.setMessage(`This image could not be shown: ${describe(error)}`);
    }
  }

  scrollBy(delta: number): Promise<void> {
    return this.setIndex(this.index + delta);
  }

  setWindow(window: { center: number; width: number }): void {
    this.chosenWindow = { center: window.center, width: window.width };
    this.viewport.setProperties({ voiRange: voiRangeOf(window) });
    this.viewport.render();
  }

  getWindow(): { center: number; width: number } | null {
    const range = this.viewport.getProperties().voiRange;
    return range ? windowOf(range) : null;
  }

  /** Apply another pane's window without announcing it back (linked panes). */
  followWindow(window: { center: number; width: number }): void {
    this.quietly(() => this.setWindow(window));
  }

  getCamera(): CameraState {
    const pan = this.viewport.getPan();
    return { zoom: this.viewport.getZoom(), pan: [pan[0], pan[1]] };
  }

  followCamera(state: CameraState): void {
    this.quietly(() => {
      this.viewport.setZoom(state.zoom);
      this.viewport.setPan(state.pan as Types.Point2);
      this.viewport.render();
    });
  }

  /** Whether the camera differs from the fitted one the stack opened with. */
  private cameraChanged(): boolean {
    try {
      const pan = this.viewport.getPan();
      return Math.abs(this.viewport.getZoom() - 1) > 1e-3 || Math.hypot(pan[0], pan[1]) > 0.5;
    } catch {
      return false; // no image yet
    }
  }

  resetCamera(): void {
    this.viewport.resetCamera();
    this.viewport.render();
  }

  /** Page (client) coordinates of an image point (row, column) of the image shown. */
  imageToClient(row: number, column: number): [number, number] | null {
    const image = this.image;
    if (!image || !this.stack) return null;
    const world = this.stack.imageToPatient(this.index, row, column) as Types.Point3;
    const canvas = this.viewport.worldToCanvas(world);
    const box = this.host.getBoundingClientRect();
    return [box.left + canvas[0], box.top + canvas[1]];
  }

  /** The image point (row, column) under a page point, or null off the image. */
  clientToImage(clientX: number, clientY: number): [number, number] | null {
    const image = this.image;
    if (!image || !this.stack) return null;
    const box = this.host.getBoundingClientRect();
    const world = this.viewport.canvasToWorld([clientX - box.left, clientY - box.top]);
    const [row, column] = this.stack.patientToImage(this.index, world as unknown as [number, number, number]);
    const rows = Number(this.viewport.getCornerstoneImage()?.rows ?? 0);
    const columns = Number(this.viewport.getCornerstoneImage()?.columns ?? 0);
    if (!(row >= 0 && column >= 0 && row <= rows && column <= columns)) return null;
    return [row, column];
  }

  /** The decoded value at (row, column) of the image shown (modality units when rescaled). */
  pixel(row: number, column: number): { value: number; rescaled: boolean } | null {
    const image = this.viewport.getCornerstoneImage();
    if (!image) return null;
    const data = image.getPixelData();
    return { value: Number(data[row * image.columns + column]), rescaled: Boolean(image.preScale?.scaled) };
  }

  /** How many images of the series are decoded and cached (prefetch progress). */
  cachedCount(): number {
    return this.stack?.images.filter((im) => cache.isLoaded(im.imageId)).length ?? 0;
  }

  /** Show (or, with null, remove) a marker; it is drawn while its image is shown. */
  setMarker(marker: ImageMarker | null): void {
    this.marker = marker;
    this.placeMarker();
  }

  private placeMarker(): void {
    const m = this.marker;
    const el = this.markerElement;
    const image = this.image;
    if (!m || !image || !this.stack || !isImage(image, m)) {
      el.hidden = true;
      return;
    }
    const world = this.stack.imageToPatient(this.index, m.row, m.column) as Types.Point3;
    const [x, y] = this.viewport.worldToCanvas(world);
    el.style.left = `${x}px`;
    el.style.top = `${y}px`;
    // The label goes on the side with room for it.
    el.classList.toggle('label-left', x > this.host.clientWidth * 0.55);
    el.dataset.text = m.text;
    el.title = m.text;
    el.hidden = false;
  }

  /** Show an element at a point of an image, while that image is shown. */
  pin(at: ImagePoint, element: HTMLElement): void {
    element.classList.add('viewport-pin');
    this.element.append(element);
    this.pins.push({ at, element });
    this.placePins();
  }

  clearPins(): void {
    for (const p of this.pins.splice(0)) p.element.remove();
  }

  private placePins(): void {
    const image = this.image;
    for (const { at, element } of this.pins) {
      if (!image || !this.stack || !isImage(image, at)) {
        element.hidden = true;
        continue;
      }
      const world = this.stack.imageToPatient(this.index, at.row, at.column) as Types.Point3;
      const [x, y] = this.viewport.worldToCanvas(world);
      element.style.left = `${Math.round(x)}px`;
      element.style.top = `${Math.round(y)}px`;
      element.hidden = false;
    }
  }

  /** Show other readers' calipers (read-only), each while its image is shown. */
  setReadOnlyCalipers(calipers: ReadOnlyCaliper[]): void {
    this.readOnly.set(calipers);
    this.placeReadOnly();
  }

  private placeReadOnly(): void {
    const image = this.image;
    const stack = this.stack;
    const index = this.index;
    this.readOnly.place(
      (c) => image !== null && c.timepointId === this.timepointId && isImage(image, c),
      (row, column) => {
        if (!stack) return null;
        const [x, y] = this.viewport.worldToCanvas(stack.imageToPatient(index, row, column) as Types.Point3);
        return [x, y];
      });
  }

  setMessage(text: string): void {
    this.message.textContent = text;
    this.message.hidden = !text;
  }

  private quietly(action: () => void): void {
    this.suppressEvents++;
    try {
      action();
    } finally {
      // Cornerstone announces camera and VOI changes synchronously while rendering.
      this.suppressEvents--;
    }
  }

  private rendered(): void {
    const image = this.image;
    if (!image || image.imageId === this.shownImageId) return;
    this.shownImageId = image.imageId;
    this.keepChosenWindow();
    const el = this.element;
    el.dataset.sopInstanceUid = image.sopInstanceUid;
    // The frame of a multi-frame image (1-based), absent for a single-frame one.
    if (image.frame) el.dataset.frame = String(image.frame);
    else delete el.dataset.frame;
    el.dataset.slicePositionMm = image.positionMm.toFixed(3);
    el.dataset.imageIndex = String(this.index);
    if (el.dataset.ready !== 'true') performance.mark(`nadir:first-image-${this.side}`);
    el.dataset.ready = 'true';
    this.drawOverlay();
    this.placeMarker();
    this.placePins();
    this.placeReadOnly();
    this.listeners.forEach((f) => f(this));
    this.settleDrawn();
    this.startPrefetch();
  }

  /**
   * cornerstone's CPU path (headless and software-GL browsers) keeps drawing a new image in
   * the window chosen before, but reports that image's own window from its properties: set
   * the chosen window again so that what is drawn and what the overlay says are the same.
   */
  private keepChosenWindow(): void {
    const chosen = this.chosenWindow;
    const reported = this.getWindow();
    if (!chosen || (reported && Math.abs(reported.center - chosen.center) < 0.5 && Math.abs(reported.width - chosen.width) < 0.5)) return;
    this.quietly(() => {
      this.viewport.setProperties({ voiRange: voiRangeOf(chosen) });
      this.viewport.render();
    });
  }

  startPrefetch(): void {
    if (prefetchAllowed) this.prefetch();
    else waitingToPrefetch.add(this);
  }

  private drawOverlay(): void {
    const image = this.image;
    const stack = this.stack;
    if (!image || !stack) return;
    const letters = edgeLetters(image.geometry);
    const window = this.getWindow();
    const thickness = stack.sliceThicknessMm;
    this.overlay.replaceChildren(
      corner('top-left', [this.label.timepoint, this.label.date, stack.description]),
      corner('top-right', window ? [`W ${Math.round(window.width)}  L ${Math.round(window.center)}`] : []),
      corner('bottom-left', [
        `Image ${this.index + 1} / ${stack.images.length}`,
        // Two short lines rather than one long one that would reach the "P" below.
        `Position ${image.positionMm.toFixed(1)} mm`,
        thickness ? `${thickness} mm slices` : '',
      ]),
      edge('left', letters.left),
      edge('right', letters.right),
      edge('top', letters.top),
      edge('bottom', letters.bottom),
    );
  }

  /** Load the images around the one shown, nearest first, until the series is cached. */
  private prefetch(): void {
    const stack = this.stack;
    if (!stack) return;
    while (this.prefetching < PREFETCH_CONCURRENCY) {
      const next = this.nextToPrefetch(stack);
      if (next === null) return;
      this.prefetching++;
      imageLoader
        .loadAndCacheImage(next, { priority: 5, requestType: Enums.RequestType.Prefetch })
        .catch(() => undefined)
        .finally(() => {
          this.prefetching--;
          inFlight.delete(next);
          if (this.stack === stack) this.prefetch();
        });
      inFlight.add(next);
    }
  }

  private nextToPrefetch(stack: SeriesStack): string | null {
    const centre = this.index;
    const n = stack.images.length;
    for (let d = 1; d < n; d++) {
      for (const i of [centre + d, centre - d]) {
        if (i < 0 || i >= n) continue;
        const id = stack.images[i].imageId;
        if (!inFlight.has(id) && !cache.isLoaded(id)) return id;
      }
    }
    return null;
  }
}

const inFlight = new Set<string>();

function corner(position: string, lines: string[]): HTMLElement {
  const div = document.createElement('div');
  div.className = `overlay-corner ${position}`;
  for (const line of lines.filter(Boolean)) {
    const span = document.createElement('div');
    span.textContent = line;
    div.append(span);
  }
  return div;
}

function edge(position: string, letters: string): HTMLElement {
  const div = document.createElement('div');
  div.className = `overlay-edge ${position}`;
  div.textContent = letters;
  return div;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'status' in error) return `HTTP ${(error as { status: number }).status}`;
  return String(error);
}

/** Whether a place (a marker, a pin, a caliper) is on this image: same instance and frame (a single-frame image is frame 1). */
export function isImage(image: StackImage, at: { sopInstanceUid: string; frame?: number | null }): boolean {
  return image.sopInstanceUid === at.sopInstanceUid && (image.frame ?? 1) === (at.frame ?? 1);
}
