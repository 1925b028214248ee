/**
 * The words the viewer shows for the API's codes, all from web/vocabulary.json (written
 * from measurement.vocabulary, api/report/vocabulary.py and api/workflow/roles.py).
 */
import vocabulary from '../../vocabulary.json';
import type { LesionKind, Me } from '../api/types';

export const KIND_NAMES = vocabulary.kind_names as Record<string, string>;
export const CRITERIA_NAMES = vocabulary.criteria_names as Record<string, string>;
export const LESION_KINDS = vocabulary.lesion_kinds as LesionKind[];

export function statusesFor(kind: string): string[] {
  return (vocabulary.statuses_by_kind as Record<string, string[]>)[kind] ?? [];
}

export function statusWords(status: string): string {
  return (vocabulary.status_meanings as Record<string, string>)[status] ?? status.replaceAll('_', ' ');
}

/** "PR" -> "PR — partial response", as the report prints it. */
export function responseLabel(code: string | null | undefined): string {
  if (!code) return '—';
  const shown = (vocabulary.response_display_codes as Record<string, string>)[code] ?? code;
  const meaning = (vocabulary.response_meanings as Record<string, string>)[code];
  return meaning ? `${shown} — ${meaning}` : shown;
}

export function responseCode(code: string | null | undefined): string {
  if (!code) return '—';
  return (vocabulary.response_display_codes as Record<string, string>)[code] ?? code;
}

/** A share token (role reviewer) measures too: the server lets it reach its review case only. */
export const mayMeasure = (me: Me) =>
  vocabulary.roles.measurers.includes(me.role) || vocabulary.roles.share_readers.includes(me.role);
export const mayManageCases = (me: Me) => vocabulary.roles.case_managers.includes(me.role);
/** Radiologists, specialists and admins read second readings (GET .../readings); a share token does not. */
export const mayReadReadings = (me: Me) => vocabulary.roles.readers.includes(me.role);

/** Said on every page that shows a result, in plain words. */
export const COMPUTED_READING =
  'Everything shown here is a computed reading made by software from measurements on the scans. ' +
  'It helps, and never replaces, the oncologist who looks after the patient: only they can say what it means for the treatment.';
