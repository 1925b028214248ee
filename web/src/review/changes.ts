/**
 * Changes made elsewhere (another tab, another reader, another Nadir node), as the case's
 * event stream (review/live.ts) reports them: the page reads again what changed, so that
 * the lesion list, the calipers, the response panel and the chart show what the server
 * holds, and says who changed what. Nothing is redrawn under a caliper being drawn.
 */
import { ApiError, api } from '../api/client';
import type { CaseChange } from '../api/types';
import { notify } from '../panels/dialogs';
import { CaseWatch, type StreamEnd } from './live';
import type { MeasureDesk } from './measuring';
import type { ReviewState } from './state';

export interface ChangeHooks {
  /** A lesion is gone from the case. */
  forget(lesionId: number): void;
  /** The lesions or the selection may have changed. */
  selectionChanged(): void;
  /** Read the response again. */
  responseChanged(): void;
  /** The case is no longer open to this reader: show why instead of what the page holds. */
  closed(refusal: ApiError): void;
}

const VERBS: Record<CaseChange['kind'], string> = {
  lesion_added: 'added', lesion_changed: 'changed', lesion_deleted: 'deleted', signed_off: 'signed off', measurement: 'changed',
};

export class CaseFollower {
  private buttonsDown = false;

  constructor(
    private readonly state: ReviewState,
    private readonly measure: MeasureDesk,
    private readonly hooks: ChangeHooks,
  ) {
    document.addEventListener('pointerdown', () => (this.buttonsDown = true), { capture: true });
    document.addEventListener('pointerup', () => (this.buttonsDown = false), { capture: true });
  }

  /** Follow the case's event stream from now on. */
  start(): void {
    new CaseWatch(this.state.caseId, {
      change: (event) => void this.changed(event).catch(() => undefined),
      resync: () => void this.reloadCase(),
      // For automation: changes made elsewhere are shown from now on.
      connected: (open) => {
        if (document.body.dataset.live !== 'ended') document.body.dataset.live = open ? 'on' : 'off';
      },
      ended: (why, reason) => void this.ended(why, reason),
    }).start();
  }

  /**
   * The server ended the stream: a blind returned (a new timepoint that the reader's own
   * blinded review has not signed off), the token was revoked, or the case was refused on
   * reconnecting. What the page shows was read under access that is gone, so it is taken
   * down (issue 21: a blind takes effect at once, on the page too).
   */
  private async ended(why: StreamEnd, reason: string): Promise<void> {
    document.body.dataset.live = 'ended';
    const path = `/api/v1/cases/${this.state.caseId}/events`;
    if (why === 'revoked') {
      // A revoked or expired token: /me answers 401 and the client signs out to the sign-in
      // page. A token still valid under another role is refused here.
      try {
        await api.me(true);
      } catch {
        return;
      }
      reason = 'your access to this case has ended';
    }
    this.hooks.closed(new ApiError(403, reason || 'your access to this case has ended', path));
  }

  /** Someone (here or on another node) changed the case: show what the server holds now. */
  private async changed(event: CaseChange): Promise<void> {
    const mine = this.state.isMine(event.who);
    if (event.kind === 'measurement' && event.lesion_id !== null && event.timepoint_id) {
      const known = this.measure.book.get(event.lesion_id, event.timepoint_id)?.value.version ?? 0;
      if (event.version !== null && known >= event.version) return; // this page's own save
      await this.whenIdle(() => this.measure.book.reload(event.lesion_id!, event.timepoint_id!));
      const lesion = this.state.lesion(event.lesion_id);
      if (!mine && lesion) notify(`${event.who} changed ${lesion.label} at ${this.state.timepointName(event.timepoint_id)} (version ${event.version ?? '?'}).`);
      return;
    }
    const before = this.state.lesion(event.lesion_id ?? 0);
    // This page's own lesion changes are already shown (another tab's are not).
    if ((event.kind === 'lesion_added' && before) || (event.kind === 'lesion_deleted' && !before)) return;
    await this.whenIdle(() => this.reloadCase());
    if (mine) return;
    const subject = event.kind === 'signed_off'
      ? this.state.timepointName(event.timepoint_id ?? '')
      : (this.state.lesion(event.lesion_id ?? 0) ?? before)?.label ?? 'a lesion';
    notify(`${event.who} ${VERBS[event.kind]} ${subject}.`);
  }

  /** Read the case, its measurements and response again (a change elsewhere, a resync). */
  async reloadCase(): Promise<void> {
    const c = await api.case(this.state.caseId).catch(() => null);
    if (!c) return;
    const gone = this.state.case.lesions.filter((l) => !c.lesions.some((x) => x.id === l.id));
    this.state.case = c;
    for (const l of gone) this.hooks.forget(l.id);
    this.hooks.selectionChanged();
    await this.measure.reload();
    this.hooks.responseChanged();
  }

  /** Run `action` once no mouse button is down (a caliper being drawn is not redrawn under the reader). */
  private whenIdle<T>(action: () => Promise<T>): Promise<T> {
    if (!this.buttonsDown) return action();
    return new Promise((resolve, reject) => {
      document.addEventListener('pointerup', () => void action().then(resolve, reject), { once: true });
    });
  }
}
