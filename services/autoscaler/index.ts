/**
 * The autoscaler (DESIGN §7): Knative KPA decisions plus KEDA-like queue depth, a loop that drives a
 * {@link ScaleActuator}, and queue-depth collectors. See README.md for the rules, defaults and annotations.
 */

export { type AnnotationOverrides, annotationName, parseScalingAnnotations } from './annotations.ts';
export { Autoscaler } from './autoscaler.ts';
export type {
  AutoscalerLogger,
  AutoscalerOptions,
  AutoscalerStatus,
  ScaleActuator,
  ScalingSources,
} from './contract.ts';
export { decide, effectiveTarget, panicWindowMs } from './decide.ts';
export { parseGoDurationMs } from './go-duration.ts';
export { type AutoscalerMetrics, createAutoscalerMetrics } from './metrics.ts';
export {
  BULLMQ_DEPTH_STATES,
  bullmqDepth,
  eventLogLag,
  type QueueDepthSource,
  readQueueDepth,
} from './queue-depth.ts';
export { resolveDefaults, type ScalableFunction, scalingSettings } from './settings.ts';
export {
  AUTOSCALER_DEFAULTS,
  type AutoscalerDefaults,
  type DecideInput,
  type Decision,
  type MetricBucket,
  type ScalerState,
  type ScalingMetric,
  type ScalingSettings,
} from './types.ts';
export { initialState, recordSample, windowAverages } from './window.ts';
