/**
 * The response panel: the server's sums, changes and responses per timepoint, its
 * warnings, a trend chart, sign-off per timepoint and the report. Nothing is computed
 * here: every number comes from GET /api/v1/cases/{id}/response. A timepoint that is not
 * complete (a lesion that exists there has no reading) shows "not yet measured" and what is
 * missing, never a partial sum; an empty case says in neutral words what to do next.
 */
import { ApiError } from '../api/client';
import type { Case, CaseResponse, CaseTimepointResponse, Timepoint } from '../api/types';
import { trendChart } from './chart';
import { fill, formatDateTime, h, mm, pct } from './dom';
import { COMPUTED_READING, CRITERIA_NAMES, responseCode, responseLabel } from './words';

export interface ResponsePanelHost {
  readonly canSignOff: boolean;
  caseData(): Case;
  timepointLabel(tp: Timepoint): string;
  signOff(tp: Timepoint): Promise<void>;
  openReport(format: 'html' | 'pdf'): Promise<void>;
}

/** What an empty case says when the server gives no next step. */
export const FIRST_STEP = 'Add the target lesions on the baseline (Add a lesion), then measure each one there with the caliper tool (C).';
export const NOT_YET = 'not yet measured';

export class ResponsePanel {
  readonly element = h('section', { class: 'panel response', 'aria-label': 'Response' });
  /** The last answer shown (for tests and the sign-off's check). */
  shown: CaseResponse | null = null;

  constructor(private readonly host: ResponsePanelHost) {}

  render(response: CaseResponse | null, error: unknown): void {
    this.shown = response;
    const c = this.host.caseData();
    const tps = c.timepoints;
    const rows = tps.map((tp) => response?.timepoints.find((r) => r.id === tp.id) ?? null);
    const labels = tps.map((tp) => this.host.timepointLabel(tp));
    const incomplete = (r: CaseTimepointResponse | null) => r !== null && !r.complete;
    const cell = (r: CaseTimepointResponse | null, i: number, value: (r: CaseTimepointResponse) => string | Node) =>
      i === 0 || !r || incomplete(r) ? '' : value(r);
    const table = h('table', { class: 'response-table' },
      h('thead', {}, h('tr', {}, h('th', {}, ''), labels.map((l) => h('th', {}, l)))),
      h('tbody', {},
        this.row('Sum of diameters', rows.map((r) => (incomplete(r) ? h('span', { class: 'not-yet', title: missingText(r) }, NOT_YET) : mm(r?.sum_mm))), 'sum'),
        this.row('Change from baseline', rows.map((r, i) => cell(r, i, (x) => pct(x.change_from_baseline_pct)))),
        this.row('Change from nadir', rows.map((r, i) => cell(r, i, (x) => pct(x.change_from_nadir_pct)))),
        this.row('Target lesions', rows.map((r, i) => cell(r, i, (x) => code(x.target_response)))),
        this.row('Non-target lesions', rows.map((r, i) => cell(r, i, (x) => code(x.non_target_response)))),
        this.row('New lesions', rows.map((r, i) => cell(r, i, (x) => (x.new_lesions === null || x.new_lesions === undefined ? '' : x.new_lesions ? 'yes' : 'no')))),
        this.row('Overall response', rows.map((r, i) => cell(r, i, (x) => code(x.overall_response, 'overall'))), 'overall'),
        h('tr', { class: 'signoff-row' }, h('th', {}, 'Sign-off'), tps.map((tp) => h('td', {}, this.signOffCell(tp)))),
      ),
    );
    const warnings = response?.warnings ?? [];
    const mixed = rows.some((r) => r?.mixed_response);
    const missing = tps.flatMap((tp, i) => {
      const r = rows[i];
      if (!r || r.complete || !r.missing.length || c.lesions.length === 0) return [];
      return [h('li', { dataset: { timepointId: tp.id } },
        h('strong', {}, labels[i]), `: no reading yet of ${r.missing.map((m) => m.label).join(', ')}`)];
    });
    const nextStep = c.lesions.length === 0 ? (response?.next_step ?? FIRST_STEP) : (response?.next_step ?? null);
    fill(this.element,
      h('h2', {}, `Response (${CRITERIA_NAMES[c.criteria] ?? c.criteria})`),
      error ? h('p', { class: 'problem' }, `The response could not be read: ${error instanceof ApiError ? error.detail : String(error)}`) : null,
      nextStep ? h('p', { class: 'next-step' }, nextStep) : null,
      response ? h('p', { class: 'best' }, 'Best overall response: ', h('strong', {}, response.best_overall_response ? responseLabel(response.best_overall_response) : NOT_YET)) : null,
      table,
      missing.length ? h('ul', { class: 'missing' }, missing) : null,
      trendChart(rows.map((r, i) => (r && r.complete ? r : { id: tps[i].id, date: tps[i].date ?? '', sum_mm: null })), labels.map(shortLabel)),
      mixed ? h('p', { class: 'warning' }, 'Some lesions shrank while others grew (mixed response): for the specialist to review.') : null,
      warnings.length ? h('ul', { class: 'warnings' }, warnings.map((w) => h('li', { title: w.code }, w.message))) : null,
      h('div', { class: 'report-links' },
        h('button', { type: 'button', onclick: () => void this.host.openReport('html') }, 'Open report'),
        h('button', { type: 'button', onclick: () => void this.host.openReport('pdf') }, 'Report as PDF'),
      ),
      h('p', { class: 'disclaimer small' }, COMPUTED_READING),
    );
  }

  private row(title: string, cells: (string | Node)[], name?: string): HTMLElement {
    return h('tr', name ? { dataset: { row: name } } : {}, h('th', {}, title), cells.map((c) => h('td', {}, c)));
  }

  private signOffCell(tp: Timepoint): Node {
    if (tp.signed_off_by) {
      return h('span', { class: 'signed', title: formatDateTime(tp.signed_off_at) }, `✓ ${tp.signed_off_by}`);
    }
    if (!this.host.canSignOff) return h('span', { class: 'unsigned' }, 'not signed off');
    // Nothing to sign off: the next step above says what to do first.
    if (this.host.caseData().lesions.length === 0) return h('span', { class: 'unsigned nothing-yet' }, 'nothing read yet');
    return h('button', {
      type: 'button',
      class: 'sign-off',
      dataset: { timepointId: tp.id },
      onclick: () => void this.host.signOff(tp),
    }, 'Sign off');
  }
}

function missingText(r: CaseTimepointResponse | null): string {
  return r?.missing.length ? `No reading yet of ${r.missing.map((m) => m.label).join(', ')}` : '';
}

function code(value: string | null | undefined, kind = ''): Node | string {
  if (!value) return '—';
  return h('abbr', { title: responseLabel(value), class: `code ${kind} code-${value}` }, responseCode(value));
}

/** "Baseline" -> "BL", "Follow-up 2" -> "FU 2": room for many timepoints on the chart. */
function shortLabel(label: string): string {
  if (label === 'Baseline') return 'BL';
  return label.replace(/^Follow-up /, 'FU ');
}
