import { describe, expect, it } from 'vitest';
import { signedTenths, tenths } from '../src/figures';

// The same cases as tests/unit/test_figures.py: the screen and the report write one number alike.
const CASES: [number, string][] = [
  [38.25, '38.3'], [38.24, '38.2'], [38.35, '38.4'], [0.15, '0.2'], [0.05, '0.1'], [0.04, '0.0'],
  [20.35, '20.4'], [2.675, '2.7'], [100.05, '100.1'], [12, '12.0'], [0, '0.0'], [-0, '0.0'],
  [-38.25, '-38.3'], [-0.04, '0.0'], [1e-7, '0.0'], [9.95, '10.0'], [99.95, '100.0'],
  [123456.78, '123456.8'],
];

describe('tenths', () => {
  it.each(CASES)('writes %s as %s', (value, text) => {
    expect(tenths(value)).toBe(text);
  });

  it('differs from toFixed where toFixed rounds the binary value', () => {
    expect((0.15).toFixed(1)).toBe('0.1');
    expect(tenths(0.15)).toBe('0.2');
  });

  it('refuses what is not a number', () => {
    expect(() => tenths(Number.NaN)).toThrow(RangeError);
    expect(() => tenths(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('signs a change with a minus sign, and zero with none', () => {
    expect(signedTenths(2.25)).toBe('+2.3');
    expect(signedTenths(-2.25)).toBe('−2.3');
    expect(signedTenths(-0.04)).toBe('0.0');
    expect(signedTenths(0)).toBe('0.0');
  });
});
