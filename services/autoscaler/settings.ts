import type { FunctionSpec } from '../controller/resources/serving.ts';
import { durationProblem, parseDurationMs } from '../core/delivery/duration.ts';
import { InvalidResourceError } from '../core/errors.ts';
import { type AnnotationOverrides, annotationName, parseScalingAnnotations } from './annotations.ts';
import { AUTOSCALER_DEFAULTS, type AutoscalerDefaults, type ScalingSettings } from './types.ts';

/** What `scalingSettings` reads: a Function resource, or its spec and annotations. */
export interface ScalableFunction {
  spec: FunctionSpec;
  /** Wins over `metadata.annotations` when both are given. */
  annotations?: Readonly<Record<string, string>> | undefined;
  metadata?: { annotations?: Readonly<Record<string, string>> | undefined };
}

/** Platform defaults with `overrides` applied (undefined fields ignored); refuses values the math cannot use. */
export function resolveDefaults(overrides: Partial<AutoscalerDefaults> = {}): AutoscalerDefaults {
  const d: AutoscalerDefaults = { ...AUTOSCALER_DEFAULTS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) d[key as keyof AutoscalerDefaults] = value;
  }
  const positive: (keyof AutoscalerDefaults)[] = [
    'stableWindowMs',
    'tickMs',
    'maxScaleUpRate',
    'maxScaleDownRate',
    'rpsTarget',
    'containerConcurrencyTarget',
    'lagPerReplica',
    'panicThreshold',
  ];
  for (const key of positive) {
    if (!(d[key] > 0)) throw new RangeError(`autoscaler defaults: ${key} must be > 0, got ${d[key]}`);
  }
  const ranges: [keyof AutoscalerDefaults, number, number][] = [
    ['targetUtilization', Number.MIN_VALUE, 1],
    ['panicWindowPercentage', Number.MIN_VALUE, 100],
    ['scaleToZeroGraceMs', 0, Number.MAX_SAFE_INTEGER],
    ['scaleDownDelayMs', 0, Number.MAX_SAFE_INTEGER],
    ['initialScale', 0, Number.MAX_SAFE_INTEGER],
    ['activationScale', 1, Number.MAX_SAFE_INTEGER],
    ['activationLag', 0, Number.MAX_SAFE_INTEGER],
  ];
  for (const [key, min, max] of ranges) {
    if (!(d[key] >= min && d[key] <= max)) throw new RangeError(`autoscaler defaults: ${key} out of range: ${d[key]}`);
  }
  return d;
}

/**
 * The scaling settings of one Function. Precedence, field by field: a Knative `autoscaling.knative.dev/*`
 * annotation, then the Function's `spec.scaling`, then the platform `defaults`. Annotations win because they are
 * how Knative YAML says it, and YAML written for Knative must behave as it did there.
 *
 * The concurrency target defaults to `containerConcurrency` (or `containerConcurrencyTarget` when that is 0) and
 * is never above a non-zero `containerConcurrency`. Throws `InvalidResourceError` naming each bad annotation.
 */
export function scalingSettings(fn: ScalableFunction, defaults: Partial<AutoscalerDefaults> = {}): ScalingSettings {
  const d = resolveDefaults(defaults);
  const s = fn.spec.scaling ?? {};
  const parsed = parseScalingAnnotations(fn.annotations ?? fn.metadata?.annotations);
  const a: AnnotationOverrides = parsed.overrides;
  const issues = parsed.issues.map((i) => ({ path: `metadata.annotations["${i.annotation}"]`, message: i.message }));
  const specMs = (value: string | undefined, field: string): number | undefined => {
    if (value === undefined) return undefined;
    const problem = durationProblem(value);
    if (problem === undefined) return parseDurationMs(value, field);
    issues.push({ path: field, message: problem });
    return undefined;
  };

  const cc = fn.spec.containerConcurrency ?? 0;
  const metric = a.metric ?? s.metric ?? 'concurrency';
  const defaultTarget = metric === 'rps' ? d.rpsTarget : cc > 0 ? cc : d.containerConcurrencyTarget;
  let target = a.target ?? s.target ?? defaultTarget;
  if (metric === 'concurrency' && cc > 0) target = Math.min(target, cc);

  const settings: ScalingSettings = {
    metric,
    target,
    targetUtilization: a.targetUtilization ?? s.targetUtilization ?? d.targetUtilization,
    minScale: a.minScale ?? s.minScale ?? 0,
    maxScale: a.maxScale ?? s.maxScale ?? 0,
    initialScale: a.initialScale ?? d.initialScale,
    activationScale: a.activationScale ?? d.activationScale,
    stableWindowMs: a.stableWindowMs ?? specMs(s.stableWindow, 'spec.scaling.stableWindow') ?? d.stableWindowMs,
    panicWindowPercentage: a.panicWindowPercentage ?? d.panicWindowPercentage,
    panicThreshold: a.panicThreshold ?? d.panicThreshold,
    scaleDownDelayMs:
      a.scaleDownDelayMs ?? specMs(s.scaleDownDelay, 'spec.scaling.scaleDownDelay') ?? d.scaleDownDelayMs,
    scaleToZeroGraceMs: specMs(s.scaleToZeroGracePeriod, 'spec.scaling.scaleToZeroGracePeriod') ?? d.scaleToZeroGraceMs,
    maxScaleUpRate: d.maxScaleUpRate,
    maxScaleDownRate: d.maxScaleDownRate,
  };
  if (s.queue !== undefined) {
    settings.queue = {
      lagPerReplica: s.queue.lagPerReplica ?? d.lagPerReplica,
      activationLag: s.queue.activationLag ?? d.activationLag,
    };
  }
  if (settings.stableWindowMs <= 0) {
    issues.push({ path: 'spec.scaling.stableWindow', message: 'must be longer than 0s' });
  }
  if (settings.maxScale > 0 && settings.minScale > settings.maxScale) {
    const min = a.minScale !== undefined ? annotationName('min-scale') : 'spec.scaling.minScale';
    const max = a.maxScale !== undefined ? annotationName('max-scale') : 'spec.scaling.maxScale';
    issues.push({ path: min, message: `${min} (${settings.minScale}) must be <= ${max} (${settings.maxScale})` });
  }
  if (issues.length > 0) {
    const message = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new InvalidResourceError(`invalid scaling settings: ${message}`, issues);
  }
  return settings;
}
