import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Autoscaler } from './autoscaler.ts';
import type { AutoscalerOptions, ScaleActuator } from './contract.ts';
import { scalingSettings } from './settings.ts';
import { T0 } from './test-fixtures.ts';

/** Our own interface, so a recording fake is fine: it remembers every call and tracks overlap. */
class RecordingActuator implements ScaleActuator {
  readonly calls: [string, number][] = [];
  readonly ready = new Map<string, number>();
  inFlight = 0;
  maxInFlight = 0;
  failures = 0;
  gate: Promise<void> | undefined;

  async scale(fn: string, n: number): Promise<void> {
    this.calls.push([fn, n]);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      await this.gate;
      if (this.failures > 0) {
        this.failures--;
        throw new Error('runtime said no');
      }
      this.ready.set(fn, n);
    } finally {
      this.inFlight--;
    }
  }

  readyReplicas(fn: string): number {
    return this.ready.get(fn) ?? 0;
  }

  last(fn: string): number | undefined {
    return this.calls.filter(([f]) => f === fn).at(-1)?.[1];
  }
}

const FN = 'default/echo';
const flush = () => new Promise((resolve) => setImmediate(resolve));
const warnings: string[] = [];
const logger = { info() {}, debug() {}, warn: (_: object, msg?: string) => warnings.push(msg ?? '') };

let scalers: Autoscaler[] = [];
afterEach(async () => {
  await Promise.all(scalers.map((a) => a.close()));
  scalers = [];
  warnings.length = 0;
});

function setup(options: Partial<AutoscalerOptions> = {}) {
  const clock = { now: T0 };
  const actuator = new RecordingActuator();
  const registry = new Registry();
  const defaults = { initialScale: 0, ...options.defaults };
  const scaler = new Autoscaler({ actuator, clock: () => clock.now, registry, logger, ...options, defaults });
  scalers.push(scaler);
  const settings = (
    fn: Parameters<typeof scalingSettings>[0] = { spec: { handler: 'x.ts', containerConcurrency: 10 } },
  ) => scalingSettings(fn, defaults);
  return { clock, actuator, registry, scaler, settings };
}

describe('Autoscaler', () => {
  it('scales a function at zero to one as soon as it is poked, without waiting for a tick', async () => {
    const { actuator, scaler, settings } = setup();
    scaler.register(FN, settings());
    await flush();
    expect(actuator.calls).toEqual([[FN, 0]]);
    scaler.poke(FN);
    expect(actuator.last(FN)).toBe(1);
    expect(scaler.status(FN)).toMatchObject({ desired: 1, reason: expect.stringContaining('request waiting') });
  });

  it('treats traffic reported for a function at zero as a poke', async () => {
    const { actuator, scaler, settings } = setup();
    scaler.register(FN, settings());
    await flush();
    scaler.record(FN, { concurrency: 1, requests: 1 });
    expect(actuator.last(FN)).toBe(1);
  });

  it('decides at once, without waiting for a tick, when a report alone doubles the replicas wanted', async () => {
    const { actuator, clock, scaler, settings } = setup({ defaults: { tickMs: 60_000 } });
    scaler.register(FN, settings());
    await flush();
    scaler.record(FN, { concurrency: 1, requests: 1 });
    expect(actuator.last(FN)).toBe(1);
    clock.now += 1000;
    scaler.record(FN, { concurrency: 6, requests: 6 }); // 6 / 7 → 1 replica: no hurry
    expect(actuator.last(FN)).toBe(1);
    clock.now += 1000;
    scaler.record(FN, { concurrency: 50, requests: 50 }); // 50 / 7 → 8 wanted for 1 ready: panic now
    await flush();
    expect(actuator.last(FN)).toBeGreaterThanOrEqual(2);
    expect(scaler.status(FN)?.panic).toBe(true);
  });

  it('decides on every tick from the recorded samples, and ticks by itself once started', async () => {
    const { actuator, clock, scaler, settings } = setup({ defaults: { tickMs: 20 } });
    scaler.register(FN, settings());
    await flush();
    for (let i = 0; i < 10; i++) {
      clock.now += 1000;
      scaler.record(FN, { concurrency: 21, requests: 30 });
    }
    await scaler.tick();
    expect(actuator.last(FN)).toBe(3); // 21 / (10 × 0.7)
    expect(scaler.status(FN)).toMatchObject({ desired: 3, ready: 3, metric: 'concurrency', value: 21, target: 7 });

    const before = actuator.calls.length;
    clock.now += 10 * 60_000;
    scaler.start();
    await waitFor(() => actuator.last(FN) === 0);
    expect(actuator.calls.length).toBeGreaterThan(before);
  });

  it('stops deciding for an unregistered function', async () => {
    const { actuator, registry, scaler, settings } = setup();
    scaler.register(FN, settings());
    await flush();
    scaler.unregister(FN);
    scaler.poke(FN);
    scaler.record(FN, { concurrency: 5, requests: 5 });
    await scaler.tick();
    expect(actuator.calls).toEqual([[FN, 0]]);
    expect(scaler.status(FN)).toBeUndefined();
    expect(await registry.metrics()).not.toContain(`function="${FN}"`);
  });

  it('holds the scale when the queue depth source fails or hangs, instead of scaling to zero', async () => {
    const { actuator, clock, scaler, settings } = setup({ queueDepthTimeoutMs: 50 });
    let mode: 'ok' | 'fail' | 'hang' = 'ok';
    const queueDepth = async () => {
      if (mode === 'fail') throw new Error('ECONNREFUSED');
      if (mode === 'hang') await new Promise(() => {});
      return 100;
    };
    const fn = { spec: { handler: 'x.ts', scaling: { queue: { lagPerReplica: 20 } } } };
    scaler.register(FN, settings(fn), { queueDepth });
    await waitFor(() => actuator.last(FN) === 5);

    for (const next of ['fail', 'hang'] as const) {
      mode = next;
      clock.now += 10 * 60_000;
      await scaler.tick();
      await flush();
      expect(actuator.last(FN)).toBe(5);
      expect(scaler.status(FN)).toMatchObject({ desired: 5, queueDepth: undefined });
    }
    expect(warnings.filter((w) => w.includes('queue depth unknown'))).toHaveLength(2);
    mode = 'ok';
    await scaler.tick();
    expect(scaler.status(FN)?.queueDepth).toBe(100);
  });

  it('exposes its gauges on the given registry', async () => {
    const { registry, scaler, settings } = setup();
    scaler.register(FN, settings());
    await flush();
    scaler.poke(FN);
    await flush();
    const text = await registry.metrics();
    for (const line of [
      `es_autoscaler_desired_replicas{function="${FN}"} 1`,
      `es_autoscaler_actual_replicas{function="${FN}"} 0`,
      `es_autoscaler_panic_mode{function="${FN}"} 0`,
      `es_autoscaler_stable_concurrency{function="${FN}"} 0`,
      `es_autoscaler_panic_concurrency{function="${FN}"} 0`,
      `es_autoscaler_target{function="${FN}"} 7`,
      `es_autoscaler_actuations_total{function="${FN}",outcome="ok"} 2`,
    ]) {
      expect(text).toContain(line);
    }
    // A second autoscaler on the same registry shares the gauges instead of failing.
    expect(() => new Autoscaler({ actuator: new RecordingActuator(), registry })).not.toThrow();
  });

  it('retries a failed scale call on the next tick', async () => {
    const { actuator, scaler, settings } = setup();
    actuator.failures = 1;
    scaler.register(FN, settings({ spec: { handler: 'x.ts', scaling: { minScale: 2 } } }));
    await flush();
    expect(actuator.calls).toEqual([[FN, 2]]);
    expect(warnings).toContain('autoscaler: scale failed; retrying next tick');
    await scaler.tick();
    await flush();
    expect(actuator.calls).toEqual([
      [FN, 2],
      [FN, 2],
    ]);
    expect(actuator.readyReplicas(FN)).toBe(2);
  });

  it('never runs two scale calls for one function at once, and sends the latest decision after', async () => {
    const { actuator, scaler, settings } = setup();
    let open = () => {};
    actuator.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    scaler.register(FN, settings());
    await flush();
    scaler.poke(FN);
    scaler.register(FN, settings({ spec: { handler: 'x.ts', scaling: { minScale: 4 } } }));
    await flush();
    expect(actuator.calls).toEqual([[FN, 0]]);
    actuator.gate = undefined;
    open();
    await waitFor(() => actuator.last(FN) === 4);
    expect(actuator.maxInFlight).toBe(1);
    expect(actuator.calls).toEqual([
      [FN, 0],
      [FN, 4],
    ]);
  });

  it('tells listeners about every decision until they unsubscribe', async () => {
    const { scaler, settings } = setup();
    const seen: [string, number][] = [];
    const off = scaler.onDecision((fn, status) => seen.push([fn, status.desired]));
    scaler.register(FN, settings());
    await flush();
    scaler.poke(FN);
    off();
    scaler.poke(FN);
    expect(seen).toEqual([
      [FN, 0],
      [FN, 1],
    ]);
  });

  it('starts a newly registered function at its initial scale, and takes a pino logger', async () => {
    const { actuator, scaler, settings } = setup({ defaults: { initialScale: 2 }, logger: pino({ level: 'silent' }) });
    scaler.register(FN, settings());
    await flush();
    expect(actuator.calls).toEqual([[FN, 2]]);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}
