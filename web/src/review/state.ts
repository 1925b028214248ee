/**
 * What the review's parts share: the case as the server last sent it, who reads it, and
 * the selected lesion. Each part (panes, lesions, tools and history, sign-off, live
 * changes) reads it here rather than keeping its own copy.
 */
import type { Case, Lesion, Me, Timepoint } from '../api/types';
import { formatDate } from '../panels/dom';
import { mayMeasure } from '../panels/words';

export class ReviewState {
  /** Set once the case is loaded (nothing reads it before). */
  case!: Case;
  me: Me = { name: null, role: 'unknown' };
  selectedId: number | null = null;
  /** "Add fragment" is on: a caliper drawn on the selected lesion is one more fragment of
   * it at that timepoint (RECIST 1.1 s4.3.2: a split lesion counts the sum), not a new reading. */
  fragmentMode = false;

  constructor(readonly caseId: number) {}

  lesion(id: number): Lesion | undefined {
    return this.case.lesions.find((l) => l.id === id);
  }

  selected(): Lesion | null {
    return this.selectedId === null ? null : (this.lesion(this.selectedId) ?? null);
  }

  canMeasure(): boolean {
    return mayMeasure(this.me);
  }

  /** Whether a change event was made by this reader (in this page or another of theirs). */
  isMine(who: string): boolean {
    return this.me.name !== null && who === this.me.name;
  }

  /** "Baseline", "Follow-up 2", "Before baseline". */
  timepointLabel(tp: Timepoint): string {
    const tps = this.case.timepoints;
    const baseline = tps.findIndex((t) => t.id === this.case.baseline_study_uid);
    const i = tps.findIndex((t) => t.id === tp.id);
    if (i === baseline) return 'Baseline';
    return i < baseline ? 'Before baseline' : `Follow-up ${i - Math.max(0, baseline)}`;
  }

  /** "Follow-up 1 (8 Apr 2024)": a timepoint named by its date, never its UID. */
  timepointName(timepointId: string): string {
    const tp = this.case.timepoints.find((t) => t.id === timepointId);
    return tp ? `${this.timepointLabel(tp)} (${formatDate(tp.date)})` : 'this timepoint';
  }

  putLesion(lesion: Lesion): void {
    const known = this.case.lesions.some((l) => l.id === lesion.id);
    const lesions = known ? this.case.lesions.map((l) => (l.id === lesion.id ? lesion : l)) : [...this.case.lesions, lesion];
    this.case = { ...this.case, lesions };
  }

  dropLesion(lesionId: number): void {
    this.case = { ...this.case, lesions: this.case.lesions.filter((l) => l.id !== lesionId) };
    if (this.selectedId === lesionId) this.selectedId = null;
  }
}
