/**
 * The application's addresses, and which clicks open a case in the page already loaded
 * instead of loading a new one.
 */

/** /cases/{id}: the review of one case. */
const CASE_PATH = /^\/cases\/(\d+)\/?$/;

/** The case a path opens, or null when it is not a case's address. */
export function caseOf(path: string): number | null {
  const match = CASE_PATH.exec(path);
  return match ? Number(match[1]) : null;
}

/** What a click on a link is, as far as opening it in this page goes. */
export interface LinkClick {
  button: number;
  modified: boolean;
  defaultPrevented: boolean;
  /** The link's target attribute ('' when it has none), whether it downloads, its address. */
  target: string;
  download: boolean;
  href: string;
}

/**
 * The path and query to open in this page for a click on a link, or null when the browser
 * should follow it itself: a click with a modifier or another button (a new tab or window,
 * as the reader asked), a link to another window, a download, another origin, or an address
 * that is not a case's.
 */
export function inPagePath(click: LinkClick, origin: string): string | null {
  if (click.defaultPrevented || click.button !== 0 || click.modified) return null;
  if ((click.target && click.target !== '_self') || click.download) return null;
  let url: URL;
  try {
    url = new URL(click.href, origin);
  } catch {
    return null;
  }
  if (url.origin !== origin || caseOf(url.pathname) === null) return null;
  return url.pathname + url.search;
}

/**
 * Open the cases linked inside `container` in this page (`open`): the worklist's links, so
 * that the page, its script and its connection are already there when the review starts.
 */
export function openCasesInPage(container: HTMLElement, open: (path: string) => void): void {
  container.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[href]') : null;
    if (!(link instanceof HTMLAnchorElement)) return;
    const path = inPagePath({
      button: event.button,
      modified: event.metaKey || event.ctrlKey || event.shiftKey || event.altKey,
      defaultPrevented: event.defaultPrevented,
      target: link.target,
      download: link.hasAttribute('download'),
      href: link.href,
    }, location.origin);
    if (path === null) return;
    event.preventDefault();
    open(path);
  });
}
