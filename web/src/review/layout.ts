/**
 * The review's layout (OHIF's mode layout: header, toolbar over the viewports, side panels):
 * where each part's element goes, the header's patient and case, and the page shown when
 * the case cannot be opened. Parts bring their own elements; nothing here has state.
 */
import { ApiError, api } from '../api/client';
import type { Case, Me } from '../api/types';
import { h } from '../panels/dom';
import { CRITERIA_NAMES, COMPUTED_READING } from '../panels/words';
import { pageHeader } from '../pages/frame';
import { displayName } from '../pages/worklist';

export interface LayoutParts {
  /** The header's slot, filled once the case is loaded (headerContent). */
  header: HTMLElement;
  toolbar: HTMLElement;
  /** What the active tool needs before it acts ("Select a lesion…"). */
  advice: HTMLElement;
  /** The two panes' columns, left then right. */
  panes: HTMLElement[];
  /** The side panels, top to bottom (lesions, response). */
  side: HTMLElement[];
  /** Who is signed in, for the header (asked once the first images are drawn). */
  me: () => Promise<Me>;
}

export function reviewLayout(parts: LayoutParts): HTMLElement {
  // Below 1100 px wide the side panels fold into a drawer (styles.css); this opens it.
  const drawer = h('button', {
    type: 'button',
    class: 'drawer-toggle',
    'aria-expanded': 'false',
    'aria-controls': 'review-side',
    dataset: { drawerToggle: '' },
  }, 'Lesions & response');
  const review = h('div', { class: 'review' },
    h('div', { class: 'top-slot' }, pageHeader([parts.header], [drawer, h('a', { href: '/', class: 'button' }, 'Worklist')], parts.me)),
    h('p', { class: 'disclaimer banner' }, COMPUTED_READING),
    h('div', { class: 'review-body' },
      h('div', { class: 'viewer' }, parts.toolbar, parts.advice, h('div', { class: 'panes' }, parts.panes)),
      h('aside', { class: 'side', id: 'review-side', 'aria-label': 'Lesions and response' }, parts.side)));
  drawer.addEventListener('click', () => {
    const open = review.classList.toggle('drawer-open');
    drawer.setAttribute('aria-expanded', String(open));
  });
  return review;
}

/** The patient (named once the patient list answers), the id, the case and its criteria. */
export function headerContent(c: Case): Node[] {
  const name = h('span', { class: 'patient-name' }, c.patient_id);
  void api.patients().then((all) => {
    const p = all.find((x) => x.patient_id === c.patient_id);
    if (p) name.textContent = displayName(p.patient_name);
  }).catch(() => undefined);
  return [name, h('span', { class: 'pid' }, c.patient_id), h('span', { class: 'case-id' }, `Case ${c.id} · ${CRITERIA_NAMES[c.criteria] ?? c.criteria}`)];
}

/** The case could not be opened: say why, and the way back. */
export function problemPage(caseId: number, error: unknown): HTMLElement[] {
  const refused = error instanceof ApiError && error.status === 403;
  // A refusal says why in the server's words (e.g. "blinded review: ..." while the reader's
  // own second reading is not signed off): shown as it is, never as a broken page.
  const why = error instanceof ApiError && error.status === 404 ? `There is no case ${caseId}.` : refused ? `Case ${caseId} is not open to you: ${error.detail}` : `The case could not be opened: ${String(error)}`;
  const attrs: Record<string, string> = { class: 'problem' };
  if (refused) attrs['data-refused'] = error.detail.startsWith('blinded review') ? 'blinded' : 'role';
  return [pageHeader(['Review']), h('main', { class: 'problem-page' }, h('p', attrs, why), h('a', { href: '/' }, 'Back to the worklist'))];
}
