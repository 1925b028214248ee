/**
 * /cases/{id}: the review, wired from its parts in review/ (OHIF's split of a mode into
 * layout, viewports, tools and panels):
 *   review/layout.ts     where everything goes, the header, the page for a case that cannot open
 *   review/viewer.ts     the two panes: timepoints, series, images, their link, presets, scrolling
 *   review/toolbar.ts    the toolbar's buttons; review/tools.ts the tools at work in the panes;
 *   review/keys.ts       the keyboard shortcuts
 *   review/measuring.ts  measurements, saves in flight, undo and redo (review/history.ts)
 *   review/lesions.ts    the selected lesion; adding, changing and deleting lesions
 *   review/signoff.ts    the response panel, sign-off and the report
 *   review/changes.ts    changes made elsewhere, as the case's event stream reports them
 *   review/readers.ts    a case read twice: whose calipers show, and the readings table
 *   review/studies.ts    the studies left out of the reading and the images flagged on arrival
 *   review/state.ts      what they share: the case, the reader, the selected lesion
 * This module only builds them, connects them, and keeps the place in the address.
 */
import { api } from '../api/client';
import { BidirectionalCaliperTool, Calipers, CaliperTool } from '../measure/caliper';
import { notify } from '../panels/dialogs';
import { fill, h } from '../panels/dom';
import { LesionPanel } from '../panels/lesions';
import { Pairing } from '../panels/pairing';
import { CaseFollower } from '../review/changes';
import { KeyHelp } from '../review/help';
import { bindKeys } from '../review/keys';
import { headerContent, problemPage, reviewLayout } from '../review/layout';
import { LesionDesk } from '../review/lesions';
import { MeasureDesk } from '../review/measuring';
import { formatPlace, type Place } from '../review/place';
import { ReaderDesk } from '../review/readers';
import { SignOffDesk } from '../review/signoff';
import type { ReviewStart } from '../review/start';
import { ReviewState } from '../review/state';
import { StudiesPanel } from '../review/studies';
import { Toolbar } from '../review/toolbar';
import { ToolDesk } from '../review/tools';
import { Viewer } from '../review/viewer';
import { startCornerstone } from '../viewport/cornerstone';
import type { Side } from '../viewport/pane';

export async function reviewPage(root: HTMLElement, start: ReviewStart): Promise<void> {
  await new ReviewPage(root, start).start();
}

class ReviewPage {
  private readonly state: ReviewState;
  private readonly measure: MeasureDesk;
  private readonly lesions: LesionDesk;
  private readonly lesionPanel: LesionPanel;
  private readonly signOff: SignOffDesk;
  private readonly studies: StudiesPanel;
  private readonly follower: CaseFollower;
  private readonly readers: ReaderDesk;
  private viewer!: Viewer;
  private tools!: ToolDesk;
  private toolbar: Toolbar | null = null;
  private calipers: Calipers | null = null;
  private fragmentsOf: number | null = null;
  private opened = false;
  private readonly header = h('div', { class: 'header-slot' });
  /** Settles once both panes have drawn their first image (or the case could not open). */
  private readonly firstImages: Promise<void>;
  private firstImagesDrawn!: () => void;

  constructor(
    private readonly root: HTMLElement,
    private readonly begun: ReviewStart,
  ) {
    this.firstImages = new Promise((resolve) => (this.firstImagesDrawn = resolve));
    const state = (this.state = new ReviewState(begun.caseId));
    this.readers = new ReaderDesk(state, {
      panes: () => this.viewer.panes,
      changed: () => {
        this.tools?.apply();
        this.savePlace();
      },
    }, begun.place.readers);
    this.measure = new MeasureDesk(state, {
      panes: () => this.viewer.panes,
      drawing: () => this.tools.drawing(),
      ownShown: () => this.readers.ownShown(),
    });
    this.lesions = new LesionDesk(state, this.measure, {
      viewer: () => this.viewer,
      selectionChanged: () => this.selectionChanged(),
      lesionsChanged: () => this.refreshSoon(),
    });
    const { book, pending, history: undo } = this.measure;
    this.lesionPanel = new LesionPanel({
      book,
      pending,
      get canMeasure() {
        return state.canMeasure();
      },
      caseData: () => state.case,
      selectedId: () => state.selectedId,
      select: (lesion) => void this.lesions.select(lesion),
      addLesion: (body) => this.lesions.add(body),
      setStatus: async (lesion, tp, status) => void (await this.measure.setStatus(lesion, tp, status)),
      fragmentMode: () => state.fragmentMode,
      setFragmentMode: (on) => {
        state.fragmentMode = on;
        this.lesionPanel.render();
      },
      mergeInto: async (lesion, tp, into) => void (await this.measure.mergeInto(lesion, tp, into)),
      changeLesion: (lesion, changes) => this.lesions.change(lesion, changes),
      deleteLesion: (lesion) => this.lesions.delete(lesion),
      retry: (lesionId, tp) => this.measure.retry(lesionId, tp),
      discard: (lesionId, tp) => this.measure.discard(lesionId, tp),
      timepointLabel: (tp) => state.timepointLabel(tp),
    });
    this.signOff = new SignOffDesk({
      caseId: state.caseId,
      get canSignOff() {
        return state.canMeasure();
      },
      caseData: () => state.case,
      setCase: (c) => {
        state.case = c;
        // A sign-off may lift the blind of this reader's own review.
        this.readers.refreshSoon();
      },
      timepointLabel: (tp) => state.timepointLabel(tp),
      timepointName: (id) => state.timepointName(id),
      markNotEvaluable: async (lesionId, tp, status) => {
        const lesion = state.lesion(lesionId);
        return lesion ? this.measure.setStatus(lesion, tp, status) : false;
      },
    });
    this.studies = new StudiesPanel({
      caseData: () => state.case,
      canSetDate: () => state.canMeasure(),
      // The study becomes a timepoint: open the case again, as the server now dates it.
      dated: () => location.reload(),
    });
    this.follower = new CaseFollower(state, this.measure, {
      forget: (lesionId) => this.lesions.forget(lesionId),
      selectionChanged: () => this.selectionChanged(),
      responseChanged: () => this.refreshSoon(),
      closed: (refusal) => this.root.replaceChildren(...problemPage(state.caseId, refusal)),
    });
    // The lesion list, the response panel, its chart and the readings change together with the book.
    book.onChange(() => this.refreshSoon());
    // Leaving the case (closing the tab, Back, another address) while a change is still being
    // saved, or was not saved and waits for Retry or Discard, or with a lesion's label or
    // organ typed and not sent: the browser asks the reader first, in its own words (a page
    // cannot choose them). Nothing else holds the page.
    window.addEventListener('beforeunload', (event) => {
      if (!pending.all().length && !this.lesionPanel.drafts.holdsPage()) return;
      event.preventDefault();
      event.returnValue = '';
    });
    undo.onChange(() => this.toolbar?.showHistory(undo.stack.canUndo, undo.stack.canRedo, undo.busy, undo.waiting));
    pending.onChange(() => this.lesionPanel.render());
  }

  async start(): Promise<void> {
    performance.mark('nadir:viewer-code');
    const engine = startCornerstone([CaliperTool as never, BidirectionalCaliperTool as never]);
    const state = this.state;
    this.viewer = new Viewer(engine, {
      timepointLabel: (tp) => state.timepointLabel(tp),
      timepoints: () => state.case.timepoints,
      patientId: () => state.case.patient_id,
      shown: () => {
        this.calipers?.redraw();
        this.readers.redraw();
        this.savePlace();
      },
      notifyError: (text) => notify(text, 'error'),
    });
    const undo = this.measure.history;
    const keyHelp = new KeyHelp();
    const toolbar = (this.toolbar = new Toolbar({
      chooseTool: (tool) => this.tools.tools.set(tool),
      showKeys: () => keyHelp.open(),
      undo: () => void undo.undo(),
      redo: () => void undo.redo(),
      applyPreset: (key) => this.viewer.applyPreset(key),
      resetView: () => this.viewer.resetCameras(),
    }, [this.viewer.syncButton, this.viewer.syncNote], [this.readers.toggle, this.readers.note]));
    this.tools = new ToolDesk(state, toolbar, {
      selectOnly: (lesion) => this.lesions.selectOnly(lesion),
      viewing: () => this.readers.viewing(),
    });
    this.root.replaceChildren(reviewLayout({
      header: this.header,
      toolbar: toolbar.element,
      advice: toolbar.advice,
      panes: [this.viewer.column('left'), this.viewer.column('right')],
      side: [this.lesionPanel.element, this.signOff.panel.element, this.readers.panel.element, this.studies.element],
      me: () => this.firstImages.then(() => api.me()),
    }));
    this.calipers = new Calipers(this.measure);
    this.tools.attach(this.viewer.panes, engine.id, this.calipers);
    bindKeys({
      hovered: () => this.viewer.hovered,
      panes: () => this.viewer.panes,
      scroll: (pane, delta) => void this.viewer.scroll(pane, delta),
      goTo: (pane, index) => void this.viewer.goTo(pane, index),
      toggleCine: (pane) => this.viewer.cine(pane).toggle(),
      help: () => keyHelp.toggle(),
      applyPreset: (key, pane) => this.viewer.applyPreset(key, pane),
      chooseTool: (tool) => this.tools.tools.set(tool),
      undo: () => void undo.undo(),
      redo: () => void undo.redo(),
      escape: () => {
        this.tools.tools.set('windowlevel');
        this.lesions.deselect();
      },
      cycleReader: () => this.readers.cycle(),
    });
    this.exposeForTests();
    let loaded: Awaited<ReviewStart['loaded']>;
    try {
      loaded = await this.begun.loaded;
    } catch (error) {
      this.firstImagesDrawn();
      this.root.replaceChildren(...problemPage(state.caseId, error));
      return;
    }
    state.case = loaded.case;
    if (loaded.comparisonError) this.viewer.pairingFailed(loaded.comparisonError);
    const place = this.begun.place;
    await this.viewer.open(loaded.left, loaded.right, new Pairing(loaded.comparison, loaded.studies), place);
    // Everything below is not needed for the first images: who is signed in (the role
    // decides the tools; the header names them) is asked only now, after the frame that
    // shows both images, so that they wait on fewer requests.
    await new Promise((resolve) => requestAnimationFrame(resolve));
    this.firstImagesDrawn();
    const meLoad = api.me().catch(() => state.me);
    fill(this.header, headerContent(state.case));
    state.me = await meLoad;
    document.body.dataset.role = state.me.role;
    this.tools.apply();
    if (!state.canMeasure()) notify('Read-only: your role views this case but does not measure or sign off.');
    this.lesionPanel.render();
    this.studies.render();
    void this.signOff.refresh();
    void this.readers.refresh();
    await this.measure.reload();
    const restored = place.lesion ? state.lesion(place.lesion) : undefined;
    if (restored) this.lesions.selectOnly(restored);
    this.opened = true;
    // For automation: the role, the readings and the saved place are in; the page is usable.
    document.body.dataset.opened = 'true';
    this.savePlace();
    this.follower.start();
    void this.viewer.watchRegistration(!place.right.image);
  }

  /** The case's reading changed: the response and the readings are read again (once for several changes). */
  private refreshSoon(): void {
    this.signOff.refreshSoon();
    this.readers.refreshSoon();
  }

  /** The selection or the lesions changed: the tools, the lesion panel and the address follow. */
  private selectionChanged(): void {
    // "Add fragment" belongs to the lesion it was turned on for.
    if (this.state.selectedId !== this.fragmentsOf) this.state.fragmentMode = false;
    this.fragmentsOf = this.state.selectedId;
    this.tools?.selectionChanged();
    this.lesionPanel.render();
    this.savePlace();
  }

  /** Keep the place in the address (replaceState: no new history entry per image). */
  private savePlace(): void {
    if (!this.opened) return;
    const readers = this.readers.current;
    const place: Place = {
      ...this.viewer.place(),
      ...(this.state.selectedId ? { lesion: this.state.selectedId } : {}),
      ...(readers ? { readers } : {}),
    };
    // The case's own path: after a Back that the reader declined to leave on (a change not
    // saved), the address is put back to this case's.
    const address = `/cases/${this.state.caseId}${formatPlace(place)}`;
    if (address !== location.pathname + location.search) history.replaceState(history.state, '', address);
  }

  /** For browser tests and benchmarks: where an image point is on the page. */
  private exposeForTests(): void {
    const pane = (side: Side) => this.viewer.panes.find((p) => p.side === side);
    (window as unknown as { nadirReview: unknown }).nadirReview = {
      imageToClient: (side: Side, row: number, column: number) => pane(side)?.imageToClient(row, column) ?? null,
      pixel: (side: Side, row: number, column: number) => pane(side)?.pixel(row, column) ?? null,
      cached: (side: Side) => [pane(side)?.cachedCount() ?? 0, pane(side)?.stack?.images.length ?? 0],
      window: (side: Side) => pane(side)?.getWindow() ?? null,
    };
  }
}
