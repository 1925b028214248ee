/**
 * The current measurement of each lesion at each timepoint, as the server holds it, with
 * the ETag each was read with (sent back as If-Match when the reader changes it).
 */
import { api } from '../api/client';
import type { Lesion, Measurement, MeasurementPut, Timepoint, Versioned } from '../api/types';

const key = (lesionId: number, timepointId: string) => `${lesionId}|${timepointId}`;

/**
 * The ETag of one measurement, as GET and PUT .../measurements/{timepoint} send it: the
 * lesion and the version (api/workflow/cases.py, measurement_etag). The case's list has
 * one ETag for the whole list; a change names the version it replaces with this one.
 */
export function measurementEtag(m: Measurement): string {
  return `"m${m.lesion_id}-v${m.version}"`;
}

export class MeasurementBook {
  private readonly cells = new Map<string, Versioned<Measurement>>();
  private readonly listeners: (() => void)[] = [];
  private firstLoadDone: () => void = () => undefined;
  /** Settles once the first load has answered (or failed): until then an empty cell may
   * only mean "not read yet". */
  readonly firstLoad: Promise<void> = new Promise((resolve) => { this.firstLoadDone = resolve; });

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

  /** Every current measurement of a lesion that split: its fragments are its calipers. */
  split(): Measurement[] {
    return [...this.cells.values()].map((c) => c.value).filter((m) => (m.fragments?.length ?? 0) > 0);
  }

  /** Every current status reading marked by a point on an image (non-target, new lesions). */
  points(): Measurement[] {
    return [...this.cells.values()].map((c) => c.value).filter((m) => m.sop_instance_uid && m.point?.length === 2);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Read the current measurements of the lesions shown at the timepoints shown, all in
   * one request (GET /api/v1/cases/{id}/measurements). */
  async load(lesions: Lesion[], timepoints: Timepoint[]): Promise<void> {
    try {
      const { measurements } = await api.measurements(this.caseId);
      const shown = new Set(lesions.flatMap((l) => timepoints.map((tp) => key(l.id, tp.id))));
      this.cells.clear();
      for (const m of measurements) {
        const k = key(m.lesion_id, m.timepoint_id);
        if (shown.has(k)) this.cells.set(k, { value: m, etag: measurementEtag(m) });
      }
      this.listeners.forEach((f) => f());
    } finally {
      this.firstLoadDone();
    }
  }

  /** Read one cell again (after a 412, say). */
  async reload(lesionId: number, timepointId: string): Promise<Versioned<Measurement> | null> {
    const current = await api.measurement(this.caseId, lesionId, timepointId);
    this.set(lesionId, timepointId, current);
    return current;
  }
}

/** A split lesion's fragments as the PUT takes them back (the server measures them again). */
export function fragmentsOf(m: Measurement): NonNullable<MeasurementPut['fragments']> {
  if (m.fragments?.length) {
    return m.fragments.map((f) => ({ sop_instance_uid: f.sop_instance_uid, frame: f.frame ?? null, endpoints: f.endpoints }));
  }
  // One caliper so far: it becomes the first fragment.
  if (m.sop_instance_uid && m.endpoints?.length === 2 && !m.status) {
    return [{ sop_instance_uid: m.sop_instance_uid, frame: m.frame ?? null, endpoints: m.endpoints }];
  }
  return [];
}
