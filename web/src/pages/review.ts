/**
 * /cases/{id}: the review. Two panes side by side (earlier timepoint left, later right),
 * each on the series the comparison paired, linked for scrolling, zoom, pan and window;
 * the lesion panel, calipers, and the server's response with sign-off and the report.
 */
import { ApiError, api } from '../api/client';
import type { Case, Lesion, LesionCreate, Measurement, Me, Timepoint } from '../api/types';
import { MeasurementBook } from '../measure/book';
import { CaliperTool, Calipers, axisOf, type CaliperHost } from '../measure/caliper';
import { saveMeasurement } from '../measure/save';
import { ask, askReason, notify } from '../panels/dialogs';
import { fill, formatDate, formatDateTime, h, mm } from '../panels/dom';
import { LesionPanel } from '../panels/lesions';
import { PanePickers } from '../panels/pickers';
import { ResponsePanel } from '../panels/response';
import { COMPUTED_READING, CRITERIA_NAMES, mayMeasure } from '../panels/words';
import { startCornerstone } from '../viewport/cornerstone';
import { ReviewPane, allowPrefetch, type Side } from '../viewport/pane';
import { PRESETS } from '../viewport/presets';
import { SeriesStack } from '../viewport/stack';
import { PaneLink, type SyncSource } from '../viewport/sync';
import { PaneTools } from '../viewport/tools';
import { pageHeader } from './frame';
import { Pairing, comparisonFor, type ReviewStart } from './pairing';
import { displayName } from './worklist';

const SCROLL_KEYS: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 1, PageUp: -1 };

export async function reviewPage(root: HTMLElement, start: ReviewStart): Promise<void> {
  await new ReviewPage(root, start).start();
}

class ReviewPage implements CaliperHost {
  readonly book: MeasurementBook;
  readonly panes: ReviewPane[] = [];
  private caseValue!: Case;
  private pairing = new Pairing(null, []);
  private me: Me = { name: null, role: 'unknown' };
  private selectedLesion: number | null = null;
  private hovered: ReviewPane | null = null;
  private link!: PaneLink;
  private tools!: PaneTools;
  private calipers!: Calipers;
  private readonly controls = new Map<Side, PanePickers>();
  private readonly lesionPanel: LesionPanel;
  private readonly responsePanel: ResponsePanel;
  private readonly header = h('div', { class: 'header-slot' });
  private readonly syncButton = h('button', { type: 'button', class: 'link-toggle', 'aria-pressed': 'true' });
  private readonly syncNote = h('span', { class: 'sync-note' });
  private stackLoads = new Map<string, Promise<SeriesStack>>();

  readonly caseId: number;

  constructor(
    private readonly root: HTMLElement,
    private readonly begun: ReviewStart,
  ) {
    this.caseId = begun.caseId;
    this.book = new MeasurementBook(this.caseId);
    const page = this;
    this.lesionPanel = new LesionPanel({
      book: this.book,
      get canMeasure() {
        return page.canMeasure();
      },
      caseData: () => this.caseValue,
      selectedId: () => this.selectedLesion,
      select: (lesion) => void this.select(lesion),
      addLesion: (body) => this.addLesion(body),
      setStatus: (lesion, tp, status) => this.setStatus(lesion, tp, status),
      timepointLabel: (tp) => this.timepointLabel(tp),
    });
    this.responsePanel = new ResponsePanel({
      get canSignOff() {
        return page.canMeasure();
      },
      caseData: () => this.caseValue,
      timepointLabel: (tp) => this.timepointLabel(tp),
      signOff: (tp) => this.signOff(tp),
      openReport: (format) => this.openReport(format),
    });
  }

  // -- CaliperHost ------------------------------------------------------------------------

  lesion(id: number): Lesion | undefined {
    return this.caseValue.lesions.find((l) => l.id === id);
  }

  selected(): Lesion | null {
    return this.selectedLesion === null ? null : (this.lesion(this.selectedLesion) ?? null);
  }

  canMeasure(): boolean {
    return mayMeasure(this.me);
  }

  notify(text: string, kind: 'info' | 'error' = 'info'): void {
    notify(text, kind);
  }

  async askAmendment(detail: string, lesion: Lesion): Promise<string | null> {
    return askReason('This timepoint is signed off', [
      detail,
      `A change to ${lesion.label} is kept as a new version with your reason; the signed-off version stays in the history.`,
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

  saved(lesion: Lesion, timepointId: string, m: Measurement): void {
    this.panes.filter((p) => p.timepointId === timepointId).forEach((p) => p.setMarker(null));
    const what = m.status ? m.status.replaceAll('_', ' ') : `${axisOf(lesion)} ${mm(m.length_mm)}`;
    notify(`${lesion.label}: ${what} saved (version ${m.version}).`);
    void this.refreshResponse();
  }

  // -- start ------------------------------------------------------------------------------

  async start(): Promise<void> {
    performance.mark('nadir:viewer-code');
    const left = h('div', { class: 'viewport-frame' });
    const right = h('div', { class: 'viewport-frame' });
    this.root.replaceChildren(this.layout(left, right));
    const engine = startCornerstone([CaliperTool as never]);
    this.panes.push(new ReviewPane('left', engine, left), new ReviewPane('right', engine, right));
    for (const pane of this.panes) {
      pane.setMessage('Loading images…');
      this.bindPane(pane);
    }
    this.link = new PaneLink(this.panes[0], this.panes[1]);
    this.link.onSourceChange((source) => this.showSync(source));
    this.tools = new PaneTools(this.panes, engine.id, CaliperTool.toolName);
    this.calipers = new Calipers(this);
    this.bindKeys();
    // For browser tests and benchmarks: where an image point is on the page.
    const pane = (side: Side) => this.panes.find((p) => p.side === side);
    (window as unknown as { nadirReview: unknown }).nadirReview = {
      imageToClient: (side: Side, row: number, column: number) => pane(side)?.imageToClient(row, column) ?? null,
      pixel: (side: Side, row: number, column: number) => pane(side)?.pixel(row, column) ?? null,
      cached: (side: Side) => [pane(side)?.cachedCount() ?? 0, pane(side)?.stack?.images.length ?? 0],
    };
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
    this.pairing = new Pairing(loaded.comparison, loaded.studies);
    if (loaded.comparisonError) this.pairingFailed(loaded.comparisonError);
    const tps = this.caseValue.timepoints;
    const [leftTp, rightTp] = [tps[0], tps[tps.length - 1]];
    this.controls.get('left')!.fillTimepoints(tps, (tp) => this.timepointLabel(tp), leftTp);
    this.controls.get('right')!.fillTimepoints(tps, (tp) => this.timepointLabel(tp), rightTp);
    await this.showPair(leftTp, rightTp);
    // Everything below is not needed for the first images.
    fill(this.header, this.headerContent());
    this.me = await meLoad;
    this.applyRole();
    this.lesionPanel.render();
    void this.refreshResponse();
    await this.refreshMeasurements();
    void this.watchRegistration();
  }

  private layout(left: HTMLElement, right: HTMLElement): HTMLElement {
    const paneColumn = (side: Side, frame: HTMLElement) => {
      const pickers = new PanePickers(side, () => void this.timepointChanged(), () => void this.seriesChanged(side));
      this.controls.set(side, pickers);
      return h('div', { class: `pane pane-${side}` }, h('div', { class: 'pane-bar' }, pickers.timepoint, pickers.series), frame, pickers.pairing);
    };
    this.syncButton.addEventListener('click', () => this.link.setLinked(!this.link.linked));
    const presets = PRESETS.map((p) =>
      h('button', { type: 'button', class: 'preset', title: `${p.name}: W ${p.width} L ${p.center} (key ${p.key})`, onclick: () => this.applyPreset(p.key) },
        h('kbd', {}, p.key), ` ${p.name}`));
    return h('div', { class: 'review' },
      h('div', { class: 'top-slot' }, pageHeader([this.header], [h('a', { href: '/', class: 'button' }, 'Worklist')])),
      h('p', { class: 'disclaimer banner' }, COMPUTED_READING),
      h('div', { class: 'review-body' },
        h('div', { class: 'viewer' },
          h('div', { class: 'toolbar' }, this.syncButton, this.syncNote, h('span', { class: 'presets' }, presets),
            h('button', { type: 'button', onclick: () => this.panes.forEach((p) => p.resetCamera()) }, 'Reset view'),
            h('span', { class: 'help', title: 'Wheel, arrow keys or Page Up/Down: scroll. Left drag: window (or caliper on the selected lesion). Shift-drag: window. Right drag: zoom. Middle or ctrl-drag: pan. Esc: deselect.' }, 'Controls')),
          h('div', { class: 'panes' }, paneColumn('left', left), paneColumn('right', right))),
        h('aside', { class: 'side' }, this.lesionPanel.element, this.responsePanel.element)));
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
    this.updateToolMode();
    if (!this.canMeasure()) notify('Read-only: your role views this case but does not measure or sign off.');
  }

  private updateToolMode(): void {
    const lesion = this.selected();
    if (!this.canMeasure()) this.tools.setMode('view');
    else if (lesion && lesion.kind !== 'non_target') this.tools.setMode('draw');
    else this.tools.setMode('edit');
  }

  // -- timepoints, series, comparison -----------------------------------------------------

  timepointLabel(tp: Timepoint): string {
    const tps = this.caseValue.timepoints;
    const baseline = tps.findIndex((t) => t.id === this.caseValue.baseline_study_uid);
    const i = tps.findIndex((t) => t.id === tp.id);
    if (i === baseline) return 'Baseline';
    return i < baseline ? `Before baseline` : `Follow-up ${i - Math.max(0, baseline)}`;
  }

  private timepoint(id: string): Timepoint {
    return this.caseValue.timepoints.find((t) => t.id === id) ?? this.caseValue.timepoints[0];
  }




  private showPairs(): void {
    for (const pane of this.panes) this.controls.get(pane.side)!.showPair(this.pairing, pane.stack?.seriesUid ?? null);
  }

  private pairingFailed(error: unknown): void {
    notify(`Series could not be paired: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
  }

  private loadStack(studyUid: string, seriesUid: string): Promise<SeriesStack> {
    let load = this.stackLoads.get(seriesUid);
    if (!load) {
      load = SeriesStack.load(studyUid, seriesUid);
      load.catch(() => this.stackLoads.delete(seriesUid));
      this.stackLoads.set(seriesUid, load);
    }
    return load;
  }

  /** Show the default pair of series of two timepoints, the right pane following the left. */
  private async showPair(left: Timepoint, right: Timepoint): Promise<void> {
    const [leftSeries, rightSeries] = this.pairing.defaultSeries(left, right);
    this.controls.get('left')!.fillSeries(this.pairing, left.id, leftSeries);
    this.controls.get('right')!.fillSeries(this.pairing, right.id, rightSeries);
    const [l, r] = await Promise.all([
      leftSeries ? this.loadStack(left.id, leftSeries).catch((e) => this.failed(this.panes[0], e)) : null,
      rightSeries ? this.loadStack(right.id, rightSeries).catch((e) => this.failed(this.panes[1], e)) : null,
    ]);
    if (!leftSeries) this.panes[0].setMessage('No image series at this timepoint.');
    if (!rightSeries) this.panes[1].setMessage('No image series at this timepoint.');
    const start = l ? Math.floor(l.images.length / 2) : 0;
    // The right pane opens where the link will keep it: no second draw.
    const rightStart = l && r ? this.link.indexFor('left', l.images[start], r) : undefined;
    performance.mark('nadir:metadata');
    await Promise.all([
      l ? this.panes[0].show(l, left.id, this.paneLabel(left), start) : null,
      r ? this.panes[1].show(r, right.id, this.paneLabel(right), rightStart) : null,
    ]);
    allowPrefetch();
    this.showPairs();
    this.calipers.redraw();
  }

  private failed(pane: ReviewPane, error: unknown): null {
    pane.setMessage(`The images could not be loaded: ${error instanceof ApiError ? error.detail : String(error)}`);
    return null;
  }

  private paneLabel(tp: Timepoint) {
    return { timepoint: this.timepointLabel(tp), date: formatDate(tp.date) };
  }

  private async timepointChanged(): Promise<void> {
    const left = this.timepoint(this.controls.get('left')!.timepoint.value);
    const right = this.timepoint(this.controls.get('right')!.timepoint.value);
    const comparison = await comparisonFor(this.caseValue.patient_id, left, right).catch((e) => {
      this.pairingFailed(e);
      return null;
    });
    this.pairing = new Pairing(comparison, this.pairing.studies);
    await this.showPair(left, right);
    void this.watchRegistration();
  }

  private async seriesChanged(side: Side): Promise<void> {
    const pane = side === 'left' ? this.panes[0] : this.panes[1];
    const other = side === 'left' ? this.panes[1] : this.panes[0];
    const uid = this.controls.get(side)!.series.value;
    await this.switchSeries(pane, uid);
    const partner = this.pairing.partnerOf(uid);
    if (partner && other.timepointId && other.stack?.seriesUid !== partner) {
      this.controls.get(other.side)!.series.value = partner;
      await this.switchSeries(other, partner, false);
    }
    await this.link.follow(pane);
  }

  /** Show another series of the pane's timepoint, near the position shown before. */
  private async switchSeries(pane: ReviewPane, seriesUid: string, keepPosition = true): Promise<void> {
    const timepointId = pane.timepointId;
    if (!timepointId) return;
    const before = pane.image;
    const stack = await this.loadStack(timepointId, seriesUid).catch((e) => this.failed(pane, e));
    if (!stack) return;
    const index = before && keepPosition ? stack.nearestTo(before.positionMm) : undefined;
    await pane.show(stack, timepointId, this.paneLabel(this.timepoint(timepointId)), index);
    this.controls.get(pane.side)!.series.value = seriesUid;
    this.showPairs();
    this.calipers.redraw();
  }

  private async watchRegistration(): Promise<void> {
    const comparison = this.pairing.comparison;
    this.link.setRegistration(null);
    if (!comparison) return;
    const leftIsBaseline = comparison.baseline_study_uid === this.panes[0].timepointId;
    for (let attempt = 0; attempt < 90 && this.pairing.comparison === comparison; attempt++) {
      const registration = await api.registration(comparison.id).catch(() => null);
      if (!registration) return; // no registration endpoint yet, or none for this pair
      if (registration.status === 'done') {
        this.link.setRegistration(registration.matrix, leftIsBaseline);
        await this.link.follow(this.panes[0]);
        return;
      }
      if (registration.status === 'failed') {
        this.syncNote.title = `Registration failed: ${registration.reason ?? 'no reason given'}; scrolling follows patient positions.`;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  private showSync(source: SyncSource): void {
    this.syncButton.textContent = source === 'unlinked' ? 'Link viewports' : 'Unlink viewports';
    this.syncButton.setAttribute('aria-pressed', source === 'unlinked' ? 'false' : 'true');
    this.syncNote.textContent = source === 'registration'
      ? 'Linked through the registration'
      : source === 'position' ? 'Linked by patient position' : 'Not linked';
  }

  // -- interaction ------------------------------------------------------------------------

  private bindPane(pane: ReviewPane): void {
    pane.element.addEventListener('mouseenter', () => (this.hovered = pane));
    pane.element.addEventListener('mousemove', () => (this.hovered = pane));
    pane.element.addEventListener('mouseleave', () => {
      if (this.hovered === pane) this.hovered = null;
    });
    pane.element.addEventListener('wheel', (e) => {
      e.preventDefault();
      if (e.deltaY !== 0) void this.scroll(pane, Math.sign(e.deltaY));
    }, { passive: false });
  }

  private bindKeys(): void {
    document.addEventListener('keydown', (e) => {
      const target = e.target as HTMLElement | null;
      if (e.ctrlKey || e.metaKey || e.altKey || target?.closest('input, textarea, dialog')) return;
      // A picker keeps the focus after a choice: with the pointer over a pane, the keys
      // scroll that pane rather than change the series again.
      if (target?.closest('select') && !this.hovered) return;
      const pane = this.hovered ?? this.panes[0];
      if (e.key in SCROLL_KEYS) {
        e.preventDefault();
        void this.scroll(pane, SCROLL_KEYS[e.key]);
      } else if (PRESETS.some((p) => p.key === e.key)) {
        e.preventDefault();
        this.applyPreset(e.key, pane);
      } else if (e.key === 'Escape' && this.selectedLesion !== null) {
        this.selectedLesion = null;
        this.afterSelection();
      }
    });
  }

  private async scroll(pane: ReviewPane, delta: number): Promise<void> {
    await pane.scrollBy(delta);
    await this.link.follow(pane);
  }

  private applyPreset(key: string, pane?: ReviewPane): void {
    const preset = PRESETS.find((p) => p.key === key);
    if (!preset) return;
    const targets = this.link.linked || !pane ? this.panes : [pane];
    for (const p of targets) if (p.stack) p.followWindow(preset);
  }

  // -- lesions ----------------------------------------------------------------------------

  private async select(lesion: Lesion): Promise<void> {
    this.selectedLesion = lesion.id;
    this.afterSelection();
    await this.jumpTo(lesion);
  }

  private afterSelection(): void {
    const lesion = this.selected();
    this.panes.forEach((p) => p.setMarker(null));
    CaliperTool.drawingAxis = lesion ? axisOf(lesion) : 'long axis';
    this.updateToolMode();
    this.lesionPanel.render();
    this.calipers.redraw();
  }

  /** Move each pane to the lesion's measured image there, else to the registration's proposal. */
  private async jumpTo(lesion: Lesion): Promise<void> {
    const moved = new Set<ReviewPane>();
    for (const pane of this.panes) {
      const m = pane.timepointId ? this.book.get(lesion.id, pane.timepointId)?.value : null;
      if (m?.sop_instance_uid && (await this.showImage(pane, m.series_instance_uid, m.sop_instance_uid))) moved.add(pane);
    }
    for (const pane of this.panes) {
      if (moved.has(pane) || !pane.timepointId) continue;
      const proposal = await api.proposal(this.caseId, lesion.id, pane.timepointId).catch(() => null);
      if (proposal && (await this.showImage(pane, proposal.series_instance_uid, proposal.sop_instance_uid))) {
        moved.add(pane);
        const how = proposal.source === 'registration' ? 'found by registration' : 'same patient position (registration not ready)';
        pane.setMarker({ sopInstanceUid: proposal.sop_instance_uid, row: proposal.point[0], column: proposal.point[1], text: `${lesion.label} expected here: ${how}` });
      }
    }
    for (const pane of this.panes) {
      if (!moved.has(pane) && moved.size) await this.link.follow([...moved][0]);
    }
  }

  private async showImage(pane: ReviewPane, seriesUid: string | null, sopUid: string): Promise<boolean> {
    if (seriesUid && pane.stack?.seriesUid !== seriesUid && pane.timepointId) {
      if (!this.pairing.study(pane.timepointId)?.series.some((s) => s.series_instance_uid === seriesUid)) return false;
      await this.switchSeries(pane, seriesUid, false);
    }
    const index = pane.stack?.indexOfSop(sopUid) ?? -1;
    if (index < 0) return false;
    await pane.setIndex(index);
    return true;
  }

  private async refreshMeasurements(): Promise<void> {
    await this.book.load(this.caseValue.lesions, this.caseValue.timepoints);
  }

  private async addLesion(body: LesionCreate): Promise<void> {
    try {
      const lesion = await api.addLesion(this.caseId, body);
      this.caseValue = { ...this.caseValue, lesions: [...this.caseValue.lesions, lesion] };
      notify(lesion.kind === 'non_target'
        ? `${lesion.label} added. Record its status at each timepoint.`
        : `${lesion.label} added. Drag across it on an image to measure its ${axisOf(lesion)}.`);
      await this.select(lesion);
    } catch (error) {
      notify(`The lesion was not added: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
    }
  }

  private async setStatus(lesion: Lesion, timepointId: string, status: string): Promise<void> {
    await saveMeasurement(this, lesion, timepointId, { status });
  }

  // -- response, sign-off, report ----------------------------------------------------------

  private async refreshResponse(): Promise<void> {
    try {
      this.responsePanel.render(await api.response(this.caseId), null);
    } catch (error) {
      this.responsePanel.render(null, error);
    }
  }

  private async signOff(tp: Timepoint): Promise<void> {
    try {
      const done = await api.signOff(this.caseId, tp.id);
      this.caseValue = {
        ...this.caseValue,
        timepoints: this.caseValue.timepoints.map((t) => (t.id === tp.id ? { ...t, signed_off_by: done.signed_off_by, signed_off_at: done.signed_off_at } : t)),
      };
      notify(`${this.timepointLabel(tp)} signed off. Later changes to it need a reason.`);
    } catch (error) {
      notify(`Not signed off: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
    }
    await this.refreshResponse();
  }

  private async openReport(format: 'html' | 'pdf'): Promise<void> {
    // Opened now, while the click still counts as the reader's: filled once the report is in.
    const tab = window.open('', '_blank');
    if (tab) tab.document.body.textContent = 'Preparing the report…';
    try {
      const blob = await api.report(this.caseId, format);
      const url = URL.createObjectURL(blob);
      if (tab) tab.location.href = url;
      else location.assign(url);
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      tab?.close();
      notify(`The report could not be made: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
    }
  }
}
