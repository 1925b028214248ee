/**
 * Whose calipers the panes show (issue 21, second reading): this case's own reading, another
 * reading of the same studies, or all of them. Pure: no DOM, no cornerstone. The readings
 * come from GET /api/v1/cases/{primary}/readings; a reading is offered once it is signed
 * off at every timepoint (the API's `reviews`), and never to the reader of a blinded review
 * that is not signed off everywhere yet (the API answers 403 there: the page does not ask).
 */
import type { Case, CaseReadings, Me } from '../api/types';
import { mayReadReadings } from '../panels/words';

/** One reading the toggle offers. */
export interface ReadingOption {
  /** The case that holds the reading. */
  caseId: number;
  /** Who read it ("" when the API does not say). */
  reader: string;
  /** This page's case, the primary of a review, or a review. */
  kind: 'this case' | 'primary' | 'review';
}

/** A case id (that reading alone) or every reading at once. */
export type ReaderChoice = number | 'all';

/**
 * The primary case whose readings this page may ask for, or null: only readers (radiologists,
 * specialists, admins), and not the reader of a blinded review of it while their own review
 * is not signed off at every timepoint (blinding, README "Second reading and adjudication").
 */
export function readingsToAsk(c: Case, me: Me): number | null {
  if (!mayReadReadings(me)) return null;
  if (c.review_of === null || c.review_of === undefined) return c.id;
  const signedEverywhere = c.timepoints.length > 0 && c.timepoints.every((t) => Boolean(t.signed_off_by));
  if (c.blinded && me.name !== null && me.name === c.reader && !signedEverywhere) return null;
  return c.review_of;
}

/** The readings to choose from, this case's first; empty when there is no other to show. */
export function readingOptions(c: Case, readings: CaseReadings): ReadingOption[] {
  const primaryReader = readings.reviews.flatMap((r) => r.timepoints.map((t) => t.primary.reader))[0] ?? '';
  const isReview = c.review_of !== null && c.review_of !== undefined;
  const own: ReadingOption = { caseId: c.id, reader: isReview ? (c.reader ?? '') : primaryReader, kind: 'this case' };
  const others: ReadingOption[] = [];
  if (isReview && readings.case_id !== c.id) others.push({ caseId: readings.case_id, reader: primaryReader, kind: 'primary' });
  for (const r of readings.reviews) {
    if (r.review_case_id !== c.id) others.push({ caseId: r.review_case_id, reader: r.reader, kind: 'review' });
  }
  return others.length ? [own, ...others] : [];
}

/** The choices in the toggle's (and the R key's) order: own, each other, all. */
export function choices(options: ReadingOption[]): ReaderChoice[] {
  return options.length ? [...options.map((o) => o.caseId), 'all'] : [];
}

/** The choice after `current` (R): round the toggle's order. */
export function nextChoice(current: ReaderChoice, options: ReadingOption[]): ReaderChoice {
  const all = choices(options);
  if (!all.length) return current;
  const i = all.indexOf(current);
  return all[(i + 1) % all.length];
}

/** A choice still offered, else this case's own reading. */
export function validChoice(wanted: ReaderChoice | undefined, own: number, options: ReadingOption[]): ReaderChoice {
  return wanted !== undefined && choices(options).includes(wanted) ? wanted : own;
}

/** What a choice shows: whether this case's own calipers, and which other readings. */
export function shown(choice: ReaderChoice, options: ReadingOption[]): { own: boolean; others: ReadingOption[] } {
  const [own, ...others] = options;
  if (!own) return { own: true, others: [] };
  if (choice === 'all') return { own: true, others };
  return { own: choice === own.caseId, others: others.filter((o) => o.caseId === choice) };
}

/** "radiologist-2 (review, case 7)": a reading named for the toggle and the panes. */
export function readingName(o: ReadingOption): string {
  const who = o.reader || `case ${o.caseId}`;
  return o.kind === 'this case' ? `${who} (this case)` : `${who} (${o.kind}, case ${o.caseId})`;
}
