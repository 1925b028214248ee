/**
 * / : the worklist. Patients with their studies and cases; for each case its latest
 * response and the timepoints still waiting for sign-off; creating a case.
 */
import { ApiError, api } from '../api/client';
import type { Case, CaseResponse, CaseSummary, Me, Patient, Study } from '../api/types';
import { notify } from '../panels/dialogs';
import { formatDate, h } from '../panels/dom';
import { COMPUTED_READING, CRITERIA_NAMES, mayManageCases, responseLabel } from '../panels/words';
import { pageHeader } from './frame';

interface CaseRow {
  summary: CaseSummary;
  detail: Case | null;
  evaluation: CaseResponse | null;
}

export async function worklistPage(root: HTMLElement): Promise<void> {
  const list = h('div', { class: 'worklist', 'aria-busy': 'true' }, h('p', { class: 'hint' }, 'Loading patients…'));
  root.replaceChildren(
    pageHeader(['Worklist']),
    h('main', { class: 'worklist-page' },
      h('p', { class: 'disclaimer' }, COMPUTED_READING),
      list),
  );
  const [me, patients] = await Promise.all([api.me(), api.patients()]);
  const sections = await Promise.all(patients.map((p) => patientSection(p, me)));
  list.replaceChildren(
    ...(sections.length ? sections : [h('p', { class: 'hint' }, 'No patient yet. Studies appear here a few seconds after they reach the PACS.')]),
  );
  list.removeAttribute('aria-busy');
}

async function patientSection(patient: Patient, me: Me): Promise<HTMLElement> {
  const [studies, summaries] = await Promise.all([api.studies(patient.patient_id), api.cases(patient.patient_id)]);
  const rows = await Promise.all(summaries.map(caseRow));
  return h('section', { class: 'patient', dataset: { patientId: patient.patient_id } },
    h('h2', {}, displayName(patient.patient_name), h('span', { class: 'pid' }, patient.patient_id)),
    h('div', { class: 'studies' },
      h('h3', {}, 'Studies'),
      h('ul', {}, studies.map((st) => h('li', {},
        h('strong', {}, formatDate(st.study_date)), ' ', st.description ?? '',
        h('span', { class: 'muted' }, ` · ${st.series.length} series`))))),
    h('div', { class: 'cases' },
      h('h3', {}, 'Cases'),
      rows.length
        ? h('table', { class: 'cases-table' },
          h('thead', {}, h('tr', {}, ['Case', 'Criteria', 'Latest response', 'Waiting for sign-off', ''].map((t) => h('th', {}, t)))),
          h('tbody', {}, rows.map(caseLine)))
        : h('p', { class: 'hint' }, 'No case yet.'),
      mayManageCases(me) ? createCaseForm(patient, studies) : null),
  );
}

async function caseRow(summary: CaseSummary): Promise<CaseRow> {
  const [detail, evaluation] = await Promise.all([
    api.case(summary.id).catch(() => null),
    api.response(summary.id).catch(() => null),
  ]);
  return { summary, detail, evaluation };
}

function caseLine(row: CaseRow): HTMLElement {
  const { summary, detail, evaluation } = row;
  // The latest timepoint with a response: an incomplete one has none (never a partial sum).
  const latest = [...(evaluation?.timepoints ?? [])].reverse().find((tp) => tp.overall_response);
  const unsigned = detail?.timepoints.filter((tp) => !tp.signed_off_by) ?? [];
  return h('tr', { dataset: { caseId: String(summary.id) } },
    h('td', {}, h('a', { href: `/cases/${summary.id}` }, `Case ${summary.id}`)),
    h('td', {}, CRITERIA_NAMES[summary.criteria] ?? summary.criteria),
    h('td', {}, latest?.overall_response ? `${responseLabel(latest.overall_response)} (${formatDate(latest.date)})` : h('span', { class: 'muted' }, evaluation && !evaluation.complete ? 'not yet measured' : 'not yet computed')),
    h('td', {}, unsigned.length ? unsigned.map((tp) => formatDate(tp.date)).join(', ') : h('span', { class: 'muted' }, 'none')),
    h('td', {}, h('a', { href: `/cases/${summary.id}`, class: 'button' }, 'Review')),
  );
}

function createCaseForm(patient: Patient, studies: Study[]): HTMLElement {
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
        location.assign(`/cases/${created.id}`);
      } catch (error) {
        // The patient has this case already (same baseline and criteria): open that one.
        const existing = error instanceof ApiError && error.status === 409 ? error.body.existing_case_id : undefined;
        if (typeof existing === 'number' && Number.isInteger(existing) && existing > 0) {
          notify(`This patient already has case ${existing} with this baseline and criteria: opening it.`);
          location.assign(`/cases/${existing}`);
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
