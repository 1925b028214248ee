/**
 * The response panel: the server's sums, changes and responses per timepoint, its
 * warnings, a trend chart, sign-off per timepoint and the report. Nothing is computed
 * here: every number comes from GET /api/v1/cases/{id}/response.
 */
import { ApiError } from '../api/client';
import type { Case, Evaluation, Timepoint } from '../api/types';
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

export class ResponsePanel {
  readonly element = h('section', { class: 'panel response', 'aria-label': 'Response' });

  constructor(private readonly host: ResponsePanelHost) {}

  render(evaluation: Evaluation | null, error: unknown): void {
    const c = this.host.caseData();
    const tps = c.timepoints;
    const rows = tps.map((tp) => evaluation?.timepoints.find((r) => r.id === tp.id) ?? null);
    const labels = tps.map((tp) => this.host.timepointLabel(tp));
    const table = h('table', { class: 'response-table' },
      h('thead', {}, h('tr', {}, h('th', {}, ''), labels.map((l) => h('th', {}, l)))),
      h('tbody', {},
        this.row('Sum of diameters', rows.map((r) => mm(r?.sum_mm))),
        this.row('Change from baseline', rows.map((r, i) => (i === 0 ? '' : pct(r?.change_from_baseline_pct)))),
        this.row('Change from nadir', rows.map((r, i) => (i === 0 ? '' : pct(r?.change_from_nadir_pct)))),
        this.row('Target lesions', rows.map((r, i) => (i === 0 ? '' : code(r?.target_response)))),
        this.row('Non-target lesions', rows.map((r, i) => (i === 0 ? '' : code(r?.non_target_response)))),
        this.row('New lesions', rows.map((r, i) => (i === 0 || r?.new_lesions === null || r?.new_lesions === undefined ? '' : r.new_lesions ? 'yes' : 'no'))),
        this.row('Overall response', rows.map((r, i) => (i === 0 ? '' : code(r?.overall_response, 'overall')))),
        h('tr', { class: 'signoff-row' }, h('th', {}, 'Sign-off'), tps.map((tp) => h('td', {}, this.signOffCell(tp)))),
      ),
    );
    const warnings = evaluation?.warnings ?? [];
    const mixed = rows.some((r) => r?.mixed_response);
    fill(this.element,
      h('h2', {}, `Response (${CRITERIA_NAMES[c.criteria] ?? c.criteria})`),
      error ? h('p', { class: 'problem' }, `The response cannot be computed yet: ${error instanceof ApiError ? error.detail : String(error)}`) : null,
      evaluation ? h('p', { class: 'best' }, 'Best overall response: ', h('strong', {}, responseLabel(evaluation.best_overall_response))) : null,
      table,
      trendChart(rows.map((r, i) => r ?? { id: tps[i].id, date: tps[i].date ?? '', sum_mm: null }), labels.map(shortLabel)),
      mixed ? h('p', { class: 'warning' }, 'Some lesions shrank while others grew (mixed response): for the specialist to review.') : null,
      warnings.length ? h('ul', { class: 'warnings' }, warnings.map((w) => h('li', { title: w.code }, w.message))) : null,
      h('div', { class: 'report-links' },
        h('button', { type: 'button', onclick: () => void this.host.openReport('html') }, 'Open report'),
        h('button', { type: 'button', onclick: () => void this.host.openReport('pdf') }, 'Report as PDF'),
      ),
      h('p', { class: 'disclaimer small' }, COMPUTED_READING),
    );
  }

  private row(title: string, cells: (string | Node)[]): HTMLElement {
    return h('tr', {}, h('th', {}, title), cells.map((c) => h('td', {}, c)));
  }

  private signOffCell(tp: Timepoint): Node {
    if (tp.signed_off_by) {
      return h('span', { class: 'signed', title: formatDateTime(tp.signed_off_at) }, `✓ ${tp.signed_off_by}`);
    }
    if (!this.host.canSignOff) return h('span', { class: 'unsigned' }, 'not signed off');
    return h('button', {
      type: 'button',
      class: 'sign-off',
      dataset: { timepointId: tp.id },
      onclick: () => void this.host.signOff(tp),
    }, 'Sign off');
  }
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
