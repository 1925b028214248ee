import { describe, expect, it } from 'vitest';
import { indexAt, thumbHeight, thumbTop } from '../src/review/scrollbar';

describe('slice scrollbar geometry', () => {
  it('puts the first image at the top and the last at the bottom', () => {
    const thumb = thumbHeight(400, 300);
    expect(thumb).toBe(18); // 400 / 300 px would be too small to grab
    expect(thumbTop(400, thumb, 0, 300)).toBe(0);
    expect(thumbTop(400, thumb, 299, 300)).toBe(400 - thumb);
  });

  it('maps a click back to the image whose thumb would be there', () => {
    for (const count of [2, 7, 60, 300]) {
      const thumb = thumbHeight(500, count);
      for (const index of [0, Math.floor(count / 3), count - 1]) {
        const centre = thumbTop(500, thumb, index, count) + thumb / 2;
        expect(indexAt(centre, 500, thumb, count)).toBe(index);
      }
    }
  });

  it('clamps clicks beyond either end and copes with one image', () => {
    expect(indexAt(-50, 500, 18, 300)).toBe(0);
    expect(indexAt(900, 500, 18, 300)).toBe(299);
    expect(indexAt(100, 500, 500, 1)).toBe(0);
    expect(thumbHeight(500, 1)).toBe(500);
    expect(thumbHeight(500, 4)).toBe(125);
  });
});
