/**
 * The review's measurements: the book of what the server holds, the saves in flight
 * (Retry, Discard), undo and redo, and what the reader is told when a save is stored,
 * collides with someone else's or needs an amendment reason. It is the calipers' and the
 * history's host; the tools decide whether a drag draws (review/tools.ts).
 */
import type { Lesion, Measurement, Versioned } from '../api/types';
import { MeasurementBook } from '../measure/book';
import { axisOf, type CaliperHost } from '../measure/caliper';
import { PendingSaves } from '../measure/pending';
import { saveMeasurement, type SaveKind } from '../measure/save';
import { ask, askReason, notify } from '../panels/dialogs';
import { formatDateTime, mm } from '../panels/dom';
import type { ReviewPane } from '../viewport/pane';
import { ChangeHistory, type HistoryHost } from './history';
import type { ReviewState } from './state';

export interface MeasureHooks {
  panes(): ReviewPane[];
  /** Whether a left drag draws now. */
  drawing(): boolean;
  /** Whether this case's calipers show (review/readers.ts). */
  ownShown(): boolean;
}

/** A stored reading in words: a status, a merge, the sum of fragments or one length. */
export function describe(lesion: Lesion, m: Measurement, labelOf: (id: number) => string): string {
  if (m.coalesced_into) return `merged into ${labelOf(m.coalesced_into)}`;
  if (m.fragments?.length) return `${m.fragments.length} fragments, ${axisOf(lesion)} ${mm(m.length_mm)} in all`;
  return m.status ? m.status.replaceAll('_', ' ') : `${axisOf(lesion)} ${mm(m.length_mm)}`;
}

export class MeasureDesk implements CaliperHost, HistoryHost {
  readonly book: MeasurementBook;
  readonly pending = new PendingSaves();
  readonly history: ChangeHistory;

  constructor(
    private readonly state: ReviewState,
    private readonly hooks: MeasureHooks,
  ) {
    this.book = new MeasurementBook(state.caseId);
    this.history = new ChangeHistory(this);
  }

  get caseId(): number {
    return this.state.caseId;
  }

  get panes(): ReviewPane[] {
    return this.hooks.panes();
  }

  lesion(id: number): Lesion | undefined {
    return this.state.lesion(id);
  }

  selected(): Lesion | null {
    return this.state.selected();
  }

  canMeasure(): boolean {
    return this.state.canMeasure();
  }

  drawing(): boolean {
    return this.hooks.drawing();
  }

  fragmentMode(): boolean {
    return this.state.fragmentMode;
  }

  ownShown(): boolean {
    return this.hooks.ownShown();
  }

  /** RECIST 1.1 s4.3.2: the lesion has merged into `into` at the timepoint (it counts 0 mm,
   * `into` carries the merged diameter); true when stored. */
  async mergeInto(lesion: Lesion, timepointId: string, into: Lesion): Promise<boolean> {
    return (await saveMeasurement(this, lesion, timepointId, { coalesced_into: into.id })) === 'saved';
  }

  notify(text: string, kind: 'info' | 'error' = 'info'): void {
    notify(text, kind);
  }

  timepointName(timepointId: string): string {
    return this.state.timepointName(timepointId);
  }

  /** Read every measurement of the case again. */
  async reload(): Promise<void> {
    await this.book.load(this.state.case.lesions, this.state.case.timepoints);
  }

  /** Record a status (a non-target's, "not evaluable"): a new version; true when stored. */
  async setStatus(lesion: Lesion, timepointId: string, status: string): Promise<boolean> {
    return (await saveMeasurement(this, lesion, timepointId, { status })) === 'saved';
  }

  async askAmendment(_detail: string, lesion: Lesion, timepointId: string): Promise<string | null> {
    const where = this.timepointName(timepointId);
    return askReason(`${where} is signed off`, [
      `A change to ${lesion.label} at ${where} is kept as a new version with your reason; the signed-off version stays in the history.`,
    ], 'Save the amendment');
  }

  async showConflict(mine: number | null, theirs: Measurement | null, lesion: Lesion): Promise<void> {
    const now = theirs
      ? `It is now ${theirs.status ? theirs.status.replaceAll('_', ' ') : mm(theirs.length_mm)} (version ${theirs.version}, by ${theirs.author}, ${formatDateTime(theirs.at)}).`
      : 'It has no measurement now.';
    const answer = await ask(`${lesion.label} was changed by someone else`, [
      `Someone saved a change to ${lesion.label} after you opened it, so yours${mine !== null ? ` (${mm(mine)} drawn)` : ''} was not saved.`,
      now,
    ], [
      { label: 'Keep looking', value: 'keep' },
      { label: 'Load their version', value: 'reload', primary: true },
    ]);
    if (answer === 'reload') await this.reload();
  }

  saved(lesion: Lesion, timepointId: string, m: Measurement, before: Versioned<Measurement> | null, kind: SaveKind): void {
    this.panes.filter((p) => p.timepointId === timepointId).forEach((p) => p.setMarker(null));
    if (kind === 'change') this.history.record(lesion.id, timepointId, before?.value ?? null, m);
    const what = describe(lesion, m, (id) => this.lesion(id)?.label ?? 'another lesion');
    const how = kind === 'change' ? 'saved' : kind === 'undo' ? 'restored (undo)' : 'restored (redo)';
    notify(`${lesion.label}: ${what} ${how} (version ${m.version}).`);
  }

  retry(lesionId: number, timepointId: string): void {
    const p = this.pending.get(lesionId, timepointId);
    const lesion = this.lesion(lesionId);
    if (!p || !lesion || p.state !== 'failed') return;
    void saveMeasurement(this, lesion, timepointId, p.body, { drawn: p.drawn, kind: p.kind });
  }

  discard(lesionId: number, timepointId: string): void {
    this.pending.clear(lesionId, timepointId);
    const lesion = this.lesion(lesionId);
    notify(`${lesion?.label ?? 'The'} change discarded: ${this.timepointName(timepointId)} keeps what the server has.`);
  }

  /** A lesion is gone: nothing of it pending, nothing of it to undo, nothing of it in the book. */
  forget(lesionId: number): void {
    for (const p of this.pending.ofLesion(lesionId)) this.pending.clear(p.lesionId, p.timepointId);
    this.history.stack.forget(lesionId);
    this.book.dropLesion(lesionId);
  }
}
