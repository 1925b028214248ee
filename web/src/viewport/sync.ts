/**
 * Linking the two panes: scrolling one moves the other to the image nearest the same
 * patient position along its series normal, through the registration's transform when
 * there is one (issue 9), else by raw patient coordinates. Zoom, pan and window follow.
 */
import { applyMatrix, imageCentre, invert, isMat4, type Mat4 } from './geometry';
import type { ReviewPane } from './pane';
import type { SeriesStack, StackImage } from './stack';

export type SyncSource = 'registration' | 'position' | 'unlinked';

export class PaneLink {
  private linkedState = true;
  /** Maps the left pane's patient coordinates to the right pane's, and back. */
  private leftToRight: Mat4 | null = null;
  private rightToLeft: Mat4 | null = null;
  private readonly listeners: ((source: SyncSource) => void)[] = [];

  constructor(
    readonly left: ReviewPane,
    readonly right: ReviewPane,
  ) {
    for (const [from, to] of [
      [left, right],
      [right, left],
    ] as const) {
      from.onCameraChange(() => {
        if (this.linkedState && to.stack) to.followCamera(from.getCamera());
      });
      from.onWindowChange(() => {
        const window = from.getWindow();
        if (this.linkedState && window && to.stack) to.followWindow(window);
      });
    }
    this.announce();
  }

  get linked(): boolean {
    return this.linkedState;
  }

  get source(): SyncSource {
    if (!this.linkedState) return 'unlinked';
    return this.leftToRight ? 'registration' : 'position';
  }

  onSourceChange(listener: (source: SyncSource) => void): void {
    this.listeners.push(listener);
  }

  setLinked(linked: boolean): void {
    this.linkedState = linked;
    this.announce();
  }

  /**
   * Use a registration: `matrix` (row-major) maps the baseline study's patient coordinates
   * to the follow-up's; `leftIsBaseline` says which pane shows the baseline. null: none.
   */
  setRegistration(matrix: unknown, leftIsBaseline = true): void {
    const inverse = isMat4(matrix) ? invert(matrix) : null;
    if (!isMat4(matrix) || !inverse) {
      this.leftToRight = this.rightToLeft = null;
    } else if (leftIsBaseline) {
      this.leftToRight = matrix;
      this.rightToLeft = inverse;
    } else {
      this.leftToRight = inverse;
      this.rightToLeft = matrix;
    }
    this.announce();
  }

  /** The index the other pane should show for what `from` shows now (-1: none). */
  targetIndex(from: ReviewPane): number {
    const to = from === this.left ? this.right : this.left;
    const image = from.image;
    if (!image || !to.stack) return -1;
    return this.indexFor(from === this.left ? 'left' : 'right', image, to.stack);
  }

  /** The image of `to` (a stack of the other side) nearest `image` of side `from`. */
  indexFor(from: 'left' | 'right', image: StackImage, to: SeriesStack): number {
    let point = imageCentre(image.geometry);
    const transform = from === 'left' ? this.leftToRight : this.rightToLeft;
    if (transform) point = applyMatrix(transform, point);
    return to.nearestToPoint(point);
  }

  /** After the reader moved `from`: move the other pane when linked. */
  async follow(from: ReviewPane): Promise<void> {
    if (!this.linkedState) return;
    const to = from === this.left ? this.right : this.left;
    const index = this.targetIndex(from);
    if (index >= 0) await to.setIndex(index);
  }

  private announce(): void {
    const source = this.source;
    for (const pane of [this.left, this.right]) pane.element.dataset.sync = source;
    this.listeners.forEach((f) => f(source));
  }
}
