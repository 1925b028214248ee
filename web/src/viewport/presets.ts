/**
 * Window/level presets, keys 1-5. Lung, mediastinum, liver and bone are the report's own
 * (imaging/render/window.py, shared through web/vocabulary.json); brain is the viewer's.
 */
import { utilities } from '@cornerstonejs/core';
import vocabulary from '../../vocabulary.json';

const { windowLevel } = utilities;

export interface WindowPreset {
  key: string;
  name: string;
  center: number;
  width: number;
}

const shared = vocabulary.window_presets as Record<string, { center: number; width: number }>;

export const PRESETS: WindowPreset[] = [
  { key: '1', name: 'Lung', ...shared.LUNG },
  { key: '2', name: 'Mediastinum', ...shared.MEDIASTINUM },
  { key: '3', name: 'Abdomen / liver', ...shared.LIVER },
  { key: '4', name: 'Bone', ...shared.BONE },
  // Radiopaedia's "Windowing (CT)" brain window.
  { key: '5', name: 'Brain', center: 40, width: 80 },
];

/** DICOM window (PS3.3 C.11.2.1.2.1, LINEAR) <-> cornerstone's VOI range, both ways alike. */
export const voiRangeOf = (w: { center: number; width: number }) => windowLevel.toLowHighRange(w.width, w.center);

export const windowOf = (range: { lower: number; upper: number }) => {
  const { windowWidth, windowCenter } = windowLevel.toWindowLevel(range.lower, range.upper);
  return { center: windowCenter, width: windowWidth };
};
