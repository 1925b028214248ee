/**
 * Second readings in the review (issue 21): the reader toggle in the toolbar (whose calipers
 * the panes show: this case's own, editable as ever, another signed-off reading of the same
 * studies, read-only, or all of them; R cycles), the other readings' calipers on the panes
 * (viewport/lines.ts: outside cornerstone, so nothing changes them by accident) and the
 * readings table (panels/readings.ts). The reader of a blinded review that is not signed off
 * everywhere is never shown either, and this page does not ask for them (review/readerchoice.ts).
 */
import { ApiError, api } from '../api/client';
import type { Case, CaseReadings, Measurement } from '../api/types';
import { coalesced, h, mm } from '../panels/dom';
import { ReadingsPanel } from '../panels/readings';
import { statusWords } from '../panels/words';
import type { ReadOnlyCaliper } from '../viewport/lines';
import type { ReviewPane } from '../viewport/pane';
import {
  choices,
  nextChoice,
  readingName,
  readingOptions,
  readingsToAsk,
  shown,
  validChoice,
  type ReaderChoice,
  type ReadingOption,
} from './readerchoice';
import type { ReviewState } from './state';

/** Each other reading's colour on the panes, in the toggle's order (this case's calipers stay cyan). */
const READER_COLOURS = ['rgb(255, 150, 40)', 'rgb(235, 110, 255)', 'rgb(140, 255, 120)'];

export interface ReaderHooks {
  panes(): ReviewPane[];
  /** Whose calipers show changed: this case's calipers, the tools and the address follow. */
  changed(): void;
}

/** Another case's reading, as the server holds it. */
interface OtherReading {
  case: Case;
  measurements: Measurement[];
}

export class ReaderDesk {
  /** The toolbar's group of reader buttons (`[data-reader-toggle]`), hidden while there is no other reading. */
  readonly toggle = h('span', { class: 'readers', role: 'group', 'aria-label': 'Whose calipers the panes show (R)', hidden: true, dataset: { readerToggle: '' } });
  /** What the panes cannot show of the readings chosen (copies of the studies). */
  readonly note = h('span', { class: 'reader-note', role: 'status', hidden: true, dataset: { readerNote: '' } });
  readonly panel: ReadingsPanel;
  private options: ReadingOption[] = [];
  private choice: ReaderChoice;
  private readonly others = new Map<number, OtherReading>();
  private generation = 0;
  /** The readings answered for this page once (then they are read again after changes). */
  private active = false;

  constructor(
    private readonly state: ReviewState,
    private readonly hooks: ReaderHooks,
    wanted?: ReaderChoice,
  ) {
    this.choice = wanted ?? state.caseId;
    this.panel = new ReadingsPanel({ timepointName: (tp, i) => this.timepointName(tp, i) });
  }

  /** The choice to keep in the page's address (undefined: this case's own reading). */
  get current(): ReaderChoice | undefined {
    return this.choice === this.state.caseId ? undefined : this.choice;
  }

  /** Whether this case's own calipers show (else the panes show another reading only). */
  ownShown(): boolean {
    return shown(this.choice, this.options).own;
  }

  /** The reading the panes show instead of this case's, named; null while this case's show. */
  viewing(): string | null {
    if (this.ownShown()) return null;
    return shown(this.choice, this.options).others.map(readingName).join(', ') || null;
  }

  /** The case changed (a change, a sign-off that may lift a blind): read the readings again soon. */
  readonly refreshSoon = coalesced(() => void this.refresh());

  /** Ask for the readings when this reader may see them; show the toggle and the table. */
  async refresh(): Promise<void> {
    const generation = ++this.generation;
    const primary = readingsToAsk(this.state.case, this.state.me);
    if (primary === null) {
      this.clear();
      return;
    }
    let readings: CaseReadings;
    try {
      readings = await api.readings(primary);
    } catch (error) {
      if (generation !== this.generation) return;
      // 403 (blinded, or not a reader's case) and 409: nothing of the readings for this page.
      if (error instanceof ApiError && [403, 404, 409].includes(error.status)) this.clear();
      else if (this.active) this.panel.render(null, error);
      return;
    }
    if (generation !== this.generation) return;
    this.active = true;
    const options = readingOptions(this.state.case, readings);
    await this.loadOthers(options);
    if (generation !== this.generation) return;
    this.options = options;
    const before = this.choice;
    this.choice = validChoice(this.choice, this.state.caseId, options);
    this.renderToggle();
    if (readings.reviews.length || readings.pending_reviews.length) this.panel.render(readings);
    else this.panel.hide();
    this.redraw();
    if (before !== this.choice || options.length) this.hooks.changed();
  }

  /** Show another reading (or all): the buttons, the key R and the address choose it. */
  choose(choice: ReaderChoice): void {
    if (!choices(this.options).includes(choice) || choice === this.choice) return;
    this.choice = choice;
    this.showChoice();
    this.redraw();
    this.hooks.changed();
  }

  /** R: the next reading in the toggle's order; false when there is no toggle. */
  cycle(): boolean {
    if (!this.options.length) return false;
    this.choose(nextChoice(this.choice, this.options));
    return true;
  }

  /** Draw the chosen other readings' calipers on the panes (or none). */
  redraw(): void {
    const { others } = shown(this.choice, this.options);
    const calipers: ReadOnlyCaliper[] = [];
    const onCopies: string[] = [];
    const mine = new Set(others.length ? this.state.case.timepoints.map((t) => t.id) : []);
    others.forEach((o) => {
      const reading = this.others.get(o.caseId);
      if (!reading) return;
      // A review over de-identified copies has other UIDs: its calipers lie on other images.
      if (!reading.case.timepoints.some((t) => mine.has(t.id))) {
        onCopies.push(readingName(o));
        return;
      }
      const colour = READER_COLOURS[(this.options.indexOf(o) - 1) % READER_COLOURS.length];
      calipers.push(...caliperShapes(o, reading, colour));
    });
    for (const pane of this.hooks.panes()) pane.setReadOnlyCalipers(calipers);
    this.note.textContent = onCopies.length
      ? `${onCopies.join(', ')}: read on de-identified copies of the studies (other image UIDs); their calipers are not drawn here, the readings table compares them.`
      : '';
    this.note.hidden = !onCopies.length;
  }

  private async loadOthers(options: ReadingOption[]): Promise<void> {
    const wanted = options.slice(1).filter((o) => !this.others.has(o.caseId));
    await Promise.all(wanted.map(async (o) => {
      try {
        const [c, m] = await Promise.all([api.case(o.caseId), api.measurements(o.caseId)]);
        this.others.set(o.caseId, { case: c, measurements: m.measurements });
      } catch {
        /* not readable now: offered in the toggle, drawn once it is read (the next refresh) */
      }
    }));
  }

  private clear(): void {
    const had = this.options.length > 0;
    this.active = false;
    this.options = [];
    this.choice = this.state.caseId;
    this.toggle.hidden = true;
    this.toggle.replaceChildren();
    this.panel.hide();
    this.redraw();
    if (had) this.hooks.changed();
  }

  /** The pressed button says what the panes show (the buttons stay: the focus stays on them). */
  private showChoice(): void {
    for (const b of this.toggle.querySelectorAll<HTMLButtonElement>('button[data-reader]')) {
      b.setAttribute('aria-pressed', String(b.dataset.reader === String(this.choice)));
    }
  }

  /** One button per choice; the one focused before keeps the focus. */
  private renderToggle(): void {
    const focused = this.toggle.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.reader : undefined;
    const buttons = choices(this.options).map((choice) => {
      const option = this.options.find((o) => o.caseId === choice);
      const label = option ? (option.kind === 'this case' ? `${option.reader || 'This case'} (own)` : option.reader || `Case ${option.caseId}`) : this.options.length === 2 ? 'Both' : 'All';
      const colour = option && option.kind !== 'this case' ? READER_COLOURS[(this.options.indexOf(option) - 1) % READER_COLOURS.length] : null;
      const button = h('button', {
        type: 'button',
        class: 'reader',
        'aria-pressed': String(choice === this.choice),
        title: option ? `Show ${readingName(option)}'s calipers${option.kind === 'this case' ? '' : ', read-only'} (R: next reading)` : 'Show every reading\'s calipers at once (R: next reading)',
        dataset: { reader: String(choice) },
        onclick: () => this.choose(choice),
      }, colour ? h('span', { class: 'reader-swatch', style: `background: ${colour}` }) : null, label);
      return button;
    });
    this.toggle.replaceChildren(h('span', { class: 'readers-label' }, 'Calipers:'), ...buttons);
    this.toggle.hidden = buttons.length === 0;
    buttons.find((b) => b.dataset.reader === focused)?.focus();
  }

  /** A timepoint of the primary case in words: this case's name for it, else its place. */
  private timepointName(timepointId: string, index: number): string {
    if (this.state.case.timepoints.some((t) => t.id === timepointId)) return this.state.timepointName(timepointId);
    return index <= 0 ? 'Baseline' : `Follow-up ${index}`;
  }
}

/** One other reading's calipers: each measurement with a caliper, its fragments, or its point. */
function caliperShapes(o: ReadingOption, reading: OtherReading, colour: string): ReadOnlyCaliper[] {
  const lesions = new Map(reading.case.lesions.filter((l) => !l.deleted_at).map((l) => [l.id, l]));
  const who = o.reader || `case ${o.caseId}`;
  const out: ReadOnlyCaliper[] = [];
  for (const m of reading.measurements) {
    const lesion = lesions.get(m.lesion_id);
    if (!lesion) continue;
    const base = { readerCaseId: o.caseId, lesionId: lesion.id, timepointId: m.timepoint_id, colour };
    const what = m.length_mm !== null && m.length_mm !== undefined ? mm(m.length_mm) : m.status ? statusWords(m.status) : '—';
    const label = `${who}: ${lesion.label} ${what}`;
    if (m.fragments?.length) {
      // Each fragment on its own image; the label gives the lesion's sum (RECIST 1.1 s4.3.2).
      for (const f of m.fragments) {
        out.push({ ...base, sopInstanceUid: f.sop_instance_uid, frame: f.frame ?? null, lines: [f.endpoints], point: null, label: `${label} (fragment ${mm(f.length_mm)})` });
      }
    } else if (m.sop_instance_uid && m.endpoints?.length === 2) {
      const lines = m.short_axis_endpoints?.length === 2 ? [m.endpoints, m.short_axis_endpoints] : [m.endpoints];
      out.push({ ...base, sopInstanceUid: m.sop_instance_uid, frame: m.frame ?? null, lines, point: null, label });
    } else if (m.sop_instance_uid && m.point?.length === 2) {
      out.push({ ...base, sopInstanceUid: m.sop_instance_uid, frame: m.frame ?? null, lines: [], point: m.point, label });
    }
  }
  return out;
}
