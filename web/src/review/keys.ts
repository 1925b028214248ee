/**
 * The review's keyboard shortcuts (the toolbar's "Controls" and the README's table say the
 * same, and `?` shows them all, review/help.ts): W, C, Z, P choose the tool; Esc goes back
 * to window/level and deselects; Ctrl+Z undoes, Ctrl+Shift+Z or Ctrl+Y redoes; arrows and
 * Page Up/Down scroll, Home and End go to the first and last image, Space plays or pauses
 * cine, in the pane under the pointer, else the focused pane, else the left one; 1-5 are
 * the window presets; R shows the next reading's calipers (a case read twice). Keys typed into a field or a dialog are left alone.
 */
import { PRESETS } from '../viewport/presets';
import type { ReviewPane } from '../viewport/pane';
import { toolForKey, type ToolName } from './toolstate';

const SCROLL_KEYS: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 1, PageUp: -1 };

export interface KeyHost {
  /** The pane under the pointer, if any. */
  hovered(): ReviewPane | null;
  panes(): ReviewPane[];
  scroll(pane: ReviewPane, delta: number): void;
  /** Show image `index` (0-based) of the pane's series. */
  goTo(pane: ReviewPane, index: number): void;
  toggleCine(pane: ReviewPane): void;
  /** `?`: every key and mouse action. */
  help(): void;
  applyPreset(key: string, pane: ReviewPane): void;
  chooseTool(tool: ToolName): void;
  undo(): void;
  redo(): void;
  /** Esc: back to window/level, no lesion selected. */
  escape(): void;
  /** R: the next reading's calipers (a case read twice); false when there is no other reading. */
  cycleReader(): boolean;
}

export function bindKeys(host: KeyHost): void {
  document.addEventListener('keydown', (e) => {
    const target = e.target as HTMLElement | null;
    if (target?.closest('input, textarea, dialog')) return;
    if ((e.ctrlKey || e.metaKey) && !e.altKey) {
      const key = e.key.toLowerCase();
      if (key === 'z' || key === 'y') {
        e.preventDefault();
        if (key === 'y' || e.shiftKey) host.redo();
        else host.undo();
      }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === '?') {
      e.preventDefault();
      host.help();
      return;
    }
    const hovered = host.hovered();
    // A picker keeps the focus after a choice: with the pointer over a pane, the keys
    // scroll that pane rather than change the series again.
    if (target?.closest('select') && !hovered) return;
    const focused = host.panes().find((p) => target && p.element.contains(target));
    const pane = hovered ?? focused ?? host.panes()[0];
    const tool = toolForKey(e.key);
    const last = (pane.stack?.images.length ?? 1) - 1;
    if (e.key in SCROLL_KEYS) {
      e.preventDefault();
      host.scroll(pane, SCROLL_KEYS[e.key]);
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      host.goTo(pane, e.key === 'Home' ? 0 : last);
    } else if (e.key === ' ') {
      // Space presses a focused button or opens a picker: only elsewhere is it cine's.
      if (target?.closest('button, select, summary, a, [role=option]')) return;
      e.preventDefault();
      host.toggleCine(pane);
    } else if (PRESETS.some((p) => p.key === e.key)) {
      e.preventDefault();
      host.applyPreset(e.key, pane);
    } else if (tool) {
      e.preventDefault();
      host.chooseTool(tool);
    } else if (e.key === 'Escape') {
      host.escape();
    } else if ((e.key === 'r' || e.key === 'R') && host.cycleReader()) {
      e.preventDefault();
    }
  });
}
