/**
 * Which series each pane shows, from the comparison the API made (its pairs, scores and
 * exclusions): choices of display only, no rule of the pairing itself. No cornerstone here,
 * so the page can start loading before the viewer's code has arrived.
 */
import { api } from '../api/client';
import type { Comparison, Series, SeriesPair, Study, Timepoint } from '../api/types';

export class Pairing {
  constructor(
    readonly comparison: Comparison | null,
    readonly studies: Study[],
  ) {}

  study(timepointId: string): Study | undefined {
    return this.studies.find((s) => s.study_instance_uid === timepointId);
  }

  /** Series that hold images worth scrolling (the comparison leaves out scouts, dose reports). */
  viewableSeries(timepointId: string): Series[] {
    const excluded = new Set(this.comparison?.excluded.map((e) => e.series_instance_uid) ?? []);
    return (this.study(timepointId)?.series ?? []).filter((s) => s.instances > 0 && s.orientation && !excluded.has(s.series_instance_uid));
  }

  /**
   * What a pane says when its timepoint has no series it can show: none indexed, or each one
   * left out and why (a scout, a dose page, too few images for a volume...), so that a study
   * that holds series never reads as one that holds none.
   */
  nothingToShow(timepointId: string): string {
    const all = this.study(timepointId)?.series ?? [];
    if (!all.length) return 'No image series at this timepoint.';
    const why = all.map((s) => {
      const name = `#${s.series_number ?? '?'} ${s.description || s.modality} (${s.instances} images)`;
      const reason = this.excludedReason(s.series_instance_uid) ?? (s.instances > 0 ? 'no image plane' : 'no images indexed yet');
      return `${name}: ${reason}`;
    });
    return `No series to show at this timepoint; left out: ${why.join('; ')}.`;
  }

  excludedReason(seriesUid: string): string | undefined {
    return this.comparison?.excluded.find((e) => e.series_instance_uid === seriesUid)?.reason;
  }

  pairOf(seriesUid: string): SeriesPair | null {
    return this.comparison?.pairs.find((p) => p.baseline_series_uid === seriesUid || p.followup_series_uid === seriesUid) ?? null;
  }

  partnerOf(seriesUid: string): string | null {
    const pair = this.pairOf(seriesUid);
    if (!pair) return null;
    return pair.baseline_series_uid === seriesUid ? pair.followup_series_uid : pair.baseline_series_uid;
  }

  /** The series each side opens on: the best-scored pair, the one with more images first. */
  defaultSeries(left: Timepoint, right: Timepoint): [string | null, string | null] {
    const count = (uid: string) =>
      [...this.viewableSeries(left.id), ...this.viewableSeries(right.id)].find((s) => s.series_instance_uid === uid)?.instances ?? 0;
    const size = (p: SeriesPair) => count(p.baseline_series_uid) + count(p.followup_series_uid);
    const pairs = [...(this.comparison?.pairs ?? [])].sort((a, b) => (b.score ?? 1) - (a.score ?? 1) || size(b) - size(a));
    const best = pairs[0];
    if (best && this.comparison) {
      const leftIsBaseline = this.comparison.baseline_study_uid === left.id;
      return leftIsBaseline ? [best.baseline_series_uid, best.followup_series_uid] : [best.followup_series_uid, best.baseline_series_uid];
    }
    const biggest = (tp: Timepoint) => [...this.viewableSeries(tp.id)].sort((a, b) => b.instances - a.instances)[0]?.series_instance_uid ?? null;
    const l = biggest(left);
    return [l, left.id === right.id ? l : biggest(right)];
  }
}

/** What finding a comparison needs: the API's two calls, and this tab's remembered ids. */
export interface ComparisonSource {
  comparison(comparisonId: number): Promise<Comparison | null>;
  createComparison(patientId: string, baselineStudyUid: string, followupStudyUid: string): Promise<Comparison>;
  remembered(key: string): string | null;
  remember(key: string, value: string): void;
}

/** This tab's: the API client, and sessionStorage (the ids go with the token at sign-out). */
export const tabComparisons: ComparisonSource = {
  comparison: (comparisonId) => api.comparison(comparisonId),
  createComparison: (patientId, baseline, followup) => api.createComparison(patientId, baseline, followup),
  remembered: (key) => sessionStorage.getItem(key),
  remember: (key, value) => sessionStorage.setItem(key, value),
};

/** The key under which a tab remembers the comparison of two timepoints. */
export const COMPARISON_KEY_PREFIX = 'nadir.comparison.';

/** The comparison of two timepoints' studies: the one this tab made before, or a new one. */
export async function comparisonFor(
  patientId: string,
  left: Timepoint,
  right: Timepoint,
  source: ComparisonSource = tabComparisons,
): Promise<Comparison | null> {
  if (left.id === right.id) return null;
  const key = `${COMPARISON_KEY_PREFIX}${left.id}.${right.id}`;
  const known = Number(source.remembered(key));
  if (known) {
    const c = await source.comparison(known).catch(() => null);
    if (c) return c;
  }
  const c = await source.createComparison(patientId, left.id, right.id);
  source.remember(key, String(c.id));
  return c;
}
