/**
 * The two panes of the review and what they show: each pane's timepoint and series (from
 * the comparison's pairing), their images, the link between them (scroll, zoom, pan,
 * window; through the registration when there is one), presets and scrolling.
 */
import { ApiError, api } from '../api/client';
import type { Timepoint } from '../api/types';
import { h, formatDate } from '../panels/dom';
import { Pairing, comparisonFor } from '../panels/pairing';
import { PanePickers } from '../panels/pickers';
import { allowPrefetch, ReviewPane, type Side } from '../viewport/pane';
import { PRESETS } from '../viewport/presets';
import { SeriesStack } from '../viewport/stack';
import { PaneLink } from '../viewport/sync';
import type { RenderingEngine } from '@cornerstonejs/core';
import { Cine } from './cine';
import type { PanePlace } from './place';
import { SliceScrollbar } from './scrollbar';
import { seriesOf } from './start';
import { SeriesStrip } from './thumbnails';

export interface ViewerHost {
  timepointLabel(tp: Timepoint): string;
  timepoints(): Timepoint[];
  patientId(): string;
  /** The panes show other images or series: calipers and the page's place follow. */
  shown(): void;
  notifyError(text: string): void;
}

export class Viewer {
  readonly panes: ReviewPane[];
  readonly link: PaneLink;
  readonly frames: Record<Side, HTMLDivElement>;
  pairing = new Pairing(null, []);
  hovered: ReviewPane | null = null;
  private readonly controls = new Map<Side, PanePickers>();
  private readonly scrollbars = new Map<Side, SliceScrollbar>();
  private readonly cines = new Map<Side, Cine>();
  private readonly strips = new Map<Side, SeriesStrip>();
  private readonly stackLoads = new Map<string, Promise<SeriesStack>>();
  readonly syncButton = h('button', { type: 'button', class: 'link-toggle', 'aria-pressed': 'true' });
  readonly syncNote = h('span', { class: 'sync-note' });

  constructor(
    engine: RenderingEngine,
    private readonly host: ViewerHost,
  ) {
    this.frames = { left: h('div', { class: 'viewport-frame' }), right: h('div', { class: 'viewport-frame' }) };
    this.panes = [new ReviewPane('left', engine, this.frames.left), new ReviewPane('right', engine, this.frames.right)];
    for (const pane of this.panes) {
      pane.setMessage('Loading images…');
      this.bindPane(pane);
      pane.onImageChange(() => this.host.shown());
      this.scrollbars.set(pane.side, new SliceScrollbar(pane, (index) => void this.goTo(pane, index)));
      this.cines.set(pane.side, new Cine(pane, (index) => this.goTo(pane, index)));
      this.strips.set(pane.side, new SeriesStrip(pane.side, (uid) => void this.seriesChosen(pane.side, uid)));
    }
    this.link = new PaneLink(this.panes[0], this.panes[1]);
    // Shown once the link says what it does: an empty button while a pane has no series.
    this.syncButton.hidden = true;
    this.link.onSourceChange((source) => {
      this.syncButton.hidden = false;
      this.syncButton.textContent = source === 'unlinked' ? 'Link viewports' : 'Unlink viewports';
      this.syncButton.setAttribute('aria-pressed', source === 'unlinked' ? 'false' : 'true');
      this.syncNote.textContent = source === 'registration'
        ? 'Linked through the registration'
        : source === 'position' ? 'Linked by patient position' : 'Not linked';
    });
    this.syncButton.addEventListener('click', () => this.link.setLinked(!this.link.linked));
  }

  pane(side: Side): ReviewPane {
    return side === 'left' ? this.panes[0] : this.panes[1];
  }

  /** The column of one pane: its pickers, the image and its scrollbar, cine and the series' thumbnails, the pairing's reasons. */
  column(side: Side): HTMLElement {
    const pickers = new PanePickers(side, () => void this.timepointChanged(), () => void this.seriesChanged(side));
    this.controls.set(side, pickers);
    return h('div', { class: `pane pane-${side}` },
      h('div', { class: 'pane-bar' }, pickers.timepoint, pickers.series),
      h('div', { class: 'pane-stage' }, this.frames[side], this.scrollbars.get(side)!.element),
      h('div', { class: 'pane-foot' }, this.cines.get(side)!.element, this.strips.get(side)!.element),
      pickers.pairing);
  }

  cine(pane: ReviewPane): Cine {
    return this.cines.get(pane.side)!;
  }

  /** Open the two timepoints, on the place's series and images when they exist. */
  async open(left: Timepoint, right: Timepoint, pairing: Pairing, place: { left: PanePlace; right: PanePlace }): Promise<void> {
    this.pairing = pairing;
    const tps = this.host.timepoints();
    this.controls.get('left')!.fillTimepoints(tps, (tp) => this.host.timepointLabel(tp), left);
    this.controls.get('right')!.fillTimepoints(tps, (tp) => this.host.timepointLabel(tp), right);
    await this.showPair(left, right, place);
  }

  /** What each pane shows now, for the page's address. */
  place(): { left: PanePlace; right: PanePlace } {
    const of = (p: ReviewPane): PanePlace => ({
      timepoint: p.timepointId ?? undefined,
      series: p.stack?.seriesUid,
      image: p.image?.sopInstanceUid,
      frame: p.image?.frame ?? undefined,
    });
    return { left: of(this.panes[0]), right: of(this.panes[1]) };
  }

  private timepoint(id: string): Timepoint {
    const tps = this.host.timepoints();
    return tps.find((t) => t.id === id) ?? tps[0];
  }

  private showPairs(): void {
    for (const pane of this.panes) {
      const shown = pane.stack?.seriesUid ?? null;
      this.controls.get(pane.side)!.showPair(this.pairing, shown);
      if (pane.timepointId) this.strips.get(pane.side)!.show(this.pairing, pane.timepointId, shown);
      this.scrollbars.get(pane.side)!.update();
    }
  }

  pairingFailed(error: unknown): void {
    this.host.notifyError(`Series could not be paired: ${error instanceof ApiError ? error.detail : String(error)}`);
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

  /** Show a pair of series of two timepoints (the place's, else the pairing's), the right pane following the left. */
  private async showPair(left: Timepoint, right: Timepoint, place?: { left: PanePlace; right: PanePlace }): Promise<void> {
    this.cines.forEach((c) => c.stop());
    const [defaultLeft, defaultRight] = this.pairing.defaultSeries(left, right);
    const leftSeries = seriesOf(this.pairing, left, place?.left.series, defaultLeft);
    const rightSeries = seriesOf(this.pairing, right, place?.right.series, defaultRight);
    this.controls.get('left')!.fillSeries(this.pairing, left.id, leftSeries);
    this.controls.get('right')!.fillSeries(this.pairing, right.id, rightSeries);
    const [l, r] = await Promise.all([
      leftSeries ? this.loadStack(left.id, leftSeries).catch((e) => this.failed(this.panes[0], e)) : null,
      rightSeries ? this.loadStack(right.id, rightSeries).catch((e) => this.failed(this.panes[1], e)) : null,
    ]);
    if (!leftSeries) this.panes[0].setMessage(this.pairing.nothingToShow(left.id));
    if (!rightSeries) this.panes[1].setMessage(this.pairing.nothingToShow(right.id));
    const wanted = (stack: SeriesStack | null, at: PanePlace | undefined) => {
      const i = stack && at?.image ? stack.indexOfSop(at.image, at.frame ?? null) : -1;
      return i >= 0 ? i : undefined;
    };
    const start = wanted(l, place?.left) ?? (l ? Math.floor(l.images.length / 2) : 0);
    // The right pane opens where the link will keep it: no second draw.
    const rightStart = wanted(r, place?.right) ?? (l && r ? this.link.indexFor('left', l.images[start], r) : undefined);
    performance.mark('nadir:metadata');
    await Promise.all([
      l ? this.panes[0].show(l, left.id, this.paneLabel(left), start) : null,
      r ? this.panes[1].show(r, right.id, this.paneLabel(right), rightStart) : null,
    ]);
    // The thumbnails and the neighbours' prefetch wait until both first images are drawn:
    // before, they went out in the frame between, sharing the connections and the main
    // thread with the second pane's first image. The thumbnails (one small image each)
    // are asked first, so that they do not queue behind the prefetch.
    await Promise.all([l ? this.panes[0].drawn() : null, r ? this.panes[1].drawn() : null]);
    this.showPairs();
    allowPrefetch();
    this.host.shown();
  }

  private failed(pane: ReviewPane, error: unknown): null {
    pane.setMessage(`The images could not be loaded: ${error instanceof ApiError ? error.detail : String(error)}`);
    return null;
  }

  private paneLabel(tp: Timepoint) {
    return { timepoint: this.host.timepointLabel(tp), date: formatDate(tp.date) };
  }

  private async timepointChanged(): Promise<void> {
    const left = this.timepoint(this.controls.get('left')!.timepoint.value);
    const right = this.timepoint(this.controls.get('right')!.timepoint.value);
    const comparison = await comparisonFor(this.host.patientId(), left, right).catch((e) => {
      this.pairingFailed(e);
      return null;
    });
    this.pairing = new Pairing(comparison, this.pairing.studies);
    await this.showPair(left, right);
    void this.watchRegistration();
  }

  /** A thumbnail was chosen: as if from the pane's series picker. */
  private async seriesChosen(side: Side, seriesUid: string): Promise<void> {
    const picker = this.controls.get(side)!.series;
    if (picker.value === seriesUid && this.pane(side).stack?.seriesUid === seriesUid) return;
    picker.value = seriesUid;
    await this.seriesChanged(side);
  }

  private async seriesChanged(side: Side): Promise<void> {
    const pane = this.pane(side);
    const other = this.pane(side === 'left' ? 'right' : 'left');
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
  async switchSeries(pane: ReviewPane, seriesUid: string, keepPosition = true): Promise<void> {
    const timepointId = pane.timepointId;
    if (!timepointId) return;
    const before = pane.image;
    this.cines.get(pane.side)!.stop();
    const stack = await this.loadStack(timepointId, seriesUid).catch((e) => this.failed(pane, e));
    if (!stack) return;
    const index = before && keepPosition ? stack.nearestTo(before.positionMm) : undefined;
    await pane.show(stack, timepointId, this.paneLabel(this.timepoint(timepointId)), index);
    this.controls.get(pane.side)!.series.value = seriesUid;
    this.showPairs();
    this.host.shown();
  }

  /** Show an image of the pane's timepoint, switching series when needed; false when it is not there. */
  async showImage(pane: ReviewPane, seriesUid: string | null, sopUid: string, frame: number | null = null): Promise<boolean> {
    if (seriesUid && pane.stack?.seriesUid !== seriesUid && pane.timepointId) {
      if (!this.pairing.study(pane.timepointId)?.series.some((s) => s.series_instance_uid === seriesUid)) return false;
      await this.switchSeries(pane, seriesUid, false);
    }
    const index = pane.stack?.indexOfSop(sopUid, frame) ?? -1;
    if (index < 0) return false;
    await pane.setIndex(index);
    return true;
  }

  /** Use the registration of the pair shown once it is done; `follow`: move the right pane to it then. */
  async watchRegistration(follow = true): Promise<void> {
    const comparison = this.pairing.comparison;
    this.link.setRegistration(null);
    if (!comparison) return;
    const leftIsBaseline = comparison.baseline_study_uid === this.panes[0].timepointId;
    for (let attempt = 0; attempt < 90 && this.pairing.comparison === comparison; attempt++) {
      const registration = await api.registration(comparison.id).catch(() => null);
      if (!registration) return; // no registration endpoint yet, or none for this pair
      if (registration.status === 'done') {
        this.link.setRegistration(registration.matrix, leftIsBaseline);
        // A pane restored from the page's address keeps its image.
        if (follow) await this.link.follow(this.panes[0]);
        return;
      }
      if (registration.status === 'failed') {
        this.syncNote.title = `Registration failed: ${registration.reason ?? 'no reason given'}; scrolling follows patient positions.`;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

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

  async scroll(pane: ReviewPane, delta: number): Promise<void> {
    await pane.scrollBy(delta);
    await this.link.follow(pane);
  }

  /** Show image `index` (0-based) of the pane's series (the scrollbar, cine, Home and End); the link follows. */
  async goTo(pane: ReviewPane, index: number): Promise<void> {
    await pane.setIndex(index);
    await this.link.follow(pane);
  }

  applyPreset(key: string, pane?: ReviewPane): void {
    const preset = PRESETS.find((p) => p.key === key);
    if (!preset) return;
    const targets = this.link.linked || !pane ? this.panes : [pane];
    for (const p of targets) if (p.stack) p.followWindow(preset);
  }

  resetCameras(): void {
    this.panes.forEach((p) => p.resetCamera());
  }
}
