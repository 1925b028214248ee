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

export class ChangeHistory {
  readonly stack = new UndoStack<Measurement>();
  private running = false;
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly host: HistoryHost) {
    this.stack.onChange(() => this.changed());
  }

  get busy(): boolean {
    return this.running;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  record(lesionId: number, timepointId: string, before: Measurement | null, after: Measurement): void {
    this.stack.record({ lesionId, timepointId, before, after });
  }

  async undo(): Promise<void> {
    const change = this.stack.nextUndo();
    if (!change || this.running) return;
    if (!change.before) {
      const lesion = this.host.lesion(change.lesionId);
      this.host.notify(`${lesion?.label ?? 'This lesion'} had no reading at ${this.host.timepointName(change.timepointId)} before: ` +
        'a first reading is not undone (draw it again to correct it).');
      this.stack.drop(change);
      return;
    }
    if (await this.write(change, change.before, 'undo')) this.stack.undid(change);
  }

  async redo(): Promise<void> {
    const change = this.stack.nextRedo();
    if (!change || this.running) return;
    if (await this.write(change, change.after, 'redo')) this.stack.redid(change);
  }

  private async write(change: Change<Measurement>, value: Measurement, kind: 'undo' | 'redo'): Promise<boolean> {
    const lesion = this.host.lesion(change.lesionId);
    if (!lesion) {
      this.stack.drop(change);
      return false;
    }
    this.running = true;
    this.changed();
    try {
      // Kept with the new version in the history: "undo" or "redo".
      const body: MeasurementPut = { ...valueOf(value), reason: kind };
      return (await saveMeasurement(this.host, lesion, change.timepointId, body, { kind })) === 'saved';
    } finally {
      this.running = false;
      this.changed();
    }
  }

  private changed(): void {
    this.listeners.forEach((f) => f());
  }
}
