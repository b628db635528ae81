import type { MetricBucket, ScalerState } from './types.ts';

const SECOND = 1000;

/** Seconds a window of `ms` covers (at least one bucket). */
export function windowSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / SECOND));
}

/**
 * The state of a function the autoscaler has just started to watch. A function that already has more than one
 * ready replica starts in panic mode at that scale, as Knative does after an autoscaler restart: the metric
 * history is gone, and scaling down on an empty window would be a mistake.
 */
export function initialState(now: number, options: { ready?: number; initialScale?: number } = {}): ScalerState {
  const ready = options.ready ?? 0;
  const busy = ready > 0 || (options.initialScale ?? 0) > 0;
  return {
    registeredAt: now,
    buckets: [],
    firstSampleAt: undefined,
    lastActiveAt: busy ? now : undefined,
    panicOverAt: ready > 1 ? now : undefined,
    desired: ready,
    delayHistory: [],
  };
}

/**
 * Adds one report to the bucket of its second. Reports of the same second add up: each reporter (activator,
 * replicas) tells its own share. A report older than `retainMs` before the newest bucket is dropped.
 */
export function recordSample(
  state: ScalerState,
  sample: { concurrency: number; requests: number },
  at: number,
  retainMs: number,
): ScalerState {
  const concurrency = finiteOrZero(sample.concurrency);
  const requests = finiteOrZero(sample.requests);
  const second = Math.floor(at / SECOND);
  const newest = Math.max(second, state.buckets.at(-1)?.second ?? second);
  const oldest = newest - windowSeconds(retainMs) + 1;
  if (second < oldest) return state;
  const buckets = state.buckets.filter((b) => b.second >= oldest && b.second !== second);
  const same = state.buckets.find((b) => b.second === second);
  const merged: MetricBucket = {
    second,
    concurrency: (same?.concurrency ?? 0) + concurrency,
    requests: (same?.requests ?? 0) + requests,
  };
  const index = buckets.findIndex((b) => b.second > second);
  buckets.splice(index === -1 ? buckets.length : index, 0, merged);
  const active = concurrency > 0 || requests > 0;
  return {
    ...state,
    buckets,
    firstSampleAt: state.firstSampleAt === undefined ? at : Math.min(state.firstSampleAt, at),
    lastActiveAt: active ? Math.max(at, state.lastActiveAt ?? at) : state.lastActiveAt,
  };
}

/** Drops buckets that fell out of a window of `retainMs` ending at `now`. */
export function trimBuckets(buckets: readonly MetricBucket[], now: number, retainMs: number): readonly MetricBucket[] {
  const oldest = Math.floor(now / SECOND) - windowSeconds(retainMs) + 1;
  return buckets[0] !== undefined && buckets[0].second < oldest ? buckets.filter((b) => b.second >= oldest) : buckets;
}

/**
 * Average concurrency and requests/s over the `windowMs` ending at the second of `now` (see below). Seconds without a report
 * count as zero. While the history is shorter than the window the average is over the history only, so a
 * function that just got its first burst is not under-provisioned by a window of imagined zeros.
 */
export function windowAverages(
  state: ScalerState,
  now: number,
  windowMs: number,
): { concurrency: number; rps: number } {
  if (state.firstSampleAt === undefined) return { concurrency: 0, rps: 0 };
  // Reports arrive once a second, not at second boundaries: until this second's report is in, the window ends at
  // the previous second, so the average does not dip by one empty bucket between a tick and a report.
  const current = Math.floor(now / SECOND);
  const last = state.buckets.at(-1)?.second === current - 1 ? current - 1 : current;
  let seconds = windowSeconds(windowMs);
  const first = last - seconds + 1;
  const sinceFirst = last - Math.floor(state.firstSampleAt / SECOND) + 1;
  if (sinceFirst >= 1) seconds = Math.min(seconds, sinceFirst);
  let concurrency = 0;
  let requests = 0;
  for (const b of state.buckets) {
    if (b.second < first || b.second > last) continue;
    concurrency += b.concurrency;
    requests += b.requests;
  }
  return { concurrency: concurrency / seconds, rps: requests / seconds };
}

function finiteOrZero(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}
