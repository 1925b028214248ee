import { describe, expect, it } from 'vitest';
import { frameMetadata, type DicomJson } from '../src/api/dicomweb';
import { formatPlace, parsePlace } from '../src/review/place';
import { SeriesStack } from '../src/viewport/stack';

const sq = (item: DicomJson) => ({ vr: 'SQ', Value: [item] });

/** An enhanced CT object of three frames at z = -130, -135, -125 (given out of order), as
 * highdicom's legacy conversion writes it: orientation, spacing and rescale shared, each
 * frame's position its own. */
function enhanced(sop: string): DicomJson {
  const frame = (z: number, number: number): DicomJson => ({
    '00209113': sq({ '00200032': { vr: 'DS', Value: [-190, -40, z] } }),
    '00209171': sq({ '00200013': { vr: 'IS', Value: [number] } }),
  });
  return {
    '00080018': { vr: 'UI', Value: [sop] },
    '0008103E': { vr: 'LO', Value: ['Chest 5 (enhanced conversion)'] },
    '00200013': { vr: 'IS', Value: [1] },
    '00280008': { vr: 'IS', Value: [3] },
    '00280010': { vr: 'US', Value: [64] },
    '00280011': { vr: 'US', Value: [64] },
    '52009229': sq({
      '00209116': sq({ '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] } }),
      '00289110': sq({ '00280030': { vr: 'DS', Value: [0.7, 0.7] }, '00180050': { vr: 'DS', Value: [5] } }),
      '00289145': sq({ '00281052': { vr: 'DS', Value: [-1024] } }),
    }),
    '52009230': { vr: 'SQ', Value: [frame(-130, 2), frame(-135, 3), frame(-125, 1)] },
  };
}

describe('multi-frame series', () => {
  const stack = SeriesStack.fromMetadata('1.2.3', '1.2.3.4', [enhanced('mf')]);

  it('scrolls frame by frame, head first, each at its own position', () => {
    expect(stack.images.map((im) => [im.sopInstanceUid, im.frame, im.positionMm])).toEqual([
      ['mf', 3, -125],
      ['mf', 1, -130],
      ['mf', 2, -135],
    ]);
    expect(stack.images[0].imageId).toMatch(/\/instances\/mf\/frames\/3$/);
    expect(stack.images[0].geometry.spacing).toEqual([0.7, 0.7]);
    expect(stack.sliceThicknessMm).toBe(5);
    expect(stack.spacingMm).toBeCloseTo(5);
  });

  it('finds a frame by instance and number, the first one by instance alone', () => {
    expect(stack.indexOfSop('mf', 2)).toBe(2);
    expect(stack.indexOfSop('mf', 9)).toBe(-1);
    expect(stack.indexOfSop('mf')).toBe(0);
    expect(stack.nearestTo(-134)).toBe(2);
  });

  it('lays the frame\'s own groups over the shared ones and the top level', () => {
    const flat = frameMetadata(enhanced('mf'), 2);
    expect(flat['00200032'].Value).toEqual([-190, -40, -135]);
    expect(flat['00281052'].Value).toEqual([-1024]);
    expect(flat['00200013'].Value).toEqual([3]);
    expect(flat['52009230']).toBeUndefined();
    const single = { '00080018': { vr: 'UI', Value: ['sf'] } };
    expect(frameMetadata(single, 1)).toBe(single);
  });

  it('keeps the frame in the page address, and only a frame number', () => {
    const place = { left: { image: '1.2.3.4.5', frame: 12 }, right: {} };
    expect(parsePlace(formatPlace(place))).toEqual(place);
    expect(parsePlace('?left_image=1.2&left_frame=0x1').left).toEqual({ image: '1.2' });
    expect(parsePlace('?left_frame=3').left).toEqual({});
  });
});
