import { describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from '../src/api/client';
import type { Case, Comparison, Series, Study } from '../src/api/types';
import { receivedError, sendError } from '../src/review/preload';
import { loadReview, type ReviewSource } from '../src/review/start';
import { parsePlace } from '../src/review/place';

const series = (uid: string, instances: number): Series =>
  ({ series_instance_uid: uid, instances, orientation: [1, 0, 0, 0, 1, 0] }) as Series;
const studies = [
  { study_instance_uid: 'B', series: [series('b-thin', 300), series('b-5mm', 75)] },
  { study_instance_uid: 'M', series: [series('m-thin', 300)] },
  { study_instance_uid: 'F', series: [series('f-thin', 300), series('f-5mm', 75)] },
] as Study[];
const theCase = {
  id: 7,
  patient_id: 'P1',
  timepoints: [{ id: 'B' }, { id: 'M' }, { id: 'F' }],
  studies,
} as unknown as Case;
const comparison = {
  id: 3,
  baseline_study_uid: 'B',
  followup_study_uid: 'F',
  pairs: [{ baseline_series_uid: 'b-5mm', followup_series_uid: 'f-5mm', score: 1, reasons: [], source: 'auto' }],
  excluded: [],
} as unknown as Comparison;

/** A source that records what the chain asked for, in order. */
function fakeSource(over: Partial<ReviewSource> = {}): { source: ReviewSource; asked: string[]; kept: Map<string, string> } {
  const asked: string[] = [];
  const kept = new Map<string, string>();
  const source: ReviewSource = {
    caseWithStudies: async (id) => (asked.push(`case ${id}`), theCase),
    studies: async (patient) => (asked.push(`studies ${patient}`), studies),
    comparison: async (id) => (asked.push(`comparison ${id}`), id === comparison.id ? comparison : null),
    createComparison: async (patient, b, f) => (asked.push(`create ${patient} ${b} ${f}`), comparison),
    remembered: (key) => kept.get(key) ?? null,
    remember: (key, value) => void kept.set(key, value),
    prefetchMetadata: (study, s) => void asked.push(`metadata ${study} ${s}`),
    mark: (name) => void asked.push(`mark ${name}`),
    ...over,
  };
  return { source, asked, kept };
}

describe('loadReview', () => {
  it('asks for the case, then the comparison of the first and last timepoints, then both series', async () => {
    const { source, asked, kept } = fakeSource();
    const loaded = await loadReview(7, parsePlace(''), source);
    expect(asked).toEqual(['case 7', 'mark nadir:case', 'create P1 B F', 'mark nadir:pairing', 'metadata B b-5mm', 'metadata F f-5mm']);
    expect([loaded.left.id, loaded.right.id]).toEqual(['B', 'F']);
    expect(loaded.comparison).toBe(comparison);
    expect(kept.get('nadir.comparison.B.F')).toBe('3');
  });

  it("uses the tab's remembered comparison, and the place's timepoints and series", async () => {
    const { source, asked, kept } = fakeSource();
    kept.set('nadir.comparison.M.F', '3');
    const loaded = await loadReview(7, { left: { timepoint: 'M' }, right: { timepoint: 'F', series: 'f-thin' } }, source);
    expect(asked.filter((a) => !a.startsWith('mark'))).toContain('comparison 3');
    expect(asked.some((a) => a.startsWith('create'))).toBe(false);
    expect(loaded.left.id).toBe('M');
    expect(asked).toContain('metadata F f-thin');
  });

  it('opens without a comparison when it fails, and says why', async () => {
    const refused = new ApiError(503, 'Orthanc is not answering', '/api/v1/comparisons');
    const { source, asked } = fakeSource({ createComparison: async () => Promise.reject(refused) });
    const loaded = await loadReview(7, parsePlace(''), source);
    expect(loaded.comparison).toBeNull();
    expect(loaded.comparisonError).toBe(refused);
    expect(asked).toEqual(expect.arrayContaining(['metadata B b-thin', 'metadata F f-thin']));
  });

  it('fails as the case request does, and a case without timepoints fails by name', async () => {
    const missing = new ApiError(404, 'no case 7', '/api/v1/cases/7');
    await expect(loadReview(7, parsePlace(''), fakeSource({ caseWithStudies: async () => Promise.reject(missing) }).source)).rejects.toBe(missing);
    const empty = { ...theCase, timepoints: [] } as unknown as Case;
    await expect(loadReview(7, parsePlace(''), fakeSource({ caseWithStudies: async () => empty }).source)).rejects.toThrow('this case has no timepoint');
  });
});

describe("the preload worker's errors", () => {
  it('come back as the classes the page tells apart', () => {
    const api = receivedError(sendError(new ApiError(403, 'not yours', '/api/v1/cases/7', { missing: ['x'] })));
    expect(api).toBeInstanceOf(ApiError);
    expect(api).toMatchObject({ status: 403, detail: 'not yours', path: '/api/v1/cases/7', body: { missing: ['x'] } });
    const net = receivedError(sendError(new NetworkError(true, '/api/v1/cases/7')));
    expect(net).toBeInstanceOf(NetworkError);
    expect(net).toMatchObject({ timedOut: true, path: '/api/v1/cases/7' });
    expect(receivedError(sendError(new Error('this case has no timepoint'))).message).toBe('this case has no timepoint');
    expect(receivedError(sendError('odd')).message).toBe('odd');
  });
});
