/**
 * What the review needs before its first images, started while the viewer's code loads:
 * the case, its studies, the comparison of the two timepoints shown (from the page's
 * place, else the first and the last) and their series' image metadata. No cornerstone here.
 */
import { api } from '../api/client';
import type { Case, Comparison, Study, Timepoint } from '../api/types';
import { Pairing, comparisonFor } from '../panels/pairing';
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

export function startReview(caseId: number, prefetchMetadata: (studyUid: string, seriesUid: string) => void): ReviewStart {
  const place = parsePlace(location.search);
  const loaded = (async (): Promise<Loaded> => {
    // One request for the case and the patient's studies: the pairing then needs only
    // the comparison before the images' metadata can be asked for.
    const c = await api.caseWithStudies(caseId);
    performance.mark('nadir:case');
    const pair = timepointsOf(c, place);
    if (!pair) throw new Error('this case has no timepoint');
    const [left, right] = pair;
    let comparisonError: unknown = null;
    const [studies, comparison] = await Promise.all([
      c.studies ?? api.studies(c.patient_id),
      comparisonFor(c.patient_id, left, right).catch((e) => ((comparisonError = e), null)),
    ]);
    performance.mark('nadir:pairing');
    const pairing = new Pairing(comparison, studies);
    const [l, r] = pairing.defaultSeries(left, right);
    const ls = seriesOf(pairing, left, place.left.series, l);
    const rs = seriesOf(pairing, right, place.right.series, r);
    if (ls) prefetchMetadata(left.id, ls);
    if (rs) prefetchMetadata(right.id, rs);
    return { case: c, studies, left, right, comparison, comparisonError };
  })();
  // The page awaits it once its code has loaded (and shows a refusal or a missing case);
  // marked handled now, so a rejection before then is not reported as an uncaught error.
  loaded.catch(() => undefined);
  return { caseId, place, loaded };
}
