/**
 * Mouse bindings of the two panes (one cornerstone tool group), from the action the chosen
 * tool gives the left button (review/toolstate.ts): window, draw (the caliper), zoom, pan,
 * or none. Whatever the tool: shift-left windows, right button zooms, middle button (or
 * ctrl-left) pans. Calipers are always shown; they take the mouse only while drawing.
 */
import { Enums as ToolEnums, PanTool, ToolGroupManager, WindowLevelTool, ZoomTool } from '@cornerstonejs/tools';
import type { Types as ToolTypes } from '@cornerstonejs/tools';
import type { PrimaryAction } from '../review/toolstate';
import type { ReviewPane } from './pane';

const { MouseBindings, KeyboardBindings } = ToolEnums;
const GROUP = 'nadir-review';

type Binding = ToolTypes.IToolBinding;
const PRIMARY: Binding = { mouseButton: MouseBindings.Primary };
const SHIFT_PRIMARY: Binding = { mouseButton: MouseBindings.Primary, modifierKey: KeyboardBindings.Shift };
const CTRL_PRIMARY: Binding = { mouseButton: MouseBindings.Primary, modifierKey: KeyboardBindings.Ctrl };
const SECONDARY: Binding = { mouseButton: MouseBindings.Secondary };
const AUXILIARY: Binding = { mouseButton: MouseBindings.Auxiliary };

export class PaneTools {
  private readonly group: ToolTypes.IToolGroup;

  constructor(
    private readonly panes: ReviewPane[],
    engineId: string,
    private readonly caliperTool: string,
    private readonly bidirectionalTool: string,
  ) {
    const group = ToolGroupManager.getToolGroup(GROUP) ?? ToolGroupManager.createToolGroup(GROUP);
    if (!group) throw new Error('cornerstone tool group could not be created');
    this.group = group;
    for (const tool of [WindowLevelTool.toolName, PanTool.toolName, ZoomTool.toolName, caliperTool, bidirectionalTool]) {
      if (!group.hasTool(tool)) group.addTool(tool);
    }
    for (const pane of panes) group.addViewport(pane.viewportId, engineId);
    this.setAction('window');
  }

  /** Bind the left button to `action`; the other bindings stay. */
  setAction(action: PrimaryAction): void {
    const g = this.group;
    // Enabled clears a tool's bindings (cornerstone merges new bindings with the old ones).
    for (const tool of [WindowLevelTool.toolName, ZoomTool.toolName, PanTool.toolName, this.caliperTool, this.bidirectionalTool]) g.setToolEnabled(tool);
    g.setToolActive(WindowLevelTool.toolName, { bindings: action === 'window' ? [PRIMARY, SHIFT_PRIMARY] : [SHIFT_PRIMARY] });
    g.setToolActive(ZoomTool.toolName, { bindings: action === 'zoom' ? [PRIMARY, SECONDARY] : [SECONDARY] });
    g.setToolActive(PanTool.toolName, { bindings: action === 'pan' ? [PRIMARY, AUXILIARY, CTRL_PRIMARY] : [AUXILIARY, CTRL_PRIMARY] });
    if (action === 'draw') g.setToolActive(this.caliperTool, { bindings: [PRIMARY] });
    if (action === 'bidirectional') g.setToolActive(this.bidirectionalTool, { bindings: [PRIMARY] });
    for (const pane of this.panes) pane.element.dataset.primaryAction = action;
  }
}
