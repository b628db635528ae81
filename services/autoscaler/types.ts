import { FUNCTION_DEFAULTS } from '../controller/resources/serving.ts';

/** The metric a function scales on (Knative `autoscaling.knative.dev/metric`). */
export type ScalingMetric = 'concurrency' | 'rps';

/**
 * Platform-wide autoscaler configuration (Knative's `config-autoscaler`). Every field can be overridden, which is
 * how tests and benchmarks get short windows.
 */
export interface AutoscalerDefaults {
  /** Stable window: the average the autoscaler normally scales on. @defaultValue 60000 */
  stableWindowMs: number;
  /** Panic window as a percentage of the stable window. @defaultValue 10 */
  panicWindowPercentage: number;
  /** Panic when desiredPanic / ready reaches this ratio (Knative's 200 % = 2). @defaultValue 2 */
  panicThreshold: number;
  /** How often every function is re-evaluated. @defaultValue 2000 */
  tickMs: number;
  /** Idle time on top of the stable window before a function goes to zero. @defaultValue 30000 */
  scaleToZeroGraceMs: number;
  /** Hold the highest desired scale of this long before scaling down. @defaultValue 0 */
  scaleDownDelayMs: number;
  /** One tick may scale up to at most this many times the ready replicas. @defaultValue 1000 */
  maxScaleUpRate: number;
  /** One tick may scale down to no fewer than ready / this. @defaultValue 2 */
  maxScaleDownRate: number;
  /** Per-replica requests/s target of the `rps` metric. @defaultValue 200 */
  rpsTarget: number;
  /** Per-replica concurrency target when the function sets no containerConcurrency. @defaultValue 100 */
  containerConcurrencyTarget: number;
  /** Fraction of the target aimed at. @defaultValue 0.7 */
  targetUtilization: number;
  /** Scale of a newly registered function until metrics arrive. @defaultValue 1 */
  initialScale: number;
  /** Smallest non-zero scale (Knative `activation-scale`). @defaultValue 1 */
  activationScale: number;
  /** Queue items per replica for queue-depth scaling. @defaultValue 20 */
  lagPerReplica: number;
  /** Queue depth that must be exceeded to scale from zero. @defaultValue 0 */
  activationLag: number;
}

export const AUTOSCALER_DEFAULTS: Readonly<AutoscalerDefaults> = Object.freeze({
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  panicThreshold: 2,
  tickMs: 2_000,
  scaleToZeroGraceMs: 30_000,
  scaleDownDelayMs: 0,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  rpsTarget: FUNCTION_DEFAULTS.rpsTarget,
  containerConcurrencyTarget: FUNCTION_DEFAULTS.concurrencyTarget,
  targetUtilization: FUNCTION_DEFAULTS.targetUtilization,
  initialScale: 1,
  activationScale: 1,
  lagPerReplica: FUNCTION_DEFAULTS.lagPerReplica,
  activationLag: FUNCTION_DEFAULTS.activationLag,
});

/** Everything `decide` needs to know about one function, every default applied (see settings.ts). */
export interface ScalingSettings {
  metric: ScalingMetric;
  /** Per-replica target of `metric` before utilization (already capped at containerConcurrency). */
  target: number;
  /** 0 < utilization ≤ 1; the effective target is `target × targetUtilization`. */
  targetUtilization: number;
  minScale: number;
  /** 0 = unbounded. */
  maxScale: number;
  initialScale: number;
  activationScale: number;
  stableWindowMs: number;
  panicWindowPercentage: number;
  panicThreshold: number;
  scaleDownDelayMs: number;
  scaleToZeroGraceMs: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  /** Present when the function scales on a queue too (KEDA-like). */
  queue?: { lagPerReplica: number; activationLag: number };
}

/** One second of observations, summed over every reporter. */
export interface MetricBucket {
  /** `Math.floor(ms / 1000)` of the sample time. */
  readonly second: number;
  /** Sum of the reported time-averaged in-flight requests. */
  readonly concurrency: number;
  /** Requests started in that second. */
  readonly requests: number;
}

/**
 * What the autoscaler remembers about one function between decisions. Immutable: `recordSample` and `decide`
 * return a new state and never change the one they are given.
 */
export interface ScalerState {
  readonly registeredAt: number;
  /** Ascending by second, only as far back as the stable window. */
  readonly buckets: readonly MetricBucket[];
  readonly firstSampleAt: number | undefined;
  /** Last time traffic, a poke or a queue backlog was seen; undefined = never. */
  readonly lastActiveAt: number | undefined;
  /** Last time the panic threshold was crossed; undefined = not in panic mode. */
  readonly panicOverAt: number | undefined;
  /** The previous decision's desired scale. */
  readonly desired: number;
  /** Pre-delay desired scales within the scale-down-delay window. */
  readonly delayHistory: readonly { readonly at: number; readonly desired: number }[];
}

export interface DecideInput {
  settings: ScalingSettings;
  /** Replicas ready to serve now. */
  ready: number;
  /** Queue depth (lag) of the function's queue; undefined when not configured or unknown (source failed). */
  queueDepth?: number | undefined;
  /** A request is waiting for this function (the activator's first request at zero). */
  poked?: boolean;
}

export interface Decision {
  desired: number;
  panic: boolean;
  metric: ScalingMetric;
  /** Averages of `metric` over the stable and the panic window. */
  stableAvg: number;
  panicAvg: number;
  /** The average the decision used: `panicAvg` in panic mode, else `stableAvg`. */
  value: number;
  /** Effective per-replica target: target × utilization. */
  target: number;
  queueDepth: number | undefined;
  desiredStable: number;
  desiredPanic: number;
  desiredQueue: number;
  /** Both metrics' averages, for the gauges. */
  averages: { stableConcurrency: number; panicConcurrency: number; stableRps: number; panicRps: number };
  /** Short human explanation, e.g. "concurrency 12.3 / target 7 → 2". */
  reason: string;
  /** The state to pass to the next `decide`. */
  state: ScalerState;
}
