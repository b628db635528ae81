import { describe, expect, it } from 'vitest';
import { decide } from './decide.ts';
import { feed, Sim, settings, T0 } from './test-fixtures.ts';
import type { ScalerState } from './types.ts';
import { initialState } from './window.ts';

const queued = (activationLag = 0) => settings({ queue: { lagPerReplica: 20, activationLag } });
const running = (desired: number): ScalerState => ({ ...initialState(T0), desired, lastActiveAt: T0 });

describe('decide: queue depth (KEDA-like)', () => {
  it('wants ceil(lag / lagPerReplica) replicas and says why', () => {
    const d = decide(initialState(T0), { settings: queued(), ready: 0, queueDepth: 340 }, T0 + 1000);
    expect(d).toMatchObject({ desired: 17, desiredQueue: 17, queueDepth: 340 });
    expect(d.reason).toBe('queue 340 / 20 per replica → 17');
  });

  it('scales from zero only when the lag exceeds activationLag', () => {
    const s = queued(10);
    expect(decide(initialState(T0), { settings: s, ready: 0, queueDepth: 10 }, T0 + 1000).desired).toBe(0);
    expect(decide(initialState(T0), { settings: s, ready: 0, queueDepth: 11 }, T0 + 1000).desired).toBe(1);
  });

  it('once running, any backlog counts, even below activationLag', () => {
    const d = decide(running(1), { settings: queued(10), ready: 1, queueDepth: 5 }, T0 + 1000);
    expect(d.desiredQueue).toBe(1);
  });

  it('takes the larger of the concurrency and the queue answer, within max-scale', () => {
    const busy = feed(initialState(T0), { concurrency: 35 }, T0, T0 + 60_000);
    const input = { settings: queued(), ready: 5, queueDepth: 40 };
    expect(decide(busy, input, T0 + 60_000)).toMatchObject({ desired: 5, desiredQueue: 2, desiredStable: 5 });
    const bounded = { ...input, queueDepth: 400, settings: { ...queued(), maxScale: 8 } };
    expect(decide(busy, bounded, T0 + 60_000)).toMatchObject({ desired: 8, desiredQueue: 20 });
  });

  it('applies the scale-down delay to the combined answer', () => {
    const s = { ...queued(), scaleDownDelayMs: 30_000 };
    const first = decide(running(10), { settings: s, ready: 10, queueDepth: 200 }, T0 + 1000);
    expect(first.desired).toBe(10);
    const later = decide(first.state, { settings: s, ready: 10, queueDepth: 0 }, T0 + 20_000);
    expect(later.desired).toBe(10);
    expect(later.reason).toContain('scale-down delay 30 s');
    expect(decide(later.state, { settings: s, ready: 10, queueDepth: 0 }, T0 + 31_001).desired).toBe(5);
  });

  it('counts a backlog as traffic: a drained queue keeps one replica for the stable window plus grace', () => {
    const sim = new Sim(queued(), initialState(T0), 0);
    expect(sim.run(2_000, 0, { queueDepth: 30 }).desired).toBe(2);
    expect(sim.run(88_000, 0, { queueDepth: 0 }).desired).toBe(1);
    expect(sim.run(2_000, 0, { queueDepth: 0 }).desired).toBe(0);
  });

  it('an unknown depth holds the current scale: a failing Redis does not scale a backlog away', () => {
    const sim = new Sim(queued(), running(4), 4);
    sim.now = T0 + 1000;
    const d = sim.run(10 * 60_000, 0, { queueDepth: undefined });
    expect(d.desired).toBe(4);
    expect(d.queueDepth).toBeUndefined();
    expect(d.reason).toContain('queue depth unknown, holding → 4');
  });

  it('an unknown depth does not stop concurrency from scaling up', () => {
    const busy = { ...feed(initialState(T0), { concurrency: 70 }, T0, T0 + 60_000), desired: 2 };
    expect(decide(busy, { settings: queued(), ready: 2 }, T0 + 60_000).desired).toBe(10);
  });

  it('ignores a queue depth when the function does not scale on a queue', () => {
    const d = decide(initialState(T0), { settings: settings(), ready: 0, queueDepth: 500 }, T0 + 1000);
    expect(d).toMatchObject({ desired: 0, queueDepth: undefined, desiredQueue: 0 });
  });
});
