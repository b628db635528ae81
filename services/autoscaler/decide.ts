import type { DecideInput, Decision, ScalerState, ScalingSettings } from './types.ts';
import { trimBuckets, windowAverages } from './window.ts';

/** Knative's floor for a target, so a tiny utilization cannot divide by (almost) zero. */
const MIN_TARGET = 0.01;

/** Per-replica value of the scaling metric the autoscaler aims at: target × utilization. */
export function effectiveTarget(s: ScalingSettings): number {
  return Math.max(MIN_TARGET, s.target * s.targetUtilization);
}

/** Panic window in ms. */
export function panicWindowMs(s: ScalingSettings): number {
  return (s.stableWindowMs * s.panicWindowPercentage) / 100;
}

/**
 * The Knative KPA decision for one function, plus KEDA-like queue-depth scaling. Pure: no I/O, no clock; the
 * given state is not changed and the next one is returned in `Decision.state`.
 *
 * Order: stable/panic answer (rate-limited) → max with the queue answer → holds (unknown queue depth, initial
 * scale, a waiting request, activation scale) → scale-down delay → scale-to-zero grace → min/max scale.
 */
export function decide(state: ScalerState, input: DecideInput, now: number): Decision {
  const s = input.settings;
  const ready = Math.max(0, Math.floor(input.ready));
  const target = effectiveTarget(s);
  const view: ScalerState = { ...state, buckets: trimBuckets(state.buckets, now, s.stableWindowMs) };
  const stable = windowAverages(view, now, s.stableWindowMs);
  const burst = windowAverages(view, now, panicWindowMs(s));
  const stableAvg = s.metric === 'rps' ? stable.rps : stable.concurrency;
  const panicAvg = s.metric === 'rps' ? burst.rps : burst.concurrency;

  // Rates are relative to at least one replica, so a function at zero may still scale up (Knative does the same).
  const maxUp = Math.ceil(s.maxScaleUpRate * Math.max(1, ready));
  const maxDown = Math.floor(ready / s.maxScaleDownRate);
  const limit = (n: number) => Math.min(Math.max(n, maxDown), maxUp);
  const rawPanic = Math.ceil(panicAvg / target);
  const desiredStable = limit(Math.ceil(stableAvg / target));
  const desiredPanic = limit(rawPanic);

  let panicOverAt = state.panicOverAt;
  if (rawPanic / Math.max(1, ready) >= s.panicThreshold) panicOverAt = now;
  else if (panicOverAt !== undefined && now - panicOverAt >= s.stableWindowMs) panicOverAt = undefined;
  const panic = panicOverAt !== undefined;
  // In panic mode the scale only goes up: a burst is served before the stable window has seen it.
  const fromMetric = panic ? Math.max(desiredStable, desiredPanic, state.desired) : desiredStable;
  const value = panic ? panicAvg : stableAvg;

  const queueDepth = s.queue === undefined ? undefined : validDepth(input.queueDepth);
  const queueUnknown = s.queue !== undefined && queueDepth === undefined;
  const atZero = state.desired === 0 && ready === 0;
  let desiredQueue = 0;
  if (s.queue !== undefined && queueDepth !== undefined) {
    // KEDA's activation threshold only decides 0 → 1; once running, any backlog counts.
    const activates = queueDepth > s.queue.activationLag || (!atZero && queueDepth > 0);
    if (activates) desiredQueue = limit(Math.ceil(queueDepth / s.queue.lagPerReplica));
  }

  let lastActiveAt = state.lastActiveAt;
  if (input.poked === true || desiredQueue > 0) lastActiveAt = now;

  let desired = Math.max(fromMetric, desiredQueue);
  const base =
    desiredQueue > fromMetric && queueDepth !== undefined && s.queue !== undefined
      ? `queue ${num(queueDepth)} / ${num(s.queue.lagPerReplica)} per replica → ${desired}`
      : `${panic ? 'panic: ' : ''}${s.metric} ${num(value)} / target ${num(target)} → ${desired}`;
  const notes: string[] = [];
  const step = (next: number, why: string) => {
    if (next === desired) return;
    notes.push(`${why} → ${next}`);
    desired = next;
  };

  // Redis blinking must not look like an empty queue: without a depth, never scale down.
  if (queueUnknown) step(Math.max(desired, state.desired), 'queue depth unknown, holding');
  const initialPhase = state.firstSampleAt === undefined && now - state.registeredAt < s.stableWindowMs;
  if (initialPhase) step(Math.max(desired, s.initialScale), 'initial scale');
  if (input.poked === true) step(Math.max(desired, 1), 'request waiting');
  if (desired > 0) step(Math.max(desired, s.activationScale), 'activation scale');

  let delayHistory: ScalerState['delayHistory'] = [];
  if (s.scaleDownDelayMs > 0) {
    delayHistory = [...state.delayHistory.filter((h) => now - h.at < s.scaleDownDelayMs), { at: now, desired }];
    step(Math.max(...delayHistory.map((h) => h.desired)), `scale-down delay ${secs(s.scaleDownDelayMs)}`);
  }

  const idleMs = lastActiveAt === undefined ? Number.POSITIVE_INFINITY : now - lastActiveAt;
  const zeroAfterMs = s.stableWindowMs + s.scaleToZeroGraceMs;
  if (desired === 0 && idleMs < zeroAfterMs) step(1, `idle ${secs(idleMs)} < ${secs(zeroAfterMs)}, keeping`);
  if (desired < s.minScale) step(s.minScale, 'min-scale');
  if (s.maxScale > 0 && desired > s.maxScale) step(s.maxScale, 'max-scale');

  let reason = [base, ...notes].join('; ');
  if (desired === 0) reason = lastActiveAt === undefined ? 'no traffic → 0' : `idle ${secs(idleMs)} → 0`;

  return {
    desired,
    panic,
    metric: s.metric,
    stableAvg,
    panicAvg,
    value,
    target,
    queueDepth,
    desiredStable,
    desiredPanic,
    desiredQueue,
    averages: {
      stableConcurrency: stable.concurrency,
      panicConcurrency: burst.concurrency,
      stableRps: stable.rps,
      panicRps: burst.rps,
    },
    reason,
    state: { ...view, lastActiveAt, panicOverAt, desired, delayHistory },
  };
}

function validDepth(depth: number | undefined): number | undefined {
  return depth !== undefined && Number.isFinite(depth) && depth >= 0 ? depth : undefined;
}

/** 12.345 → "12.3", 7 → "7", 0.042 → "0.04". */
function num(n: number): string {
  return String(Number(n.toFixed(Math.abs(n) < 1 ? 2 : 1)));
}

function secs(ms: number): string {
  return `${num(ms / 1000)} s`;
}
