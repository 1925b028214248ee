/**
 * Calipers: drawing one with the left button on the selected lesion, dragging an endpoint
 * to edit one, and showing each lesion's current measurement on its image. The server
 * computes and keeps every length; a caliper is saved on release with
 * PUT .../measurements/{timepoint} (endpoints as image [row, column], If-Match the ETag it
 * was read with), and the server's answer replaces what was drawn.
 */
import { utilities as csUtils, type Types } from '@cornerstonejs/core';
import { LengthTool, annotation as annotations, utilities as toolUtilities, type Types as ToolTypes } from '@cornerstonejs/tools';
import type { Lesion, Measurement } from '../api/types';
import type { ReviewPane } from '../viewport/pane';
import { saveMeasurement, type SaveHost } from './save';

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
}

export class Calipers {
  constructor(private readonly host: CaliperHost) {
    CaliperTool.onRelease = (annotation, element) => void this.released(annotation, element);
    host.book.onChange(() => this.redraw());
  }

  /** Show every current caliper on the images of both panes. */
  redraw(): void {
    for (const pane of this.host.panes) {
      if (!pane.stack) continue;
      // A copy: the manager's own list shrinks while annotations are removed.
      for (const old of [...(annotations.state.getAnnotations(CaliperTool.toolName, pane.canvasElement) ?? [])]) {
        if (old.annotationUID) annotations.state.removeAnnotation(old.annotationUID);
      }
    }
    for (const pane of this.host.panes) {
      const stack = pane.stack;
      if (!stack || !pane.timepointId) continue;
      for (const m of this.host.book.calipers()) {
        if (m.timepoint_id !== pane.timepointId) continue;
        const index = stack.indexOfSop(m.sop_instance_uid ?? '');
        const lesion = this.host.lesion(m.lesion_id);
        if (index < 0 || !lesion || !m.endpoints) continue;
        const points = m.endpoints.map(([r, c]) => stack.imageToPatient(index, r, c) as Types.Point3);
        const reference = pane.viewport.getViewReference({ sliceIndex: index });
        const annotation = CaliperTool.createAnnotation({
          highlighted: false,
          invalidated: true,
          isLocked: !this.host.canMeasure(),
          metadata: { ...reference, toolName: CaliperTool.toolName, nadir: { lesionId: lesion.id, timepointId: m.timepoint_id, version: m.version } },
          data: { handles: { points }, label: labelOf(lesion, m) },
        }) as Annotation;
        annotations.state.addAnnotation(annotation, pane.canvasElement);
        const selected = this.host.selected()?.id === lesion.id;
        if (annotation.annotationUID) {
          annotations.config.style.setAnnotationStyles(annotation.annotationUID, {
            color: selected ? 'rgb(255, 214, 0)' : 'rgb(64, 224, 255)',
            textBoxColor: selected ? 'rgb(255, 214, 0)' : 'rgb(64, 224, 255)',
            lineWidth: selected ? '2' : '1.5',
          });
        }
      }
    }
    toolUtilities.triggerAnnotationRenderForViewportIds(this.host.panes.map((p) => p.viewportId));
  }

  private async released(annotation: Annotation, element: HTMLDivElement): Promise<void> {
    const pane = this.host.panes.find((p) => p.canvasElement === element);
    const tag = (annotation.metadata as { nadir?: CaliperTag }).nadir;
    const lesion = tag ? this.host.lesion(tag.lesionId) : this.host.selected();
    if (!pane || !pane.stack || !pane.timepointId || !lesion || !this.host.canMeasure()) {
      this.redraw();
      return;
    }
    const timepointId = tag?.timepointId ?? pane.timepointId;
    const imageId = (annotation.metadata as { referencedImageId?: string }).referencedImageId;
    const index = imageId ? pane.stack.indexOfImageId(imageId) : pane.index;
    const image = pane.stack.images[index >= 0 ? index : pane.index];
    const points = (annotation.data.handles?.points ?? []) as Types.Point3[];
    if (!image || points.length !== 2) {
      this.redraw();
      return;
    }
    const at = pane.stack.indexOfSop(image.sopInstanceUid);
    const endpoints = points.map((p) => pane.stack!.patientToImage(at, p));
    annotation.data.label = `${lesion.label} ${axisOf(lesion)}: saving…`;
    toolUtilities.triggerAnnotationRenderForViewportIds([pane.viewportId]);
    // No length is sent: the server measures the endpoints, and its length is the one shown.
    const body = { sop_instance_uid: image.sopInstanceUid, endpoints };
    // Saved: the book changes and every caliper is drawn again from the server's answer.
    if (!(await saveMeasurement(this.host, lesion, timepointId, body, drawnLength(annotation)))) this.redraw();
  }

}

function labelOf(lesion: Lesion, m: Measurement): string {
  const length = m.length_mm === null ? '' : ` ${m.length_mm.toFixed(1)} mm`;
  return `${lesion.label} ${axisOf(lesion)}${length}`;
}

function drawnLength(annotation: Annotation): number | null {
  const stats = annotation.data.cachedStats as Record<string, { length?: number | null }> | undefined;
  for (const s of Object.values(stats ?? {})) {
    if (typeof s?.length === 'number' && Number.isFinite(s.length)) return s.length;
  }
  return null;
}
