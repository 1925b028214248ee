/**
 * A pane's strip of series thumbnails: one small rendered image per series of the pane's
 * timepoint that can be shown (the pairing leaves out scouts and dose reports), its number
 * and description; a click shows that series in the pane, as the series picker does. Each
 * is `[data-series-thumbnail]` with `data-series-uid`; the one shown is `aria-pressed`.
 */
import { seriesThumbnail } from '../api/dicomweb';
import type { Series } from '../api/types';
import { h } from '../panels/dom';
import type { Pairing } from '../panels/pairing';
import type { Side } from '../viewport/pane';

/** Rendered at twice the CSS size, for high-density screens. */
const THUMBNAIL_PX = 96;

export class SeriesStrip {
  readonly element: HTMLElement;
  private timepointId: string | null = null;
  private readonly urls: string[] = [];

  constructor(
    private readonly side: Side,
    /** Show this series of the pane's timepoint. */
    private readonly choose: (seriesUid: string) => void,
  ) {
    this.element = h('div', { class: 'series-strip', role: 'group', 'aria-label': `Series of the ${side} pane's timepoint`, dataset: { seriesStrip: side } });
  }

  /** The strip of a timepoint's series (drawn again only when the timepoint changed). */
  show(pairing: Pairing, timepointId: string, shownSeriesUid: string | null): void {
    if (timepointId !== this.timepointId || !this.element.childElementCount) {
      this.timepointId = timepointId;
      this.urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
      const series = pairing.viewableSeries(timepointId);
      this.element.replaceChildren(...series.map((s) => this.thumbnail(timepointId, s)));
      this.element.hidden = series.length === 0;
    }
    this.mark(shownSeriesUid);
  }

  /** Press the thumbnail of the series the pane shows. */
  mark(seriesUid: string | null): void {
    for (const b of this.element.querySelectorAll<HTMLButtonElement>('[data-series-thumbnail]')) {
      b.setAttribute('aria-pressed', b.dataset.seriesUid === seriesUid ? 'true' : 'false');
    }
  }

  private thumbnail(studyUid: string, s: Series): HTMLButtonElement {
    const name = `${s.series_number ?? ''} ${s.description ?? 'Series'}`.trim();
    const img = h('img', { alt: '', width: THUMBNAIL_PX / 2, height: THUMBNAIL_PX / 2, draggable: false });
    const button = h('button', {
      type: 'button',
      class: 'series-thumbnail',
      title: `${name} · ${s.instances} images${s.slice_thickness_mm ? ` · ${s.slice_thickness_mm} mm` : ''}`,
      'aria-pressed': 'false',
      'aria-label': `Show series ${name} in the ${this.side} pane`,
      dataset: { seriesThumbnail: '', seriesUid: s.series_instance_uid },
      onclick: () => this.choose(s.series_instance_uid),
    }, h('span', { class: 'thumb-image' }, img), h('span', { class: 'thumb-label' }, name));
    seriesThumbnail(studyUid, s.series_instance_uid, THUMBNAIL_PX).then(
      (blob) => {
        const url = URL.createObjectURL(blob);
        this.urls.push(url);
        img.src = url;
        button.dataset.loaded = 'true';
      },
      () => {
        button.dataset.loaded = 'failed';
        img.replaceWith(h('span', { class: 'thumb-missing' }, 'no preview'));
      },
    );
    return button;
  }
}
