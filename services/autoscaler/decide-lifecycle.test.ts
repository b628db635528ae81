import { describe, expect, it } from 'vitest';
import { decide } from './decide.ts';
import { feed, Sim, settings, T0 } from './test-fixtures.ts';
import { initialState } from './window.ts';

const MINUTE = 60_000;

describe('decide: bounds', () => {
  const busy = feed(initialState(T0), { concurrency: 140 }, T0, T0 + MINUTE);

  it('caps at max-scale', () => {
    const d = decide(busy, { settings: settings({ maxScale: 3 }), ready: 3 }, T0 + MINUTE);
    expect(d.desired).toBe(3);
    expect(d.reason).toBe('panic: concurrency 140 / target 7 → 20; max-scale → 3');
  });

  it('keeps min-scale, and never goes to zero with min-scale > 0', () => {
    const sim = new Sim(settings({ minScale: 2 }), initialState(T0), 0);
    expect(sim.run(2_000, 0)).toMatchObject({ desired: 2, reason: 'concurrency 0 / target 7 → 0; min-scale → 2' });
    expect(sim.run(10 * MINUTE, 0).desired).toBe(2);
  });
});

describe('decide: initial scale', () => {
  const s = settings({ initialScale: 3 });

  it('starts a newly registered function at initial-scale before any metric', () => {
    const d = decide(initialState(T0, { initialScale: 3 }), { settings: s, ready: 0 }, T0);
    expect(d.desired).toBe(3);
    expect(d.reason).toContain('initial scale → 3');
  });

  it('hands over to the metrics once they arrive', () => {
    const sim = new Sim(s, initialState(T0, { initialScale: 3 }), 0);
    sim.decide();
    sim.ready = 3;
    expect(sim.run(2_000, 14).desired).toBe(2); // ceil(14 / 7), within ready / 2
  });

  it('without any metric, gives up the initial scale after a stable window and reaches zero after the grace', () => {
    const sim = new Sim(s, initialState(T0, { initialScale: 3 }), 3);
    const at = (ms: number) => {
      sim.now = T0 + ms;
      const d = sim.decide();
      sim.ready = d.desired;
      return d.desired;
    };
    expect(at(58_000)).toBe(3);
    expect(at(60_000)).toBe(1);
    expect(at(88_000)).toBe(1);
    expect(at(90_000)).toBe(0);
  });
});

describe('decide: scale to zero', () => {
  it('only after no traffic for the stable window plus the grace period', () => {
    const sim = new Sim(settings(), initialState(T0), 1);
    sim.run(10_000, 3);
    expect(sim.state.lastActiveAt).toBe(T0 + 10_000);
    const held = sim.run(88_000, 0);
    expect(held.desired).toBe(1);
    expect(held.reason).toBe('concurrency 0 / target 7 → 0; idle 88 s < 90 s, keeping → 1');
    const gone = sim.run(2_000, 0);
    expect(gone.desired).toBe(0);
    expect(gone.reason).toBe('idle 90 s → 0');
  });

  it('follows shortened windows (tests and benchmarks)', () => {
    const sim = new Sim(settings({ stableWindowMs: 6_000, scaleToZeroGraceMs: 2_000 }), initialState(T0), 1);
    sim.run(3_000, 2, { tickMs: 1_000 });
    expect(sim.run(7_000, 0, { tickMs: 1_000 }).desired).toBe(1);
    expect(sim.run(1_000, 0, { tickMs: 1_000 }).desired).toBe(0);
  });

  it('says so when a function never had traffic', () => {
    const d = decide(initialState(T0), { settings: settings(), ready: 0 }, T0 + 1000);
    expect(d).toMatchObject({ desired: 0, reason: 'no traffic → 0' });
  });
});

describe('decide: activation', () => {
  it('a request waiting at zero gives one replica at once, held until the request shows in the metrics', () => {
    const sim = new Sim(settings(), initialState(T0), 0);
    expect(sim.run(2_000, 0).desired).toBe(0);
    const poked = sim.decide({ poked: true });
    expect(poked.desired).toBe(1);
    expect(poked.reason).toBe('concurrency 0 / target 7 → 0; request waiting → 1');
    expect(sim.run(2_000, 0, { pinReady: true }).desired).toBe(1);
  });

  it('activation-scale sets the smallest non-zero scale', () => {
    const sim = new Sim(settings({ activationScale: 3 }), initialState(T0), 0);
    expect(sim.decide({ poked: true }).desired).toBe(3);
    expect(sim.run(4_000, 1).desired).toBe(3);
  });
});

describe('decide: scale-down delay', () => {
  /** Stable window 6 s, 35 in flight (5 replicas) for 6 s, then nothing; one decision per second. */
  const trace = (scaleDownDelayMs: number) => {
    const sim = new Sim(settings({ stableWindowMs: 6_000, scaleDownDelayMs }), initialState(T0), 5);
    sim.run(6_000, 35, { tickMs: 1_000 });
    const seen: number[] = [sim.last?.desired ?? -1];
    for (let i = 0; i < 14; i++) seen.push(sim.run(1_000, 0, { tickMs: 1_000 }).desired);
    return { seen, sim };
  };

  it('holds the highest desired scale of the delay window before scaling down', () => {
    const without = trace(0).seen;
    const { seen, sim } = trace(10_000);
    expect(without.slice(0, 3)).toEqual([5, 5, 4]);
    expect(seen.slice(0, 11)).toEqual(Array(11).fill(5)); // t = 6 … 16 s
    expect(seen[11]).toBe(4); // t = 17 s: the last pre-delay 5 (t = 7 s) left the window
    expect(sim.last?.reason).toContain('scale-down delay 10 s');
  });
});
