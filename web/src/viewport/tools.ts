/**
 * Mouse bindings of the two panes (one cornerstone tool group): left button windows, or
 * draws a caliper when the reader may measure and a lesion is selected; shift-left
 * windows, right button zooms, middle button (or ctrl-left) pans. Calipers' endpoints
 * can be dragged with the left button whenever measuring is allowed.
 */
import { Enums as ToolEnums, PanTool, ToolGroupManager, WindowLevelTool, ZoomTool } from '@cornerstonejs/tools';
import type { Types as ToolTypes } from '@cornerstonejs/tools';
import type { ReviewPane } from './pane';

const { MouseBindings, KeyboardBindings } = ToolEnums;
const GROUP = 'nadir-review';

export class PaneTools {
  private readonly group: ToolTypes.IToolGroup;

  constructor(
    panes: ReviewPane[],
    engineId: string,
    private readonly caliperTool: string,
  ) {
    const group = ToolGroupManager.getToolGroup(GROUP) ?? ToolGroupManager.createToolGroup(GROUP);
    if (!group) throw new Error('cornerstone tool group could not be created');
    this.group = group;
    for (const tool of [WindowLevelTool.toolName, PanTool.toolName, ZoomTool.toolName, caliperTool]) {
      if (!group.hasTool(tool)) group.addTool(tool);
    }
    for (const pane of panes) group.addViewport(pane.viewportId, engineId);
    group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
    group.setToolActive(PanTool.toolName, {
      bindings: [
        { mouseButton: MouseBindings.Auxiliary },
        { mouseButton: MouseBindings.Primary, modifierKey: KeyboardBindings.Ctrl },
      ],
    });
    this.setMode('view');
  }

  /**
   * `draw`: the left button draws a caliper; `edit`: it windows, but calipers can be
   * moved; `view`: calipers are shown only (read-only roles).
   */
  setMode(mode: 'draw' | 'edit' | 'view'): void {
    const g = this.group;
    const shiftWindow = { mouseButton: MouseBindings.Primary, modifierKey: KeyboardBindings.Shift };
    if (mode === 'draw') {
      g.setToolActive(WindowLevelTool.toolName, { bindings: [shiftWindow] });
      g.setToolActive(this.caliperTool, { bindings: [{ mouseButton: MouseBindings.Primary }] });
    } else {
      if (mode === 'edit') g.setToolPassive(this.caliperTool);
      else g.setToolEnabled(this.caliperTool);
      g.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }, shiftWindow] });
    }
  }
}
