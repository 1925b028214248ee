import { describe, expect, it } from 'vitest';
import type { Comparison, Series, Study, Timepoint } from '../src/api/types';
import { Pairing } from '../src/panels/pairing';

const series = (uid: string, instances: number, orientation = true): Series =>
  ({ series_instance_uid: uid, instances, orientation: orientation ? [1, 0, 0, 0, 1, 0] : null }) as Series;
const study = (uid: string, s: Series[]): Study => ({ study_instance_uid: uid, series: s }) as Study;
const tp = (id: string): Timepoint => ({ id }) as Timepoint;

const studies = [
  study('B', [series('b-scout', 2), series('b-thin', 300), series('b-5mm', 75)]),
  study('F', [series('f-scout', 2), series('f-thin', 300), series('f-5mm', 75)]),
];
const comparison = {
  baseline_study_uid: 'B',
  followup_study_uid: 'F',
  pairs: [
    { baseline_series_uid: 'b-5mm', followup_series_uid: 'f-5mm', score: 1, reasons: [], source: 'auto' },
    { baseline_series_uid: 'b-thin', followup_series_uid: 'f-thin', score: 1, reasons: [], source: 'auto' },
  ],
  excluded: [
    { series_instance_uid: 'b-scout', reason: 'a scout' },
    { series_instance_uid: 'f-scout', reason: 'a scout' },
  ],
} as unknown as Comparison;

describe('Pairing', () => {
  const pairing = new Pairing(comparison, studies);

  it('opens on the best-scored pair, the thin one on a tie', () => {
    expect(pairing.defaultSeries(tp('B'), tp('F'))).toEqual(['b-thin', 'f-thin']);
  });

  it('prefers a better score over more images', () => {
    const scored = { ...comparison, pairs: comparison.pairs.map((p) => ({ ...p, score: p.baseline_series_uid === 'b-5mm' ? 0.95 : 0.8 })) };
    expect(new Pairing(scored, studies).defaultSeries(tp('B'), tp('F'))).toEqual(['b-5mm', 'f-5mm']);
  });

  it('puts each series on the side of its study', () => {
    expect(pairing.defaultSeries(tp('F'), tp('B'))).toEqual(['f-thin', 'b-thin']);
  });

  it('leaves out what the comparison excluded, and finds partners', () => {
    expect(pairing.viewableSeries('B').map((s) => s.series_instance_uid)).toEqual(['b-thin', 'b-5mm']);
    expect(pairing.excludedReason('f-scout')).toBe('a scout');
    expect(pairing.partnerOf('f-5mm')).toBe('b-5mm');
    expect(pairing.partnerOf('b-scout')).toBeNull();
  });

  it('without a comparison opens on the largest series of each timepoint', () => {
    expect(new Pairing(null, studies).defaultSeries(tp('B'), tp('B'))).toEqual(['b-thin', 'b-thin']);
  });
});

describe('Pairing.nothingToShow', () => {
  it('says none are indexed, or which were left out and why', () => {
    const scout = { ...series('s', 2), series_number: 1, description: 'Scout', modality: 'CT' } as Series;
    const flat = { ...series('p', 4, false), series_number: 9, description: null, modality: 'OT' } as Series;
    const left = { ...comparison, excluded: [{ series_instance_uid: 's', reason: '2 images: too few for a volume' }] } as unknown as Comparison;
    const pairing = new Pairing(left, [study('E', []), study('S', [scout, flat])]);
    expect(pairing.nothingToShow('E')).toBe('No image series at this timepoint.');
    expect(pairing.nothingToShow('unknown')).toBe('No image series at this timepoint.');
    expect(pairing.nothingToShow('S')).toBe(
      'No series to show at this timepoint; left out: #1 Scout (2 images): 2 images: too few for a volume; #9 OT (4 images): no image plane.');
  });
});
