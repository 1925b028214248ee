/**
 * The review's first requests, off the page's main thread (see review/start.ts): the case
 * with the patient's studies, the comparison, then both series' image metadata, each asked
 * for as soon as the answer before it is in. The page's token comes in the one message this
 * worker gets; it reads nothing else and keeps nothing.
 */
import { NetworkError, errorOf } from '../api/client';
import { seriesMetadataPath } from '../api/dicomweb';
import type { Case, Comparison, Study } from '../api/types';
import { sendError, type PreloadAsk, type PreloadNews } from './preload';
import { loadReview, type ReviewSource } from './start';

interface Scope {
  onmessage: ((event: MessageEvent<PreloadAsk>) => void) | null;
  postMessage(news: PreloadNews): void;
  close(): void;
}
const scope = self as unknown as Scope;

async function answer(path: string, token: string, accept: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: accept, Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new NetworkError(false, path);
  }
  if (!response.ok) throw await errorOf(response, path);
  return response;
}

async function json<T>(path: string, token: string, body?: unknown): Promise<T> {
  const response = await answer(path, token, 'application/json', body);
  try {
    return (await response.json()) as T;
  } catch {
    throw new NetworkError(false, path);
  }
}

scope.onmessage = ({ data: ask }) => {
  const { token } = ask;
  const remembered = { ...ask.remembered };
  const metadata: Promise<void>[] = [];
  const source: ReviewSource = {
    caseWithStudies: (caseId) => json<Case>(`/api/v1/cases/${caseId}?include=studies`, token),
    studies: (patientId) => json<Study[]>(`/api/v1/patients/${encodeURIComponent(patientId)}/studies`, token),
    comparison: (comparisonId) => json<Comparison>(`/api/v1/comparisons/${comparisonId}`, token).catch(() => null),
    createComparison: (patientId, baseline, followup) =>
      json<Comparison>('/api/v1/comparisons', token, { patient_id: patientId, baseline_study_uid: baseline, followup_study_uid: followup }),
    remembered: (key) => remembered[key] ?? null,
    remember: (key, value) => {
      remembered[key] = value;
      scope.postMessage({ kind: 'remember', key, value });
    },
    prefetchMetadata: (studyUid, seriesUid) => {
      scope.postMessage({ kind: 'metadata-asked', seriesUid });
      const path = seriesMetadataPath(studyUid, seriesUid);
      metadata.push(
        answer(path, token, 'application/dicom+json')
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
