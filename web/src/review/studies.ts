/**
 * The patient's studies that are not in this reading, and why (`left_out`: no date, or
 * dated before the baseline), with a radiologist's way to date an undated one for this
 * case (PUT /api/v1/cases/{id}/studies/{uid}/date, audited); and the images the PACS took
 * by C-STORE that the upload would refuse, or that were sent again with other content
 * (`images_flagged`). Nothing is left out or flagged without the page saying so.
 */
import { ApiError, api } from '../api/client';
import type { Case, ImageFlag, LeftOutStudy } from '../api/types';
import { notify } from '../panels/dialogs';
import { formatDate, h } from '../panels/dom';

export interface StudiesPanelHost {
  caseData(): Case;
  canSetDate(): boolean;
  /** The case after a date was set: its timepoints changed, so the page opens it again. */
  dated(updated: Case): void;
}

export class StudiesPanel {
  readonly element = h('section', { class: 'panel studies-panel', hidden: true, 'aria-label': 'Studies not in this reading' });

  constructor(private readonly host: StudiesPanelHost) {}

  render(): void {
    const c = this.host.caseData();
    const leftOut = c.left_out ?? [];
    const flagged = c.images_flagged ?? [];
    this.element.hidden = !leftOut.length && !flagged.length;
    this.element.replaceChildren(
      ...(leftOut.length ? [h('h2', {}, 'Studies not in this reading'), h('ul', { class: 'left-out' }, leftOut.map((st) => this.leftOutItem(st)))] : []),
      ...(flagged.length ? [h('h2', {}, 'Images flagged on arrival'), h('ul', { class: 'images-flagged' }, flagged.map(flagItem))] : []),
    );
  }

  private leftOutItem(st: LeftOutStudy): HTMLElement {
    // The reason says "date unknown" for an undated study.
    const what = `${st.description ?? 'Study'}${st.date ? ` · ${formatDate(st.date)}` : ''}`;
    return h('li', { dataset: { studyUid: st.study_instance_uid } },
      h('strong', {}, what),
      h('span', { class: 'reason' }, ` — ${st.reason}`),
      !st.date && this.host.canSetDate() ? this.dateForm(st) : null);
  }

  private dateForm(st: LeftOutStudy): HTMLElement {
    const date = h('input', { type: 'date', name: 'date', required: true, 'aria-label': 'Date of this study' });
    const reason = h('input', { type: 'text', name: 'reason', maxLength: 1000, placeholder: 'Why (e.g. date on the requisition)', 'aria-label': 'Reason' });
    return h('form', {
      class: 'set-date',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const updated = await api.setStudyDate(this.host.caseData().id, st.study_instance_uid, {
            date: date.value,
            reason: reason.value.trim() || null,
          });
          notify(`The study is dated ${formatDate(date.value)} for this case.`);
          this.host.dated(updated);
        } catch (error) {
          notify(`The date was not set: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
        }
      },
    }, date, reason, h('button', { type: 'submit' }, 'Set date'));
  }
}

function flagItem(flag: ImageFlag): HTMLElement {
  const words = flag.kind === 'resent_with_other_content' ? 'Sent again with other content' : 'Would be refused by upload';
  return h('li', { dataset: { sopInstanceUid: flag.sop_instance_uid, kind: flag.kind } },
    h('strong', {}, words), h('span', { class: 'reason' }, ` — ${flag.reason}`));
}
