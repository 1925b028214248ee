import { describe, expect, it } from 'vitest';
import { DEFAULT_TOOL, ToolState, caliperAdvice, primaryAction, toolForKey, type ToolName } from '../src/review/toolstate';

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
  it('maps W, C, Z, P in either case and nothing else', () => {
    expect(toolForKey('w')).toBe('windowlevel');
    expect(toolForKey('C')).toBe('caliper');
    expect(toolForKey('z')).toBe('zoom');
    expect(toolForKey('p')).toBe('pan');
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
