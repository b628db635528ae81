import { z } from 'zod';
import { isoDuration, nonEmpty, objectOf, type Strictness } from './common.ts';
import type { Resource } from './types.ts';

/** Autoscaling of a Function (DESIGN §7; Knative KPA defaults). */
export interface ScalingSpec {
  /** @defaultValue 0 */
  minScale?: number;
  /** 0 = unbounded. @defaultValue 0 */
  maxScale?: number;
  /** @defaultValue 'concurrency' */
  metric?: 'concurrency' | 'rps';
  /** Per-replica target of `metric`; defaults to containerConcurrency (or 100) for concurrency, 200 for rps. */
  target?: number;
  /** Fraction of `target` aimed at. @defaultValue 0.7 */
  targetUtilization?: number;
  /** KEDA-like queue-depth scaling. */
  queue?: { lagPerReplica?: number; activationLag?: number };
  /** Knative `autoscaling.knative.dev/window`. @defaultValue 'PT60S' */
  stableWindow?: string;
  /** @defaultValue 'PT0S' */
  scaleDownDelay?: string;
  /** @defaultValue 'PT30S' */
  scaleToZeroGracePeriod?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
}

export interface FunctionSpec {
  /** Module path of the handler (local runtime), relative to the working directory. */
  handler?: string;
  /** Container image (Kubernetes runtime). */
  image?: string;
  /** Kubernetes list of `{name, value}`, or a plain map. */
  env?: EnvVar[] | Record<string, string>;
  /** Requests one replica serves at once; 0 = unbounded. @defaultValue 0 */
  containerConcurrency?: number;
  /** @defaultValue 300 */
  timeoutSeconds?: number;
  /**
   * Fixed replica count, used only when the Function has neither `scaling` nor an `autoscaling.knative.dev/*`
   * annotation; otherwise the autoscaler decides and this is ignored.
   * @defaultValue 1
   */
  replicas?: number;
  scaling?: ScalingSpec;
}

export type FunctionResource = Resource<FunctionSpec>;

/** FunctionSpec with every default applied. */
export interface ResolvedFunctionSpec {
  handler?: string;
  image?: string;
  env: Record<string, string>;
  containerConcurrency: number;
  timeoutSeconds: number;
  replicas: number;
  scaling: Required<Omit<ScalingSpec, 'queue'>> & { queue?: { lagPerReplica: number; activationLag: number } };
}

export const FUNCTION_DEFAULTS = {
  containerConcurrency: 0,
  timeoutSeconds: 300,
  replicas: 1,
  minScale: 0,
  maxScale: 0,
  targetUtilization: 0.7,
  concurrencyTarget: 100,
  rpsTarget: 200,
  lagPerReplica: 20,
  activationLag: 0,
  stableWindow: 'PT60S',
  scaleDownDelay: 'PT0S',
  scaleToZeroGracePeriod: 'PT30S',
} as const;

export function resolveFunctionSpec(spec: FunctionSpec): ResolvedFunctionSpec {
  const d = FUNCTION_DEFAULTS;
  const s = spec.scaling ?? {};
  const containerConcurrency = spec.containerConcurrency ?? d.containerConcurrency;
  const metric = s.metric ?? 'concurrency';
  const env = Array.isArray(spec.env)
    ? Object.fromEntries(spec.env.map((e) => [e.name, e.value ?? '']))
    : { ...(spec.env ?? {}) };
  const resolved: ResolvedFunctionSpec = {
    env,
    containerConcurrency,
    timeoutSeconds: spec.timeoutSeconds ?? d.timeoutSeconds,
    replicas: spec.replicas ?? d.replicas,
    scaling: {
      minScale: s.minScale ?? d.minScale,
      maxScale: s.maxScale ?? d.maxScale,
      metric,
      target:
        s.target ??
        (metric === 'rps' ? d.rpsTarget : containerConcurrency > 0 ? containerConcurrency : d.concurrencyTarget),
      targetUtilization: s.targetUtilization ?? d.targetUtilization,
      stableWindow: s.stableWindow ?? d.stableWindow,
      scaleDownDelay: s.scaleDownDelay ?? d.scaleDownDelay,
      scaleToZeroGracePeriod: s.scaleToZeroGracePeriod ?? d.scaleToZeroGracePeriod,
    },
  };
  if (spec.handler !== undefined) resolved.handler = spec.handler;
  if (spec.image !== undefined) resolved.image = spec.image;
  if (s.queue !== undefined) {
    resolved.scaling.queue = {
      lagPerReplica: s.queue.lagPerReplica ?? d.lagPerReplica,
      activationLag: s.queue.activationLag ?? d.activationLag,
    };
  }
  return resolved;
}

const count = z.number().int('must be an integer').min(0, 'must be >= 0');
const positive = z.number().positive('must be > 0');

export function functionSpecSchema(mode: Strictness) {
  const scaling = objectOf(mode, {
    minScale: count.optional(),
    maxScale: count.optional(),
    metric: z.enum(['concurrency', 'rps']).optional(),
    target: positive.optional(),
    targetUtilization: positive.max(1, 'must be <= 1').optional(),
    queue: objectOf(mode, { lagPerReplica: positive.optional(), activationLag: count.optional() }).optional(),
    stableWindow: isoDuration.optional(),
    scaleDownDelay: isoDuration.optional(),
    scaleToZeroGracePeriod: isoDuration.optional(),
  }).superRefine((s, ctx) => {
    if (s.minScale !== undefined && s.maxScale !== undefined && s.maxScale > 0 && s.minScale > s.maxScale) {
      ctx.addIssue({ code: 'custom', path: ['minScale'], message: 'must be <= maxScale' });
    }
  });
  return objectOf(mode, {
    handler: nonEmpty.optional(),
    image: nonEmpty.optional(),
    env: z
      .union(
        [z.array(objectOf(mode, { name: nonEmpty, value: z.string().optional() })), z.record(z.string(), z.string())],
        'must be a list of {name, value} or a map of strings',
      )
      .optional(),
    containerConcurrency: count.optional(),
    timeoutSeconds: z.number().int('must be an integer').positive('must be > 0').optional(),
    replicas: count.optional(),
    scaling: scaling.optional(),
  }).superRefine((spec, ctx) => {
    if (spec.handler === undefined && spec.image === undefined) {
      ctx.addIssue({ code: 'custom', message: 'handler or image is required' });
    }
  });
}

/**
 * BatchJob (`serving.elastic-serving.dev/v1alpha1`): scores `input` (JSONL or CSV, a path or `file://` URI) with
 * `model` on `inferenceService` (a name in the same namespace, or a URL) into `output` (JSONL); see
 * BatchJobSpec in services/platform/reconcilers/batchjobs.ts. Paths are resolved against the platform's
 * working directory.
 */
export function batchJobSpecSchema(mode: Strictness) {
  const ref = objectOf(mode, {
    apiVersion: z.string().optional(),
    kind: nonEmpty,
    name: nonEmpty,
    namespace: z.string().optional(),
  });
  const sink = objectOf(mode, { ref: ref.optional(), uri: z.string().optional() }).refine(
    (s) => s.ref !== undefined || (s.uri !== undefined && s.uri !== ''),
    'ref or uri is required',
  );
  return objectOf(mode, {
    model: nonEmpty,
    inferenceService: nonEmpty,
    input: nonEmpty,
    output: nonEmpty,
    chunkSize: z.number().int('must be an integer').min(1, 'must be >= 1').optional(),
    concurrency: z.number().int('must be an integer').min(0, 'must be >= 0').optional(),
    sink: sink.optional(),
  });
}
