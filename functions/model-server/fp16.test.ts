import { describe, expect, it } from 'vitest';
import { fromHalfBits, toHalfBits } from './fp16.ts';

describe('fp16', () => {
  it('converts exactly representable values both ways', () => {
    for (const v of [0, 1, -2, 1.5, 0.333251953125, 65504, -65504, 2 ** -14, 2 ** -24]) {
      expect(fromHalfBits(toHalfBits(v))).toBe(v);
    }
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-0)).toBe(0x8000);
  });

  it('rounds to nearest even, overflows to infinity, keeps NaN', () => {
    expect(fromHalfBits(toHalfBits(0.1))).toBeCloseTo(0.1, 3);
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and the next half: ties to even (1)
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(fromHalfBits(toHalfBits(1e6))).toBe(Number.POSITIVE_INFINITY);
    expect(fromHalfBits(toHalfBits(Number.NaN))).toBeNaN();
    expect(fromHalfBits(toHalfBits(1e-9))).toBe(0);
  });
});
