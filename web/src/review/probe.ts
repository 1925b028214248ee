/**
 * The probe (key P): the value under the pointer, with the image's rescale applied (HU on
 * CT, PS3.3 C.11.1.1.2), and where it is in the patient (mm, LPS); a drag draws a circle
 * and gives the mean ± SD of the pixels whose centres lie in it. Nothing is saved: it
 * answers "cyst or solid?" without another viewer.
 */
import type { ReviewPane } from '../viewport/pane';

interface Decoded {
  rows: number;
  columns: number;
  value(row: number, column: number): number;
  unit: string;
}

export class Probe {
  private readonly readout: HTMLElement;
  private readonly circle: HTMLElement;
  private press: { row: number; column: number } | null = null;

  constructor(private readonly pane: ReviewPane, private readonly active: () => boolean) {
    this.readout = document.createElement('div');
    this.readout.className = 'probe-readout';
    this.readout.dataset.probe = '';
    this.readout.setAttribute('role', 'status');
    this.readout.hidden = true;
    this.circle = document.createElement('div');
    this.circle.className = 'probe-circle';
    this.circle.hidden = true;
    pane.element.append(this.readout, this.circle);
    const el = pane.element;
    el.addEventListener('mousemove', (e) => this.moved(e));
    el.addEventListener('mousedown', (e) => {
      if (e.button !== 0 || !this.active()) return;
      const at = this.pane.clientToImage(e.clientX, e.clientY);
      this.press = at ? { row: at[0], column: at[1] } : null;
      this.circle.hidden = true;
    });
    window.addEventListener('mouseup', () => {
      this.press = null;
    });
    el.addEventListener('mouseleave', () => {
      if (!this.press) this.hide();
    });
  }

  private hide(): void {
    this.readout.hidden = true;
    this.circle.hidden = true;
  }

  private moved(e: MouseEvent): void {
    if (!this.active()) {
      this.hide();
      return;
    }
    const at = this.pane.clientToImage(e.clientX, e.clientY);
    const decoded = this.decoded();
    const stack = this.pane.stack;
    if (!at || !decoded || !stack) {
      this.readout.hidden = true;
      return;
    }
    if (this.press && e.buttons & 1) {
      this.showCircle(this.press, at, decoded);
      return;
    }
    const row = Math.min(decoded.rows - 1, Math.floor(at[0]));
    const column = Math.min(decoded.columns - 1, Math.floor(at[1]));
    const value = decoded.value(row, column);
    const [x, y, z] = stack.imageToPatient(this.pane.index, at[0], at[1]);
    this.readout.dataset.value = String(value);
    this.show(`${round(value)} ${decoded.unit}`.trim(), `x ${x.toFixed(1)} y ${y.toFixed(1)} z ${z.toFixed(1)} mm · row ${row} col ${column}`);
  }

  private showCircle(centre: { row: number; column: number }, edge: [number, number], decoded: Decoded): void {
    const stack = this.pane.stack!;
    const [rowMm, colMm] = stack.images[this.pane.index].geometry.spacing;
    const radiusMm = Math.hypot((edge[0] - centre.row) * rowMm, (edge[1] - centre.column) * colMm);
    const values: number[] = [];
    const reachRows = Math.ceil(radiusMm / rowMm);
    const reachCols = Math.ceil(radiusMm / colMm);
    for (let r = Math.max(0, Math.floor(centre.row) - reachRows); r <= Math.min(decoded.rows - 1, Math.floor(centre.row) + reachRows); r++) {
      for (let c = Math.max(0, Math.floor(centre.column) - reachCols); c <= Math.min(decoded.columns - 1, Math.floor(centre.column) + reachCols); c++) {
        // A pixel is in the circle when its centre is (PS3.3 C.18.6.1.1: centre at +0.5).
        if (Math.hypot((r + 0.5 - centre.row) * rowMm, (c + 0.5 - centre.column) * colMm) <= radiusMm) values.push(decoded.value(r, c));
      }
    }
    const a = this.pane.imageToClient(centre.row, centre.column);
    const b = this.pane.imageToClient(edge[0], edge[1]);
    if (!a || !b) return;
    const box = this.pane.element.getBoundingClientRect();
    const radiusPx = Math.hypot(b[0] - a[0], b[1] - a[1]);
    Object.assign(this.circle.style, {
      left: `${a[0] - box.left - radiusPx}px`, top: `${a[1] - box.top - radiusPx}px`,
      width: `${2 * radiusPx}px`, height: `${2 * radiusPx}px`,
    });
    this.circle.hidden = false;
    if (!values.length) return;
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
    this.readout.dataset.mean = String(mean);
    this.readout.dataset.sd = String(sd);
    this.show(`${round(mean)} ± ${round(sd)} ${decoded.unit}`.trim(), `circle ${(2 * radiusMm).toFixed(1)} mm across · ${values.length} pixels`);
  }

  private show(value: string, where: string): void {
    this.readout.replaceChildren(strong(value), document.createTextNode(` ${where}`));
    this.readout.hidden = false;
  }

  /** The shown image's values in modality units: rescaled here when the loader did not. */
  private decoded(): Decoded | null {
    const image = this.pane.viewport.getCornerstoneImage();
    const shown = this.pane.image;
    if (!image || !shown) return null;
    const data = image.getPixelData();
    const scaled = Boolean(image.preScale?.scaled);
    const slope = scaled ? 1 : Number(image.slope ?? 1);
    const intercept = scaled ? 0 : Number(image.intercept ?? 0);
    const modality = (shown.metadata as Record<string, { Value?: unknown[] } | undefined>)['00080060']?.Value?.[0];
    const rescaled = scaled || slope !== 1 || intercept !== 0;
    return {
      rows: image.rows, columns: image.columns,
      value: (row, column) => Number(data[row * image.columns + column]) * slope + intercept,
      unit: modality === 'CT' && rescaled ? 'HU' : '',
    };
  }
}

function round(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function strong(text: string): HTMLElement {
  const b = document.createElement('strong');
  b.textContent = text;
  return b;
}
