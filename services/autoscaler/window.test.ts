import { describe, expect, it } from 'vitest';
import { feed, T0 } from './test-fixtures.ts';
import { initialState, recordSample, trimBuckets, windowAverages } from './window.ts';

describe('per-second buckets', () => {
  it('averages in-flight and requests/s over the window, missing seconds counting as zero', () => {
    const s = feed(initialState(T0), { concurrency: 4, requests: 10 }, T0, T0 + 60_000);
    expect(windowAverages(s, T0 + 60_000, 60_000)).toEqual({ concurrency: 4, rps: 10 });
    // 30 quiet seconds without any report: half the window is empty.
    const later = windowAverages(s, T0 + 90_000, 60_000);
    expect(later.concurrency).toBeCloseTo(2, 5);
    expect(later.rps).toBeCloseTo(5, 5);
  });

  it('uses the panic window (the last seconds only)', () => {
    let s = feed(initialState(T0), { concurrency: 1 }, T0, T0 + 54_000);
    s = feed(s, { concurrency: 31 }, T0 + 54_000, T0 + 60_000);
    expect(windowAverages(s, T0 + 60_000, 6_000).concurrency).toBeCloseTo(31, 5);
    expect(windowAverages(s, T0 + 60_000, 60_000).concurrency).toBeCloseTo((54 + 6 * 31) / 60, 5);
  });

  it('adds up reports of the same second (several reporters)', () => {
    let s = recordSample(initialState(T0), { concurrency: 2, requests: 3 }, T0 + 1000, 60_000);
    s = recordSample(s, { concurrency: 5, requests: 4 }, T0 + 1500, 60_000);
    expect(s.buckets).toEqual([{ second: (T0 + 1000) / 1000, concurrency: 7, requests: 7 }]);
  });

  it('averages over the history only while it is shorter than the window', () => {
    const s = feed(initialState(T0), { concurrency: 10 }, T0, T0 + 3000);
    expect(windowAverages(s, T0 + 3000, 60_000).concurrency).toBeCloseTo(10, 5);
  });

  it('does not dip between a tick and the report of the current second', () => {
    const s = feed(initialState(T0), { concurrency: 6 }, T0, T0 + 6000);
    expect(windowAverages(s, T0 + 6000, 6000).concurrency).toBeCloseTo(6, 5);
    expect(windowAverages(s, T0 + 6900, 6000).concurrency).toBeCloseTo(6, 5);
  });

  it('keeps only the window, drops late reports older than it, and never changes the given state', () => {
    const start = Object.freeze(initialState(T0));
    const s = feed(start, { concurrency: 1 }, T0, T0 + 120_000);
    expect(start.buckets).toEqual([]);
    expect(s.buckets).toHaveLength(60);
    expect(recordSample(s, { concurrency: 9, requests: 0 }, T0 + 1000, 60_000)).toBe(s);
    expect(trimBuckets(s.buckets, T0 + 150_000, 60_000)).toHaveLength(30);
  });

  it('remembers when traffic was last seen; zero reports are not traffic', () => {
    let s = recordSample(initialState(T0), { concurrency: 0.5, requests: 1 }, T0 + 1000, 60_000);
    s = recordSample(s, { concurrency: 0, requests: 0 }, T0 + 2000, 60_000);
    expect(s.lastActiveAt).toBe(T0 + 1000);
    expect(s.firstSampleAt).toBe(T0 + 1000);
  });

  it('ignores non-finite and negative values', () => {
    const s = recordSample(initialState(T0), { concurrency: Number.NaN, requests: -3 }, T0 + 1000, 60_000);
    expect(s.buckets[0]).toMatchObject({ concurrency: 0, requests: 0 });
    expect(s.lastActiveAt).toBeUndefined();
  });
});
