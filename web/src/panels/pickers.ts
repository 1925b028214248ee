/**
 * The controls above and below each pane: its timepoint, its series (with the pairing
 * score, or why the comparison left a series out) and the reasons of the pair shown.
 */
import type { Timepoint } from '../api/types';
import type { Pairing } from './pairing';
import { formatDate, h } from './dom';

export type PaneSide = 'left' | 'right';

export class PanePickers {
  readonly timepoint: HTMLSelectElement;
  readonly series: HTMLSelectElement;
  readonly pairing: HTMLElement;

  constructor(side: PaneSide, onTimepoint: () => void, onSeries: () => void) {
    const name = side === 'left' ? 'Left' : 'Right';
    this.timepoint = h('select', { class: 'timepoint-picker', 'aria-label': `${name} timepoint` });
    this.series = h('select', { class: 'series-picker', 'aria-label': `${name} series` });
    this.pairing = h('div', { class: 'pairing' });
    this.timepoint.addEventListener('change', onTimepoint);
    this.series.addEventListener('change', onSeries);
  }

  fillTimepoints(timepoints: Timepoint[], label: (tp: Timepoint) => string, selected: Timepoint): void {
    this.timepoint.replaceChildren(...timepoints.map((tp) => h('option', { value: tp.id }, `${label(tp)} — ${formatDate(tp.date)}`)));
    this.timepoint.value = selected.id;
  }

  fillSeries(pairing: Pairing, timepointId: string, selected: string | null): void {
    const all = pairing.study(timepointId)?.series ?? [];
    this.series.replaceChildren(...all.filter((s) => s.instances > 0).map((s) => {
      const pair = pairing.pairOf(s.series_instance_uid);
      const why = pairing.excludedReason(s.series_instance_uid);
      const score = pair ? ` · pair score ${pair.score === null ? 'set by hand' : pair.score.toFixed(2)}` : '';
      return h('option', {
        value: s.series_instance_uid,
        disabled: Boolean(why) || !s.orientation,
        title: why ?? (pair ? pair.reasons.join('; ') : 'not paired'),
      }, `${s.series_number ?? ''} ${s.description ?? 'Series'} · ${imagesOf(s)}${score}${why ? ` (left out: ${why})` : ''}`);
    }));
    if (selected) this.series.value = selected;
  }

  /** Why the series shown is paired with the other pane's, unfolded on demand. */
  showPair(pairing: Pairing, seriesUid: string | null): void {
    const pair = seriesUid ? pairing.pairOf(seriesUid) : null;
    if (!seriesUid) this.pairing.replaceChildren();
    else if (!pair) this.pairing.replaceChildren(h('span', { class: 'muted' }, pairing.comparison ? 'This series has no pair in the other study.' : ''));
    else {
      const score = pair.source === 'manual' ? 'paired by hand' : `pairing score ${pair.score?.toFixed(2)}`;
      this.pairing.replaceChildren(h('details', {}, h('summary', {}, `Paired series: ${score}`), h('ul', {}, pair.reasons.map((r) => h('li', {}, r)))));
    }
  }
}

/** Enhanced and legacy-converted CT, MR and PET (PS3.4 B.5): one instance holds many frames. */
const MULTI_FRAME_CLASSES = new Set([
  '1.2.840.10008.5.1.4.1.1.2.1', '1.2.840.10008.5.1.4.1.1.2.2', '1.2.840.10008.5.1.4.1.1.4.1',
  '1.2.840.10008.5.1.4.1.1.4.4', '1.2.840.10008.5.1.4.1.1.130', '1.2.840.10008.5.1.4.1.1.128.1',
]);

function imagesOf(s: { instances: number; sop_class_uid: string | null }): string {
  const multi = s.sop_class_uid !== null && MULTI_FRAME_CLASSES.has(s.sop_class_uid) ? 'multi-frame ' : '';
  return `${s.instances} ${multi}${s.instances === 1 ? 'image' : 'images'}`;
}
