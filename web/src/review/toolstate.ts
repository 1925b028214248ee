/**
 * Which tool the left mouse button is, and what a left drag then does. Pure: no cornerstone,
 * no DOM. The page opens on window/level; only the caliper tool changes data, and only while
 * a lesion the reader may measure is selected (OHIF's toolbar: one explicit measuring tool).
 */

export type ToolName = 'windowlevel' | 'caliper' | 'bidirectional' | 'probe' | 'zoom' | 'pan';

/** What a left drag in a pane does. */
export type PrimaryAction = 'window' | 'draw' | 'bidirectional' | 'probe' | 'zoom' | 'pan' | 'none';

export interface ToolInfo {
  name: ToolName;
  label: string;
  /** The shortcut key (letter, upper case as shown). */
  key: string;
  title: string;
}

export const TOOLS: readonly ToolInfo[] = [
  { name: 'windowlevel', label: 'Window', key: 'W', title: 'Window/level: a left drag changes the window (W)' },
  { name: 'caliper', label: 'Caliper', key: 'C', title: 'Caliper: a left drag measures the selected lesion; a click marks where a non-target or new lesion lies (C)' },
  { name: 'bidirectional', label: 'Bidirectional', key: 'B', title: 'Bidirectional: drag the long axis, then drag the ends of the perpendicular short axis to the edges (B)' },
  { name: 'probe', label: 'Probe', key: 'P', title: 'Probe: the value (HU) and position under the pointer; a drag measures a circle, mean ± SD; nothing is saved (P)' },
  { name: 'zoom', label: 'Zoom', key: 'Z', title: 'Zoom: a left drag zooms (Z)' },
  { name: 'pan', label: 'Pan', key: 'M', title: 'Pan (move): a left drag moves the image (M)' },
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
  /** False while the page does not know the reader's role yet (GET /me, asked once the
   * first images are drawn): nothing is drawn, and the advice says why. Absent: known. */
  roleKnown?: boolean;
  lesion: SelectedLesion | null;
  /** The other reading the panes show instead of this case's (the reader toggle), named;
   * null or absent while this case's own calipers show. Nothing is drawn then (issue 21). */
  viewing?: string | null;
}

/** Whether the measuring tools may change this case's reading now. */
const mayDraw = (s: ToolSituation) => s.canMeasure && s.lesion !== null && !s.viewing;

export function primaryAction(s: ToolSituation): PrimaryAction {
  switch (s.tool) {
    case 'windowlevel':
      return 'window';
    case 'zoom':
      return 'zoom';
    case 'pan':
      return 'pan';
    case 'probe':
      return 'probe';
    case 'caliper':
      return mayDraw(s) && s.lesion?.kind !== 'non_target' ? 'draw' : 'none';
    case 'bidirectional':
      return mayDraw(s) && s.lesion?.kind !== 'non_target' ? 'bidirectional' : 'none';
  }
}

/** Whether a click (not a drag) with the caliper tool marks where the selected lesion lies:
 * a non-target or new lesion, read by status (issue 19). */
export function marksPoint(s: ToolSituation): boolean {
  return s.tool === 'caliper' && mayDraw(s) && (s.lesion?.kind === 'non_target' || s.lesion?.kind === 'new');
}

/** What the reader must do before the caliper tool can draw; null when it draws. */
export function caliperAdvice(s: ToolSituation): string | null {
  if (s.tool !== 'caliper' && s.tool !== 'bidirectional') return null;
  if (s.roleKnown === false) return 'Checking what your role may record: measuring starts in a moment.';
  if (!s.canMeasure) return 'Read-only: your role views measurements but does not record them.';
  if (s.viewing) return `The panes show ${s.viewing}, read-only: choose your own reading (the Calipers buttons, or R) to measure.`;
  if (!s.lesion) return 'Select a lesion in the list (or add one), then drag across it to measure it.';
  if (s.lesion.kind === 'non_target') {
    return s.tool === 'caliper'
      ? `${s.lesion.label} is non-target: click on the image where it lies to mark it; record its status in the lesion panel.`
      : `${s.lesion.label} is non-target: it is not measured; mark it with the caliper tool (C).`;
  }
  return null;
}

/** What the panes show when it is another reading alone (whatever the tool); null otherwise. */
export function readingAdvice(s: ToolSituation): string | null {
  return s.viewing ? `The panes show the calipers of ${s.viewing}, read-only: nothing there can be changed. R or the Calipers buttons go back to this case's.` : null;
}

/** The tool a key chooses (W, C, B, P, Z, M; either case), or null. */
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
