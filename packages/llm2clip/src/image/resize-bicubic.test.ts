import { describe, expect, it } from 'vitest';
import { fixtureImage, imageFixture } from './fixture.js';
import { resizeBicubic } from './resize-bicubic.js';

describe('resizeBicubic', () => {
  for (const r of imageFixture.resizes) {
    it(`equals Pillow 9.4 Image.resize(BICUBIC) bit for bit: 41x29 -> ${r.width}x${r.height}`, () => {
      const out = resizeBicubic(fixtureImage, r.width, r.height);
      expect(out.width).toBe(r.width);
      expect(out.height).toBe(r.height);
      let diff = 0;
      for (let i = 0; i < r.data.length; i++) if (out.data[i] !== r.data[i]) diff++;
      expect(diff).toBe(0);
    });
  }

  it('returns a copy at the same size and rejects bad sizes', () => {
    const same = resizeBicubic(fixtureImage, fixtureImage.width, fixtureImage.height);
    expect(same.data).not.toBe(fixtureImage.data);
    expect([...same.data]).toEqual([...fixtureImage.data]);
    expect(() => resizeBicubic(fixtureImage, 0, 3)).toThrow(RangeError);
  });
});
