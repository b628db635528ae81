import { decide } from './decide.ts';
import type { DecideInput, Decision, ScalerState, ScalingSettings } from './types.ts';
import { recordSample } from './window.ts';

/** A whole second, so bucket boundaries in tests are where they look. */
export const T0 = 1_700_000_000_000;

/** KPA defaults with a per-replica target of 10 (effective 7), initial scale 0 unless a test says otherwise. */
export function settings(overrides: Partial<ScalingSettings> = {}): ScalingSettings {
  return {
    metric: 'concurrency',
    target: 10,
    targetUtilization: 0.7,
    minScale: 0,
    maxScale: 0,
    initialScale: 0,
    activationScale: 1,
    stableWindowMs: 60_000,
    panicWindowPercentage: 10,
    panicThreshold: 2,
    scaleDownDelayMs: 0,
    scaleToZeroGraceMs: 30_000,
    maxScaleUpRate: 1000,
    maxScaleDownRate: 2,
    ...overrides,
  };
}

/** One report per second in [fromMs, toMs), each made at the end of the second it covers. */
export function feed(
  state: ScalerState,
  sample: { concurrency: number; requests?: number },
  fromMs: number,
  toMs: number,
  retainMs = 60_000,
): ScalerState {
  let next = state;
  for (let t = fromMs; t < toMs; t += 1000) {
    next = recordSample(next, { concurrency: sample.concurrency, requests: sample.requests ?? 0 }, t + 1000, retainMs);
  }
  return next;
}

/**
 * A fake-clock driver: feeds samples and decides every `tickMs`, with `ready` following the previous decision
 * (instant replicas) unless the test pins it.
 */
export class Sim {
  state: ScalerState;
  now: number;
  last: Decision | undefined;
  ready: number;
  readonly s: ScalingSettings;

  constructor(s: ScalingSettings, state: ScalerState, ready = 0) {
    this.s = s;
    this.state = state;
    this.now = state.registeredAt;
    this.ready = ready;
  }

  /** Advance `ms` with `concurrency` in flight, deciding every `tickMs`; returns the last decision. */
  run(ms: number, concurrency: number, extra: Partial<DecideInput> & { tickMs?: number; pinReady?: boolean } = {}) {
    const tickMs = extra.tickMs ?? 2000;
    const end = this.now + ms;
    while (this.now < end) {
      const step = Math.min(tickMs, end - this.now);
      this.state = feed(this.state, { concurrency }, this.now, this.now + step, this.s.stableWindowMs);
      this.now += step;
      this.decide(extra);
      if (extra.pinReady !== true) this.ready = this.last?.desired ?? this.ready;
    }
    return this.last as Decision;
  }

  decide(extra: Partial<DecideInput> = {}): Decision {
    const input: DecideInput = { settings: this.s, ready: this.ready, ...extra };
    this.last = decide(this.state, input, this.now);
    this.state = this.last.state;
    return this.last;
  }
}
