/** The single-page application's routes: /login, / (worklist) and /cases/{id} (review). */
import './styles.css';
import { prefetchSeriesMetadata } from './api/dicomweb';
import { currentToken, goToLogin } from './api/session';
import { loadInWorker } from './review/preload';
import { startReview } from './review/start';
import { loginPage } from './pages/login';
import { worklistPage } from './pages/worklist';

async function route(): Promise<void> {
  const root = document.getElementById('app')!;
  const path = location.pathname;
  if (path === '/login') return loginPage(root);
  if (!currentToken()) return goToLogin(path);
  const review = /^\/cases\/(\d+)\/?$/.exec(path);
  // The review (cornerstone3D, vtk.js) is a bundle of its own: the worklist loads without it.
  if (review) {
    // The case, pairing and image metadata load (in a worker) while the viewer's code does.
    const start = startReview(Number(review[1]), prefetchSeriesMetadata, loadInWorker);
    return (await import('./pages/review')).reviewPage(root, start);
  }
  return worklistPage(root);
}

route().catch((error) => {
  const root = document.getElementById('app');
  if (root) root.textContent = `Something went wrong: ${error instanceof Error ? error.message : String(error)}`;
});
