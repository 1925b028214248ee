/**
 * Where the reader is, kept in the page's query so that a reload or a link opens the same
 * view: the two timepoints, each pane's series and image, the selected lesion and whose
 * calipers show (a case read twice: another reading's case id, or `all`). Pure;
 * only values of a UID's or an id's grammar are read back, anything else is ignored.
 */

export interface PanePlace {
  timepoint?: string;
  series?: string;
  image?: string;
  /** The frame (1-based) of a multi-frame image. */
  frame?: number;
}

export interface Place {
  left: PanePlace;
  right: PanePlace;
  lesion?: number;
  /** Whose calipers show, when not this case's own: another reading's case id, or all. */
  readers?: number | 'all';
}

const UID = /^[0-9]+(\.[0-9]+)*$/;
const KEYS = { timepoint: 'tp', series: 'series', image: 'image' } as const;

const uid = (value: string | null): string | undefined =>
  value && value.length <= 64 && UID.test(value) ? value : undefined;

export function parsePlace(search: string): Place {
  const q = new URLSearchParams(search);
  const pane = (side: 'left' | 'right'): PanePlace => {
    const place: PanePlace = {};
    for (const [field, key] of Object.entries(KEYS) as [keyof typeof KEYS, string][]) {
      const value = uid(q.get(`${side}_${key}`));
      if (value) place[field] = value;
    }
    const frame = q.get(`${side}_frame`);
    if (place.image && frame && /^[1-9][0-9]{0,8}$/.test(frame)) place.frame = Number(frame);
    return place;
  };
  const lesionText = q.get('lesion');
  const lesion = lesionText && /^[1-9][0-9]{0,9}$/.test(lesionText) ? Number(lesionText) : undefined;
  const readersText = q.get('readers');
  const readers = readersText === 'all' ? 'all' : readersText && /^[1-9][0-9]{0,9}$/.test(readersText) ? Number(readersText) : undefined;
  return { left: pane('left'), right: pane('right'), ...(lesion ? { lesion } : {}), ...(readers ? { readers } : {}) };
}

/** The query string (with its "?", or "" when empty) for a place. */
export function formatPlace(place: Place): string {
  const q = new URLSearchParams();
  for (const side of ['left', 'right'] as const) {
    for (const [field, key] of Object.entries(KEYS) as [keyof typeof KEYS, string][]) {
      const value = place[side][field];
      if (value) q.set(`${side}_${key}`, value);
    }
    const frame = place[side].frame;
    if (place[side].image && frame) q.set(`${side}_frame`, String(frame));
  }
  if (place.lesion) q.set('lesion', String(place.lesion));
  if (place.readers) q.set('readers', String(place.readers));
  const text = q.toString();
  return text ? `?${text}` : '';
}
