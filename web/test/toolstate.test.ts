import { describe, expect, it } from 'vitest';
import { DEFAULT_TOOL, ToolState, caliperAdvice, marksPoint, primaryAction, toolForKey, type ToolName } from '../src/review/toolstate';

const target = { label: 'T1', kind: 'target' };
const nonTarget = { label: 'NT1', kind: 'non_target' };

describe('primaryAction', () => {
  it('opens on window/level, which windows whatever is selected', () => {
    expect(DEFAULT_TOOL).toBe('windowlevel');
    for (const lesion of [null, target, nonTarget]) {
      expect(primaryAction({ tool: 'windowlevel', canMeasure: true, lesion })).toBe('window');
    }
  });

  it('draws only with the caliper, a measuring role and a measurable lesion selected', () => {
    expect(primaryAction({ tool: 'caliper', canMeasure: true, lesion: target })).toBe('draw');
    expect(primaryAction({ tool: 'caliper', canMeasure: true, lesion: null })).toBe('none');
    expect(primaryAction({ tool: 'caliper', canMeasure: true, lesion: nonTarget })).toBe('none');
    expect(primaryAction({ tool: 'caliper', canMeasure: false, lesion: target })).toBe('none');
  });

  it('never draws with another tool', () => {
    const tools: ToolName[] = ['windowlevel', 'zoom', 'pan'];
    for (const tool of tools) expect(primaryAction({ tool, canMeasure: true, lesion: target })).not.toBe('draw');
    expect(primaryAction({ tool: 'zoom', canMeasure: true, lesion: target })).toBe('zoom');
    expect(primaryAction({ tool: 'pan', canMeasure: false, lesion: null })).toBe('pan');
  });
});

describe('bidirectional, probe and points', () => {
  it('draws both axes only on a measurable lesion; the probe never draws', () => {
    expect(primaryAction({ tool: 'bidirectional', canMeasure: true, lesion: target })).toBe('bidirectional');
    expect(primaryAction({ tool: 'bidirectional', canMeasure: true, lesion: nonTarget })).toBe('none');
    expect(primaryAction({ tool: 'bidirectional', canMeasure: false, lesion: target })).toBe('none');
    expect(primaryAction({ tool: 'probe', canMeasure: false, lesion: null })).toBe('probe');
  });

  it('marks a point with the caliper on a non-target or new lesion only', () => {
    expect(marksPoint({ tool: 'caliper', canMeasure: true, lesion: nonTarget })).toBe(true);
    expect(marksPoint({ tool: 'caliper', canMeasure: true, lesion: { label: 'N1', kind: 'new' } })).toBe(true);
    expect(marksPoint({ tool: 'caliper', canMeasure: true, lesion: target })).toBe(false);
    expect(marksPoint({ tool: 'caliper', canMeasure: false, lesion: nonTarget })).toBe(false);
    expect(marksPoint({ tool: 'bidirectional', canMeasure: true, lesion: nonTarget })).toBe(false);
  });
});

describe('caliperAdvice', () => {
  it('says what to do when the caliper cannot draw, and nothing when it can', () => {
    expect(caliperAdvice({ tool: 'caliper', canMeasure: true, lesion: null })).toMatch(/Select a lesion/);
    expect(caliperAdvice({ tool: 'caliper', canMeasure: true, lesion: nonTarget })).toMatch(/NT1 is non-target/);
    expect(caliperAdvice({ tool: 'caliper', canMeasure: false, lesion: target })).toMatch(/Read-only/);
    expect(caliperAdvice({ tool: 'caliper', canMeasure: true, lesion: target })).toBeNull();
    expect(caliperAdvice({ tool: 'windowlevel', canMeasure: true, lesion: null })).toBeNull();
  });
});

describe('keys and state', () => {
  it('maps W, C, B, P, Z, M in either case and nothing else', () => {
    expect(toolForKey('w')).toBe('windowlevel');
    expect(toolForKey('C')).toBe('caliper');
    expect(toolForKey('z')).toBe('zoom');
    expect(toolForKey('p')).toBe('probe');
    expect(toolForKey('B')).toBe('bidirectional');
    expect(toolForKey('m')).toBe('pan');
    expect(toolForKey('x')).toBeNull();
    expect(toolForKey('1')).toBeNull();
  });

  it('tells listeners of a change, once', () => {
    const state = new ToolState();
    const seen: ToolName[] = [];
    state.onChange((t) => seen.push(t));
    state.set('windowlevel');
    state.set('caliper');
    state.set('caliper');
    state.set('windowlevel');
    expect(seen).toEqual(['caliper', 'windowlevel']);
    expect(state.tool).toBe('windowlevel');
  });
});

describe('caliperAdvice while the role is not known', () => {
  it('says the role is being checked, and nothing is drawn meanwhile', () => {
    const lesion = { label: 'T1', kind: 'target' };
    const waiting = { tool: 'caliper' as const, canMeasure: false, roleKnown: false, lesion };
    expect(caliperAdvice(waiting)).toMatch(/^Checking what your role may record/);
    expect(primaryAction(waiting)).toBe('none');
    expect(caliperAdvice({ ...waiting, roleKnown: true })).toMatch(/^Read-only/);
    expect(caliperAdvice({ ...waiting, roleKnown: true, canMeasure: true })).toBeNull();
  });
});
