/**
 * The review's toolbar: the tools (window/level, caliper, bidirectional, probe, zoom, pan; the active one
 * aria-pressed), undo and redo, the pane link, window presets, reset, and what the
 * caliper tool needs before it draws.
 */
import { h } from '../panels/dom';
import { PRESETS } from '../viewport/presets';
import { TOOLS, type ToolName } from './toolstate';

export interface ToolbarHost {
  chooseTool(tool: ToolName): void;
  /** Every key and mouse action (`?`). */
  showKeys(): void;
  undo(): void;
  redo(): void;
  applyPreset(key: string): void;
  resetView(): void;
}

/** The keys and gestures, as the help shows them (the README's table says the same). */
export const CONTROLS_HELP =
  'W window/level · C caliper (a click marks a non-target or new lesion) · B bidirectional · P probe · Z zoom · M pan (left drag). Shift-drag: window; right drag: zoom; middle or ctrl-drag: pan, whatever the tool. ' +
  'Wheel, arrow keys, Page Up/Down: scroll. 1-5: window presets. Ctrl+Z undo, Ctrl+Shift+Z or Ctrl+Y redo. ' +
  'Esc: back to window/level and deselect. Click a caliper to select its lesion. R: whose calipers (a case read twice). ?: every key.';

export class Toolbar {
  readonly element: HTMLElement;
  readonly advice = h('p', { class: 'tool-advice', role: 'status', hidden: true });
  private readonly toolButtons: HTMLButtonElement[];
  private readonly undoButton: HTMLButtonElement;
  private readonly redoButton: HTMLButtonElement;
  private readonly historyGroup: HTMLElement;
  private readonly historyWaiting = h('span', { class: 'history-waiting', role: 'status', hidden: true });

  /** `sync`: the pane link's button and note; `readers`: the reader toggle and its note (review/readers.ts). */
  constructor(host: ToolbarHost, sync: HTMLElement[], readers: HTMLElement[] = []) {
    this.toolButtons = TOOLS.map((t) => h('button', {
      type: 'button',
      class: `tool tool-${t.name}`,
      title: t.title,
      'aria-pressed': t.name === 'windowlevel' ? 'true' : 'false',
      dataset: { tool: t.name },
      onclick: () => host.chooseTool(t.name),
    }, t.label, ' ', h('kbd', {}, t.key)));
    this.undoButton = h('button', { type: 'button', class: 'undo', title: 'Undo your last change (Ctrl+Z): saved as a new version', disabled: true, onclick: () => host.undo() }, '↶ Undo');
    this.redoButton = h('button', { type: 'button', class: 'redo', title: 'Redo (Ctrl+Shift+Z or Ctrl+Y): saved as a new version', disabled: true, onclick: () => host.redo() }, '↷ Redo');
    const presets = PRESETS.map((p) =>
      h('button', { type: 'button', class: 'preset', title: `${p.name}: W ${p.width} L ${p.center} (key ${p.key})`, onclick: () => host.applyPreset(p.key) },
        h('kbd', {}, p.key), ` ${p.name}`));
    this.element = h('div', { class: 'toolbar' },
      h('span', { class: 'tools', role: 'group', 'aria-label': 'Tools' }, this.toolButtons),
      (this.historyGroup = h('span', { class: 'history-buttons' }, this.undoButton, this.redoButton, this.historyWaiting)),
      sync,
      readers,
      h('span', { class: 'presets' }, presets),
      h('button', { type: 'button', onclick: () => host.resetView() }, 'Reset view'),
      h('button', { type: 'button', class: 'help', title: CONTROLS_HELP, 'aria-keyshortcuts': '?', dataset: { action: 'keys' }, onclick: () => host.showKeys() }, 'Keys ', h('kbd', {}, '?')));
  }

  showTool(tool: ToolName): void {
    for (const b of this.toolButtons) b.setAttribute('aria-pressed', b.dataset.tool === tool ? 'true' : 'false');
  }

  /** `busy`: an undo or redo is being written (or waits for a save to end); `waiting`: how
   * many more were asked for. A click, like a key, while one is busy waits its turn. */
  showHistory(canUndo: boolean, canRedo: boolean, busy: boolean, waiting = 0): void {
    this.undoButton.disabled = !canUndo;
    this.redoButton.disabled = !canRedo;
    this.historyGroup.setAttribute('aria-busy', busy ? 'true' : 'false');
    this.historyWaiting.hidden = waiting === 0;
    this.historyWaiting.textContent = waiting ? `${waiting} waiting` : '';
    this.historyWaiting.title = waiting ? `${waiting} more undo or redo asked for: done in order once the one under way is stored` : '';
  }

  showAdvice(text: string | null): void {
    this.advice.textContent = text ?? '';
    this.advice.title = text ?? '';  // the whole text when one line cuts it
    this.advice.hidden = !text;
  }
}
