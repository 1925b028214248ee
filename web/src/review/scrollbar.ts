/**
 * A pane's slice scrollbar, beside the image (never over it): where the image shown lies in
 * its series, and a way to get anywhere in it with one drag or click (OHIF's and every
 * PACS's stack scrollbar). The element is `[data-scrollbar]`, an ARIA scrollbar whose
 * `aria-valuenow` is the image's 1-based index and `aria-valuemax` the image count.
 */
import { h } from '../panels/dom';
import type { ReviewPane } from '../viewport/pane';

/** The thumb is never shorter than this (px), however long the series. */
const MIN_THUMB_PX = 18;

export class SliceScrollbar {
  readonly element: HTMLDivElement;
  private readonly thumb: HTMLDivElement;
  private dragging = false;
  /** The last index asked for by this drag: the pointer moves faster than images draw. */
  private asked = -1;

  constructor(
    private readonly pane: ReviewPane,
    /** Show image `index` (0-based) in the pane, and let the link follow. */
    private readonly move: (index: number) => void,
  ) {
    this.thumb = h('div', { class: 'scrollbar-thumb' });
    this.element = h('div', {
      class: 'slice-scrollbar',
      role: 'scrollbar',
      'aria-orientation': 'vertical',
      'aria-controls': pane.element.id,
      'aria-label': `Image of the ${pane.side} pane`,
      'aria-valuemin': '1',
      'aria-valuemax': '1',
      'aria-valuenow': '1',
      dataset: { scrollbar: pane.side },
    }, this.thumb);
    this.element.addEventListener('pointerdown', (e) => this.pointerDown(e));
    this.element.addEventListener('pointermove', (e) => {
      if (this.dragging) this.moveTo(e.clientY);
    });
    const end = (e: PointerEvent) => {
      if (!this.dragging) return;
      this.dragging = false;
      this.element.classList.remove('dragging');
      if (this.element.hasPointerCapture(e.pointerId)) this.element.releasePointerCapture(e.pointerId);
    };
    this.element.addEventListener('pointerup', end);
    this.element.addEventListener('pointercancel', end);
    // The pane's wheel scrolls; so does the wheel over its scrollbar.
    this.element.addEventListener('wheel', (e) => {
      e.preventDefault();
      if (e.deltaY !== 0) this.move(this.pane.index + Math.sign(e.deltaY));
    }, { passive: false });
    pane.onImageChange(() => this.update());
    new ResizeObserver(() => this.update()).observe(this.element);
  }

  /** Follow the pane: the thumb's place and size, and the ARIA values. */
  update(): void {
    const count = this.pane.stack?.images.length ?? 0;
    const index = Math.max(0, this.pane.index);
    this.element.setAttribute('aria-valuemax', String(Math.max(count, 1)));
    this.element.setAttribute('aria-valuenow', String(count ? index + 1 : 1));
    this.element.setAttribute('aria-valuetext', count ? `Image ${index + 1} of ${count}` : 'No image');
    this.element.classList.toggle('empty', count === 0);
    const track = this.element.clientHeight;
    const thumb = thumbHeight(track, count);
    this.thumb.style.height = `${thumb}px`;
    this.thumb.style.transform = `translateY(${thumbTop(track, thumb, index, count)}px)`;
  }

  private pointerDown(e: PointerEvent): void {
    if (e.button !== 0 || !this.pane.stack) return;
    e.preventDefault();
    this.dragging = true;
    this.asked = -1;
    this.element.classList.add('dragging');
    this.element.setPointerCapture(e.pointerId);
    this.pane.element.focus({ preventScroll: true });
    this.moveTo(e.clientY);
  }

  private moveTo(clientY: number): void {
    const count = this.pane.stack?.images.length ?? 0;
    if (!count) return;
    const box = this.element.getBoundingClientRect();
    const index = indexAt(clientY - box.top, box.height, thumbHeight(box.height, count), count);
    if (index === this.asked) return;
    this.asked = index;
    this.move(index);
  }
}

export function thumbHeight(track: number, count: number): number {
  if (count <= 1) return track;
  return Math.min(track, Math.max(MIN_THUMB_PX, track / count));
}

/** The thumb's top (px) for image `index` of `count`. */
export function thumbTop(track: number, thumb: number, index: number, count: number): number {
  if (count <= 1) return 0;
  return ((track - thumb) * index) / (count - 1);
}

/** The image (0-based) whose thumb would be centred at `y` px down the track. */
export function indexAt(y: number, track: number, thumb: number, count: number): number {
  if (count <= 1 || track <= thumb) return 0;
  const fraction = (y - thumb / 2) / (track - thumb);
  return Math.round(Math.min(1, Math.max(0, fraction)) * (count - 1));
}
