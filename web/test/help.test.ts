import { describe, expect, it } from 'vitest';
import { shortcuts } from '../src/review/help';
import { TOOLS } from '../src/review/toolstate';
import { PRESETS } from '../src/viewport/presets';

describe('the key help', () => {
  const all = shortcuts();
  const keys = new Set(all.flatMap((s) => s.keys));

  it("lists every tool's key and every window preset", () => {
    for (const tool of TOOLS) expect(keys).toContain(tool.key);
    for (const preset of PRESETS) expect(keys).toContain(preset.key);
  });

  it('lists the navigation keys and undo', () => {
    for (const key of ['Home', 'End', 'Space', '?', 'Esc', 'Ctrl + Z', 'Tab', 'wheel']) expect(keys).toContain(key);
  });

  it('says what each does, once per key', () => {
    expect(all.every((s) => s.does.length > 8)).toBe(true);
    const listed = all.flatMap((s) => s.keys);
    expect(new Set(listed).size).toBe(listed.length);
  });
});
