/**
 * / : the worklist. Patients with their studies and cases; for each case its latest
 * response and the timepoints still waiting for sign-off; creating a case.
 */
import { ApiError, api } from '../api/client';
import type { Case, Me, Worklist, WorklistCase, WorklistPatient, WorklistStudy } from '../api/types';
import { notify } from '../panels/dialogs';
import { formatDate, h } from '../panels/dom';
import { COMPUTED_READING, CRITERIA_NAMES, mayManageCases, responseLabel } from '../panels/words';
import { pageHeader } from './frame';
import { openCasesInPage } from './routes';

/** `open`: opens a case in this page (its path and query); a case's link clicked with a
 * modifier, or with another button, still opens where the reader asked (a new tab). */
export async function worklistPage(root: HTMLElement, open: (path: string) => void): Promise<void> {
  const list = h('div', { class: 'worklist', 'aria-busy': 'true' }, h('p', { class: 'hint' }, 'Loading patients…'));
  const main = h('main', { class: 'worklist-page' },
    h('p', { class: 'disclaimer' }, COMPUTED_READING),
    list);
  openCasesInPage(main, open);
  root.replaceChildren(pageHeader(['Worklist']), main);
  // The whole worklist in one request (GET /api/v1/worklist), whatever the number of cases.
  const [me, worklist] = await Promise.all([api.me(), api.worklist()]);
  const sections = worklist.patients.map((p) => patientSection(p, casesOf(worklist, p), me, open));
  list.replaceChildren(
    workToDo(worklist),
    ...(sections.length ? sections : [h('p', { class: 'hint' }, 'No patient yet. Studies appear here a few seconds after they reach the PACS.')]),
  );
  list.removeAttribute('aria-busy');
}

/**
 * Every case in the server's order, work first: a new follow-up to read, then the most
 * lesions to measure, then timepoints to sign off (the order and the words are the
 * server's, GET /api/v1/worklist).
 */
function workToDo(worklist: Worklist): HTMLElement {
  const names = new Map(worklist.patients.map((p) => [p.patient_id, p.patient_name]));
  const rows = worklist.cases.map((c) => h('li', {
    class: c.new_followup ? 'work new-followup' : 'work',
    dataset: { caseId: String(c.id), newFollowup: String(c.new_followup), toMeasure: String(c.to_measure) },
  },
  h('a', { href: `/cases/${c.id}` }, `Case ${c.id}`),
  ` · ${displayName(names.get(c.patient_id))} (${c.patient_id}) · ${CRITERIA_NAMES[c.criteria] ?? c.criteria} · `,
  c.new_followup ? h('strong', { class: 'badge' }, 'new follow-up to read') : null,
  c.new_followup ? ' · ' : null,
  h('span', { class: 'status' }, c.new_followup ? `${c.to_measure} lesions to measure` : c.status)));
  return h('section', { class: 'work-to-do', 'aria-label': 'Cases, work first' },
    h('h2', {}, 'Cases, work first'),
    rows.length ? h('ol', { class: 'work-list' }, rows) : h('p', { class: 'hint' }, 'No case yet.'));
}

/** The patient's cases, in the worklist's order (cases with work to do first). */
function casesOf(worklist: Worklist, patient: WorklistPatient): WorklistCase[] {
  const ids = new Set(patient.case_ids);
  return worklist.cases.filter((c) => ids.has(c.id));
}

function patientSection(patient: WorklistPatient, cases: WorklistCase[], me: Me, open: (path: string) => void): HTMLElement {
  const dates = new Map(patient.studies.map((st) => [st.study_instance_uid, st.study_date]));
  return h('section', { class: 'patient', dataset: { patientId: patient.patient_id } },
    h('h2', {}, displayName(patient.patient_name), h('span', { class: 'pid' }, patient.patient_id)),
    h('div', { class: 'studies' },
      h('h3', {}, 'Studies'),
      h('ul', {}, patient.studies.map((st) => h('li', {},
        h('strong', {}, formatDate(st.study_date)), ' ', st.description ?? '',
        st.accession_number ? h('span', { class: 'muted' }, ` · ${st.accession_number}`) : null)))),
    h('div', { class: 'cases' },
      h('h3', {}, 'Cases'),
      cases.length
        ? h('table', { class: 'cases-table' },
          h('thead', {}, h('tr', {}, ['Case', 'Criteria', 'Latest response', 'Waiting for sign-off', ''].map((t) => h('th', {}, t)))),
          h('tbody', {}, cases.map((c) => caseLine(c, dates))))
        : h('p', { class: 'hint' }, 'No case yet.'),
      copyNote(patient) ?? (mayManageCases(me) ? createCaseForm(patient, patient.studies, open) : null)),
  );
}

/** A share's de-identified copy is read in its review case only: say so, and offer no new case. */
function copyNote(patient: WorklistPatient): HTMLElement | null {
  const review = patient.copy_read_in;
  if (review === null || review === undefined) return null;
  return h('p', { class: 'hint copy-of-share', dataset: { readIn: String(review) } },
    'A de-identified copy shared for a second opinion: it is read in ',
    h('a', { href: `/cases/${review}` }, `review case ${review}`),
    ' only, and its images leave the PACS when the share ends.');
}

function caseLine(c: WorklistCase, dates: Map<string, string | null>): HTMLElement {
  // The newest complete timepoint's response: an incomplete one has none (never a partial sum).
  const latest = c.latest_response;
  const unsigned = c.unsigned_timepoints;
  return h('tr', { dataset: { caseId: String(c.id) } },
    h('td', {}, h('a', { href: `/cases/${c.id}` }, `Case ${c.id}`)),
    h('td', {}, CRITERIA_NAMES[c.criteria] ?? c.criteria),
    h('td', {}, latest
      ? `${responseLabel(latest.overall_response)} (${formatDate(dates.get(latest.timepoint_id) ?? null)})`
      : h('span', { class: 'muted' }, c.problem ? 'not computed' : 'not yet measured')),
    h('td', {}, unsigned.length ? unsigned.map((tp) => formatDate(dates.get(tp) ?? null)).join(', ') : h('span', { class: 'muted' }, 'none')),
    h('td', {}, h('a', { href: `/cases/${c.id}`, class: 'button' }, 'Review')),
  );
}

function createCaseForm(patient: WorklistPatient, studies: WorklistStudy[], open: (path: string) => void): HTMLElement {
  const criteria = h('select', { name: 'criteria', 'aria-label': 'Criteria' },
    Object.entries(CRITERIA_NAMES).map(([value, name]) => h('option', { value }, name)));
  const baseline = h('select', { name: 'baseline', 'aria-label': 'Baseline study' },
    studies.map((st) => h('option', { value: st.study_instance_uid }, `Baseline: ${formatDate(st.study_date)} ${st.description ?? ''}`)));
  return h('form', {
    class: 'create-case',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        const created = await api.createCase({
          patient_id: patient.patient_id,
          criteria: criteria.value as Case['criteria'],
          baseline_study_uid: baseline.value || null,
        });
        open(`/cases/${created.id}`);
      } catch (error) {
        // The patient has this case already (same baseline and criteria): open that one.
        const existing = error instanceof ApiError && error.status === 409 ? error.body.existing_case_id : undefined;
        if (typeof existing === 'number' && Number.isInteger(existing) && existing > 0) {
          notify(`This patient already has case ${existing} with this baseline and criteria: opening it.`);
          open(`/cases/${existing}`);
          return;
        }
        notify(`The case was not created: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
      }
    },
  }, criteria, baseline, h('button', { type: 'submit', class: 'primary' }, 'Create a case'));
}

export function displayName(name: string | null | undefined): string {
  if (!name) return 'Unnamed patient';
  const [family, given] = name.split('^');
  return given ? `${given} ${family}` : family;
}
