/**
 * Changes sent but not (yet) stored: "saving…" while the request runs, "not saved" when it
 * got no answer, timed out or met a server error. A failed change stays, drawn, until the
 * reader retries or discards it: nothing drawn is lost without the reader's choice.
 *
 * It also counts the saves under way, from the request to its end (an amendment reason
 * asked for, a conflict shown), so that an undo waits until the change before it is in.
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
  private underWay = 0;
  private changes = 0;
  private waiters: (() => void)[] = [];

  /** A save begins (see measure/save.ts): of the reader's own change, or an undo or redo. */
  begin(kind: SaveKind): void {
    this.underWay++;
    if (kind === 'change') this.changes++;
  }

  /** A save has ended, stored or not. */
  end(): void {
    this.underWay = Math.max(0, this.underWay - 1);
    if (this.underWay === 0) {
      const waiting = this.waiters;
      this.waiters = [];
      waiting.forEach((resolve) => resolve());
    }
  }

  /** How many of the reader's own changes have begun to be saved in this page. */
  get changesBegun(): number {
    return this.changes;
  }

  /** Settles once no save is under way (at once when none is). */
  settled(): Promise<void> {
    if (this.underWay === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The changes that were sent and not stored, waiting for Retry or Discard. */
  unsaved(): PendingSave[] {
    return this.all().filter((p) => p.state === 'failed');
  }

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
