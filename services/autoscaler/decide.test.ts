import { describe, expect, it } from 'vitest';
import { decide, effectiveTarget } from './decide.ts';
import { feed, Sim, settings, T0 } from './test-fixtures.ts';
import type { ScalerState } from './types.ts';
import { initialState } from './window.ts';

const MINUTE = 60_000;

describe('decide: stable mode', () => {
  it('scales to ceil(stable average / (target × utilization)) and says why', () => {
    const state = feed(initialState(T0), { concurrency: 12.3 }, T0, T0 + MINUTE);
    const d = decide(state, { settings: settings(), ready: 2 }, T0 + MINUTE);
    expect(d).toMatchObject({ desired: 2, panic: false, metric: 'concurrency', target: 7, desiredStable: 2 });
    expect(d.stableAvg).toBeCloseTo(12.3, 5);
    expect(d.value).toBeCloseTo(12.3, 5);
    expect(d.reason).toBe('concurrency 12.3 / target 7 → 2');
  });

  it('scales on requests per second for the rps metric (200 × 0.7 = 140 per replica)', () => {
    const state = feed(initialState(T0), { concurrency: 1, requests: 300 }, T0, T0 + MINUTE);
    const s = settings({ metric: 'rps', target: 200 });
    expect(effectiveTarget(s)).toBe(140);
    const d = decide(state, { settings: s, ready: 3 }, T0 + MINUTE);
    expect(d).toMatchObject({ desired: 3, metric: 'rps', value: 300, target: 140 });
    expect(d.averages).toMatchObject({ stableConcurrency: 1, stableRps: 300 });
  });

  it('never changes the state it is given', () => {
    const state = feed(initialState(T0), { concurrency: 50 }, T0, T0 + MINUTE);
    const frozen = deepFreeze(structuredClone(state));
    const d = decide(frozen, { settings: settings({ scaleDownDelayMs: 10_000 }), ready: 1, poked: true }, T0 + MINUTE);
    expect(frozen).toEqual(state);
    expect(d.state).not.toBe(frozen);
    expect(d.state.desired).toBe(d.desired);
  });
});

describe('decide: panic mode', () => {
  /** 54 s at 1 in flight, then a burst of 31 for 6 s, with one ready replica. */
  const burst = () => {
    const sim = new Sim(settings(), initialState(T0), 1);
    expect(sim.run(54_000, 1, { pinReady: true })).toMatchObject({ desired: 1, panic: false });
    return sim;
  };

  it('enters panic when desiredPanic / ready ≥ 2 and scales on the panic window', () => {
    const d = burst().run(6_000, 31, { pinReady: true });
    expect(d).toMatchObject({ panic: true, desired: 5, desiredPanic: 5, desiredStable: 1 });
    expect(d.panicAvg).toBeCloseTo(31, 5);
    expect(d.reason).toBe('panic: concurrency 31 / target 7 → 5');
  });

  it('does not panic below the threshold', () => {
    const sim = new Sim(settings(), initialState(T0), 3);
    sim.run(54_000, 1, { pinReady: true });
    const d = sim.run(6_000, 31, { pinReady: true });
    expect(d.desiredPanic).toBe(5); // 5 / 3 ready < 2
    expect(d.panic).toBe(false);
  });

  it('never scales down in panic and leaves it after a full stable window without crossing the threshold', () => {
    const sim = burst();
    sim.run(6_000, 31, { pinReady: true });
    sim.ready = 5;
    const during: number[] = [];
    for (let i = 0; i < 29; i++) during.push(sim.run(2_000, 1, { pinReady: true }).desired);
    expect(sim.now).toBe(T0 + 118_000);
    expect(sim.last?.panic).toBe(true);
    expect(new Set(during)).toEqual(new Set([5]));
    const after = sim.run(2_000, 1, { pinReady: true });
    expect(after.panic).toBe(false);
    expect(after.desired).toBe(2); // stable says 1; no fewer than ready / 2 per tick
  });

  it('takes the larger of stable and panic (and the current scale) while panicking', () => {
    const sim = burst();
    sim.run(6_000, 31, { pinReady: true });
    sim.ready = 5;
    const d = sim.run(2_000, 200, { pinReady: true }); // panic window jumps: ceil(avg / 7) grows
    expect(d.panic).toBe(true);
    expect(d.desired).toBe(Math.max(d.desiredStable, d.desiredPanic, 5));
    expect(d.desired).toBeGreaterThan(5);
  });

  it('starts in panic at the ready scale when it takes over running replicas (restart)', () => {
    const sim = new Sim(settings(), initialState(T0, { ready: 4 }), 4);
    expect(sim.run(2_000, 0, { pinReady: true })).toMatchObject({ panic: true, desired: 4 });
    expect(sim.run(56_000, 0, { pinReady: true })).toMatchObject({ panic: true, desired: 4 });
    expect(sim.run(2_000, 0, { pinReady: true })).toMatchObject({ panic: false, desired: 2 });
  });
});

describe('decide: rate limits', () => {
  const loaded = (concurrency: number) => feed(initialState(T0), { concurrency }, T0, T0 + MINUTE);

  it('scales up to at most maxScaleUpRate × ready per tick', () => {
    const s = settings({ maxScaleUpRate: 2 });
    expect(decide(loaded(140), { settings: s, ready: 2 }, T0 + MINUTE).desired).toBe(4);
    expect(decide(loaded(140), { settings: settings(), ready: 2 }, T0 + MINUTE).desired).toBe(20);
  });

  it('from zero the rate is taken from one replica, so at least one is allowed', () => {
    const s = settings({ maxScaleUpRate: 1.5 });
    expect(decide(loaded(140), { settings: s, ready: 0 }, T0 + MINUTE).desired).toBe(2);
    expect(decide(loaded(140), { settings: settings(), ready: 0 }, T0 + MINUTE).desired).toBe(20);
  });

  it('scales down to no fewer than ready / maxScaleDownRate per tick', () => {
    let state: ScalerState = { ...loaded(0), lastActiveAt: T0 + MINUTE };
    const seen: number[] = [];
    for (const ready of [10, 5, 2]) {
      const d = decide(state, { settings: settings(), ready }, T0 + MINUTE);
      state = d.state;
      seen.push(d.desired);
    }
    expect(seen).toEqual([5, 2, 1]);
  });
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
