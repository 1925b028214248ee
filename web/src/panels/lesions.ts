/**
 * The lesion panel: each lesion with its kind, organ, label and its length or status at
 * each timepoint; selecting one (it is then drawn on); adding one; setting a status.
 */
import type { Case, Lesion, LesionCreate, LesionPatch, Timepoint } from '../api/types';
import { axisOf } from '../measure/caliper';
import type { MeasurementBook } from '../measure/book';
import type { PendingSave, PendingSaves } from '../measure/pending';
import { fill, h, mm } from './dom';
import { Drafts, keepDraft } from './drafts';
import { KIND_NAMES, LESION_KINDS, statusWords, statusesFor } from './words';
import { tenths } from '../figures';

export interface LesionPanelHost {
  readonly book: MeasurementBook;
  readonly pending: PendingSaves;
  readonly canMeasure: boolean;
  caseData(): Case;
  selectedId(): number | null;
  select(lesion: Lesion): void;
  /** Whether the lesion was added (else the reader was told why). */
  addLesion(body: LesionCreate): Promise<boolean>;
  setStatus(lesion: Lesion, timepointId: string, status: string): Promise<void>;
  /** "Add fragment" (RECIST 1.1 s4.3.2): whether a new caliper joins the lesion's others. */
  fragmentMode(): boolean;
  setFragmentMode(on: boolean): void;
  /** RECIST 1.1 s4.3.2: the lesion has merged into `into` at the timepoint. */
  mergeInto(lesion: Lesion, timepointId: string, into: Lesion): Promise<void>;
  /** Whether the change was stored (else the reader was told why). */
  changeLesion(lesion: Lesion, changes: LesionPatch): Promise<boolean>;
  deleteLesion(lesion: Lesion): Promise<void>;
  retry(lesionId: number, timepointId: string): void;
  discard(lesionId: number, timepointId: string): void;
  timepointLabel(tp: Timepoint): string;
}

export class LesionPanel {
  readonly element = h('section', { class: 'panel lesions', 'aria-label': 'Lesions' });
  /** What the reader has put in the forms and not sent: drawn again with each form. */
  readonly drafts = new Drafts();
  private deferred = false;

  constructor(private readonly host: LesionPanelHost) {
    host.book.onChange(() => this.render());
  }

  /**
   * Render again; while the reader types in one of the panel's forms, once they are done with
   * it. Drawing replaces the forms, so a render in between would drop what was typed and
   * could take the button away between the press and the release of a click (the click is
   * then lost): the render waits until the focus leaves the form, or a button of the form has
   * been clicked (after the click's own work), and in either case until no mouse button is
   * held down.
   */
  render(): void {
    const focused = document.activeElement;
    if (focused && this.element.contains(focused) && focused.matches('input, textarea, select')) {
      if (!this.deferred) {
        this.deferred = true;
        afterTheReader(focused, () => {
          this.deferred = false;
          this.render();
        });
      }
      return;
    }
    // Unfolded forms stay unfolded.
    const open = new Set([...this.element.querySelectorAll('details[open]')].map((d) => d.className));
    this.draw();
    for (const d of this.element.querySelectorAll('details')) if (open.has(d.className)) d.open = true;
  }

  private draw(): void {
    const c = this.host.caseData();
    const selected = this.host.selectedId();
    const list = h(
      'ul',
      { class: 'lesion-list', role: 'listbox', 'aria-label': 'Lesions of this case' },
      c.lesions.map((lesion) => this.item(lesion, c.timepoints, lesion.id === selected)),
    );
    const empty = c.lesions.length === 0 ? h('p', { class: 'hint' }, 'No lesion recorded yet.') : null;
    const selectedLesion = c.lesions.find((l) => l.id === selected) ?? null;
    // A deleted lesion's forms are gone, and their drafts with them.
    const ids = new Set(c.lesions.map((l) => String(l.id)));
    this.drafts.retain((key) => key === ADD_FORM || ids.has(key.slice(key.indexOf(':') + 1)));
    fill(this.element,
      h('h2', {}, 'Lesions'),
      c.images_missing
        ? h('p', { class: 'warning' }, `${c.missing_images.length || 'Some'} image(s) measured on are no longer in the PACS: their measurements still count, but cannot be shown.`)
        : null,
      list,
      empty,
      this.host.canMeasure ? this.drawHint(selectedLesion) : h('p', { class: 'hint' }, 'Read-only: your role views measurements but does not record them.'),
      this.host.canMeasure && selectedLesion ? this.statusForm(selectedLesion, c.timepoints) : null,
      this.host.canMeasure && selectedLesion ? this.splitForm(selectedLesion, c) : null,
      this.host.canMeasure && selectedLesion ? this.editForm(selectedLesion) : null,
      this.host.canMeasure ? this.addForm(c.timepoints) : null,
    );
  }

  private item(lesion: Lesion, timepoints: Timepoint[], selected: boolean): HTMLElement {
    const cells = timepoints.map((tp) => {
      const current = this.host.book.get(lesion.id, tp.id)?.value;
      let text = '—';
      const into = current?.coalesced_into ? this.host.caseData().lesions.find((l) => l.id === current.coalesced_into) : undefined;
      if (current?.coalesced_into) text = `merged into ${into?.label ?? 'another lesion'}`;
      else if (current?.fragments?.length) text = `${mm(current.length_mm)} (${current.fragments.map((f) => tenths(f.length_mm)).join(' + ')})`;
      else if (current?.length_mm !== null && current?.length_mm !== undefined && current.status === null) text = mm(current.length_mm);
      else if (current?.status) text = statusWords(current.status) + (current.length_mm ? ` (${mm(current.length_mm)})` : '');
      return h('div', { class: 'cell', title: current ? `version ${current.version} by ${current.author}` : 'not measured' },
        h('span', { class: 'tp' }, this.host.timepointLabel(tp)), h('span', { class: 'value' }, text));
    });
    return h(
      'li',
      {
        role: 'option',
        tabindex: 0,
        'aria-selected': selected ? 'true' : 'false',
        dataset: { lesionId: String(lesion.id) },
        class: selected ? 'lesion selected' : 'lesion',
        onclick: () => this.host.select(lesion),
        onkeydown: (e: KeyboardEvent) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            this.host.select(lesion);
          }
        },
      },
      h('div', { class: 'lesion-head' },
        h('span', { class: 'label' }, lesion.label),
        h('span', { class: `kind kind-${lesion.kind}` }, KIND_NAMES[lesion.kind] ?? lesion.kind),
        h('span', { class: 'organ' }, lesion.organ),
        lesion.kind !== 'non_target' ? h('span', { class: 'axis' }, axisOf(lesion)) : null,
      ),
      h('div', { class: 'cells', style: `--timepoints: ${timepoints.length}` }, cells),
      this.host.pending.ofLesion(lesion.id).map((p) => this.pendingLine(lesion, p, timepoints)),
    );
  }

  /** A change sent and not stored: saving…, or not saved with Retry and Discard. */
  private pendingLine(lesion: Lesion, p: PendingSave, timepoints: Timepoint[]): HTMLElement {
    const tp = timepoints.find((t) => t.id === p.timepointId);
    const where = tp ? this.host.timepointLabel(tp) : '';
    const what = p.body.status ? statusWords(p.body.status)
      : p.body.coalesced_into ? 'merge'
        : p.body.fragments ? `${p.body.fragments.length} fragments`
          : p.drawn !== null ? `${mm(p.drawn)} drawn` : 'caliper';
    const stop = (e: Event) => e.stopPropagation();
    if (p.state === 'saving') {
      return h('div', { class: 'pending saving', dataset: { timepointId: p.timepointId } }, `${where}: ${what}, saving…`);
    }
    return h('div', { class: 'pending save-failed', role: 'alert', dataset: { timepointId: p.timepointId }, onclick: stop, onkeydown: stop },
      h('span', { class: 'what' }, `${where}: ${what} not saved (${p.problem}).`),
      h('button', { type: 'button', dataset: { action: 'retry' }, onclick: () => this.host.retry(lesion.id, p.timepointId) }, 'Retry'),
      h('button', { type: 'button', dataset: { action: 'discard' }, onclick: () => this.host.discard(lesion.id, p.timepointId) }, 'Discard'));
  }

  private drawHint(lesion: Lesion | null): HTMLElement {
    if (!lesion) return h('p', { class: 'hint' }, 'Select a lesion, then with the caliper tool (C) drag across it on an image to measure it.');
    if (lesion.kind === 'non_target') return h('p', { class: 'hint' }, `${lesion.label} is non-target: record its status below; with the caliper tool (C), a click on the image marks where it is.`);
    return h('p', { class: 'hint strong' }, `With the caliper tool (C), drag across ${lesion.label} to measure its ${axisOf(lesion)}, or with the bidirectional tool (B) both diameters; drag an end to correct it.`);
  }

  private statusForm(lesion: Lesion, timepoints: Timepoint[]): HTMLElement {
    const tp = h('select', { name: 'timepoint', 'aria-label': 'Timepoint' },
      timepoints.map((t) => h('option', { value: t.id }, this.host.timepointLabel(t))));
    tp.value = timepoints[timepoints.length - 1]?.id ?? '';
    const status = h('select', { name: 'status', 'aria-label': 'Status' },
      statusesFor(lesion.kind).map((s) => h('option', { value: s }, statusWords(s))));
    const key = `status:${lesion.id}`;
    keepDraft(this.drafts, key, [tp, status], false);
    return h('form', {
      class: 'status-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        this.drafts.clear(key);
        void this.host.setStatus(lesion, tp.value, status.value);
      },
    }, h('label', {}, `Status of ${lesion.label} at `), tp, status, h('button', { type: 'submit' }, 'Set status'));
  }

  /**
   * RECIST 1.1 s4.3.2, lesions that split or coalesce on treatment: "Add fragment" makes the
   * next calipers drawn on this lesion at a timepoint its fragments (the server adds up their
   * longest diameters); "Merged into" records that it coalesced into another target lesion
   * there (it counts 0 mm; the other carries the merged diameter). Target lesions only; a
   * lymph node does not fragment.
   */
  private splitForm(lesion: Lesion, c: Case): HTMLElement | null {
    if (lesion.kind !== 'target') return null;
    const on = this.host.fragmentMode();
    const fragment = lesion.nodal ? null : h('button', {
      type: 'button', class: on ? 'add-fragment active' : 'add-fragment', dataset: { action: 'add-fragment' },
      'aria-pressed': on ? 'true' : 'false',
      title: 'While on, each caliper you draw on this lesion is one more fragment of it at that timepoint; the server adds them up (RECIST 1.1 s4.3.2).',
      onclick: () => this.host.setFragmentMode(!on),
    }, on ? 'Adding fragments: on' : 'Add fragment');
    const followUps = c.timepoints.filter((t) => t.id !== c.baseline_study_uid);
    const others = c.lesions.filter((l) => l.kind === 'target' && l.id !== lesion.id && l.nodal === lesion.nodal);
    const merge = followUps.length && others.length ? this.mergeForm(lesion, followUps, others) : null;
    return h('div', { class: 'split-form' },
      fragment,
      on && fragment ? h('p', { class: 'hint strong' }, `Fragments of ${lesion.label}: draw one caliper per fragment; the sum is the lesion's diameter.`) : null,
      merge);
  }

  private mergeForm(lesion: Lesion, followUps: Timepoint[], others: Lesion[]): HTMLElement {
    const tp = h('select', { name: 'merge-timepoint', 'aria-label': 'Merged at' },
      followUps.map((t) => h('option', { value: t.id }, this.host.timepointLabel(t))));
    tp.value = followUps[followUps.length - 1]?.id ?? '';
    const into = h('select', { name: 'merge-into', 'aria-label': 'Merged into' },
      others.map((l) => h('option', { value: String(l.id) }, l.label)));
    const key = `merge:${lesion.id}`;
    keepDraft(this.drafts, key, [tp, into], false);
    return h('form', {
      class: 'merge-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        this.drafts.clear(key);
        const target = others.find((l) => String(l.id) === into.value);
        if (target) void this.host.mergeInto(lesion, tp.value, target);
      },
    }, h('label', {}, `${lesion.label} merged at `), tp, h('label', {}, ' into '), into,
    h('button', { type: 'submit', dataset: { action: 'merge' } }, 'Mark merged'));
  }

  /** Relabel, change organ, kind or nodal flag (PATCH), or delete (with a reason). */
  private editForm(lesion: Lesion): HTMLElement {
    const label = h('input', { name: 'label', value: lesion.label, maxlength: 64, required: true, 'aria-label': 'Label' });
    const organ = h('input', { name: 'organ', value: lesion.organ, maxlength: 128, required: true, 'aria-label': 'Organ' });
    const kinds = lesion.kind === 'new' ? ['new'] : ['target', 'non_target'];
    const kind = h('select', { name: 'kind', 'aria-label': 'Kind', disabled: lesion.kind === 'new' },
      kinds.map((k) => h('option', { value: k }, KIND_NAMES[k] ?? k)));
    kind.value = lesion.kind;
    const nodal = h('input', { type: 'checkbox', name: 'nodal', checked: lesion.nodal });
    const key = `edit:${lesion.id}`;
    keepDraft(this.drafts, key, [label, organ, kind, nodal], true);
    return h('details', { class: 'edit-lesion' },
      h('summary', {}, `Change or delete ${lesion.label}`),
      h('form', {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const changes: LesionPatch = {};
          if (label.value.trim() !== lesion.label) changes.label = label.value.trim();
          if (organ.value.trim() !== lesion.organ) changes.organ = organ.value.trim();
          if (kind.value !== lesion.kind) changes.kind = kind.value as LesionPatch['kind'];
          if (nodal.checked !== lesion.nodal) changes.nodal = nodal.checked;
          if (!Object.keys(changes).length) {
            this.drafts.clear(key);
            return;
          }
          if (await this.host.changeLesion(lesion, changes)) this.done(key);
        },
      },
      label, organ, kind,
      h('label', { class: 'check' }, nodal, ' Lymph node (short axis)'),
      h('div', { class: 'edit-buttons' },
        h('button', { type: 'submit', class: 'save-lesion' }, 'Save changes'),
        h('button', { type: 'button', class: 'delete-lesion danger', onclick: () => void this.host.deleteLesion(lesion) }, `Delete ${lesion.label}…`))));
  }

  /** The form's change is stored: its draft is gone, and the form shows the stored data. */
  private done(key: string): void {
    this.drafts.clear(key);
    this.render();
  }

  private addForm(timepoints: Timepoint[]): HTMLElement {
    const kind = h('select', { name: 'kind', 'aria-label': 'Kind' },
      LESION_KINDS.map((k) => h('option', { value: k }, KIND_NAMES[k] ?? k)));
    const organ = h('input', { name: 'organ', required: true, placeholder: 'Organ (e.g. lung, liver, lymph node)', maxlength: 128, 'aria-label': 'Organ' });
    const nodal = h('input', { type: 'checkbox', name: 'nodal' });
    const firstSeen = h('select', { name: 'timepoint', 'aria-label': 'First seen at' },
      timepoints.map((t) => h('option', { value: t.id }, this.host.timepointLabel(t))));
    firstSeen.value = timepoints[timepoints.length - 1]?.id ?? '';
    const firstSeenRow = h('label', { class: 'first-seen', hidden: true }, 'First seen at ', firstSeen);
    kind.addEventListener('change', () => (firstSeenRow.hidden = kind.value !== 'new'));
    keepDraft(this.drafts, ADD_FORM, [kind, organ, nodal, firstSeen], true);
    return h('details', { class: 'add-lesion' },
      h('summary', {}, 'Add a lesion'),
      h('form', {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const body: LesionCreate = { kind: kind.value as LesionCreate['kind'], organ: organ.value.trim(), nodal: nodal.checked };
          if (kind.value === 'new') body.timepoint = firstSeen.value;
          if (await this.host.addLesion(body)) this.done(ADD_FORM);
        },
      },
      kind, organ,
      h('label', { class: 'check' }, nodal, ' Lymph node (measured in short axis)'),
      firstSeenRow,
      h('button', { type: 'submit', class: 'primary' }, 'Add lesion')),
    );
  }
}

/** The key of the form that adds a lesion (the others are `<form>:<lesion id>`). */
const ADD_FORM = 'add';

/** Whether a mouse button is held down anywhere on the page (pointer events, capture phase). */
let pointerDown = false;
if (typeof document !== 'undefined') {
  document.addEventListener('pointerdown', () => (pointerDown = true), true);
  for (const type of ['pointerup', 'pointercancel'] as const) {
    document.addEventListener(type, () => (pointerDown = false), true);
  }
}

/** Run `then` once no mouse button is held, after the click that its release makes. */
function oncePointerFree(then: () => void): void {
  if (!pointerDown) {
    setTimeout(then, 0);
    return;
  }
  // The click is dispatched with the release, in the same task: a timer runs after it.
  const released = () => {
    document.removeEventListener('pointerup', released, true);
    document.removeEventListener('pointercancel', released, true);
    setTimeout(then, 0);
  };
  document.addEventListener('pointerup', released, true);
  document.addEventListener('pointercancel', released, true);
}

/**
 * Run `then` once the reader is done with the form (or lone field) holding `field`: the focus
 * has left it, or one of its buttons has been clicked; moving between its fields and buttons
 * (Tab, or pressing Save) is not done.
 */
function afterTheReader(field: Element, then: () => void): void {
  const scope: Element = field.closest('form') ?? field;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    scope.removeEventListener('focusout', left);
    scope.removeEventListener('click', clicked);
    oncePointerFree(then);
  };
  const left = (event: Event) => {
    const next = (event as FocusEvent).relatedTarget;
    if (!(next instanceof Node) || !scope.contains(next)) finish();
  };
  // Bubbling to the form, after the button's own handler (and before the submit it causes,
  // which the timer in oncePointerFree runs after).
  const clicked = (event: Event) => {
    if (event.target instanceof Element && event.target.closest('button')) finish();
  };
  scope.addEventListener('focusout', left);
  scope.addEventListener('click', clicked);
}
