/**
 * The response panel's side of the review: the server's response read again after every
 * change, signing off a timepoint, and the report.
 */
import { ApiError, api } from '../api/client';
import type { Case, CaseResponse, MissingLesion, Timepoint } from '../api/types';
import { ask, notify } from '../panels/dialogs';
import { coalesced } from '../panels/dom';
import { ResponsePanel } from '../panels/response';
import { statusesFor } from '../panels/words';
import { showInSandbox } from './report-window';

export interface SignOffHost {
  readonly caseId: number;
  readonly canSignOff: boolean;
  caseData(): Case;
  setCase(c: Case): void;
  timepointLabel(tp: Timepoint): string;
  /** "Follow-up 1 (8 Apr 2024)" */
  timepointName(timepointId: string): string;
  /** Record the lesion's status "not evaluable" there (a new version); true when stored. */
  markNotEvaluable(lesionId: number, timepointId: string, status: string): Promise<boolean>;
}

/** The status that says a lesion could not be assessed, in its kind's vocabulary. */
export function notEvaluableStatus(kind: string): string | null {
  return statusesFor(kind).find((s) => s === 'not_evaluable' || s === 'not_evaluated') ?? null;
}

export class SignOffDesk {
  readonly panel: ResponsePanel;
  private generation = 0;

  constructor(private readonly host: SignOffHost) {
    const desk = this;
    this.panel = new ResponsePanel({
      get canSignOff() {
        return host.canSignOff;
      },
      caseData: () => host.caseData(),
      timepointLabel: (tp) => host.timepointLabel(tp),
      signOff: (tp) => desk.signOff(tp),
      openReport: (format) => desk.openReport(format),
    });
  }

  /** The case changed: read the response again soon (several changes at once: one read). */
  readonly refreshSoon = coalesced(() => void this.refresh());

  /** Read the response again; an older answer arriving late never replaces a newer one. */
  async refresh(): Promise<CaseResponse | null> {
    const generation = ++this.generation;
    try {
      const response = await api.response(this.host.caseId);
      if (generation === this.generation) this.panel.render(response, null);
      return response;
    } catch (error) {
      if (generation === this.generation) this.panel.render(null, error);
      return null;
    }
  }

  /**
   * Sign off; a timepoint with lesions not read yet (as the panel shows, or as the server's
   * 409 names them) is not sent: the reader is offered to mark each not evaluable.
   */
  async signOff(tp: Timepoint): Promise<void> {
    // What the server holds now, not what the panel showed a moment ago.
    const missing = (await this.refresh())?.timepoints.find((r) => r.id === tp.id)?.missing ?? [];
    if (missing.length) {
      await this.offerNotEvaluable(tp, missing);
      return;
    }
    try {
      const done = await api.signOff(this.host.caseId, tp.id);
      const c = this.host.caseData();
      this.host.setCase({
        ...c,
        timepoints: c.timepoints.map((t) => (t.id === tp.id ? { ...t, signed_off_by: done.signed_off_by, signed_off_at: done.signed_off_at } : t)),
      });
      notify(`${this.host.timepointLabel(tp)} signed off. Later changes to it need a reason.`);
    } catch (error) {
      const named = error instanceof ApiError && error.status === 409 ? missingOf(error.body) : [];
      await this.refresh();
      if (named.length) await this.offerNotEvaluable(tp, named);
      else notify(`Not signed off: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
      return;
    }
    await this.refresh();
  }

  /** Name the lesions without a reading; mark one not evaluable in one step, then sign off again. */
  private async offerNotEvaluable(tp: Timepoint, missing: MissingLesion[]): Promise<void> {
    const where = this.host.timepointName(tp.id);
    const markable = missing.filter((m) => notEvaluableStatus(m.kind));
    const answer = await ask(`${where} is not complete`, [
      `No reading yet of ${missing.map((m) => m.label).join(', ')}.`,
      'A timepoint is signed off once every lesion that exists there has a reading: measure it, or, where it cannot be assessed on these images, mark it not evaluable (a new version, kept in the history). Sign-off continues once none is missing.',
    ], [
      { label: 'Cancel', value: 'cancel', cancel: true },
      ...markable.map((m) => ({ label: `Mark ${m.label} not evaluable`, value: `lesion-${m.lesion_id}`, primary: markable.length === 1 })),
    ]);
    const lesion = markable.find((m) => answer === `lesion-${m.lesion_id}`);
    if (!lesion) return;
    if (!(await this.host.markNotEvaluable(lesion.lesion_id, tp.id, notEvaluableStatus(lesion.kind)!))) return;
    await this.signOff(tp);
  }

  async openReport(format: 'html' | 'pdf'): Promise<void> {
    // Opened now, while the click still counts as the reader's: filled once the report is in.
    const tab = window.open('', '_blank');
    if (tab) tab.document.body.textContent = 'Preparing the report…';
    try {
      const blob = await api.report(this.host.caseId, format);
      const url = URL.createObjectURL(blob);
      // The HTML report is never a page of this origin (see showInSandbox).
      if (format === 'html' && tab) showInSandbox(tab, url);
      else if (format === 'html') notify('The browser blocked the report\'s window: allow pop-ups for Nadir.', 'error');
      else if (tab) tab.location.href = url;
      else location.assign(url);
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      tab?.close();
      notify(`The report could not be made: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
    }
  }
}

function missingOf(body: Record<string, unknown>): MissingLesion[] {
  const list = body.missing;
  if (!Array.isArray(list)) return [];
  return list.filter((m): m is MissingLesion =>
    typeof m === 'object' && m !== null && typeof m.lesion_id === 'number' && typeof m.label === 'string' && typeof m.kind === 'string');
}
