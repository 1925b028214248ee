import { describe, expect, it } from 'vitest';
import { formatDate, formatDateTime } from '../src/panels/dom';

// The formatters write what the Intl ones they replace wrote (en-GB), every month included.
const months = Array.from({ length: 12 }, (_, m) => `2025-${String(m + 1).padStart(2, '0')}-0${(m % 9) + 1}T${String(m * 2).padStart(2, '0')}:0${m % 10}:00`);
const dates = [...months, '2024-01-15', '1999-12-31', '2026-02-28T23:59:30', '2024-07-04T00:00:00Z', '2001-09-09T01:46:40.123+02:00'];

describe('dates', () => {
  it.each(dates)('formatDate(%s) is toLocaleDateString', (iso) => {
    const d = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
    expect(formatDate(iso)).toBe(d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' }));
  });
  it.each(dates)('formatDateTime(%s) is toLocaleString', (iso) => {
    expect(formatDateTime(iso)).toBe(new Date(iso).toLocaleString('en-GB', {
      day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }));
  });
  it('keeps what is not a date, and writes a dash for nothing', () => {
    expect(formatDate('not a date')).toBe('not a date');
    expect(formatDateTime('')).toBe('—');
    expect(formatDate(null)).toBe('—');
    expect(formatDate('2024-01-15')).toBe('15 Jan 2024');
  });
});
