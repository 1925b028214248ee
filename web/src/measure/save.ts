/**
 * Saving a measurement (a caliper or a status) as a new version, with what the API may
 * answer: 412 (changed since it was read: show what changed, offer to load it), 409 (the
 * timepoint is signed off: a change needs an amendment reason), and no answer at all
 * (connection lost, time-out, 5xx): then the change stays "not saved", with Retry and Discard.
 */
import { ApiError, NetworkError, api, isTransient, needsAmendment } from '../api/client';
import type { Lesion, Measurement, MeasurementPut, Versioned } from '../api/types';
import type { MeasurementBook } from './book';
import type { PendingSaves } from './pending';

/** Why a version is written: the reader's change, or an undo or redo of one. */
export type SaveKind = 'change' | 'undo' | 'redo';

export interface SaveHost {
  readonly caseId: number;
  readonly book: MeasurementBook;
  readonly pending: PendingSaves;
  askAmendment(detail: string, lesion: Lesion, timepointId: string): Promise<string | null>;
  showConflict(mine: number | null, theirs: Measurement | null, lesion: Lesion): Promise<void>;
  notify(text: string, kind?: 'info' | 'error'): void;
  /** Stored: `before` is what the lesion had there before (null: nothing). */
  saved(lesion: Lesion, timepointId: string, measurement: Measurement, before: Versioned<Measurement> | null, kind: SaveKind): void;
}

export type SaveOutcome = 'saved' | 'refused' | 'failed';

export interface SaveOptions {
  /** The length drawn, if it is a caliper. */
  drawn?: number | null;
  kind?: SaveKind;
}

/**
 * Send one change. 'saved': stored; 'refused': the server said no (the reader was told why,
 * nothing is pending); 'failed': no answer, the change waits in `host.pending` for Retry.
 * Never rejects.
 */
export async function saveMeasurement(
  host: SaveHost,
  lesion: Lesion,
  timepointId: string,
  body: MeasurementPut,
  options: SaveOptions = {},
): Promise<SaveOutcome> {
  host.pending.begin(options.kind ?? 'change');
  try {
    return await send(host, lesion, timepointId, body, options);
  } finally {
    host.pending.end();
  }
}

async function send(
  host: SaveHost,
  lesion: Lesion,
  timepointId: string,
  body: MeasurementPut,
  options: SaveOptions,
): Promise<SaveOutcome> {
  const drawn = options.drawn ?? null;
  const current = host.book.get(lesion.id, timepointId);
  host.pending.saving(lesion.id, timepointId, body, drawn, options.kind ?? 'change');
  try {
    const saved = await api.putMeasurement(host.caseId, lesion.id, timepointId, body, current?.etag ?? null);
    host.pending.clear(lesion.id, timepointId);
    host.book.set(lesion.id, timepointId, saved);
    host.saved(lesion, timepointId, saved.value, current, options.kind ?? 'change');
    return 'saved';
  } catch (error) {
    if (isTransient(error)) {
      host.pending.failed(lesion.id, timepointId, problemOf(error));
      return 'failed';
    }
    host.pending.clear(lesion.id, timepointId);
    try {
      return await refused(host, lesion, timepointId, body, options, error);
    } catch (again) {
      host.notify(`Not saved: ${problemOf(again)}`, 'error');
      return 'refused';
    }
  }
}

async function refused(
  host: SaveHost,
  lesion: Lesion,
  timepointId: string,
  body: MeasurementPut,
  options: SaveOptions,
  error: unknown,
): Promise<SaveOutcome> {
  if (needsAmendment(error) && !body.amendment_reason) {
    const reason = await host.askAmendment(error.detail, lesion, timepointId);
    if (reason) return send(host, lesion, timepointId, { ...body, amendment_reason: reason }, options);
    host.notify('Not saved: a signed-off timepoint changes only with a reason.');
  } else if (error instanceof ApiError && error.status === 412) {
    const theirs = await host.book.reload(lesion.id, timepointId);
    await host.showConflict(options.drawn ?? null, theirs?.value ?? null, lesion);
  } else {
    host.notify(`Not saved: ${problemOf(error)}`, 'error');
  }
  return 'refused';
}

export function problemOf(error: unknown): string {
  if (error instanceof NetworkError) return error.timedOut ? 'the server did not answer within 10 s' : 'no connection to the server';
  if (error instanceof ApiError) return error.status >= 500 ? `server error ${error.status}` : error.detail;
  return error instanceof Error ? error.message : String(error);
}
