/** A small trend chart of the sum of diameters per timepoint (SVG, no library). */
import type { TimepointResponse } from '../api/types';
import { tenths } from '../figures';

const NS = 'http://www.w3.org/2000/svg';

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function trendChart(rows: TimepointResponse[], labels: string[]): SVGSVGElement {
  const width = 320;
  const height = 130;
  const pad = { left: 40, right: 34, top: 26, bottom: 28 };
  const inset = 18; // keeps the first point's value clear of the axis labels
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, class: 'trend', role: 'img' }) as SVGSVGElement;
  const points = rows.map((r, i) => ({ i, sum: r.sum_mm }));
  const known = points.filter((p): p is { i: number; sum: number } => p.sum !== null && p.sum !== undefined);
  svg.setAttribute('aria-label', `Sum of diameters: ${known.map((p) => `${labels[p.i]} ${tenths(p.sum)} mm`).join(', ') || 'not measured yet'}`);
  if (known.length === 0) {
    svg.append(el('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'axis-label' }, 'No sum of diameters yet'));
    return svg;
  }
  const step = niceStep(Math.max(...known.map((p) => p.sum)) / 2);
  const max = Math.max(step, Math.ceil(Math.max(...known.map((p) => p.sum)) / step) * step);
  const span = width - pad.left - pad.right - inset;
  const x = (i: number) => pad.left + inset + (rows.length === 1 ? span / 2 : (i * span) / (rows.length - 1));
  const y = (v: number) => height - pad.bottom - (v / max) * (height - pad.top - pad.bottom);
  for (let tick = 0; tick <= max + 1e-9; tick += step) {
    svg.append(el('line', { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick), class: 'grid' }));
    svg.append(el('text', { x: pad.left - 6, y: y(tick) + 3, 'text-anchor': 'end', class: 'axis-label' }, `${tick}`));
  }
  svg.append(el('text', { x: 6, y: 12, class: 'axis-label' }, 'Sum, mm'));
  svg.append(el('polyline', { points: known.map((p) => `${x(p.i)},${y(p.sum)}`).join(' '), class: 'line' }));
  for (const p of known) {
    svg.append(el('circle', { cx: x(p.i), cy: y(p.sum), r: 3.5, class: 'dot' }));
    svg.append(el('text', { x: x(p.i), y: y(p.sum) - 7, 'text-anchor': 'middle', class: 'value-label' }, tenths(p.sum)));
  }
  rows.forEach((_, i) => svg.append(el('text', { x: x(i), y: height - 10, 'text-anchor': 'middle', class: 'axis-label' }, labels[i])));
  return svg;
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0)) return 10;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= raw) ?? 10 * power;
}
