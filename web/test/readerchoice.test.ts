import { describe, expect, it } from 'vitest';
import type { Case, CaseReadings } from '../src/api/types';
import { choices, nextChoice, readingOptions, readingsToAsk, shown, validChoice } from '../src/review/readerchoice';
import { caliperAdvice, marksPoint, primaryAction } from '../src/review/toolstate';
import { formatPlace, parsePlace } from '../src/review/place';

const tp = (id: string, signed: string | null) => ({ id, date: '2024-01-01', signed_off_by: signed, signed_off_at: null }) as unknown as Case['timepoints'][number];

function caseOf(over: Partial<Case>): Case {
  return { id: 3, review_of: null, reader: null, blinded: false, timepoints: [tp('1.1', null), tp('1.2', null)], lesions: [], ...over } as unknown as Case;
}

const reading = (caseId: number, reader: string) => ({ case_id: caseId, reader, signed_off: true, sum_mm: null, nadir_mm: null, change_from_baseline_pct: null, change_from_nadir_pct: null, overall_response: null });

function readingsOf(primary: number, reviews: [number, string][], pending: [number, string][] = []): CaseReadings {
  return {
    case_id: primary,
    reviews: reviews.map(([id, reader]) => ({
      review_case_id: id, reader, blinded: true,
      timepoints: [{ timepoint_id: '1.1', review_timepoint_id: '1.1', primary: reading(primary, 'first-reader'), review: reading(id, reader), agree: null }],
      lesions: { matched: [], primary_only: [], review_only: [] },
      summary: { timepoints_compared: 0, timepoints_agreeing: 0, agreement: null, primary_best_overall_response: null, review_best_overall_response: null, best_overall_response_agree: null },
    })),
    pending_reviews: pending.map(([id, reader]) => ({ review_case_id: id, reader, blinded: true })),
    final: [], adjudications: [],
  } as unknown as CaseReadings;
}

const radiologist = (name: string) => ({ name, role: 'radiologist' as const });

describe('whose readings a page asks for', () => {
  it("asks for a primary case's own readings, for readers only", () => {
    expect(readingsToAsk(caseOf({}), radiologist('a'))).toBe(3);
    expect(readingsToAsk(caseOf({}), { name: 's', role: 'specialist' })).toBe(3);
    expect(readingsToAsk(caseOf({}), { name: 'x', role: 'admin' })).toBe(3);
    expect(readingsToAsk(caseOf({}), { name: 'share', role: 'reviewer' })).toBeNull();
    expect(readingsToAsk(caseOf({}), { name: null, role: 'unknown' })).toBeNull();
  });

  it("never asks for the primary's readings while the page's reader is blinded", () => {
    const review = caseOf({ id: 7, review_of: 3, reader: 'b', blinded: true, timepoints: [tp('1.1', 'b'), tp('1.2', null)] });
    expect(readingsToAsk(review, radiologist('b'))).toBeNull();
    // Another reader of the same review page is not the blinded one.
    expect(readingsToAsk(review, radiologist('c'))).toBe(3);
    expect(readingsToAsk(review, { name: 's', role: 'specialist' })).toBe(3);
    // Signed off everywhere: the blind is lifted.
    const done = caseOf({ ...review, timepoints: [tp('1.1', 'b'), tp('1.2', 'b')] });
    expect(readingsToAsk(done, radiologist('b'))).toBe(3);
    // No timepoint at all is not "signed off everywhere".
    expect(readingsToAsk(caseOf({ ...review, timepoints: [] }), radiologist('b'))).toBeNull();
    // A review that is not blinded shows the primary whenever.
    expect(readingsToAsk(caseOf({ ...review, blinded: false }), radiologist('b'))).toBe(3);
  });
});

describe('the reading options', () => {
  it('offers nothing without a signed-off review', () => {
    expect(readingOptions(caseOf({}), readingsOf(3, [], [[7, 'b']]))).toEqual([]);
  });

  it("offers a primary case's own reading, then each signed-off review", () => {
    const options = readingOptions(caseOf({}), readingsOf(3, [[7, 'b'], [8, 'c']], [[9, 'd']]));
    expect(options.map((o) => [o.caseId, o.reader, o.kind])).toEqual([[3, 'first-reader', 'this case'], [7, 'b', 'review'], [8, 'c', 'review']]);
    expect(choices(options)).toEqual([3, 7, 8, 'all']);
  });

  it("offers a review its own reading, the primary and the other reviews, never itself twice", () => {
    const review = caseOf({ id: 7, review_of: 3, reader: 'b' });
    const options = readingOptions(review, readingsOf(3, [[7, 'b'], [8, 'c']]));
    expect(options.map((o) => [o.caseId, o.reader, o.kind])).toEqual([[7, 'b', 'this case'], [3, 'first-reader', 'primary'], [8, 'c', 'review']]);
  });

  it('cycles own, others, all and back; shows what each choice says', () => {
    const options = readingOptions(caseOf({}), readingsOf(3, [[7, 'b']]));
    expect(nextChoice(3, options)).toBe(7);
    expect(nextChoice(7, options)).toBe('all');
    expect(nextChoice('all', options)).toBe(3);
    expect(shown(3, options)).toEqual({ own: true, others: [] });
    expect(shown(7, options)).toEqual({ own: false, others: [options[1]] });
    expect(shown('all', options)).toEqual({ own: true, others: [options[1]] });
    // Nothing offered: the page's own calipers, whatever the address said.
    expect(shown(7, [])).toEqual({ own: true, others: [] });
    expect(validChoice(99, 3, options)).toBe(3);
    expect(validChoice(7, 3, options)).toBe(7);
    expect(validChoice(undefined, 3, options)).toBe(3);
  });
});

describe('another reading on the panes draws nothing', () => {
  const target = { label: 'T1', kind: 'target' };
  const nonTarget = { label: 'NT1', kind: 'non_target' };
  it('no tool draws, corrects or marks while another reading shows alone', () => {
    const viewing = 'b (review, case 7)';
    expect(primaryAction({ tool: 'caliper', canMeasure: true, lesion: target, viewing })).toBe('none');
    expect(primaryAction({ tool: 'bidirectional', canMeasure: true, lesion: target, viewing })).toBe('none');
    expect(marksPoint({ tool: 'caliper', canMeasure: true, lesion: nonTarget, viewing })).toBe(false);
    expect(caliperAdvice({ tool: 'caliper', canMeasure: true, lesion: target, viewing })).toContain('read-only');
    expect(primaryAction({ tool: 'caliper', canMeasure: true, lesion: target, viewing: null })).toBe('draw');
    expect(primaryAction({ tool: 'windowlevel', canMeasure: true, lesion: target, viewing })).toBe('window');
  });
});

describe('the reader choice in the address', () => {
  it('round-trips a reading id or all, and ignores anything else', () => {
    expect(parsePlace(formatPlace({ left: {}, right: {}, readers: 7 })).readers).toBe(7);
    expect(parsePlace(formatPlace({ left: {}, right: {}, readers: 'all' })).readers).toBe('all');
    for (const bad of ['0', '-1', 'x', '7;1', 'ALL', '1'.repeat(11)]) expect(parsePlace(`?readers=${bad}`).readers).toBeUndefined();
  });
});
