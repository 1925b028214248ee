/**
 * The lesions' side of the review: selecting a lesion and moving both panes to it (its
 * measured image, else where the registration expects it), adding, changing (label, organ,
 * kind, nodal) and deleting a lesion, with the amendment reason a signed-off timepoint needs.
 */
import { ApiError, api, needsAmendment } from '../api/client';
import type { Lesion, LesionCreate, LesionPatch } from '../api/types';
import type { MeasurementBook } from '../measure/book';
import { axisOf } from '../measure/caliper';
import { problemOf } from '../measure/save';
import { askReason, notify } from '../panels/dialogs';
import type { ReviewPane } from '../viewport/pane';
import type { MeasureDesk } from './measuring';
import type { ReviewState } from './state';
import type { Viewer } from './viewer';

export interface LesionHooks {
  viewer(): Viewer;
  /** The selection or the lesions changed: tools, lesion panel and address follow. */
  selectionChanged(): void;
  /** The lesions changed: read the response again. */
  lesionsChanged(): void;
}

/** The selected lesion and the lesion changes made from the lesion panel. */
export class LesionDesk {
  constructor(
    private readonly state: ReviewState,
    private readonly measure: MeasureDesk,
    private readonly hooks: LesionHooks,
  ) {}

  /** Select a lesion and move both panes to it. */
  async select(lesion: Lesion): Promise<void> {
    this.selectOnly(lesion);
    await jumpTo(this.hooks.viewer(), this.measure.book, this.state.caseId, lesion);
  }

  /** Select without moving the panes (a click on its caliper, a restored place). */
  selectOnly(lesion: Lesion): void {
    this.state.selectedId = lesion.id;
    this.hooks.selectionChanged();
  }

  deselect(): void {
    if (this.state.selectedId === null) return;
    this.state.selectedId = null;
    this.hooks.selectionChanged();
  }

  /** Whether the lesion was added (else the reader was told why). */
  async add(body: LesionCreate): Promise<boolean> {
    const lesion = await addLesion(this.state.caseId, body);
    if (!lesion) return false;
    this.state.putLesion(lesion);
    await this.select(lesion);
    this.hooks.lesionsChanged();
    return true;
  }

  /** Whether the change was stored (else the reader was told why). */
  async change(lesion: Lesion, changes: LesionPatch): Promise<boolean> {
    const updated = await withAmendment(`${lesion.label} change`,
      (amendment) => api.patchLesion(this.state.caseId, lesion.id, amendment ? { ...changes, amendment_reason: amendment } : changes),
      (detail) => this.askAmendment(lesion, 'This change', detail));
    if (!updated) return false;
    this.state.putLesion(updated);
    notify(`${lesion.label} changed${updated.label !== lesion.label ? ` to ${updated.label}` : ''}.`);
    this.hooks.selectionChanged();
    this.hooks.lesionsChanged();
    return true;
  }

  async delete(lesion: Lesion): Promise<void> {
    const reason = await askReason(`Delete ${lesion.label}?`, [
      `${lesion.label} (${lesion.organ}) leaves the evaluation, the lesion list and the report. Its measurements and the deletion stay in the history and the audit log.`,
    ], `Delete ${lesion.label}`);
    if (!reason) return;
    const deleted = await withAmendment(`Deleting ${lesion.label}`,
      (amendment) => api.deleteLesion(this.state.caseId, lesion.id, amendment ? { reason, amendment_reason: amendment } : { reason }),
      (detail) => this.askAmendment(lesion, 'Deleting it', detail));
    if (!deleted) return;
    this.forget(lesion.id);
    notify(`${lesion.label} deleted; its history is kept.`);
  }

  /** A lesion is gone (deleted here or elsewhere): out of the list, the calipers and undo. */
  forget(lesionId: number): void {
    this.state.dropLesion(lesionId);
    this.measure.forget(lesionId);
    this.hooks.selectionChanged();
  }

  /** The 409's detail names the timepoint by its UID; the reader sees its name and date. */
  private askAmendment(lesion: Lesion, what: string, detail: string): Promise<string | null> {
    const uid = /timepoint '([0-9.]+)'/.exec(detail)?.[1];
    const where = uid ? this.state.timepointName(uid) : 'a signed-off timepoint';
    return askReason(`${lesion.label} was read at ${where}, which is signed off`, [
      `${what} alters a signed-off timepoint: it is kept with your reason, and the signed-off reading stays in the history.`,
    ], 'Save the amendment');
  }
}

let jumps = 0;

/** Move each pane to the lesion's measured image there, else to the registration's proposal.
 *
 * The proposal may take a moment (a registration being computed): a pane the reader has
 * pressed on, scrolled or measured this lesion on since, or a newer selection, is left where
 * it is, so that nothing moves under the reader's hand. A lesion picked while the page is
 * still reading the measurements waits for them. `body[data-jump]` is `moving` until
 * the panes have settled, then `done`. */
export async function jumpTo(viewer: Viewer, book: MeasurementBook, caseId: number, lesion: Lesion): Promise<void> {
  const jump = ++jumps;
  document.body.dataset.jump = 'moving';
  try {
    // A lesion picked before the measurements have arrived still goes to its measured image.
    await book.firstLoad;
    if (jump !== jumps) return;
    await movePanes(viewer, book, caseId, lesion, () => jump !== jumps);
  } finally {
    if (jump === jumps) document.body.dataset.jump = 'done';
  }
}

async function movePanes(viewer: Viewer, book: MeasurementBook, caseId: number, lesion: Lesion, superseded: () => boolean): Promise<void> {
  const moved = new Set<ReviewPane>();
  for (const pane of viewer.panes) {
    const m = pane.timepointId ? book.get(lesion.id, pane.timepointId)?.value : null;
    if (m?.sop_instance_uid && (await viewer.showImage(pane, m.series_instance_uid, m.sop_instance_uid, m.frame))) moved.add(pane);
  }
  // From here on the panes wait for the proposals: one the reader scrolls, presses on or
  // measures this lesion on meanwhile is at work, and stays where it is.
  const was = new Map(viewer.panes.map((p) => [p, { touches: p.touches, image: p.image?.imageId }]));
  const untouched = (pane: ReviewPane): boolean =>
    !superseded() && pane.touches === was.get(pane)?.touches && pane.image?.imageId === was.get(pane)?.image;
  for (const pane of viewer.panes) {
    if (moved.has(pane) || !pane.timepointId) continue;
    const timepointId = pane.timepointId;
    const proposal = await api.proposal(caseId, lesion.id, timepointId).catch(() => null);
    if (!untouched(pane) || book.get(lesion.id, timepointId)?.value) continue;
    if (proposal && (await viewer.showImage(pane, proposal.series_instance_uid, proposal.sop_instance_uid, proposal.frame))) {
      moved.add(pane);
      const how = proposal.source === 'registration' ? 'found by registration' : 'same patient position (registration not ready)';
      pane.setMarker({ sopInstanceUid: proposal.sop_instance_uid, frame: proposal.frame, row: proposal.point[0], column: proposal.point[1], text: `${lesion.label} expected here: ${how}` });
    }
  }
  for (const pane of viewer.panes) {
    if (!moved.has(pane) && moved.size && untouched(pane)) await viewer.link.follow([...moved][0]);
  }
}

/** Add a lesion; null when the server refused it (the reader was told why). */
export async function addLesion(caseId: number, body: LesionCreate): Promise<Lesion | null> {
  try {
    const lesion = await api.addLesion(caseId, body);
    notify(lesion.kind === 'non_target'
      ? `${lesion.label} added. Record its status at each timepoint.`
      : `${lesion.label} added. With the caliper tool (C), drag across it on an image to measure its ${axisOf(lesion)}.`);
    return lesion;
  } catch (error) {
    notify(`The lesion was not added: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
    return null;
  }
}

/**
 * Send a lesion change or deletion; a signed-off timepoint's 409 asks for the amendment
 * reason and sends it again with it. null when it was not done (the reader was told why).
 */
export async function withAmendment<T>(
  what: string,
  send: (amendment: string | null) => Promise<T>,
  askAmendment: (detail: string) => Promise<string | null>,
): Promise<T | null> {
  try {
    return await send(null);
  } catch (error) {
    if (needsAmendment(error)) {
      const reason = await askAmendment(error.detail);
      if (!reason) {
        notify(`${what}: not done; a signed-off timepoint changes only with a reason.`);
        return null;
      }
      try {
        return await send(reason);
      } catch (again) {
        notify(`${what}: not done: ${problemOf(again)}`, 'error');
        return null;
      }
    }
    notify(`${what}: not done: ${problemOf(error)}`, 'error');
    return null;
  }
}
