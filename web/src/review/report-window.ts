/**
 * The HTML report in its own tab, inside a sandboxed frame.
 *
 * The report comes from the API as a blob (it needs the bearer token). A blob: document
 * opened as a page would share this origin and could read the token in sessionStorage;
 * in a frame sandboxed without `allow-same-origin` and `allow-scripts` it has an opaque
 * origin and runs no script. Its styles and images are inline, which the pages' CSP allows.
 */
export function showInSandbox(tab: Window, url: string): void {
  const doc = tab.document;
  doc.title = 'Nadir report';
  const frame = doc.createElement('iframe');
  frame.setAttribute('sandbox', '');
  frame.title = 'Report';
  frame.src = url;
  // Set through the CSSOM: the pages' CSP allows that, whatever it says of style attributes.
  frame.style.cssText = 'position: fixed; inset: 0; width: 100%; height: 100%; border: 0;';
  doc.body.replaceChildren(frame);
}
