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
export type Comparison = Schemas['ComparisonOut'];
export type SeriesPair = Schemas['PairOut'];
export type LesionKind = Lesion['kind'];
export type Criteria = Case['criteria'];

/**
 * GET /api/v1/comparisons/{id}/registration (issue 9). Not in the OpenAPI snapshot until
 * that endpoint lands: this is its documented contract. `matrix` is row-major and maps a
 * baseline patient coordinate (mm, LPS, homogeneous) to the follow-up one.
 */
export interface Registration {
  status: 'pending' | 'done' | 'failed';
  baseline_series_uid: string;
  followup_series_uid: string;
  matrix: number[][] | null;
  metric?: number | null;
  elapsed_s?: number | null;
  reason?: string | null;
}

/** GET /api/v1/cases/{id}/lesions/{lesion_id}/proposal?timepoint= (issue 9), as documented. */
export interface Proposal {
  timepoint_id: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  point: [number, number];
  position_mm: [number, number, number];
  source: 'registration' | 'position';
  from_timepoint_id: string;
}

/** Who is signed in: GET /api/v1/me when the API has it, else found by probing (client.ts). */
export interface Me {
  name: string | null;
  role: 'radiologist' | 'specialist' | 'admin' | 'uploader' | 'unknown';
}

/** A stored measurement with the ETag to send back as If-Match when changing it. */
export interface Versioned<T> {
  value: T;
  etag: string | null;
}
