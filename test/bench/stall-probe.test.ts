import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { stallsNote, watchStalls } from './stall-probe.ts';

describe('stall probe', () => {
  it('counts the event loop held up while the work runs, and hands back the work result', async () => {
    const { value, stalls } = await watchStalls(async () => {
      await sleep(30);
      const until = performance.now() + 60;
      while (performance.now() < until) {
        // holds the event loop, as a stalled machine would
      }
      await sleep(30);
      return 'done';
    });
    expect(value).toBe('done');
    expect(stalls.count).toBeGreaterThanOrEqual(1);
    expect(stalls.longestMs).toBeGreaterThanOrEqual(40);
    expect(stallsNote(stalls)).toMatch(/idle probe: \d+ \(longest \d+ ms\)/);
  });

  it('stops ticking when the work ends, also when it throws', async () => {
    await expect(watchStalls(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const { stalls } = await watchStalls(async () => 1);
    const before = stalls.count;
    const until = performance.now() + 40;
    while (performance.now() < until) {
      // a stall after the work must not be counted
    }
    await sleep(20);
    expect(stalls.count).toBe(before);
  });
});
