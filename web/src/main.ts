/**
 * The single-page application's routes: /login, / (worklist) and /cases/{id} (review).
 *
 * A case opened from the worklist opens in the same page (history.pushState): the page, its
 * script and its connection to Nadir are there already, so the review starts at the click.
 * Leaving a case (the browser's Back, the header's links) loads the page anew.
 */
import './styles.css';
import { prefetchSeriesMetadata } from './api/dicomweb';
import { currentToken, goToLogin } from './api/session';
import { loadInWorker } from './review/preload';
import { startReview } from './review/start';
import { loginPage } from './pages/login';
import { caseOf } from './pages/routes';
import { worklistPage } from './pages/worklist';

async function route(): Promise<void> {
  const root = document.getElementById('app')!;
  const path = location.pathname;
  if (path === '/login') return loginPage(root);
  if (!currentToken()) return goToLogin(path);
  const review = caseOf(path);
  // The review (cornerstone3D, vtk.js) is a bundle of its own: the worklist loads without it.
  if (review !== null) {
    // The case, pairing and image metadata load (in a worker) while the viewer's code does.
    const start = startReview(review, prefetchSeriesMetadata, loadInWorker);
    return (await import('./pages/review')).reviewPage(root, start);
  }
  return worklistPage(root, openInPage);
}

/** Whether a case is opening in this page already (the worklist stays until its review is built). */
let opening = false;

/** Open a case's review in this page, as if its address had been loaded; once only (a
 * double click, or a second case clicked while the first opens, opens nothing more). */
function openInPage(path: string): void {
  if (opening) return;
  opening = true;
  history.pushState(null, '', path);
  window.scrollTo(0, 0);
  // Should the review fail to start here (its code gone from the server since this page was
  // loaded, as after an upgrade: asset names carry their content's hash), its address is
  // loaded anew, which names the code the server has now; a failure there is shown as usual.
  route().catch(() => location.reload());
}

// Back (or Forward) to an address this page showed: that page is loaded anew, as it is now,
// rather than rebuilt from what this page still holds (a review's viewer and its state).
window.addEventListener('popstate', () => location.reload());
route().catch((error) => {
  const root = document.getElementById('app');
  if (root) root.textContent = `Something went wrong: ${error instanceof Error ? error.message : String(error)}`;
});
