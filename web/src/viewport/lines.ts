/**
 * Another reader's calipers on a pane, drawn read-only (issue 21): an SVG layer over the
 * image that takes no pointer event and is not a cornerstone annotation, so no tool, drag,
 * key or undo of the page can reach it. Dashed, in the reader's colour, each line labelled
 * with the reader's name. The pane places it again at every image, camera and size change.
 */

const SVG = 'http://www.w3.org/2000/svg';

/** One lesion's reading by another reader at one timepoint, on one image. */
export interface ReadOnlyCaliper {
  /** The case that holds the reading. */
  readerCaseId: number;
  lesionId: number;
  timepointId: string;
  sopInstanceUid: string;
  frame: number | null;
  /** Each line's two ends, image [row, column]: the axis, the short axis, each fragment. */
  lines: number[][][];
  /** Where a status reading (non-target, new lesion) was marked, image [row, column]. */
  point: number[] | null;
  label: string;
  colour: string;
}

/** Canvas (CSS px in the pane) of an image point of the image shown, or null. */
export type Project = (row: number, column: number) => [number, number] | null;

export class ReadOnlyLayer {
  readonly element: SVGSVGElement;
  private calipers: ReadOnlyCaliper[] = [];

  constructor() {
    this.element = document.createElementNS(SVG, 'svg');
    this.element.classList.add('reader-calipers');
    this.element.setAttribute('aria-hidden', 'true');
  }

  set(calipers: ReadOnlyCaliper[]): void {
    this.calipers = calipers;
  }

  /** Draw the calipers that lie on the image shown (`on` says which do). */
  place(on: (c: ReadOnlyCaliper) => boolean, project: Project): void {
    const groups: SVGGElement[] = [];
    for (const c of this.calipers) {
      if (!on(c)) continue;
      const g = svg('g', { 'data-reader': String(c.readerCaseId), 'data-lesion-id': String(c.lesionId), 'data-timepoint-id': c.timepointId });
      g.style.setProperty('--reader-colour', c.colour);
      let anchor: [number, number] | null = null;
      for (const [a, b] of c.lines) {
        const p = project(a[0], a[1]);
        const q = project(b[0], b[1]);
        if (!p || !q) continue;
        g.append(svg('line', { x1: p[0], y1: p[1], x2: q[0], y2: q[1] }));
        anchor ??= q[0] >= p[0] ? q : p;
      }
      if (c.point) {
        const p = project(c.point[0], c.point[1]);
        if (p) {
          g.append(svg('circle', { cx: p[0], cy: p[1], r: 9 }));
          anchor ??= [p[0] + 6, p[1] - 6];
        }
      }
      if (!anchor) continue;
      const text = svg('text', { x: anchor[0] + 6, y: anchor[1] - 6 });
      text.textContent = c.label;
      g.append(text);
      groups.push(g);
    }
    this.element.replaceChildren(...groups);
  }
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    el.setAttribute(name, typeof value === 'number' ? value.toFixed(1) : value);
  }
  return el;
}
