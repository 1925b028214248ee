/**
 * Undo and redo of the reader's own changes in this page (a caliper drawn or moved, a status
 * set). Each undo or redo is a new version written through the same save as any change, so
 * a signed-off timepoint asks for the amendment reason and a change made meanwhile by
 * someone else is shown, not overwritten. The server's history keeps every version.
 */
import type { Lesion, Measurement, MeasurementPut } from '../api/types';
import { fragmentsOf } from '../measure/book';
import { saveMeasurement, type SaveHost } from '../measure/save';
import { UndoStack, type Change } from './undo';

export interface HistoryHost extends SaveHost {
  lesion(id: number): Lesion | undefined;
  timepointName(timepointId: string): string;
}

/** What to write back to give a lesion this value again (the server measures the endpoints again). */
export function valueOf(m: Measurement): MeasurementPut {
  if (m.coalesced_into) return { coalesced_into: m.coalesced_into };
  if (m.fragments?.length) return { fragments: fragmentsOf(m) };
  // A status keeps the point where the lesion was marked; a caliper both its axes.
  if (m.status && m.point && m.sop_instance_uid) return { status: m.status, sop_instance_uid: m.sop_instance_uid, frame: m.frame ?? null, point: m.point };
  if (m.status) return { status: m.status };
  if (m.short_axis_endpoints && m.long_axis_mm !== null && m.endpoints && m.sop_instance_uid) {
    return { sop_instance_uid: m.sop_instance_uid, frame: m.frame ?? null, endpoints: m.endpoints, short_axis_endpoints: m.short_axis_endpoints };
  }
  if (m.endpoints && m.sop_instance_uid) return { sop_instance_uid: m.sop_instance_uid, frame: m.frame ?? null, endpoints: m.endpoints };
  return { sop_instance_uid: m.sop_instance_uid ?? null, frame: m.frame ?? null, length_mm: m.length_mm };
}

/** An undo or a redo asked for, with how many of the reader's changes had begun by then. */
interface Asked {
  kind: 'undo' | 'redo';
  changesBefore: number;
  /** Settles the caller's promise: done, or dropped. */
  settle: () => void;
}

/**
 * The reader's undos and redos, done one at a time and in the order asked: a key pressed
 * again while one is being written waits its turn instead of being lost, and each waits
 * until every save under way has ended, so that it takes back the change the reader has
 * just made rather than the one before it. What cannot be done in order is dropped with a
 * word: when one is not stored, when a change is left unsaved (Retry or Discard first), and
 * when the reader makes a new change before its turn.
 */
export class ChangeHistory {
  readonly stack = new UndoStack<Measurement>();
  private running = false;
  private readonly asked: Asked[] = [];
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly host: HistoryHost,
    private readonly save: typeof saveMeasurement = saveMeasurement,
  ) {
    this.stack.onChange(() => this.changed());
  }

  /** An undo or redo is being done, or waits for a save to end. */
  get busy(): boolean {
    return this.running;
  }

  /** Undos and redos asked for that wait their turn. */
  get waiting(): number {
    return this.asked.length;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  record(lesionId: number, timepointId: string, before: Measurement | null, after: Measurement): void {
    this.stack.record({ lesionId, timepointId, before, after });
  }

  /** Undo the last change: now, or after what is under way. Settles once this undo is
   * done or dropped (it never rejects). */
  undo(): Promise<void> {
    return this.ask('undo');
  }

  redo(): Promise<void> {
    return this.ask('redo');
  }

  private ask(kind: Asked['kind']): Promise<void> {
    const settled = new Promise<void>((settle) => {
      this.asked.push({ kind, changesBefore: this.host.pending.changesBegun, settle });
    });
    this.changed();
    if (!this.running) void this.work();
    return settled;
  }

  /** Do what was asked, in order, until nothing waits. */
  private async work(): Promise<void> {
    this.running = true;
    this.changed();
    try {
      while (this.asked.length) {
        await this.host.pending.settled();
        const next = this.asked[0];
        const unsaved = this.host.pending.unsaved();
        if (unsaved.length) {
          const p = unsaved[0];
          this.dropAll(`${p.kind === 'change' ? 'a change' : `an ${p.kind}`} of ${this.host.lesion(p.lesionId)?.label ?? 'a lesion'} at ` +
            `${this.host.timepointName(p.timepointId)} is not saved: Retry or Discard it first`);
          break;
        }
        if (this.host.pending.changesBegun > next.changesBefore) {
          this.dropAll('you made a new change before its turn');
          break;
        }
        this.asked.shift();
        this.changed();
        let done = false;
        try {
          done = next.kind === 'undo' ? await this.undoNext() : await this.redoNext();
        } finally {
          next.settle();
        }
        if (!done && this.asked.length) {
          this.dropAll(`the ${next.kind} before ${this.asked.length === 1 ? 'it' : 'them'} was not stored`);
          break;
        }
      }
    } finally {
      this.running = false;
      this.changed();
    }
  }

  /** Drop every undo and redo still waiting, saying why. */
  private dropAll(why: string): void {
    const dropped = this.asked.splice(0);
    dropped.forEach((a) => a.settle());
    this.changed();
    const kinds = new Set(dropped.map((a) => a.kind));
    const what = dropped.length === 1 ? `The ${dropped[0].kind} was` :
      `${dropped.length} ${kinds.size === 1 ? `${dropped[0].kind}s` : 'undos and redos'} were`;
    this.host.notify(`${what} not done: ${why}.`, 'error');
  }

  /** True when the undo was stored, or there was nothing to write back. */
  private async undoNext(): Promise<boolean> {
    const change = this.stack.nextUndo();
    if (!change) return true;
    if (!change.before) {
      const lesion = this.host.lesion(change.lesionId);
      this.host.notify(`${lesion?.label ?? 'This lesion'} had no reading at ${this.host.timepointName(change.timepointId)} before: ` +
        'a first reading is not undone (draw it again to correct it).');
      this.stack.drop(change);
      return true;
    }
    if (!(await this.write(change, change.before, 'undo'))) return false;
    this.stack.undid(change);
    return true;
  }

  private async redoNext(): Promise<boolean> {
    const change = this.stack.nextRedo();
    if (!change) return true;
    if (!(await this.write(change, change.after, 'redo'))) return false;
    this.stack.redid(change);
    return true;
  }

  private async write(change: Change<Measurement>, value: Measurement, kind: 'undo' | 'redo'): Promise<boolean> {
    const lesion = this.host.lesion(change.lesionId);
    if (!lesion) {
      this.stack.drop(change);
      return false;
    }
    // Kept with the new version in the history: "undo" or "redo".
    const body: MeasurementPut = { ...valueOf(value), reason: kind };
    return (await this.save(this.host, lesion, change.timepointId, body, { kind })) === 'saved';
  }

  private changed(): void {
    this.listeners.forEach((f) => f());
  }
}
