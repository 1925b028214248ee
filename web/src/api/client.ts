/**
 * Nadir's HTTP API, as the browser calls it: the bearer token from this tab's session (or a
 * worker's, see `clientFor`), errors as ApiError (status and the server's own message),
 * ETags kept for If-Match.
 */
import { currentToken, goToLogin, signOut } from './session';
import type {
  Case,
  CaseCreate,
  CaseMeasurements,
  CaseReadings,
  CaseResponse,
  CaseSummary,
  Comparison,
  History,
  Lesion,
  LesionCreate,
  LesionDelete,
  LesionPatch,
  Me,
  MeOut,
  Measurement,
  MeasurementPut,
  Patient,
  Proposal,
  Registration,
  SignOff,
  Study,
  Versioned,
  StudyDateSet,
  Worklist,
} from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly path: string,
    /** The answer's JSON body, when it had one (a 409's `missing`, say). */
    readonly body: Record<string, unknown> = {},
  ) {
    super(`${status}: ${detail}`);
  }
}

/** The request got no answer: no connection, or none within its time-out. */
export class NetworkError extends Error {
  constructor(
    readonly timedOut: boolean,
    readonly path: string,
  ) {
    super(timedOut ? 'the server did not answer in time' : 'no connection to the server');
  }
}

/** Whether an error may pass if the same request is sent again (no answer, or a 5xx). */
export function isTransient(error: unknown): boolean {
  return error instanceof NetworkError || (error instanceof ApiError && error.status >= 500);
}

/** A 409 that a reason for the amendment of a signed-off timepoint would let through. */
export function needsAmendment(error: unknown): error is ApiError {
  return error instanceof ApiError && error.status === 409 && /signed off/.test(error.detail) && !Array.isArray(error.body.missing);
}

/** How long a change waits for the server's answer before it is reported as not saved. */
export const WRITE_TIMEOUT_MS = 10_000;

export interface Options {
  body?: unknown;
  headers?: Record<string, string>;
  /** Return null instead of throwing on 404. */
  missingIsNull?: boolean;
  /** Give up (NetworkError) when no answer came within this time. */
  timeoutMs?: number;
}

/** Who requests are sent as, and what a refused token (401) does. */
export interface Credentials {
  token(): string | null;
  refused(): void;
}

/** This tab's: the session's token; a refused one signs out and goes to the sign-in page. */
const tabCredentials: Credentials = {
  token: currentToken,
  refused: () => {
    signOut();
    goToLogin();
  },
};

export type Send = (method: string, path: string, options?: Options) => Promise<Response>;

export async function errorOf(response: Response, path: string): Promise<ApiError> {
  let detail = response.statusText;
  let parsed: Record<string, unknown> = {};
  try {
    const body = await response.json();
    if (body && typeof body === 'object' && !Array.isArray(body)) parsed = body;
    if (typeof body?.detail === 'string') detail = body.detail;
    else if (Array.isArray(body?.detail)) {
      // FastAPI's validation errors: [{loc, msg}, ...]
      detail = body.detail
        .map((e: { loc?: unknown[]; msg?: string }) => `${(e.loc ?? []).join('.')}: ${e.msg}`)
        .join('; ');
    }
  } catch {
    /* not JSON: keep the status text */
  }
  return new ApiError(response.status, detail, path, parsed);
}

/**
 * A client sending as `credentials`: the page's (`api`, `send` below), or a worker's, which
 * gets its token in a message and cannot read this tab's session nor navigate.
 */
export function clientFor(credentials: Credentials) {
  const send: Send = async (method, path, options = {}) => {
    const token = credentials.token();
    const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    const headers: Record<string, string> = { Accept: 'application/json', ...auth, ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      const signal = options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined;
      response = await fetch(path, { method, headers, body, signal });
    } catch (error) {
      // fetch rejects only when no answer came: the connection failed, or the time-out.
      throw new NetworkError(error instanceof DOMException && error.name === 'TimeoutError', path);
    }
    if (response.status === 401) {
      // The token was revoked or mistyped.
      credentials.refused();
      throw await errorOf(response, path);
    }
    return response;
  };

  async function call<T>(method: string, path: string, options: Options = {}): Promise<Versioned<T>> {
    const response = await send(method, path, options);
    if (!response.ok) throw await errorOf(response, path);
    let value: T;
    try {
      value = (await response.json()) as T;
    } catch {
      // The body broke off (connection reset after the headers, or the time-out).
      throw new NetworkError(false, path);
    }
    return { value, etag: response.headers.get('ETag') };
  }

  async function maybe<T>(method: string, path: string, options: Options = {}): Promise<Versioned<T> | null> {
    try {
      return await call<T>(method, path, options);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  const get = async <T>(path: string): Promise<T> => (await call<T>('GET', path)).value;
  const post = async <T>(path: string, body: unknown): Promise<T> => (await call<T>('POST', path, { body })).value;
  const enc = encodeURIComponent;

  const api = {
    patients: () => get<Patient[]>('/api/v1/patients'),
    studies: (patientId: string) => get<Study[]>(`/api/v1/patients/${enc(patientId)}/studies`),
    cases: (patientId?: string) =>
      get<CaseSummary[]>(`/api/v1/cases${patientId ? `?patient_id=${enc(patientId)}` : ''}`),
    case: (caseId: number) => get<Case>(`/api/v1/cases/${caseId}`),
    /** The case and the patient's studies in one request (the review page's first). */
    caseWithStudies: (caseId: number) => get<Case>(`/api/v1/cases/${caseId}?include=studies`),
    createCase: (body: CaseCreate) => post<Case>('/api/v1/cases', body),
    addLesion: (caseId: number, body: LesionCreate) => post<Lesion>(`/api/v1/cases/${caseId}/lesions`, body),
    /** The case's responses; incomplete timepoints come with `complete: false` and what is missing. */
    response: (caseId: number) => get<CaseResponse>(`/api/v1/cases/${caseId}/response`),
    patchLesion: async (caseId: number, lesionId: number, body: LesionPatch) =>
      (await call<Lesion>('PATCH', `/api/v1/cases/${caseId}/lesions/${lesionId}`, { body, timeoutMs: WRITE_TIMEOUT_MS })).value,
    /** Soft delete: the lesion leaves the evaluation; its versions stay in the history. */
    deleteLesion: async (caseId: number, lesionId: number, body: LesionDelete) =>
      (await call<Lesion>('DELETE', `/api/v1/cases/${caseId}/lesions/${lesionId}`, { body, timeoutMs: WRITE_TIMEOUT_MS })).value,
    signOff: (caseId: number, timepointId: string) =>
      post<SignOff>(`/api/v1/cases/${caseId}/timepoints/${enc(timepointId)}/sign-off`, {}),
    history: (caseId: number, lesionId: number) =>
      get<History>(`/api/v1/cases/${caseId}/lesions/${lesionId}/history`),

    /** The whole worklist in one request. */
    worklist: () => get<Worklist>('/api/v1/worklist'),
    /** Date, for this case, a study whose DICOM has no date (radiologists; audited). */
    setStudyDate: async (caseId: number, studyUid: string, body: StudyDateSet) =>
      (await call<Case>('PUT', `/api/v1/cases/${caseId}/studies/${enc(studyUid)}/date`, { body, timeoutMs: WRITE_TIMEOUT_MS })).value,

    /** Every current measurement of the case in one request (one audit event). */
    measurements: (caseId: number) => get<CaseMeasurements>(`/api/v1/cases/${caseId}/measurements`),

    measurement: (caseId: number, lesionId: number, timepointId: string) =>
      maybe<Measurement>('GET', `/api/v1/cases/${caseId}/lesions/${lesionId}/measurements/${enc(timepointId)}`),

    /** A new version of the measurement; `ifMatch` is the ETag read with the current one. */
    putMeasurement: (caseId: number, lesionId: number, timepointId: string, body: MeasurementPut, ifMatch: string | null) =>
      call<Measurement>('PUT', `/api/v1/cases/${caseId}/lesions/${lesionId}/measurements/${enc(timepointId)}`, {
        body,
        headers: ifMatch ? { 'If-Match': ifMatch } : {},
        timeoutMs: WRITE_TIMEOUT_MS,
      }),

    /** The primary case's reading against each signed-off review, and the response that
     * counts per timepoint (403 for the reader of a blinded review not signed off yet). */
    readings: (primaryCaseId: number) => get<CaseReadings>(`/api/v1/cases/${primaryCaseId}/readings`),

    createComparison: (patientId: string, baselineStudyUid: string, followupStudyUid: string) =>
      post<Comparison>('/api/v1/comparisons', {
        patient_id: patientId,
        baseline_study_uid: baselineStudyUid,
        followup_study_uid: followupStudyUid,
      }),
    comparison: async (comparisonId: number) =>
      (await maybe<Comparison>('GET', `/api/v1/comparisons/${comparisonId}`))?.value ?? null,

    /** null while the API has no registration endpoint (404) or none for this comparison. */
    registration: async (comparisonId: number) =>
      (await maybe<Registration>('GET', `/api/v1/comparisons/${comparisonId}/registration`))?.value ?? null,

    /** Where a lesion measured earlier should be at `timepointId`; null when there is no proposal. */
    proposal: async (caseId: number, lesionId: number, timepointId: string) =>
      (await maybe<Proposal>('GET', `/api/v1/cases/${caseId}/lesions/${lesionId}/proposal?timepoint=${enc(timepointId)}`))
        ?.value ?? null,

    /** The report as a file (it needs the bearer token, so it cannot be a plain link). */
    report: async (caseId: number, format: 'html' | 'pdf'): Promise<Blob> => {
      const path = `/api/v1/cases/${caseId}/report?format=${format}`;
      const response = await send('GET', path, { headers: { Accept: format === 'pdf' ? 'application/pdf' : 'text/html' } });
      if (!response.ok) throw await errorOf(response, path);
      return response.blob();
    },

    me,
  };

  let signedIn: Promise<Me> | null = null;

  /**
   * Who is signed in (GET /api/v1/me), asked once per client: the header and the page share
   * the answer. A failed request is asked again next time; `again` asks the server anew (is
   * the token still valid?).
   */
  function me(again = false): Promise<Me> {
    if (!signedIn || again) {
      signedIn = get<MeOut>('/api/v1/me').then((who) => ({ name: who.name, role: who.role }));
      signedIn.catch(() => {
        signedIn = null;
      });
    }
    return signedIn;
  }

  return { send, api };
}

const tab = clientFor(tabCredentials);

/** A request as this tab (the answer as it came; a 401 signs out and goes to sign-in). */
export const send: Send = tab.send;

export const api = tab.api;

/** What a client can ask of the API. */
export type Api = ReturnType<typeof clientFor>['api'];
