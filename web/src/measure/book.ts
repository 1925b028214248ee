/**
 * The current measurement of each lesion at each timepoint, as the server holds it, with
 * the ETag each was read with (sent back as If-Match when the reader changes it).
 */
import { api } from '../api/client';
import type { Lesion, Measurement, Timepoint, Versioned } from '../api/types';

const key = (lesionId: number, timepointId: string) => `${lesionId}|${timepointId}`;

export class MeasurementBook {
  private readonly cells = new Map<string, Versioned<Measurement>>();
  private readonly listeners: (() => void)[] = [];

  constructor(readonly caseId: number) {}

  get(lesionId: number, timepointId: string): Versioned<Measurement> | null {
    return this.cells.get(key(lesionId, timepointId)) ?? null;
  }

  set(lesionId: number, timepointId: string, current: Versioned<Measurement> | null): void {
    if (current) this.cells.set(key(lesionId, timepointId), current);
    else this.cells.delete(key(lesionId, timepointId));
    this.listeners.forEach((f) => f());
  }

  /** Forget a deleted lesion's measurements. */
  dropLesion(lesionId: number): void {
    for (const k of [...this.cells.keys()]) if (k.startsWith(`${lesionId}|`)) this.cells.delete(k);
    this.listeners.forEach((f) => f());
  }

  /** Every current measurement with a caliper on an image. */
  calipers(): Measurement[] {
    return [...this.cells.values()].map((c) => c.value).filter((m) => m.sop_instance_uid && m.endpoints?.length === 2);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Read the current measurements (one request per lesion and timepoint, in parallel). */
  async load(lesions: Lesion[], timepoints: Timepoint[]): Promise<void> {
    const reads = lesions.flatMap((lesion) =>
      timepoints.map(async (tp) => [lesion.id, tp.id, await api.measurement(this.caseId, lesion.id, tp.id)] as const),
    );
    const results = await Promise.all(reads);
    this.cells.clear();
    for (const [lesionId, timepointId, current] of results) {
      if (current) this.cells.set(key(lesionId, timepointId), current);
    }
    this.listeners.forEach((f) => f());
  }

  /** Read one cell again (after a 412, say). */
  async reload(lesionId: number, timepointId: string): Promise<Versioned<Measurement> | null> {
    const current = await api.measurement(this.caseId, lesionId, timepointId);
    this.set(lesionId, timepointId, current);
    return current;
  }
}
