/**
 * Cine: a pane plays through its series at a chosen number of frames per second, looping,
 * until paused (the button, or the Space key on the pane). Each step waits for the image
 * before the next, so a slow network plays slower instead of piling up requests; the other
 * pane follows through the link as it does for any scroll.
 */
import { h } from '../panels/dom';
import type { ReviewPane } from '../viewport/pane';

export const CINE_RATES = [2, 5, 10, 15, 20, 30] as const;
const DEFAULT_RATE = 10;

export class Cine {
  readonly element: HTMLElement;
  private readonly button: HTMLButtonElement;
  private readonly rate: HTMLSelectElement;
  private timer: number | null = null;
  private playing = false;

  constructor(
    private readonly pane: ReviewPane,
    /** Show image `index` (0-based) in the pane, the link following; resolves once shown. */
    private readonly move: (index: number) => Promise<void>,
  ) {
    this.button = h('button', {
      type: 'button',
      class: 'cine-toggle',
      'aria-pressed': 'false',
      title: 'Play through the series, looping (Space on the pane)',
      dataset: { cine: pane.side },
      onclick: () => this.toggle(),
    });
    this.rate = h('select', { class: 'cine-rate', 'aria-label': `Frames per second, ${pane.side} pane`, title: 'Frames per second' },
      CINE_RATES.map((r) => h('option', { value: String(r), selected: r === DEFAULT_RATE }, `${r} fps`)));
    this.rate.addEventListener('change', () => {
      if (this.playing) this.schedule(0);
    });
    this.element = h('span', { class: 'cine' }, this.button, this.rate);
    this.showState();
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  get framesPerSecond(): number {
    return Number(this.rate.value) || DEFAULT_RATE;
  }

  toggle(): void {
    if (this.playing) this.stop();
    else this.play();
  }

  play(): void {
    if (this.playing || !this.pane.stack || this.pane.stack.images.length < 2) return;
    this.playing = true;
    this.showState();
    this.schedule(0);
  }

  stop(): void {
    this.playing = false;
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    this.showState();
  }

  /** The next frame, `spent` ms of its period already gone (loading the last one). */
  private schedule(spent: number): void {
    if (this.timer !== null) window.clearTimeout(this.timer);
    const wait = Math.max(0, 1000 / this.framesPerSecond - spent);
    this.timer = window.setTimeout(() => void this.step(), wait);
  }

  private async step(): Promise<void> {
    this.timer = null;
    const stack = this.pane.stack;
    if (!this.playing || !stack) return this.stop();
    const started = performance.now();
    const next = this.pane.index + 1 >= stack.images.length ? 0 : this.pane.index + 1;
    await this.move(next);
    if (this.playing && this.timer === null) this.schedule(performance.now() - started);
  }

  private showState(): void {
    this.button.setAttribute('aria-pressed', this.playing ? 'true' : 'false');
    this.button.textContent = this.playing ? '❚❚ Pause' : '▶ Cine';
    this.pane.element.dataset.cine = this.playing ? 'playing' : 'paused';
  }
}
