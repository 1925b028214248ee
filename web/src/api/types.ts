/**
 * The API's wire types, generated from its OpenAPI document (web/openapi.json, written by
 * web/scripts/snapshot_api.py from api.app.create_app). Rename here, never redefine.
 */
import type { components } from './schema.gen';

type Schemas = components['schemas'];

export type Patient = Schemas['PatientOut'];
export type Study = Schemas['StudyOut'];
export type Series = Schemas['SeriesOut'];
export type Case = Schemas['CaseOut'];
export type CaseSummary = Schemas['CaseSummary'];
/** GET /api/v1/worklist: patients, their studies and cases, cases with work first. */
export type Worklist = Schemas['WorklistOut'];
export type WorklistPatient = Schemas['WorklistPatientOut'];
export type WorklistStudy = Schemas['WorklistStudyOut'];
export type WorklistCase = Schemas['WorklistCaseOut'];
/** A study of the patient that is not a timepoint of the case, and why. */
export type LeftOutStudy = Schemas['LeftOutStudyOut'];
/** An image that came by C-STORE and that the upload would refuse, or re-sent with other content. */
export type ImageFlag = Schemas['ImageFlagOut'];
export type StudyDateSet = Schemas['StudyDateSet'];
/** GET /api/v1/cases/{id}/measurements: every current measurement of a case. */
export type CaseMeasurements = Schemas['CaseMeasurementsOut'];
export type CaseCreate = Schemas['CaseCreate'];
export type Timepoint = Schemas['TimepointOut'];
export type Lesion = Schemas['LesionOut'];
export type LesionCreate = Schemas['LesionCreate'];
export type Measurement = Schemas['MeasurementOut'];
export type MeasurementPut = Schemas['MeasurementPut'];
export type History = Schemas['HistoryOut'];
export type SignOff = Schemas['SignOffOut'];
export type Evaluation = Schemas['EvaluationOut'];
export type TimepointResponse = Schemas['TimepointResponseOut'];
/** GET /api/v1/cases/{id}/response: also for a case not complete yet (rows with `complete`, `missing`). */
export type CaseResponse = Schemas['CaseResponseOut'];
export type CaseTimepointResponse = Schemas['CaseTimepointResponseOut'];
export type MissingLesion = Schemas['MissingLesionOut'];
export type LesionPatch = Schemas['LesionPatch'];
export type LesionDelete = Schemas['LesionDelete'];
export type Comparison = Schemas['ComparisonOut'];
export type SeriesPair = Schemas['PairOut'];
export type LesionKind = Lesion['kind'];
export type Criteria = Case['criteria'];

/** GET /api/v1/comparisons/{id}/registration: `matrix` (row-major) maps baseline to follow-up. */
export type Registration = Schemas['RegistrationOut'];
/** GET /api/v1/cases/{id}/lesions/{lesion_id}/proposal?timepoint= */
export type Proposal = Schemas['ProposalOut'];

/** GET /api/v1/cases/{id}/readings: the primary reading against each signed-off review (issue 21). */
export type CaseReadings = Schemas['CaseReadingsOut'];
export type ReviewReadings = Schemas['ReviewReadingsOut'];
export type TimepointReadings = Schemas['TimepointReadingsOut'];
export type Reading = Schemas['ReadingOut'];
export type FinalResponse = Schemas['FinalResponseOut'];
export type LesionReading = Schemas['LesionReadingOut'];

export type MeOut = Schemas['MeOut'];
/** Who is signed in (GET /api/v1/me); `unknown` until the answer came. */
export interface Me {
  name: string | null;
  role: MeOut['role'] | 'unknown';
}

/** One change to a case, from GET /api/v1/cases/{id}/events (`event: change`). */
export interface CaseChange {
  case_id: number;
  kind: 'measurement' | 'lesion_added' | 'lesion_changed' | 'lesion_deleted' | 'signed_off';
  who: string;
  at: string;
  lesion_id: number | null;
  timepoint_id: string | null;
  version: number | null;
}

/** A stored measurement with the ETag to send back as If-Match when changing it. */
export interface Versioned<T> {
  value: T;
  etag: string | null;
}
