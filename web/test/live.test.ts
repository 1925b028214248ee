import { describe, expect, it } from 'vitest';
import { changeOf, parseEvents, reasonOf } from '../src/review/live';

describe('parseEvents', () => {
  it('reads whole events, skips comments and keeps the unfinished tail', () => {
    const text = 'retry: 2000\n: connected\n\nid: 1\nevent: change\ndata: {"a":1}\n\nevent: resync\ndata: {}\n\nevent: chan';
    const { events, rest } = parseEvents(text);
    expect(events).toEqual([
      { event: 'change', data: '{"a":1}' },
      { event: 'resync', data: '{}' },
    ]);
    expect(rest).toBe('event: chan');
  });

  it('joins data lines, takes CRLF, defaults the event to message', () => {
    expect(parseEvents('data: a\r\ndata: b\r\n\r\n').events).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('keeps a keep-alive comment out of the events', () => {
    expect(parseEvents(': keep-alive\n\n')).toEqual({ events: [], rest: '' });
  });
});

describe('changeOf', () => {
  it('reads a change and refuses what is not one', () => {
    const change = changeOf('{"case_id":3,"kind":"measurement","who":"dr-a","at":"2026-12-04T18:00:00Z","lesion_id":7,"timepoint_id":"1.2","version":4}');
    expect(change).toEqual({ case_id: 3, kind: 'measurement', who: 'dr-a', at: '2026-12-04T18:00:00Z', lesion_id: 7, timepoint_id: '1.2', version: 4 });
    expect(changeOf('{"kind":"measurement"}')).toBeNull();
    expect(changeOf('not json')).toBeNull();
    expect(changeOf('{"case_id":3,"kind":"signed_off","who":"x","at":"t"}')?.lesion_id).toBeNull();
  });
});

describe('reasonOf', () => {
  it('reads the reason of a final event, and nothing from anything else', () => {
    const [blinded] = parseEvents('event: blinded\ndata: {"reason": "blinded review: b reads case 4"}\n\n').events;
    expect(blinded.event).toBe('blinded');
    expect(reasonOf(blinded.data)).toBe('blinded review: b reads case 4');
    expect(reasonOf('{}')).toBe('');
    expect(reasonOf('{"reason": 3}')).toBe('');
    expect(reasonOf('not json')).toBe('');
  });
});
