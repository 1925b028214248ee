import { describe, expect, it } from 'vitest';
import type { DicomJson } from '../src/api/dicomweb';
import { SeriesStack } from '../src/viewport/stack';

function instance(sop: string, z: number, number: number): DicomJson {
  return {
    '00080018': { vr: 'UI', Value: [sop] },
    '0008103E': { vr: 'LO', Value: ['Chest 1.25'] },
    '00180050': { vr: 'DS', Value: [1.25] },
    '00200013': { vr: 'IS', Value: [number] },
    '00200032': { vr: 'DS', Value: [-190, -40, z] },
    '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
    '00280010': { vr: 'US', Value: [64] },
    '00280011': { vr: 'US', Value: [64] },
    '00280030': { vr: 'DS', Value: [0.7, 0.7] },
  };
}

describe('SeriesStack', () => {
  const metadata = [instance('b', -131.25, 2), instance('c', -132.5, 3), instance('a', -130, 1)];
  const stack = SeriesStack.fromMetadata('1.2.3', '1.2.3.4', metadata);

  it('orders images head first along the normal, whatever the order received', () => {
    expect(stack.images.map((im) => im.sopInstanceUid)).toEqual(['a', 'b', 'c']);
    expect(stack.positions).toEqual([-130, -131.25, -132.5]);
  });

  it('finds the nearest image to a position and a patient point', () => {
    expect(stack.nearestTo(-131.0)).toBe(1);
    expect(stack.nearestToPoint([12, 40, -140])).toBe(2);
    expect(stack.indexOfSop('c')).toBe(2);
    expect(stack.spacingMm).toBeCloseTo(1.25);
  });

  it('skips objects without pixels (a dose report in the series)', () => {
    const s = SeriesStack.fromMetadata('1', '2', [...metadata, { '00080018': { vr: 'UI', Value: ['sr'] } }]);
    expect(s.images).toHaveLength(3);
  });

  it('builds WADO-RS frame image ids on the same origin', () => {
    expect(stack.images[0].imageId).toMatch(/^wadors:.*\/dicom-web\/studies\/1\.2\.3\/series\/1\.2\.3\.4\/instances\/a\/frames\/1$/);
  });
});
