/**
 * What the review needs before its first images, started while the viewer's code loads:
 * the case, its studies, the comparison of the two timepoints shown (from the page's
 * place, else the first and the last) and their series' image metadata. No cornerstone here.
 *
 * The chain runs in a worker (review/preload.worker.ts) where the browser has one: each of
 * its steps waits on the answer before, and on the page's main thread each answer would also
 * wait until the viewer's code had been evaluated (about 250 ms of one task, cold), so the
 * metadata was asked for only after it. In the worker the answers are taken as they come.
 */
import { api, type Api } from '../api/client';
import type { Case, Comparison, Study, Timepoint } from '../api/types';
import { Pairing, comparisonFor, tabComparisons, type ComparisonSource } from '../panels/pairing';
import { parsePlace, type Place } from './place';

export interface Loaded {
  case: Case;
  studies: Study[];
  left: Timepoint;
  right: Timepoint;
  comparison: Comparison | null;
  comparisonError: unknown;
}

export interface ReviewStart {
  caseId: number;
  /** Where the page's address says the reader was (timepoints, series, images, lesion). */
  place: Place;
  loaded: Promise<Loaded>;
}

/** What the chain reads, and where it says how far it got: the page's API client, or the worker's. */
export interface ReviewSource extends ComparisonSource {
  caseWithStudies(caseId: number): Promise<Case>;
  studies(patientId: string): Promise<Study[]>;
  /** Ask for a series' image metadata now; the viewer takes the answer when it needs it. */
  prefetchMetadata(studyUid: string, seriesUid: string): void;
  /** A step reached (`nadir:case`, `nadir:pairing`: the benchmark's marks). */
  mark(name: string): void;
}

/** The two timepoints to show: the place's when the case has them, else the first and the last. */
export function timepointsOf(c: Case, place: Place): [Timepoint, Timepoint] | null {
  const tps = c.timepoints;
  if (!tps.length) return null;
  const find = (id: string | undefined) => (id ? tps.find((t) => t.id === id) : undefined);
  return [find(place.left.timepoint) ?? tps[0], find(place.right.timepoint) ?? tps[tps.length - 1]];
}

/** The series a pane opens on: the place's when the study has it, else the pairing's choice. */
export function seriesOf(pairing: Pairing, tp: Timepoint, wanted: string | undefined, fallback: string | null): string | null {
  if (wanted && pairing.study(tp.id)?.series.some((s) => s.series_instance_uid === wanted && s.instances > 0)) return wanted;
  return fallback;
}

/** The chain itself: the case with the patient's studies, the comparison, then the metadata asked for. */
export async function loadReview(caseId: number, place: Place, source: ReviewSource): Promise<Loaded> {
  // One request for the case and the patient's studies: the pairing then needs only
  // the comparison before the images' metadata can be asked for.
  const c = await source.caseWithStudies(caseId);
  source.mark('nadir:case');
  const pair = timepointsOf(c, place);
  if (!pair) throw new Error('this case has no timepoint');
  const [left, right] = pair;
  let comparisonError: unknown = null;
  const [studies, comparison] = await Promise.all([
    c.studies ?? source.studies(c.patient_id),
    comparisonFor(c.patient_id, left, right, source).catch((e) => ((comparisonError = e), null)),
  ]);
  source.mark('nadir:pairing');
  const pairing = new Pairing(comparison, studies);
  const [l, r] = pairing.defaultSeries(left, right);
  const ls = seriesOf(pairing, left, place.left.series, l);
  const rs = seriesOf(pairing, right, place.right.series, r);
  if (ls) source.prefetchMetadata(left.id, ls);
  if (rs) source.prefetchMetadata(right.id, rs);
  return { case: c, studies, left, right, comparison, comparisonError };
}

type Reads = Pick<ReviewSource, 'caseWithStudies' | 'studies' | 'comparison' | 'createComparison'>;

/** What the chain reads from the API, through a client (the page's, or the worker's). */
export function apiReads(client: Pick<Api, keyof Reads>): Reads {
  return {
    caseWithStudies: (caseId) => client.caseWithStudies(caseId),
    studies: (patientId) => client.studies(patientId),
    comparison: (comparisonId) => client.comparison(comparisonId),
    createComparison: (patientId, baseline, followup) => client.createComparison(patientId, baseline, followup),
  };
}

/** The page's own source: its API client and sessionStorage, on the main thread. */
export function tabSource(prefetchMetadata: (studyUid: string, seriesUid: string) => void): ReviewSource {
  return {
    ...tabComparisons,
    ...apiReads(api),
    prefetchMetadata,
    mark: (name) => void performance.mark(name),
  };
}

/**
 * Start the chain: ``load`` runs it (in a worker, see review/preload.ts), else on this thread.
 */
export function startReview(
  caseId: number,
  prefetchMetadata: (studyUid: string, seriesUid: string) => void,
  load?: (caseId: number, place: Place, here: () => Promise<Loaded>) => Promise<Loaded>,
): ReviewStart {
  const place = parsePlace(location.search);
  const here = () => loadReview(caseId, place, tabSource(prefetchMetadata));
  const loaded = load ? load(caseId, place, here) : here();
  // The page awaits it once its code has loaded (and shows a refusal or a missing case);
  // marked handled now, so a rejection before then is not reported as an uncaught error.
  loaded.catch(() => undefined);
  return { caseId, place, loaded };
}
