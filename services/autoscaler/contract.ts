import type { Registry } from 'prom-client';
import type { AutoscalerDefaults, ScalingMetric } from './types.ts';

/** What the autoscaler drives; the runtime adapts its supervisor (or the Kubernetes scale subresource) to it. */
export interface ScaleActuator {
  /** Sets the desired replica count of `fn`. May take a while (replicas starting, draining). */
  scale(fn: string, n: number): Promise<void>;
  /** Replicas of `fn` ready to serve now. */
  readyReplicas(fn: string): number;
}

/** pino-compatible subset. */
export interface AutoscalerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface AutoscalerOptions {
  /** Where decisions go. */
  actuator: ScaleActuator;
  /** Platform-wide settings (short windows in tests). @defaultValue AUTOSCALER_DEFAULTS */
  defaults?: Partial<AutoscalerDefaults>;
  /** Milliseconds since the epoch. @defaultValue Date.now */
  clock?: () => number;
  /** Registry for the `es_autoscaler_*` gauges. @defaultValue a private registry */
  registry?: Registry;
  /** @defaultValue a logger that discards everything */
  logger?: AutoscalerLogger;
  /** A queue-depth read slower than this counts as failed (depth unknown). @defaultValue 5000 */
  queueDepthTimeoutMs?: number;
}

/** Where a function's queue depth comes from (see queue-depth.ts). */
export interface ScalingSources {
  /** Items waiting for the function (event-log lag, BullMQ jobs); a rejection means unknown, not zero. */
  queueDepth?: () => Promise<number>;
}

/** What `get functions` / the Function status show. */
export interface AutoscalerStatus {
  /** Replicas the last decision asked for. */
  desired: number;
  /** Replicas ready now (asked of the actuator). */
  ready: number;
  /** True while in panic mode. */
  panic: boolean;
  metric: ScalingMetric;
  /** The observed average of `metric` the decision used (panic window in panic mode, else stable). */
  value: number;
  /** Per-replica target of `metric` (target × utilization). */
  target: number;
  /** Last queue depth read; undefined when the function has no queue or the read failed. */
  queueDepth: number | undefined;
  /** Why, e.g. "concurrency 12.3 / target 7 → 2" or "idle 90 s → 0". */
  reason: string;
}
