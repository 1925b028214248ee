import { describe, expect, it } from 'vitest';
import type { DicomJson } from '../src/api/dicomweb';
import type { ReviewPane } from '../src/viewport/pane';
import { SeriesStack } from '../src/viewport/stack';
import { PaneLink } from '../src/viewport/sync';

function series(uid: string, top: number, count: number): SeriesStack {
  const metadata: DicomJson[] = Array.from({ length: count }, (_, i) => ({
    '00080018': { vr: 'UI', Value: [`${uid}.${i}`] },
    '00200032': { vr: 'DS', Value: [-190, -40, top - 1.25 * i] },
    '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
    '00280010': { vr: 'US', Value: [64] },
    '00280011': { vr: 'US', Value: [64] },
    '00280030': { vr: 'DS', Value: [1.5, 1.5] },
  }));
  return SeriesStack.fromMetadata('1.2', uid, metadata);
}

/** The parts of a pane the link uses, without cornerstone. */
function pane(stack: SeriesStack): ReviewPane {
  return { stack, element: { dataset: {} }, onCameraChange() {}, onWindowChange() {} } as unknown as ReviewPane;
}

// The follow-up patient lay 6.25 mm further in: the same anatomy is 6.25 mm higher in z.
const shift: number[][] = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 6.25],
  [0, 0, 0, 1],
];

describe('PaneLink', () => {
  const baseline = series('b', -130, 40);
  const followup = series('f', -123.75, 40);
  const link = new PaneLink(pane(baseline), pane(followup));

  it('follows by patient position without a registration', () => {
    const i = followup.nearestTo(-150);
    expect(followup.images[link.indexFor('left', baseline.images[16], followup)].positionMm).toBe(-150);
    expect(i).toBe(21);
    expect(link.source).toBe('position');
  });

  it('follows the same anatomy through the registration, both ways', () => {
    link.setRegistration(shift, true);
    expect(link.source).toBe('registration');
    expect(followup.images[link.indexFor('left', baseline.images[16], followup)].positionMm).toBe(-143.75);
    expect(baseline.images[link.indexFor('right', followup.images[21], baseline)].positionMm).toBe(-156.25);
    link.setRegistration(null);
  });

  it('takes the matrix the other way round when the left pane shows the follow-up', () => {
    link.setRegistration(shift, false);
    expect(followup.images[link.indexFor('left', baseline.images[16], followup)].positionMm).toBe(-156.25);
    link.setRegistration(null);
  });

  it('ignores a matrix that cannot be inverted', () => {
    link.setRegistration([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]], true);
    expect(link.source).toBe('position');
  });

  it('stops following when unlinked', () => {
    link.setLinked(false);
    expect(link.source).toBe('unlinked');
    link.setLinked(true);
  });
});
