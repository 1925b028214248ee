/**
 * The review's first requests, off the page's main thread (see review/start.ts): the case
 * with the patient's studies, the comparison, then both series' image metadata, each asked
 * for as soon as the answer before it is in. The page's token comes in the one message this
 * worker gets; it reads nothing else and keeps nothing.
 */
import { clientFor } from '../api/client';
import { seriesMetadataAnswer } from '../api/dicomweb';
import { sendError, type PreloadAsk, type PreloadNews } from './preload';
import { apiReads, loadReview, type ReviewSource } from './start';

interface Scope {
  onmessage: ((event: MessageEvent<PreloadAsk>) => void) | null;
  postMessage(news: PreloadNews): void;
  close(): void;
}
const scope = self as unknown as Scope;

scope.onmessage = ({ data: ask }) => {
  const { token } = ask;
  const remembered = { ...ask.remembered };
  const metadata: Promise<void>[] = [];
  // A refused token comes back to the page as the error it is: the page signs out.
  const { send, api } = clientFor({ token: () => token, refused: () => undefined });
  const source: ReviewSource = {
    ...apiReads(api),
    remembered: (key) => remembered[key] ?? null,
    remember: (key, value) => {
      remembered[key] = value;
      scope.postMessage({ kind: 'remember', key, value });
    },
    prefetchMetadata: (studyUid, seriesUid) => {
      scope.postMessage({ kind: 'metadata-asked', seriesUid });
      metadata.push(
        seriesMetadataAnswer(send, studyUid, seriesUid)
          .then((response) => response.text())
          .then(
            (text) => scope.postMessage({ kind: 'metadata', seriesUid, text }),
            (error: unknown) => scope.postMessage({ kind: 'metadata-failed', seriesUid, error: sendError(error) }),
          ),
      );
    },
    mark: (name) => scope.postMessage({ kind: 'mark', name, at: performance.timeOrigin + performance.now() }),
  };
  void loadReview(ask.caseId, ask.place, source)
    .then(
      ({ comparisonError, ...loaded }) =>
        scope.postMessage({ kind: 'loaded', loaded, comparisonError: comparisonError ? sendError(comparisonError) : null }),
      (error: unknown) => scope.postMessage({ kind: 'failed', error: sendError(error) }),
    )
    .then(() => Promise.all(metadata))
    .finally(() => {
      scope.postMessage({ kind: 'done' });
      scope.close();
    });
};
