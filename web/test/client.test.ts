import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, NetworkError, clientFor } from '../src/api/client';
import { seriesMetadataAnswer } from '../src/api/dicomweb';
import { apiReads } from '../src/review/start';

interface Sent {
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** fetch answered by `answer`, recording what was sent. */
function stubFetch(answer: (sent: Sent) => Response | Promise<Response>): Sent[] {
  const sent: Sent[] = [];
  vi.stubGlobal('fetch', async (path: string, init: RequestInit) => {
    const one = { path, method: init.method ?? 'GET', headers: init.headers as Record<string, string>, body: init.body as string | undefined };
    sent.push(one);
    return answer(one);
  });
  return sent;
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

afterEach(() => void vi.unstubAllGlobals());

describe('clientFor', () => {
  it("sends as its credentials' token, and the chain's reads go through it", async () => {
    const sent = stubFetch(({ path }) => json(path.startsWith('/api/v1/comparisons') ? { id: 3 } : { id: 7, path }));
    const { api } = clientFor({ token: () => 'worker-token', refused: () => undefined });
    const reads = apiReads(api);
    await reads.caseWithStudies(7);
    await reads.studies('P 1/2');
    await reads.createComparison('P1', 'B', 'F');
    expect(sent.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /api/v1/cases/7?include=studies',
      'GET /api/v1/patients/P%201%2F2/studies',
      'POST /api/v1/comparisons',
    ]);
    expect(sent.every((s) => s.headers.Authorization === 'Bearer worker-token')).toBe(true);
    expect(JSON.parse(sent[2].body ?? '')).toEqual({ patient_id: 'P1', baseline_study_uid: 'B', followup_study_uid: 'F' });
  });

  it('a refused token (401) calls its own action and throws the server\'s message', async () => {
    stubFetch(() => json({ detail: 'token revoked' }, 401));
    const refused = vi.fn();
    const { api } = clientFor({ token: () => 'old', refused });
    const error = await api.caseWithStudies(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect((error as ApiError).detail).toBe('token revoked');
    expect(refused).toHaveBeenCalledTimes(1);
  });

  it('sends no Authorization header without a token, and a missing comparison is null', async () => {
    const sent = stubFetch(() => json({ detail: 'no comparison 9' }, 404));
    const { api } = clientFor({ token: () => null, refused: () => undefined });
    expect(await api.comparison(9)).toBeNull();
    expect(sent[0].headers.Authorization).toBeUndefined();
  });

  it('no answer is a NetworkError naming the path', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    const { api } = clientFor({ token: () => 't', refused: () => undefined });
    const error = await api.studies('P1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).path).toBe('/api/v1/patients/P1/studies');
  });

  it("a series' metadata is asked for as DICOM JSON with the client's token; an error names the series", async () => {
    const sent = stubFetch(({ path }) => (path.includes('/series/s-bad/') ? new Response('', { status: 404, statusText: 'Not Found' }) : json([{}])));
    const { send } = clientFor({ token: () => 'w', refused: () => undefined });
    const answer = await seriesMetadataAnswer(send, '1.2', '1.2.3');
    expect(await answer.text()).toBe('[{}]');
    expect(sent[0].path).toBe('/dicom-web/studies/1.2/series/1.2.3/metadata');
    expect(sent[0].headers.Accept).toBe('application/dicom+json');
    expect(sent[0].headers.Authorization).toBe('Bearer w');
    const error = await seriesMetadataAnswer(send, '1.2', 's-bad').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(404);
    expect((error as ApiError).detail).toContain('s-bad');
  });
});
