/**
 * Which tool the left mouse button is, and what a left drag then does. Pure: no cornerstone,
 * no DOM. The page opens on window/level; only the caliper tool changes data, and only while
 * a lesion the reader may measure is selected (OHIF's toolbar: one explicit measuring tool).
 */

export type ToolName = 'windowlevel' | 'caliper' | 'zoom' | 'pan';

/** What a left drag in a pane does. */
export type PrimaryAction = 'window' | 'draw' | 'zoom' | 'pan' | 'none';

export interface ToolInfo {
  name: ToolName;
  label: string;
  /** The shortcut key (letter, upper case as shown). */
  key: string;
  title: string;
}

export const TOOLS: readonly ToolInfo[] = [
  { name: 'windowlevel', label: 'Window', key: 'W', title: 'Window/level: a left drag changes the window (W)' },
  { name: 'caliper', label: 'Caliper', key: 'C', title: 'Caliper: a left drag measures the selected lesion (C)' },
  { name: 'zoom', label: 'Zoom', key: 'Z', title: 'Zoom: a left drag zooms (Z)' },
  { name: 'pan', label: 'Pan', key: 'P', title: 'Pan: a left drag moves the image (P)' },
];

export const DEFAULT_TOOL: ToolName = 'windowlevel';

/** The lesion selected, as far as the tools care. */
export interface SelectedLesion {
  label: string;
  kind: string;
}

export interface ToolSituation {
  tool: ToolName;
  canMeasure: boolean;
  lesion: SelectedLesion | null;
}

export function primaryAction(s: ToolSituation): PrimaryAction {
  switch (s.tool) {
    case 'windowlevel':
      return 'window';
    case 'zoom':
      return 'zoom';
    case 'pan':
      return 'pan';
    case 'caliper':
      return s.canMeasure && s.lesion !== null && s.lesion.kind !== 'non_target' ? 'draw' : 'none';
  }
}

/** What the reader must do before the caliper tool can draw; null when it draws. */
export function caliperAdvice(s: ToolSituation): string | null {
  if (s.tool !== 'caliper') return null;
  if (!s.canMeasure) return 'Read-only: your role views measurements but does not record them.';
  if (!s.lesion) return 'Select a lesion in the list (or add one), then drag across it to measure it.';
  if (s.lesion.kind === 'non_target') return `${s.lesion.label} is non-target: record its status in the lesion panel.`;
  return null;
}

/** The tool a key chooses (W, C, Z, P; either case), or null. */
export function toolForKey(key: string): ToolName | null {
  return TOOLS.find((t) => t.key === key.toUpperCase())?.name ?? null;
}

/** The active tool, with listeners told of each change. */
export class ToolState {
  private current: ToolName = DEFAULT_TOOL;
  private readonly listeners: ((tool: ToolName) => void)[] = [];

  get tool(): ToolName {
    return this.current;
  }

  set(tool: ToolName): void {
    if (tool === this.current) return;
    this.current = tool;
    this.listeners.forEach((f) => f(tool));
  }

  onChange(listener: (tool: ToolName) => void): void {
    this.listeners.push(listener);
  }
}
