/**
 * Changes made elsewhere (another tab, another reader, another Nadir node), as the case's
 * event stream (review/live.ts) reports them: the page reads again what changed, so that
 * the lesion list, the calipers, the response panel and the chart show what the server
 * holds, and says who changed what. Nothing is redrawn under a caliper being drawn.
 */
import { api } from '../api/client';
import type { CaseChange } from '../api/types';
import { notify } from '../panels/dialogs';
import { CaseWatch } from './live';
import type { MeasureDesk } from './measuring';
import type { ReviewState } from './state';

export interface ChangeHooks {
  /** A lesion is gone from the case. */
  forget(lesionId: number): void;
  /** The lesions or the selection may have changed. */
  selectionChanged(): void;
  /** Read the response again. */
  responseChanged(): void;
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
      connected: (open) => (document.body.dataset.live = open ? 'on' : 'off'),
    }).start();
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
