/**
 * The review's first requests in a worker (review/preload.worker.ts), from the page's side:
 * what is asked of it, what it tells, and the page's objects rebuilt from that. The page's
 * own chain (review/start.ts on this thread) runs instead where no worker can start, or when
 * the worker fails to load or breaks.
 */
import { ApiError, NetworkError } from '../api/client';
import { adoptSeriesMetadata, type DicomJson } from '../api/dicomweb';
import { currentToken, goToLogin, signOut } from '../api/session';
import { COMPARISON_KEY_PREFIX } from '../panels/pairing';
import type { Place } from './place';
import type { Loaded } from './start';

/** What the page asks of the worker: the token travels in this message only. */
export interface PreloadAsk {
  caseId: number;
  place: Place;
  token: string;
  /** This tab's remembered comparison ids (sessionStorage, which a worker cannot read). */
  remembered: Record<string, string>;
}

/** An error as a message carries it. */
export type SentError =
  | { kind: 'api'; status: number; detail: string; path: string; body: Record<string, unknown> }
  | { kind: 'network'; timedOut: boolean; path: string }
  | { kind: 'other'; message: string };

/** What the worker tells the page, in this order for each series: asked, then its answer. */
export type PreloadNews =
  | { kind: 'mark'; name: string; at: number }
  | { kind: 'remember'; key: string; value: string }
  | { kind: 'metadata-asked'; seriesUid: string }
  | { kind: 'metadata'; seriesUid: string; text: string }
  | { kind: 'metadata-failed'; seriesUid: string; error: SentError }
  | { kind: 'loaded'; loaded: Omit<Loaded, 'comparisonError'>; comparisonError: SentError | null }
  | { kind: 'failed'; error: SentError }
  | { kind: 'done' };

export function sendError(error: unknown): SentError {
  if (error instanceof ApiError) {
    return { kind: 'api', status: error.status, detail: error.detail, path: error.path, body: error.body };
  }
  if (error instanceof NetworkError) return { kind: 'network', timedOut: error.timedOut, path: error.path };
  return { kind: 'other', message: error instanceof Error ? error.message : String(error) };
}

export function receivedError(sent: SentError): Error {
  if (sent.kind === 'api') return new ApiError(sent.status, sent.detail, sent.path, sent.body);
  if (sent.kind === 'network') return new NetworkError(sent.timedOut, sent.path);
  return new Error(sent.message);
}

/**
 * Run the chain in a worker: what it loads, with each series' metadata handed to the page's
 * DICOMweb client as it comes (`here`: the page's own chain, when there is no worker).
 */
export function loadInWorker(caseId: number, place: Place, here: () => Promise<Loaded>): Promise<Loaded> {
  const token = currentToken();
  if (typeof Worker === 'undefined' || !token) return here();
  let worker: Worker;
  try {
    worker = new Worker(new URL('./preload.worker.ts', import.meta.url), { type: 'module', name: 'nadir-preload' });
  } catch {
    return here();
  }
  const remembered: Record<string, string> = {};
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith(COMPARISON_KEY_PREFIX)) remembered[key] = sessionStorage.getItem(key) ?? '';
  }
  const waiting = new Map<string, { resolve: (v: DicomJson[]) => void; reject: (e: Error) => void }>();
  return new Promise<Loaded>((resolve, reject) => {
    let settled = false;
    const settle = (run: () => void) => {
      if (!settled) {
        settled = true;
        run();
      }
    };
    worker.onmessage = (event: MessageEvent<PreloadNews>) => {
      const news = event.data;
      switch (news.kind) {
        case 'mark':
          performance.mark(news.name, { startTime: news.at - performance.timeOrigin });
          break;
        case 'remember':
          sessionStorage.setItem(news.key, news.value);
          break;
        case 'metadata-asked':
          adoptSeriesMetadata(news.seriesUid, new Promise((ok, no) => waiting.set(news.seriesUid, { resolve: ok, reject: no })));
          break;
        case 'metadata':
          try {
            waiting.get(news.seriesUid)?.resolve(JSON.parse(news.text) as DicomJson[]);
          } catch (error) {
            waiting.get(news.seriesUid)?.reject(error instanceof Error ? error : new Error(String(error)));
          }
          waiting.delete(news.seriesUid);
          break;
        case 'metadata-failed':
          waiting.get(news.seriesUid)?.reject(receivedError(news.error));
          waiting.delete(news.seriesUid);
          break;
        case 'loaded': {
          const comparisonError = news.comparisonError ? receivedError(news.comparisonError) : null;
          settle(() => resolve({ ...news.loaded, comparisonError }));
          break;
        }
        case 'failed': {
          const error = receivedError(news.error);
          if (error instanceof ApiError && error.status === 401) {
            // As the page's own client does: the token was revoked or mistyped.
            signOut();
            goToLogin();
          }
          settle(() => reject(error));
          break;
        }
        case 'done':
          worker.terminate();
          break;
      }
    };
    worker.onerror = (event) => {
      // The worker's script did not load, or broke: the page asks for itself.
      event.preventDefault();
      worker.terminate();
      for (const pending of waiting.values()) pending.reject(new Error('the preload worker stopped'));
      waiting.clear();
      settle(() => void here().then(resolve, reject));
    };
    worker.postMessage({ caseId, place, token, remembered } satisfies PreloadAsk);
  });
}
