import { signedTenths, tenths } from '../figures';
/** A small element builder: h('button', {class: 'x', onclick}, 'Label'). */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value as EventListener);
    } else if (name === 'class') {
      el.className = String(value);
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (name in el && typeof value !== 'string') {
      (el as unknown as Record<string, unknown>)[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** `action` run once after the current task, however often the result is called meanwhile
 * (several changes at once: one read). */
export function coalesced(action: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      action();
    });
  };
}

/** Replace an element's children, skipping the empty ones (null, undefined, false). */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

function append(el: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/**
 * en-GB's short month names (CLDR's, "Sept" included), as `toLocaleDateString('en-GB', …)`
 * wrote them: written here, because the first `Intl.DateTimeFormat` of a page loads the
 * locale's data, about 20 ms of the review page's main thread before its first images (a
 * CPU profile of a warm visit). test/dates.test.ts checks the same text as the Intl one.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sept', 'Oct', 'Nov', 'Dec'];
const day = (d: Date) => `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
const two = (n: number) => String(n).padStart(2, '0');

/** "15 Jan 2024" from an ISO date; the input unchanged when it is not one. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
  if (Number.isNaN(d.getTime())) return iso;
  return day(d);
}

/** "15 Jan 2024, 14:05" (local time, 24 hours). */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${day(d)}, ${two(d.getHours())}:${two(d.getMinutes())}`;
}

export function mm(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${tenths(value)} mm`;
}

export function pct(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return `${signedTenths(value)} %`;
}
