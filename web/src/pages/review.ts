/**
 * /cases/{id}: the review. Two panes side by side (review/viewer.ts), the toolbar with its
 * explicit tools (review/toolbar.ts, review/toolstate.ts), the lesion panel, calipers
 * (measure/), undo and redo (review/history.ts), the server's response with sign-off and
 * the report (review/signoff.ts). This module wires them and holds the page's state: the
 * case, the selected lesion, the active tool, and the place kept in the address.
 */
import { ApiError, api } from '../api/client';
import type { Case, CaseChange, Lesion, LesionPatch, Measurement, Me, Timepoint, Versioned } from '../api/types';
import { MeasurementBook } from '../measure/book';
import { CaliperTool, Calipers, axisOf, type CaliperHost } from '../measure/caliper';
import { PendingSaves } from '../measure/pending';
import { saveMeasurement, type SaveKind } from '../measure/save';
import { ask, askReason, notify } from '../panels/dialogs';
import { fill, formatDate, formatDateTime, h, mm } from '../panels/dom';
import { LesionPanel } from '../panels/lesions';
import { Pairing } from '../panels/pairing';
import { COMPUTED_READING, CRITERIA_NAMES, mayMeasure } from '../panels/words';
import { ChangeHistory, type HistoryHost } from '../review/history';
import { addLesion, jumpTo, withAmendment } from '../review/lesions';
import { CaseWatch } from '../review/live';
import { formatPlace, type Place } from '../review/place';
import { SignOffDesk } from '../review/signoff';
import type { ReviewStart } from '../review/start';
import { Toolbar } from '../review/toolbar';
import { ToolState, caliperAdvice, primaryAction, toolForKey, type ToolName } from '../review/toolstate';
import { Viewer } from '../review/viewer';
import { startCornerstone } from '../viewport/cornerstone';
import { PRESETS } from '../viewport/presets';
import { PaneTools } from '../viewport/tools';
import type { ReviewPane, Side } from '../viewport/pane';
import { pageHeader } from './frame';
import { displayName } from './worklist';

const SCROLL_KEYS: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 1, PageUp: -1 };
/** A press that moves less than this (CSS px) before it is released is a click. */
const CLICK_PX = 4;

export async function reviewPage(root: HTMLElement, start: ReviewStart): Promise<void> {
  await new ReviewPage(root, start).start();
}

class ReviewPage implements CaliperHost, HistoryHost {
  readonly book: MeasurementBook;
  readonly pending = new PendingSaves();
  readonly tools = new ToolState();
  readonly history: ChangeHistory;
  readonly caseId: number;
  private caseValue!: Case;
  private me: Me = { name: null, role: 'unknown' };
  private selectedLesion: number | null = null;
  private viewer!: Viewer;
  private paneTools!: PaneTools;
  private calipers!: Calipers;
  private toolbar!: Toolbar;
  private opened = false;
  private buttonsDown = false;
  private readonly lesionPanel: LesionPanel;
  private readonly signOffDesk: SignOffDesk;
  private readonly header = h('div', { class: 'header-slot' });

  constructor(
    private readonly root: HTMLElement,
    private readonly begun: ReviewStart,
  ) {
    this.caseId = begun.caseId;
    this.book = new MeasurementBook(this.caseId);
    this.history = new ChangeHistory(this);
    const page = this;
    this.lesionPanel = new LesionPanel({
      book: this.book,
      pending: this.pending,
      get canMeasure() {
        return page.canMeasure();
      },
      caseData: () => this.caseValue,
      selectedId: () => this.selectedLesion,
      select: (lesion) => void this.select(lesion),
      addLesion: async (body) => {
        const lesion = await addLesion(this.caseId, body);
        if (!lesion) return;
        this.caseValue = { ...this.caseValue, lesions: [...this.caseValue.lesions, lesion] };
        await this.select(lesion);
        this.signOffDesk.refreshSoon();
      },
      setStatus: async (lesion, tp, status) => void (await saveMeasurement(this, lesion, tp, { status })),
      changeLesion: (lesion, changes) => this.changeLesion(lesion, changes),
      deleteLesion: (lesion) => this.deleteLesion(lesion),
      retry: (lesionId, tp) => this.retry(lesionId, tp),
      discard: (lesionId, tp) => this.discard(lesionId, tp),
      timepointLabel: (tp) => this.timepointLabel(tp),
    });
    this.signOffDesk = new SignOffDesk({
      caseId: this.caseId,
      get canSignOff() {
        return page.canMeasure();
      },
      caseData: () => this.caseValue,
      setCase: (c) => {
        this.caseValue = c;
      },
      timepointLabel: (tp) => this.timepointLabel(tp),
      timepointName: (id) => this.timepointName(id),
      markNotEvaluable: async (lesionId, tp, status) => {
        const lesion = this.lesion(lesionId);
        return lesion ? (await saveMeasurement(this, lesion, tp, { status })) === 'saved' : false;
      },
    });
    // The lesion list, the response panel and its chart change together with the book.
    this.book.onChange(() => this.signOffDesk.refreshSoon());
    this.tools.onChange(() => this.applyTool());
    this.history.onChange(() => this.toolbar?.showHistory(this.history.stack.canUndo, this.history.stack.canRedo, this.history.busy));
    this.pending.onChange(() => this.lesionPanel.render());
  }

  get panes(): ReviewPane[] {
    return this.viewer.panes;
  }

  // -- CaliperHost, HistoryHost -------------------------------------------------------------

  lesion(id: number): Lesion | undefined {
    return this.caseValue.lesions.find((l) => l.id === id);
  }

  selected(): Lesion | null {
    return this.selectedLesion === null ? null : (this.lesion(this.selectedLesion) ?? null);
  }

  canMeasure(): boolean {
    return mayMeasure(this.me);
  }

  drawing(): boolean {
    return primaryAction(this.toolSituation()) === 'draw';
  }

  notify(text: string, kind: 'info' | 'error' = 'info'): void {
    notify(text, kind);
  }

  timepointName(timepointId: string): string {
    const tp = this.caseValue.timepoints.find((t) => t.id === timepointId);
    return tp ? `${this.timepointLabel(tp)} (${formatDate(tp.date)})` : 'this timepoint';
  }

  async askAmendment(_detail: string, lesion: Lesion, timepointId: string): Promise<string | null> {
    const where = this.timepointName(timepointId);
    return askReason(`${where} is signed off`, [
      `A change to ${lesion.label} at ${where} is kept as a new version with your reason; the signed-off version stays in the history.`,
    ], 'Save the amendment');
  }

  async showConflict(mine: number | null, theirs: Measurement | null, lesion: Lesion): Promise<void> {
    const now = theirs
      ? `It is now ${theirs.status ? theirs.status.replaceAll('_', ' ') : mm(theirs.length_mm)} (version ${theirs.version}, by ${theirs.author}, ${formatDateTime(theirs.at)}).`
      : 'It has no measurement now.';
    const answer = await ask(`${lesion.label} was changed by someone else`, [
      `Someone saved a change to ${lesion.label} after you opened it, so yours${mine !== null ? ` (${mm(mine)} drawn)` : ''} was not saved.`,
      now,
    ], [
      { label: 'Keep looking', value: 'keep' },
      { label: 'Load their version', value: 'reload', primary: true },
    ]);
    if (answer === 'reload') await this.refreshMeasurements();
  }

  saved(lesion: Lesion, timepointId: string, m: Measurement, before: Versioned<Measurement> | null, kind: SaveKind): void {
    this.panes.filter((p) => p.timepointId === timepointId).forEach((p) => p.setMarker(null));
    if (kind === 'change') this.history.record(lesion.id, timepointId, before?.value ?? null, m);
    const what = m.status ? m.status.replaceAll('_', ' ') : `${axisOf(lesion)} ${mm(m.length_mm)}`;
    const how = kind === 'change' ? 'saved' : kind === 'undo' ? 'restored (undo)' : 'restored (redo)';
    notify(`${lesion.label}: ${what} ${how} (version ${m.version}).`);
  }

  retry(lesionId: number, timepointId: string): void {
    const p = this.pending.get(lesionId, timepointId);
    const lesion = this.lesion(lesionId);
    if (!p || !lesion || p.state !== 'failed') return;
    void saveMeasurement(this, lesion, timepointId, p.body, { drawn: p.drawn, kind: p.kind });
  }

  discard(lesionId: number, timepointId: string): void {
    this.pending.clear(lesionId, timepointId);
    const lesion = this.lesion(lesionId);
    notify(`${lesion?.label ?? 'The'} change discarded: ${this.timepointName(timepointId)} keeps what the server has.`);
  }

  // -- start ------------------------------------------------------------------------------

  async start(): Promise<void> {
    performance.mark('nadir:viewer-code');
    const engine = startCornerstone([CaliperTool as never]);
    this.viewer = new Viewer(engine, {
      timepointLabel: (tp) => this.timepointLabel(tp),
      timepoints: () => this.caseValue.timepoints,
      patientId: () => this.caseValue.patient_id,
      shown: () => {
        this.calipers?.redraw();
        this.savePlace();
      },
      notifyError: (text) => notify(text, 'error'),
    });
    this.toolbar = new Toolbar({
      chooseTool: (tool) => this.tools.set(tool),
      undo: () => void this.history.undo(),
      redo: () => void this.history.redo(),
      applyPreset: (key) => this.viewer.applyPreset(key),
      resetView: () => this.viewer.resetCameras(),
    }, [this.viewer.syncButton, this.viewer.syncNote]);
    this.root.replaceChildren(this.layout());
    this.paneTools = new PaneTools(this.panes, engine.id, CaliperTool.toolName);
    this.calipers = new Calipers(this);
    for (const pane of this.panes) this.bindClicks(pane);
    document.addEventListener('pointerdown', () => (this.buttonsDown = true), { capture: true });
    document.addEventListener('pointerup', () => (this.buttonsDown = false), { capture: true });
    this.bindKeys();
    this.applyTool();
    this.exposeForTests();
    const meLoad = api.me().catch(() => this.me);
    let loaded: Awaited<ReviewStart['loaded']>;
    try {
      loaded = await this.begun.loaded;
    } catch (error) {
      this.root.replaceChildren(pageHeader(['Review']), h('main', { class: 'problem-page' },
        h('p', { class: 'problem' }, error instanceof ApiError && error.status === 404 ? `There is no case ${this.caseId}.` : `The case could not be opened: ${String(error)}`),
        h('a', { href: '/' }, 'Back to the worklist')));
      return;
    }
    this.caseValue = loaded.case;
    if (loaded.comparisonError) this.viewer.pairingFailed(loaded.comparisonError);
    const place = this.begun.place;
    await this.viewer.open(loaded.left, loaded.right, new Pairing(loaded.comparison, loaded.studies), place);
    // Everything below is not needed for the first images.
    fill(this.header, this.headerContent());
    this.me = await meLoad;
    this.applyRole();
    this.lesionPanel.render();
    void this.signOffDesk.refresh();
    await this.refreshMeasurements();
    const restored = place.lesion ? this.lesion(place.lesion) : undefined;
    if (restored) this.selectOnly(restored);
    this.opened = true;
    this.savePlace();
    new CaseWatch(this.caseId, {
      change: (event) => void this.changed(event).catch(() => undefined),
      resync: () => void this.reloadCase(),
    }).start();
    void this.viewer.watchRegistration(!place.right.image);
  }

  private layout(): HTMLElement {
    return h('div', { class: 'review' },
      h('div', { class: 'top-slot' }, pageHeader([this.header], [h('a', { href: '/', class: 'button' }, 'Worklist')])),
      h('p', { class: 'disclaimer banner' }, COMPUTED_READING),
      h('div', { class: 'review-body' },
        h('div', { class: 'viewer' },
          this.toolbar.element,
          this.toolbar.advice,
          h('div', { class: 'panes' }, this.viewer.column('left'), this.viewer.column('right'))),
        h('aside', { class: 'side' }, this.lesionPanel.element, this.signOffDesk.panel.element)));
  }

  private headerContent(): Node[] {
    const c = this.caseValue;
    const name = h('span', { class: 'patient-name' }, c.patient_id);
    void api.patients().then((all) => {
      const p = all.find((x) => x.patient_id === c.patient_id);
      if (p) name.textContent = displayName(p.patient_name);
    }).catch(() => undefined);
    return [name, h('span', { class: 'pid' }, c.patient_id), h('span', { class: 'case-id' }, `Case ${c.id} · ${CRITERIA_NAMES[c.criteria] ?? c.criteria}`)];
  }

  private applyRole(): void {
    document.body.dataset.role = this.me.role;
    this.applyTool();
    if (!this.canMeasure()) notify('Read-only: your role views this case but does not measure or sign off.');
  }

  /** For browser tests and benchmarks: where an image point is on the page. */
  private exposeForTests(): void {
    const pane = (side: Side) => this.panes.find((p) => p.side === side);
    (window as unknown as { nadirReview: unknown }).nadirReview = {
      imageToClient: (side: Side, row: number, column: number) => pane(side)?.imageToClient(row, column) ?? null,
      pixel: (side: Side, row: number, column: number) => pane(side)?.pixel(row, column) ?? null,
      cached: (side: Side) => [pane(side)?.cachedCount() ?? 0, pane(side)?.stack?.images.length ?? 0],
      window: (side: Side) => pane(side)?.getWindow() ?? null,
    };
  }

  // -- timepoints -------------------------------------------------------------------------

  timepointLabel(tp: Timepoint): string {
    const tps = this.caseValue.timepoints;
    const baseline = tps.findIndex((t) => t.id === this.caseValue.baseline_study_uid);
    const i = tps.findIndex((t) => t.id === tp.id);
    if (i === baseline) return 'Baseline';
    return i < baseline ? `Before baseline` : `Follow-up ${i - Math.max(0, baseline)}`;
  }

  /** Keep the place in the address (replaceState: no new history entry per image). */
  private savePlace(): void {
    if (!this.opened) return;
    const place: Place = { ...this.viewer.place(), ...(this.selectedLesion ? { lesion: this.selectedLesion } : {}) };
    const query = formatPlace(place);
    if (query !== location.search) history.replaceState(history.state, '', `${location.pathname}${query}`);
  }

  // -- tools ------------------------------------------------------------------------------

  private toolSituation() {
    const lesion = this.selected();
    return { tool: this.tools.tool, canMeasure: this.canMeasure(), lesion: lesion ? { label: lesion.label, kind: lesion.kind } : null };
  }

  private applyTool(): void {
    if (!this.paneTools) return;
    const situation = this.toolSituation();
    this.paneTools.setAction(primaryAction(situation));
    for (const pane of this.panes) pane.element.dataset.activeTool = situation.tool;
    this.toolbar.showTool(situation.tool);
    this.toolbar.showAdvice(caliperAdvice(situation));
    this.calipers.redraw();
  }

  /** A click (not a drag) on a caliper selects its lesion, whatever the tool. */
  private bindClicks(pane: ReviewPane): void {
    let down: { x: number; y: number; lesionId: number | null } | null = null;
    pane.element.addEventListener('mousedown', (e) => {
      if (e.button !== 0) return;
      const lesionId = this.calipers.lesionAt(pane, e.clientX, e.clientY);
      down = { x: e.clientX, y: e.clientY, lesionId };
      if (!this.drawing() && this.tools.tool === 'caliper') {
        const advice = caliperAdvice(this.toolSituation());
        if (advice && lesionId === null) notify(advice);
      }
      // With the caliper drawing, pressing on another lesion's caliper selects it instead
      // of starting a new caliper for the selected one.
      if (lesionId !== null && lesionId !== this.selectedLesion && this.drawing()) {
        e.stopPropagation();
        e.preventDefault();
        const lesion = this.lesion(lesionId);
        if (lesion) this.selectOnly(lesion);
        down = null;
      }
    }, { capture: true });
    pane.element.addEventListener('mouseup', (e) => {
      const start = down;
      down = null;
      if (!start || start.lesionId === null || start.lesionId === this.selectedLesion) return;
      if (Math.hypot(e.clientX - start.x, e.clientY - start.y) > CLICK_PX) return;
      const lesion = this.lesion(start.lesionId);
      if (lesion) this.selectOnly(lesion);
    }, { capture: true });
  }

  private bindKeys(): void {
    document.addEventListener('keydown', (e) => {
      const target = e.target as HTMLElement | null;
      if (target?.closest('input, textarea, dialog')) return;
      if ((e.ctrlKey || e.metaKey) && !e.altKey) {
        const key = e.key.toLowerCase();
        if (key === 'z' || key === 'y') {
          e.preventDefault();
          if (key === 'y' || e.shiftKey) void this.history.redo();
          else void this.history.undo();
        }
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      // A picker keeps the focus after a choice: with the pointer over a pane, the keys
      // scroll that pane rather than change the series again.
      if (target?.closest('select') && !this.viewer.hovered) return;
      const pane = this.viewer.hovered ?? this.panes[0];
      const tool = toolForKey(e.key);
      if (e.key in SCROLL_KEYS) {
        e.preventDefault();
        void this.viewer.scroll(pane, SCROLL_KEYS[e.key]);
      } else if (PRESETS.some((p) => p.key === e.key)) {
        e.preventDefault();
        this.viewer.applyPreset(e.key, pane);
      } else if (tool) {
        e.preventDefault();
        this.tools.set(tool);
      } else if (e.key === 'Escape') {
        this.tools.set('windowlevel');
        if (this.selectedLesion !== null) {
          this.selectedLesion = null;
          this.afterSelection();
        }
      }
    });
  }

  chooseTool(tool: ToolName): void {
    this.tools.set(tool);
  }

  // -- lesions ----------------------------------------------------------------------------

  private async select(lesion: Lesion): Promise<void> {
    this.selectOnly(lesion);
    await jumpTo(this.viewer, this.book, this.caseId, lesion);
  }

  /** Select without moving the panes (a click on its caliper, a restored place). */
  private selectOnly(lesion: Lesion): void {
    this.selectedLesion = lesion.id;
    this.afterSelection();
  }

  private afterSelection(): void {
    const lesion = this.selected();
    this.panes.forEach((p) => p.setMarker(null));
    CaliperTool.drawingAxis = lesion ? axisOf(lesion) : 'long axis';
    this.applyTool();
    this.lesionPanel.render();
    this.savePlace();
  }

  private async refreshMeasurements(): Promise<void> {
    await this.book.load(this.caseValue.lesions, this.caseValue.timepoints);
  }

  private async changeLesion(lesion: Lesion, changes: LesionPatch): Promise<void> {
    const updated = await withAmendment(`${lesion.label} change`,
      (amendment) => api.patchLesion(this.caseId, lesion.id, amendment ? { ...changes, amendment_reason: amendment } : changes),
      () => this.askLesionAmendment(lesion, 'A change'));
    if (!updated) return;
    this.caseValue = { ...this.caseValue, lesions: this.caseValue.lesions.map((l) => (l.id === updated.id ? updated : l)) };
    notify(`${lesion.label} changed${updated.label !== lesion.label ? ` to ${updated.label}` : ''}.`);
    this.afterSelection();
    this.signOffDesk.refreshSoon();
  }

  private async deleteLesion(lesion: Lesion): Promise<void> {
    const reason = await askReason(`Delete ${lesion.label}?`, [
      `${lesion.label} (${lesion.organ}) leaves the evaluation, the lesion list and the report. Its measurements and the deletion stay in the history and the audit log.`,
    ], `Delete ${lesion.label}`);
    if (!reason) return;
    const deleted = await withAmendment(`Deleting ${lesion.label}`,
      (amendment) => api.deleteLesion(this.caseId, lesion.id, amendment ? { reason, amendment_reason: amendment } : { reason }),
      () => this.askLesionAmendment(lesion, 'Deleting it'));
    if (!deleted) return;
    this.forgetLesion(lesion.id);
    notify(`${lesion.label} deleted; its history is kept.`);
  }

  private askLesionAmendment(lesion: Lesion, what: string): Promise<string | null> {
    return askReason(`${lesion.label} was read on a signed-off timepoint`, [
      `${what} changes a signed-off timepoint: it is kept with your reason, and the signed-off reading stays in the history.`,
    ], 'Save the amendment');
  }

  /** A lesion is gone (deleted here or elsewhere): out of the list, the calipers and undo. */
  private forgetLesion(lesionId: number): void {
    this.caseValue = { ...this.caseValue, lesions: this.caseValue.lesions.filter((l) => l.id !== lesionId) };
    for (const p of this.pending.ofLesion(lesionId)) this.pending.clear(p.lesionId, p.timepointId);
    this.history.stack.forget(lesionId);
    if (this.selectedLesion === lesionId) this.selectedLesion = null;
    this.book.dropLesion(lesionId);
    this.afterSelection();
  }

  // -- live changes -------------------------------------------------------------------------

  /** Someone (here or on another node) changed the case: show what the server holds now. */
  private async changed(event: CaseChange): Promise<void> {
    const mine = this.me.name !== null && event.who === this.me.name;
    if (event.kind === 'measurement' && event.lesion_id !== null && event.timepoint_id) {
      const known = this.book.get(event.lesion_id, event.timepoint_id)?.value.version ?? 0;
      if (event.version !== null && known >= event.version) return; // this page's own save
      await this.whenIdle(() => this.book.reload(event.lesion_id!, event.timepoint_id!));
      const lesion = this.lesion(event.lesion_id);
      if (!mine && lesion) notify(`${event.who} changed ${lesion.label} at ${this.timepointName(event.timepoint_id)} (version ${event.version ?? '?'}).`);
      return;
    }
    const before = this.lesion(event.lesion_id ?? 0);
    // This page's own lesion changes are already shown (another tab's are not).
    if ((event.kind === 'lesion_added' && before) || (event.kind === 'lesion_deleted' && !before)) return;
    await this.whenIdle(() => this.reloadCase());
    if (mine) return;
    const what = { lesion_added: 'added', lesion_changed: 'changed', lesion_deleted: 'deleted', signed_off: 'signed off', measurement: 'changed' }[event.kind];
    const subject = event.kind === 'signed_off' ? this.timepointName(event.timepoint_id ?? '') : (this.lesion(event.lesion_id ?? 0) ?? before)?.label ?? 'a lesion';
    notify(`${event.who} ${what} ${subject}.`);
  }

  /** Read the case, its measurements and response again (a change elsewhere, a resync). */
  private async reloadCase(): Promise<void> {
    const c = await api.case(this.caseId).catch(() => null);
    if (!c) return;
    const gone = this.caseValue.lesions.filter((l) => !c.lesions.some((x) => x.id === l.id));
    this.caseValue = c;
    for (const l of gone) this.forgetLesion(l.id);
    this.afterSelection();
    await this.refreshMeasurements();
    this.signOffDesk.refreshSoon();
  }

  /** Run `action` once no mouse button is down (a caliper being drawn is not redrawn under the reader). */
  private whenIdle<T>(action: () => Promise<T>): Promise<T> {
    if (!this.buttonsDown) return action();
    return new Promise((resolve, reject) => {
      document.addEventListener('pointerup', () => void action().then(resolve, reject), { once: true });
    });
  }
}
