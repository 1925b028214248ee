import { describe, expect, it } from 'vitest';
import { formatPlace, parsePlace, type Place } from '../src/review/place';

describe('place in the address', () => {
  it('round-trips the timepoints, series, images and lesion', () => {
    const place: Place = {
      left: { timepoint: '1.2.3', series: '1.2.3.4', image: '1.2.3.4.5' },
      right: { timepoint: '1.2.9', series: '1.2.9.4', image: '1.2.9.4.7' },
      lesion: 12,
    };
    expect(parsePlace(formatPlace(place))).toEqual(place);
  });

  it('is empty for an empty place, and parts stay optional', () => {
    expect(formatPlace({ left: {}, right: {} })).toBe('');
    expect(parsePlace('?right_image=1.2')).toEqual({ left: {}, right: { image: '1.2' } });
  });

  it('ignores what is not a UID or a lesion id', () => {
    const parsed = parsePlace('?left_tp=1.2.x&left_series=javascript:alert(1)&right_tp=1..2&lesion=0&right_image=' + '1'.repeat(65));
    expect(parsed).toEqual({ left: {}, right: {} });
    expect(parsePlace('?lesion=-3').lesion).toBeUndefined();
    expect(parsePlace('?lesion=7abc').lesion).toBeUndefined();
  });
});
