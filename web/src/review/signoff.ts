/**
 * The response panel's side of the review: the server's response read again after every
 * change, signing off a timepoint, and the report.
 */
import { ApiError, api } from '../api/client';
import type { Case, Timepoint } from '../api/types';
import { notify } from '../panels/dialogs';
import { ResponsePanel } from '../panels/response';
import { showInSandbox } from './report-window';

export interface SignOffHost {
  readonly caseId: number;
  readonly canSignOff: boolean;
  caseData(): Case;
  setCase(c: Case): void;
  timepointLabel(tp: Timepoint): string;
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
      signOff: (tp) => this.signOff(tp),
      openReport: (format) => desk.openReport(format),
    });
  }

  /** Read the response again; an older answer arriving late never replaces a newer one. */
  async refresh(): Promise<void> {
    const generation = ++this.generation;
    try {
      const evaluation = await api.response(this.host.caseId);
      if (generation === this.generation) this.panel.render(evaluation, null);
    } catch (error) {
      if (generation === this.generation) this.panel.render(null, error);
    }
  }

  private async signOff(tp: Timepoint): Promise<void> {
    try {
      const done = await api.signOff(this.host.caseId, tp.id);
      const c = this.host.caseData();
      this.host.setCase({
        ...c,
        timepoints: c.timepoints.map((t) => (t.id === tp.id ? { ...t, signed_off_by: done.signed_off_by, signed_off_at: done.signed_off_at } : t)),
      });
      notify(`${this.host.timepointLabel(tp)} signed off. Later changes to it need a reason.`);
    } catch (error) {
      notify(`Not signed off: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
    }
    await this.refresh();
  }

  private async openReport(format: 'html' | 'pdf'): Promise<void> {
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
