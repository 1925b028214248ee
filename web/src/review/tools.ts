/**
 * The tools at work in the panes (OHIF's tool group): which tool the left button is, what a
 * drag then does, the cursor and advice that say so, and a click on a caliper selecting its
 * lesion. The toolbar's buttons (review/toolbar.ts) and the keys (review/keys.ts) choose the
 * tool; the pure rules are in review/toolstate.ts.
 */
import type { Lesion } from '../api/types';
import { axisOf, BidirectionalCaliperTool, CaliperTool, type Calipers } from '../measure/caliper';
import { notify } from '../panels/dialogs';
import type { ReviewPane } from '../viewport/pane';
import { PaneTools } from '../viewport/tools';
import type { ReviewState } from './state';
import type { Toolbar } from './toolbar';
import { Probe } from './probe';
import { ToolState, caliperAdvice, marksPoint, primaryAction, readingAdvice, type ToolSituation } from './toolstate';

/** A press that moves less than this (CSS px) before it is released is a click. */
const CLICK_PX = 4;

export interface ToolHooks {
  /** Select a lesion without moving the panes (a click on its caliper). */
  selectOnly(lesion: Lesion): void;
  /** The other reading the panes show instead of this case's, named; null while this case's show. */
  viewing(): string | null;
}

export class ToolDesk {
  readonly tools = new ToolState();
  private paneTools: PaneTools | null = null;
  private calipers: Calipers | null = null;
  private panes: ReviewPane[] = [];

  constructor(
    private readonly state: ReviewState,
    private readonly toolbar: Toolbar,
    private readonly hooks: ToolHooks,
  ) {
    this.tools.onChange(() => this.apply());
  }

  /** The panes exist: bind the tools to them. */
  attach(panes: ReviewPane[], engineId: string, calipers: Calipers): void {
    this.panes = panes;
    this.calipers = calipers;
    this.paneTools = new PaneTools(panes, engineId, CaliperTool.toolName, BidirectionalCaliperTool.toolName);
    for (const pane of panes) {
      this.bindClicks(pane);
      new Probe(pane, () => this.tools.tool === 'probe');
    }
    this.apply();
  }

  situation(): ToolSituation {
    const lesion = this.state.selected();
    return {
      tool: this.tools.tool,
      canMeasure: this.state.canMeasure(),
      roleKnown: this.state.me.role !== 'unknown',
      lesion: lesion ? { label: lesion.label, kind: lesion.kind } : null,
      viewing: this.hooks.viewing(),
    };
  }

  /** Whether a left drag draws (and saves) now. */
  drawing(): boolean {
    const action = primaryAction(this.situation());
    return action === 'draw' || action === 'bidirectional';
  }

  /** Bind the left button, mark the panes and the toolbar, say what the tool needs. */
  apply(): void {
    if (!this.paneTools) return;
    const situation = this.situation();
    this.paneTools.setAction(primaryAction(situation));
    for (const pane of this.panes) pane.element.dataset.activeTool = situation.tool;
    this.toolbar.showTool(situation.tool);
    this.toolbar.showAdvice(caliperAdvice(situation) ?? readingAdvice(situation));
    this.calipers?.redraw();
  }

  /** Another lesion (or none) is selected: the caliper draws its axis; old markers go. */
  selectionChanged(): void {
    const lesion = this.state.selected();
    this.panes.forEach((p) => p.setMarker(null));
    CaliperTool.drawingAxis = lesion ? axisOf(lesion) : 'long axis';
    this.apply();
  }

  /** A click (not a drag) on a caliper selects its lesion, whatever the tool. */
  private bindClicks(pane: ReviewPane): void {
    let down: { x: number; y: number; lesionId: number | null } | null = null;
    const select = (lesionId: number) => {
      const lesion = this.state.lesion(lesionId);
      if (lesion) this.hooks.selectOnly(lesion);
    };
    pane.element.addEventListener('mousedown', (e) => {
      if (e.button !== 0 || !this.calipers) return;
      const lesionId = this.calipers.lesionAt(pane, e.clientX, e.clientY);
      down = { x: e.clientX, y: e.clientY, lesionId };
      if (!this.drawing() && !marksPoint(this.situation()) && (this.tools.tool === 'caliper' || this.tools.tool === 'bidirectional')) {
        const advice = caliperAdvice(this.situation());
        if (advice && lesionId === null) notify(advice);
      }
      // With the caliper drawing, pressing on another lesion's caliper selects it instead
      // of starting a new caliper for the selected one.
      if (lesionId !== null && lesionId !== this.state.selectedId && this.drawing()) {
        e.stopPropagation();
        e.preventDefault();
        select(lesionId);
        down = null;
      }
    }, { capture: true });
    pane.element.addEventListener('mouseup', (e) => {
      const start = down;
      down = null;
      if (!start || Math.hypot(e.clientX - start.x, e.clientY - start.y) > CLICK_PX) return;
      if (start.lesionId === null && marksPoint(this.situation())) {
        // A click with the caliper tool marks where a non-target or new lesion lies.
        void this.calipers?.markPoint(pane, e.clientX, e.clientY);
        return;
      }
      if (start.lesionId === null || start.lesionId === this.state.selectedId) return;
      select(start.lesionId);
    }, { capture: true });
  }
}
