/**
 * Calipers: drawing one with the caliper tool on the selected lesion, dragging an endpoint
 * of the selected lesion's to edit it, showing each lesion's current measurement (or its
 * change not saved yet) on its image, and finding the caliper under a click. The server
 * computes and keeps every length; a caliper is saved on release with
 * PUT .../measurements/{timepoint} (endpoints as image [row, column], If-Match the ETag it
 * was read with), and the server's answer replaces what was drawn.
 */
import { utilities as csUtils, type Types } from '@cornerstonejs/core';
import { BidirectionalTool, LengthTool, annotation as annotations, utilities as toolUtilities, type Types as ToolTypes } from '@cornerstonejs/tools';
import type { Lesion, Measurement, MeasurementPut } from '../api/types';
import { isImage, type ReviewPane } from '../viewport/pane';
import { fragmentsOf } from './book';
import type { PendingSave } from './pending';
import { saveMeasurement, type SaveHost } from './save';
import { tenths } from '../figures';

type Annotation = ToolTypes.Annotation;
type Released = (annotation: Annotation, element: HTMLDivElement, isNew: boolean) => void;

/** What a stored caliper carries in its annotation's metadata. */
interface CaliperTag {
  lesionId: number;
  timepointId: string;
  version: number;
}

/** The axis the reader measures (RECIST 1.1 s.3.1: short axis for lymph nodes). */
export const axisOf = (lesion: Pick<Lesion, 'nodal'>): string => (lesion.nodal ? 'short axis' : 'long axis');

export class CaliperTool extends LengthTool {
  static override toolName = 'NadirCaliper';
  /** The axis named while a new caliper is being drawn (set when a lesion is selected). */
  static drawingAxis = 'long axis';
  static onRelease: Released | null = null;

  constructor(toolProps = {}) {
    super(toolProps);
    this.configuration.getTextLines = caliperText;
    const end = this._endCallback;
    this._endCallback = (evt) => {
      const edit = this.editData;
      end(evt);
      // Fires once the button is up: after a new caliper is drawn or an endpoint dragged.
      if (edit?.hasMoved && CaliperTool.onRelease) {
        CaliperTool.onRelease(edit.annotation, evt.detail.element as HTMLDivElement, Boolean(edit.newAnnotation));
      }
    };
  }
}

/**
 * The bidirectional tool (cornerstone3D's, as OHIF's): drag the long axis, and a short axis
 * is proposed across its middle, perpendicular; its ends are dragged to the lesion's edges.
 * On release both axes are sent; the server checks them (within 10 degrees of
 * perpendicular, the short not longer) and a refusal is shown to the reader.
 */
export class BidirectionalCaliperTool extends BidirectionalTool {
  static override toolName = 'NadirBidirectional';
  static onRelease: Released | null = null;

  constructor(toolProps = {}) {
    super(toolProps);
    this.configuration.getTextLines = bidirectionalText;
    // cornerstone marks a new drawing as moved, not a dragged handle: mark that too, so
    // that a click on a handle saves nothing and a drag of one saves the new axes.
    const modify = this._dragModifyCallback;
    this._dragModifyCallback = (evt) => {
      modify(evt);
      if (this.editData) this.editData.hasMoved = true;
    };
    const end = this._endCallback;
    this._endCallback = (evt) => {
      const edit = this.editData;
      end(evt);
      if (edit?.hasMoved && BidirectionalCaliperTool.onRelease) {
        BidirectionalCaliperTool.onRelease(edit.annotation, evt.detail.element as HTMLDivElement, Boolean(edit.newAnnotation));
      }
    };
  }
}

function bidirectionalText(data: { label?: string; cachedStats?: Record<string, { length?: number | null; width?: number | null }> }, targetId: string): string[] | undefined {
  if (data.label) return data.label.split('\n');
  const stats = data.cachedStats?.[targetId];
  if (typeof stats?.length !== 'number' || typeof stats.width !== 'number') return undefined;
  return [`${csUtils.roundNumber(stats.length)} × ${csUtils.roundNumber(stats.width)} mm (drawn)`];
}

function caliperText(data: { label?: string; cachedStats?: Record<string, { length?: number | null }> }, targetId: string): string[] | undefined {
  if (data.label) return data.label.split('\n');
  const length = data.cachedStats?.[targetId]?.length;
  if (length === undefined || length === null || Number.isNaN(length)) return undefined;
  return [`${CaliperTool.drawingAxis} ${csUtils.roundNumber(length)} mm (drawn)`];
}

export interface CaliperHost extends SaveHost {
  readonly panes: ReviewPane[];
  lesion(id: number): Lesion | undefined;
  selected(): Lesion | null;
  canMeasure(): boolean;
  /** Whether a left drag draws now (the caliper tool, a measurable lesion selected). */
  drawing(): boolean;
  /** "Add fragment" is on: a new caliper is one more fragment of the selected lesion. */
  fragmentMode(): boolean;
  /** Whether this case's calipers show (the reader toggle may show another reading only). */
  ownShown(): boolean;
  retry(lesionId: number, timepointId: string): void;
  discard(lesionId: number, timepointId: string): void;
}

/** A caliper shown: stored (the book's), or sent and not stored yet (pending). */
interface Shown {
  lesion: Lesion;
  timepointId: string;
  sopInstanceUid: string;
  frame: number | null;
  endpoints: number[][];
  /** The short axis of a bidirectional measurement, drawn as a second line. */
  shortAxis: number[][] | null;
  label: string;
  pending: PendingSave | null;
  version: number | null;
  /** One fragment of a split lesion: shown, never dragged (its sum is the server's). */
  fragment: boolean;
}

const COLOURS = { plain: 'rgb(64, 224, 255)', selected: 'rgb(255, 214, 0)', failed: 'rgb(255, 107, 107)' };
/** How near (CSS px) a click must be to a caliper's line to select its lesion. */
const HIT_PX = 6;

export class Calipers {
  constructor(private readonly host: CaliperHost) {
    CaliperTool.onRelease = (annotation, element) => void this.released(annotation, element);
    BidirectionalCaliperTool.onRelease = (annotation, element) => void this.released(annotation, element);
    host.book.onChange(() => this.redraw());
    host.pending.onChange(() => this.redraw());
  }

  /** Every caliper to show: the stored ones, with a pending change drawn in place of its cell's. */
  private shown(): Shown[] {
    const out: Shown[] = [];
    if (!this.host.ownShown()) return out;
    const pendingKeys = new Set<string>();
    for (const p of this.host.pending.all()) {
      const lesion = this.host.lesion(p.lesionId);
      if (!lesion || !p.body.sop_instance_uid || p.body.endpoints?.length !== 2) continue;
      pendingKeys.add(`${p.lesionId}|${p.timepointId}`);
      const drawn = p.drawn === null ? '' : ` ${tenths(p.drawn)} mm drawn`;
      out.push({
        lesion, timepointId: p.timepointId, sopInstanceUid: p.body.sop_instance_uid, frame: p.body.frame ?? null, endpoints: p.body.endpoints, shortAxis: p.body.short_axis_endpoints ?? null,
        label: p.state === 'saving' ? `${lesion.label} ${axisOf(lesion)}${drawn}: saving…` : `${lesion.label} ${axisOf(lesion)}${drawn}: not saved`,
        pending: p, version: null, fragment: false,
      });
    }
    for (const m of this.host.book.split()) {
      const lesion = this.host.lesion(m.lesion_id);
      if (!lesion || pendingKeys.has(`${m.lesion_id}|${m.timepoint_id}`)) continue;
      (m.fragments ?? []).forEach((f, i) => out.push({
        lesion, timepointId: m.timepoint_id, sopInstanceUid: f.sop_instance_uid, frame: f.frame ?? null, endpoints: f.endpoints, shortAxis: null,
        label: `${lesion.label} fragment ${i + 1}: ${tenths(f.length_mm)} mm (${m.length_mm === null || m.length_mm === undefined ? '?' : tenths(m.length_mm)} mm in all)`,
        pending: null, version: m.version, fragment: true,
      }));
    }
    for (const m of this.host.book.calipers()) {
      const lesion = this.host.lesion(m.lesion_id);
      if (!lesion || !m.endpoints || pendingKeys.has(`${m.lesion_id}|${m.timepoint_id}`)) continue;
      // A node measured by its short axis alone has it as its one line.
      const shortAxis = m.long_axis_mm !== null && m.short_axis_endpoints ? m.short_axis_endpoints : null;
      out.push({ lesion, timepointId: m.timepoint_id, sopInstanceUid: m.sop_instance_uid ?? '', frame: m.frame ?? null, endpoints: m.endpoints, shortAxis, label: labelOf(lesion, m), pending: null, version: m.version, fragment: false });
    }
    return out;
  }

  /** Show every current caliper on the images of both panes. */
  redraw(): void {
    for (const pane of this.host.panes) {
      if (!pane.stack) continue;
      // A copy: the manager's own list shrinks while annotations are removed.
      for (const tool of [CaliperTool.toolName, BidirectionalCaliperTool.toolName]) {
        for (const old of [...(annotations.state.getAnnotations(tool, pane.canvasElement) ?? [])]) {
          if (old.annotationUID) annotations.state.removeAnnotation(old.annotationUID);
        }
      }
      pane.clearPins();
    }
    const selectedId = this.host.selected()?.id ?? null;
    const drawing = this.host.drawing();
    for (const pane of this.host.panes) {
      const stack = pane.stack;
      if (!stack || !pane.timepointId) continue;
      for (const c of this.shown()) {
        if (c.timepointId !== pane.timepointId) continue;
        const index = stack.indexOfSop(c.sopInstanceUid, c.frame);
        if (index < 0) continue;
        // Both axes of a bidirectional measurement are one annotation of the bidirectional
        // tool: with that tool, the selected lesion's axes are dragged to the edges.
        const lines = c.shortAxis ? [...c.endpoints, ...c.shortAxis] : c.endpoints;
        const points = lines.map(([r, col]) => stack.imageToPatient(index, r, col) as Types.Point3);
        const reference = pane.viewport.getViewReference({ sliceIndex: index });
        const selected = selectedId === c.lesion.id;
        const tool = c.shortAxis ? BidirectionalCaliperTool : CaliperTool;
        const annotation = tool.createAnnotation({
          highlighted: false,
          invalidated: true,
          // Only the selected lesion's stored caliper moves, and only with the caliper tool.
          isLocked: !(drawing && selected && c.pending === null && !c.fragment),
          metadata: { ...reference, toolName: tool.toolName, nadir: { lesionId: c.lesion.id, timepointId: c.timepointId, version: c.version ?? 0 } },
          data: { handles: { points }, label: c.label },
        }) as Annotation;
        annotations.state.addAnnotation(annotation, pane.canvasElement);
        if (annotation.annotationUID) {
          const colour = c.pending?.state === 'failed' ? COLOURS.failed : selected ? COLOURS.selected : COLOURS.plain;
          annotations.config.style.setAnnotationStyles(annotation.annotationUID, {
            color: colour,
            textBoxColor: colour,
            lineWidth: selected ? '2' : '1.5',
          });
        }
        if (c.pending?.state === 'failed') {
          const [r, col] = c.endpoints[1];
          pane.pin({ sopInstanceUid: c.sopInstanceUid, frame: c.frame, row: r, column: col }, this.failedBadge(c.lesion, c.timepointId, c.pending));
        }
      }
      this.drawPoints(pane, selectedId);
    }
    toolUtilities.triggerAnnotationRenderForViewportIds(this.host.panes.map((p) => p.viewportId));
  }

  /** Where each non-target or new lesion read by status was marked: a ring with its label. */
  private drawPoints(pane: ReviewPane, selectedId: number | null): void {
    if (!this.host.ownShown()) return;
    for (const m of this.host.book.points()) {
      const lesion = this.host.lesion(m.lesion_id);
      if (!lesion || m.timepoint_id !== pane.timepointId || !m.point || !m.sop_instance_uid) continue;
      const marker = document.createElement('div');
      marker.className = `lesion-point${selectedId === lesion.id ? ' selected' : ''}`;
      marker.dataset.pointOf = String(lesion.id);
      marker.dataset.timepointId = m.timepoint_id;
      marker.dataset.label = lesion.label;
      marker.title = `${lesion.label}${m.status ? `: ${m.status.replace(/_/g, ' ')}` : ''}`;
      const text = document.createElement('span');
      text.textContent = lesion.label;
      marker.append(text);
      pane.pin({ sopInstanceUid: m.sop_instance_uid, frame: m.frame ?? null, row: m.point[0], column: m.point[1] }, marker);
    }
  }

  /**
   * Mark where the selected non-target or new lesion lies (a click with the caliper tool):
   * its status at this timepoint is kept (present when it has none yet), with the point.
   */
  async markPoint(pane: ReviewPane, clientX: number, clientY: number): Promise<void> {
    const lesion = this.host.selected();
    const image = pane.image;
    const at = pane.clientToImage(clientX, clientY);
    if (!lesion || !image || !at || !pane.timepointId || !this.host.canMeasure()) return;
    const current = this.host.book.get(lesion.id, pane.timepointId)?.value ?? null;
    const status = current?.status ?? 'present';
    const body: MeasurementPut = { status, sop_instance_uid: image.sopInstanceUid, ...(image.frame ? { frame: image.frame } : {}), point: [at[0], at[1]] };
    await saveMeasurement(this.host, lesion, pane.timepointId, body);
  }

  /** Retry and Discard next to a caliper that was not saved. */
  private failedBadge(lesion: Lesion, timepointId: string, p: PendingSave): HTMLElement {
    const badge = document.createElement('div');
    badge.className = 'save-failed caliper-badge';
    badge.dataset.lesionId = String(lesion.id);
    badge.dataset.timepointId = timepointId;
    badge.title = p.problem;
    const text = document.createElement('span');
    text.textContent = `${lesion.label} not saved`;
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.dataset.action = 'retry';
    retry.textContent = 'Retry';
    retry.addEventListener('click', () => this.host.retry(lesion.id, timepointId));
    const discard = document.createElement('button');
    discard.type = 'button';
    discard.dataset.action = 'discard';
    discard.textContent = 'Discard';
    discard.addEventListener('click', () => this.host.discard(lesion.id, timepointId));
    badge.append(text, retry, discard);
    // The buttons are the reader's, not the image tools'.
    for (const type of ['mousedown', 'pointerdown', 'wheel']) badge.addEventListener(type, (e) => e.stopPropagation());
    return badge;
  }

  /** The lesion whose caliper shown on `pane` passes within a few pixels of a page point. */
  lesionAt(pane: ReviewPane, clientX: number, clientY: number): number | null {
    const image = pane.image;
    if (!image || !pane.timepointId) return null;
    let best: { id: number; d: number } | null = null;
    for (const c of this.shown()) {
      if (c.timepointId !== pane.timepointId || !isImage(image, c)) continue;
      const [a, b] = c.endpoints.map(([r, col]) => pane.imageToClient(r, col));
      if (!a || !b) continue;
      const d = distanceToSegment([clientX, clientY], a, b);
      if (d <= HIT_PX && (!best || d < best.d)) best = { id: c.lesion.id, d };
    }
    return best?.id ?? null;
  }

  private async released(annotation: Annotation, element: HTMLDivElement): Promise<void> {
    const pane = this.host.panes.find((p) => p.canvasElement === element);
    const tag = (annotation.metadata as { nadir?: CaliperTag }).nadir;
    const addFragment = !tag && this.host.fragmentMode();
    const lesion = tag ? this.host.lesion(tag.lesionId) : this.host.selected();
    // Belt and braces: the tools draw only while drawing() holds, and only on the selection.
    if (!pane || !pane.stack || !pane.timepointId || !lesion || !this.host.drawing() || lesion.id !== this.host.selected()?.id) {
      this.redraw();
      return;
    }
    const timepointId = tag?.timepointId ?? pane.timepointId;
    const imageId = (annotation.metadata as { referencedImageId?: string }).referencedImageId;
    const index = imageId ? pane.stack.indexOfImageId(imageId) : pane.index;
    const image = pane.stack.images[index >= 0 ? index : pane.index];
    const points = (annotation.data.handles?.points ?? []) as Types.Point3[];
    if (!image || (points.length !== 2 && points.length !== 4)) {
      this.redraw();
      return;
    }
    const at = pane.stack.indexOfSop(image.sopInstanceUid, image.frame);
    const onImage = points.map((p) => pane.stack!.patientToImage(at, p));
    // No length is sent: the server measures the endpoints, and its length is the one shown.
    // A frame of a multi-frame image is named (the server refuses a caliper without it there).
    // A bidirectional annotation's points are the long axis, then the short axis.
    const frame = image.frame ? { frame: image.frame } : {};
    const drawn = { sop_instance_uid: image.sopInstanceUid, ...frame, endpoints: onImage.slice(0, 2) };
    const axes: MeasurementPut = onImage.length === 4 ? { ...drawn, short_axis_endpoints: onImage.slice(2, 4) } : drawn;
    const before = this.host.book.get(lesion.id, timepointId)?.value;
    // "Add fragment": the new caliper joins the lesion's calipers here, and the server adds
    // up the fragments' longest diameters (RECIST 1.1 s4.3.2).
    const earlier = addFragment && before && onImage.length === 2 ? fragmentsOf(before) : [];
    const body: MeasurementPut = earlier.length ? { fragments: [...earlier, drawn] } : axes;
    // Saved, refused or failed, the book or the pending changes redraw every caliper.
    if ((await saveMeasurement(this.host, lesion, timepointId, body, { drawn: drawnLength(annotation) })) === 'refused') this.redraw();
  }
}

function distanceToSegment(p: [number, number], a: [number, number], b: [number, number]): number {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

function labelOf(lesion: Lesion, m: Measurement): string {
  if (m.long_axis_mm !== null && m.short_axis_mm !== null && m.long_axis_mm !== undefined && m.short_axis_mm !== undefined) {
    return `${lesion.label} ${tenths(m.long_axis_mm)} × ${tenths(m.short_axis_mm)} mm (${axisOf(lesion)} counts)`;
  }
  const length = m.length_mm === null ? '' : ` ${tenths(m.length_mm)} mm`;
  return `${lesion.label} ${axisOf(lesion)}${length}`;
}

function drawnLength(annotation: Annotation): number | null {
  const stats = annotation.data.cachedStats as Record<string, { length?: number | null }> | undefined;
  for (const s of Object.values(stats ?? {})) {
    if (typeof s?.length === 'number' && Number.isFinite(s.length)) return s.length;
  }
  return null;
}
