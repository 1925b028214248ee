/**
 * Saving a measurement (a caliper or a status) as a new version, with the conflicts the
 * API answers: 412 (changed since it was read: show what changed, offer to load it) and
 * 409 (the timepoint is signed off: a change needs an amendment reason).
 */
import { ApiError, api } from '../api/client';
import type { Lesion, Measurement, MeasurementPut } from '../api/types';
import type { MeasurementBook } from './book';

export interface SaveHost {
  readonly caseId: number;
  readonly book: MeasurementBook;
  askAmendment(detail: string, lesion: Lesion): Promise<string | null>;
  showConflict(mine: number | null, theirs: Measurement | null, lesion: Lesion): Promise<void>;
  notify(text: string, kind?: 'info' | 'error'): void;
  saved(lesion: Lesion, timepointId: string, measurement: Measurement): void;
}

/** true when saved; otherwise the reader was told why. `drawn`: the length drawn, if any. */
export async function saveMeasurement(
  host: SaveHost,
  lesion: Lesion,
  timepointId: string,
  body: MeasurementPut,
  drawn: number | null = null,
): Promise<boolean> {
  const current = host.book.get(lesion.id, timepointId);
  try {
    const saved = await api.putMeasurement(host.caseId, lesion.id, timepointId, body, current?.etag ?? null);
    host.book.set(lesion.id, timepointId, saved);
    host.saved(lesion, timepointId, saved.value);
    return true;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 409 && !body.amendment_reason) {
      const reason = await host.askAmendment(error.detail, lesion);
      if (reason) return saveMeasurement(host, lesion, timepointId, { ...body, amendment_reason: reason }, drawn);
      host.notify('Not saved: a signed-off timepoint changes only with a reason.');
    } else if (error.status === 412) {
      const theirs = await host.book.reload(lesion.id, timepointId);
      await host.showConflict(drawn, theirs?.value ?? null, lesion);
    } else {
      host.notify(`Not saved: ${error.detail}`, 'error');
    }
    return false;
  }
}
