/**
 * The readings table (issue 21): the primary reading against each review signed off at every
 * timepoint, as GET /api/v1/cases/{primary}/readings answers it. Per timepoint each reading's
 * sum, change from baseline and from nadir, overall response and whether it agrees with the
 * primary, then the response that counts with its source (agreed, adjudicated by whom,
 * awaiting adjudication); per lesion the matched readings with both lengths and their
 * difference, and the lesions one reader found alone. Nothing is computed here, and a value
 * the server does not give shows as missing (—), never 0.
 */
import { ApiError } from '../api/client';
import type { CaseReadings, FinalResponse, LesionReading, Reading, ReviewReadings } from '../api/types';
import { fill, formatDateTime, h, mm, pct } from './dom';
import { responseCode, responseLabel, statusWords } from './words';
import { signedTenths } from '../figures';

export interface ReadingsPanelHost {
  /** "Follow-up 1 (8 Apr 2024)" for a timepoint of the primary case, `index` its place (0: baseline). */
  timepointName(timepointId: string, index: number): string;
}

export class ReadingsPanel {
  readonly element = h('section', { class: 'panel readings-panel', hidden: true, 'aria-label': 'Second readings' });

  constructor(private readonly host: ReadingsPanelHost) {}

  /** Hide the panel (no readings for this page, or not for this reader). */
  hide(): void {
    this.element.hidden = true;
    this.element.replaceChildren();
  }

  render(readings: CaseReadings | null, error: unknown = null): void {
    this.element.hidden = false;
    if (!readings) {
      fill(this.element, h('h2', {}, 'Second readings'),
        h('p', { class: 'problem' }, `The readings could not be read: ${error instanceof ApiError ? error.detail : String(error)}`));
      return;
    }
    const order = readings.final.map((f) => f.timepoint_id);
    const name = (tp: string) => this.host.timepointName(tp, order.indexOf(tp));
    fill(this.element,
      h('h2', {}, 'Second readings'),
      readings.reviews.length
        ? [this.timepointTable(readings, name), ...readings.reviews.map((r) => this.review(r, name))]
        : h('p', { class: 'next-step' }, 'No second reading is signed off at every timepoint yet: nothing to compare.'),
      readings.pending_reviews.length
        ? h('ul', { class: 'pending-reviews' }, readings.pending_reviews.map((p) => h('li', { dataset: { reader: String(p.review_case_id) } },
          `${p.reader} (review, case ${p.review_case_id}${p.blinded ? ', blinded' : ''}): not signed off at every timepoint yet, not compared.`)))
        : null,
    );
  }

  /** One block per timepoint: a row per reading, then the response that counts. */
  private timepointTable(readings: CaseReadings, name: (tp: string) => string): HTMLElement {
    const columns = ['Reader', 'Sum', 'vs baseline', 'vs nadir', 'Overall', 'Agrees'];
    return h('table', { class: 'readings-table' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
      readings.final.map((f) => {
        const rows = readings.reviews.map((r) => ({ review: r, row: r.timepoints.find((t) => t.timepoint_id === f.timepoint_id) ?? null }));
        const primary = rows.find((r) => r.row)?.row?.primary ?? null;
        const agrees = rows.map((r) => r.row?.agree ?? null);
        const agree = agrees.includes(false) ? 'false' : agrees.length && agrees.every((a) => a === true) ? 'true' : 'null';
        return h('tbody', { dataset: { timepointId: f.timepoint_id, agree } },
          h('tr', { class: 'timepoint-head' }, h('th', { colspan: columns.length, scope: 'rowgroup' }, name(f.timepoint_id))),
          primary ? this.readingRow(primary, 'primary', null) : null,
          rows.map(({ review, row }) => (row
            ? this.readingRow(row.review, 'review', row.agree ?? null)
            : h('tr', { dataset: { reader: String(review.review_case_id), role: 'review' } },
              h('td', {}, review.reader), h('td', { colspan: columns.length - 1 }, 'no such timepoint in this review')))),
          h('tr', { class: 'final', dataset: { source: f.source } },
            h('td', { colspan: columns.length }, 'Counts: ', code(f.overall_response), ' ', h('span', { class: 'source' }, sourceWords(f)))));
      }));
  }

  private readingRow(r: Reading, role: 'primary' | 'review', agree: boolean | null): HTMLElement {
    const attrs: Record<string, string> = { reader: String(r.case_id), role };
    if (role === 'review') attrs.agree = agree === null ? 'null' : String(agree);
    const agreeText = role === 'primary' ? '' : agree === null ? '—' : agree ? '✓ yes' : '✗ no';
    return h('tr', { dataset: attrs, class: agree === false ? 'disagree' : undefined },
      h('td', { title: r.signed_off ? 'signed off' : 'not signed off' }, r.reader),
      h('td', { dataset: { field: 'sum_mm' } }, mm(r.sum_mm)),
      h('td', { dataset: { field: 'change_from_baseline_pct' } }, pct(r.change_from_baseline_pct)),
      h('td', { dataset: { field: 'change_from_nadir_pct' } }, pct(r.change_from_nadir_pct)),
      h('td', { dataset: { field: 'overall_response' } }, code(r.overall_response)),
      h('td', { dataset: { field: 'agree' } }, agreeText));
  }

  /** The lesions of one review against the primary's, and the summary of their agreement. */
  private review(r: ReviewReadings, name: (tp: string) => string): HTMLElement {
    const first = r.timepoints.find((t) => t.primary.reader)?.primary.reader ?? 'primary';
    const s = r.summary;
    const best = s.best_overall_response_agree === null
      ? 'not both given yet'
      : s.best_overall_response_agree ? 'agree' : 'differ';
    const lesionRows = [
      ...r.lesions.matched.map((m) => h('tr', { dataset: { match: '', timepointId: m.timepoint_id } },
        h('td', {}, name(m.timepoint_id)), h('td', { dataset: { field: 'primary' } }, lesionText(m.primary)),
        h('td', { dataset: { field: 'review' } }, lesionText(m.review)),
        h('td', { dataset: { field: 'difference_mm' } }, signedMm(m.difference_mm)))),
      ...r.lesions.primary_only.map((l) => h('tr', { dataset: { only: 'primary', timepointId: l.timepoint_id } },
        h('td', {}, name(l.timepoint_id)), h('td', { dataset: { field: 'primary' } }, lesionText(l)),
        h('td', { dataset: { field: 'review' }, class: 'not-found' }, 'not chosen'), h('td', { dataset: { field: 'difference_mm' } }, '—'))),
      ...r.lesions.review_only.map((l) => h('tr', { dataset: { only: 'review', timepointId: l.timepoint_id } },
        h('td', {}, name(l.timepoint_id)), h('td', { dataset: { field: 'primary' }, class: 'not-found' }, 'not chosen'),
        h('td', { dataset: { field: 'review' } }, lesionText(l)), h('td', { dataset: { field: 'difference_mm' } }, '—'))),
    ];
    return h('div', { class: 'review-readings', dataset: { reader: String(r.review_case_id) } },
      h('h3', {}, `${first} and ${r.reader} (case ${r.review_case_id})`),
      h('p', { class: 'readings-summary' },
        `Overall response agrees at ${s.timepoints_agreeing} of ${s.timepoints_compared} timepoints compared`,
        s.agreement === null || s.agreement === undefined ? '' : ` (${Math.round(s.agreement * 100)} %)`,
        '. Best overall response: ', code(s.primary_best_overall_response), ` (${first}), `,
        code(s.review_best_overall_response), ` (${r.reader}): ${best}.`),
      h('table', { class: 'readings-lesions' },
        h('thead', {}, h('tr', {}, ['Timepoint', first, r.reader, 'Difference'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, lesionRows.length ? lesionRows : h('tr', {}, h('td', { colspan: 4 }, 'No lesion read by either reader.')))),
      h('p', { class: 'small muted' }, 'Two readers\' lesions are one lesion when their calipers\' midpoints lie within 10 mm of each other in the patient (across slices, and through a registration where the scans differ); the difference is the second length minus the first.'));
  }
}

/** Where the response that counts comes from, in words. */
export function sourceWords(f: FinalResponse): string {
  switch (f.source) {
    case 'agreed':
      return 'agreed';
    case 'adjudicated': {
      const a = f.adjudication;
      return a ? `adjudicated by ${a.adjudicated_by} (case ${a.chosen_case_id} chosen, ${formatDateTime(a.adjudicated_at)}): ${a.reason}` : 'adjudicated';
    }
    case 'adjudication_pending':
      return 'awaiting adjudication (the primary reading counts until then)';
    default:
      return 'primary reading (nothing to compare)';
  }
}

function code(value: string | null | undefined): Node | string {
  if (!value) return '—';
  return h('abbr', { title: responseLabel(value), class: `code code-${value}` }, responseCode(value));
}

function lesionText(l: LesionReading): string {
  const what = l.length_mm !== null && l.length_mm !== undefined ? mm(l.length_mm) : l.status ? statusWords(l.status) : '—';
  return `${l.label} ${what}`;
}

function signedMm(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return `${signedTenths(value)} mm`;
}
