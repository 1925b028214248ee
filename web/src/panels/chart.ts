/** A small trend chart of the sum of diameters per timepoint (SVG, no library). */
import type { TimepointResponse } from '../api/types';

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
  const pad = { left: 40, right: 12, top: 14, bottom: 28 };
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, class: 'trend', role: 'img' }) as SVGSVGElement;
  const points = rows.map((r, i) => ({ i, sum: r.sum_mm }));
  const known = points.filter((p): p is { i: number; sum: number } => p.sum !== null && p.sum !== undefined);
  svg.setAttribute('aria-label', `Sum of diameters: ${known.map((p) => `${labels[p.i]} ${p.sum.toFixed(1)} mm`).join(', ') || 'not measured yet'}`);
  if (known.length === 0) {
    svg.append(el('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'axis-label' }, 'No sum of diameters yet'));
    return svg;
  }
  const max = Math.max(...known.map((p) => p.sum)) * 1.15 || 10;
  const x = (i: number) => pad.left + (rows.length === 1 ? (width - pad.left - pad.right) / 2 : (i * (width - pad.left - pad.right)) / (rows.length - 1));
  const y = (v: number) => height - pad.bottom - (v / max) * (height - pad.top - pad.bottom);
  for (const tick of [0, max / 2, max]) {
    svg.append(el('line', { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick), class: 'grid' }));
    svg.append(el('text', { x: pad.left - 4, y: y(tick) + 3, 'text-anchor': 'end', class: 'axis-label' }, `${Math.round(tick)}`));
  }
  svg.append(el('text', { x: 4, y: 10, class: 'axis-label' }, 'mm'));
  svg.append(el('polyline', { points: known.map((p) => `${x(p.i)},${y(p.sum)}`).join(' '), class: 'line' }));
  for (const p of known) {
    svg.append(el('circle', { cx: x(p.i), cy: y(p.sum), r: 3.5, class: 'dot' }));
    svg.append(el('text', { x: x(p.i), y: y(p.sum) - 7, 'text-anchor': 'middle', class: 'value-label' }, p.sum.toFixed(1)));
  }
  rows.forEach((_, i) => svg.append(el('text', { x: x(i), y: height - 10, 'text-anchor': 'middle', class: 'axis-label' }, labels[i])));
  return svg;
}
