/**
 * The lesions' side of the review: moving both panes to a lesion (its measured image, else
 * where the registration expects it), adding, changing and deleting a lesion.
 */
import { ApiError, api, needsAmendment } from '../api/client';
import type { Lesion, LesionCreate } from '../api/types';
import type { MeasurementBook } from '../measure/book';
import { axisOf } from '../measure/caliper';
import { problemOf } from '../measure/save';
import { notify } from '../panels/dialogs';
import type { ReviewPane } from '../viewport/pane';
import type { Viewer } from './viewer';

/** Move each pane to the lesion's measured image there, else to the registration's proposal. */
export async function jumpTo(viewer: Viewer, book: MeasurementBook, caseId: number, lesion: Lesion): Promise<void> {
  const moved = new Set<ReviewPane>();
  for (const pane of viewer.panes) {
    const m = pane.timepointId ? book.get(lesion.id, pane.timepointId)?.value : null;
    if (m?.sop_instance_uid && (await viewer.showImage(pane, m.series_instance_uid, m.sop_instance_uid))) moved.add(pane);
  }
  for (const pane of viewer.panes) {
    if (moved.has(pane) || !pane.timepointId) continue;
    const proposal = await api.proposal(caseId, lesion.id, pane.timepointId).catch(() => null);
    if (proposal && (await viewer.showImage(pane, proposal.series_instance_uid, proposal.sop_instance_uid))) {
      moved.add(pane);
      const how = proposal.source === 'registration' ? 'found by registration' : 'same patient position (registration not ready)';
      pane.setMarker({ sopInstanceUid: proposal.sop_instance_uid, row: proposal.point[0], column: proposal.point[1], text: `${lesion.label} expected here: ${how}` });
    }
  }
  for (const pane of viewer.panes) {
    if (!moved.has(pane) && moved.size) await viewer.link.follow([...moved][0]);
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
