/**
 * Every key and mouse action of the review in one overlay (`?`, or the toolbar's "Keys"),
 * from the one list below and the tools' own keys: the README's table says the same.
 */
import { h } from '../panels/dom';
import { PRESETS } from '../viewport/presets';
import { TOOLS } from './toolstate';

export interface Shortcut {
  keys: string[];
  does: string;
}

/** The keys and gestures that are not a tool's own key. */
const OTHER_SHORTCUTS: readonly Shortcut[] = [
  { keys: ['left drag'], does: 'what the active tool does: windows, draws or corrects a caliper of the selected lesion, zooms, pans' },
  { keys: ['shift + left drag'], does: 'window/level, whatever the tool' },
  { keys: ['right drag'], does: 'zoom, whatever the tool' },
  { keys: ['middle drag', 'ctrl + left drag'], does: 'pan, whatever the tool' },
  { keys: ['click on a caliper'], does: 'selects its lesion' },
  { keys: ['wheel', '↑', '↓', 'Page Up', 'Page Down'], does: 'one image up or down in the pane under the pointer (else the focused pane, else the left)' },
  { keys: ['Home', 'End'], does: 'first or last image of the series' },
  { keys: ['scrollbar beside a pane'], does: 'drag or click: any image of the series at once' },
  { keys: ['Space'], does: 'cine: play or pause the pane through its series (frames per second under the pane)' },
  { keys: ['thumbnail under a pane'], does: 'shows that series of the timepoint in the pane' },
  { keys: ['Tab'], does: 'moves the focus, through the panes too: keys then act on the focused pane' },
  { keys: ['Ctrl + Z'], does: 'undo your last change (saved as a new version)' },
  { keys: ['Ctrl + Shift + Z', 'Ctrl + Y'], does: 'redo what you undid (a new version too)' },
  { keys: ['R'], does: 'a case read twice: the next reading\'s calipers (this case\'s own, another reader\'s read-only, all); the toolbar\'s Calipers buttons do the same' },
  { keys: ['Esc'], does: 'back to window/level, and deselects the lesion; closes this list' },
  { keys: ['?'], does: 'this list of every key' },
];

export function shortcuts(): Shortcut[] {
  return [
    ...TOOLS.map((t) => ({ keys: [t.key], does: t.title.replace(/\s*\([A-Z]\)$/, '') })),
    { keys: PRESETS.map((p) => p.key), does: `window presets: ${PRESETS.map((p) => `${p.key} ${p.name.toLowerCase()}`).join(', ')}` },
    ...OTHER_SHORTCUTS,
  ];
}

export class KeyHelp {
  readonly dialog: HTMLDialogElement;

  constructor() {
    this.dialog = h('dialog', { class: 'key-help', 'aria-labelledby': 'key-help-title', dataset: { keyHelp: '' } },
      h('div', { class: 'key-help-box' },
        h('h2', { id: 'key-help-title' }, 'Keys and mouse'),
        h('table', {},
          h('tbody', {}, shortcuts().map((s) => h('tr', {},
            h('th', { scope: 'row' }, s.keys.flatMap((k, i) => [i ? ' ' : '', h('kbd', {}, k)])),
            h('td', {}, s.does))))),
        h('form', { method: 'dialog' }, h('button', { type: 'submit', class: 'primary' }, 'Close'))));
    // A click on the backdrop (outside the box) closes it too.
    this.dialog.addEventListener('click', (e) => {
      if (e.target === this.dialog) this.dialog.close();
    });
  }

  open(): void {
    if (!this.dialog.isConnected) document.body.append(this.dialog);
    if (!this.dialog.open) this.dialog.showModal();
  }

  toggle(): void {
    if (this.dialog.open) this.dialog.close();
    else this.open();
  }
}
