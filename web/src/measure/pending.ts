/**
 * Changes sent but not (yet) stored: "saving…" while the request runs, "not saved" when it
 * got no answer, timed out or met a server error. A failed change stays, drawn, until the
 * reader retries or discards it: nothing drawn is lost without the reader's choice.
 */
import type { MeasurementPut } from '../api/types';
import type { SaveKind } from './save';

export interface PendingSave {
  lesionId: number;
  timepointId: string;
  body: MeasurementPut;
  /** The length drawn (mm), when it is a caliper. */
  drawn: number | null;
  kind: SaveKind;
  state: 'saving' | 'failed';
  /** Why it was not saved (failed only). */
  problem: string;
}

const key = (lesionId: number, timepointId: string) => `${lesionId}|${timepointId}`;

export class PendingSaves {
  private readonly items = new Map<string, PendingSave>();
  private readonly listeners: (() => void)[] = [];

  get(lesionId: number, timepointId: string): PendingSave | null {
    return this.items.get(key(lesionId, timepointId)) ?? null;
  }

  all(): PendingSave[] {
    return [...this.items.values()];
  }

  ofLesion(lesionId: number): PendingSave[] {
    return this.all().filter((p) => p.lesionId === lesionId);
  }

  saving(lesionId: number, timepointId: string, body: MeasurementPut, drawn: number | null, kind: SaveKind): void {
    this.items.set(key(lesionId, timepointId), { lesionId, timepointId, body, drawn, kind, state: 'saving', problem: '' });
    this.changed();
  }

  failed(lesionId: number, timepointId: string, problem: string): void {
    const item = this.get(lesionId, timepointId);
    if (!item) return;
    this.items.set(key(lesionId, timepointId), { ...item, state: 'failed', problem });
    this.changed();
  }

  /** Stored, refused by the server, or discarded by the reader. */
  clear(lesionId: number, timepointId: string): void {
    if (this.items.delete(key(lesionId, timepointId))) this.changed();
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    this.listeners.forEach((f) => f());
  }
}
