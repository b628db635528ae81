import { z } from 'zod';
import { nonEmpty, objectOf, type Strictness } from './common.ts';
import { type FunctionSpec, functionSpecSchema, type ScalingSpec } from './serving.ts';
import type { Resource } from './types.ts';

/** Storage URI schemes a model server can fetch from (DESIGN §8). */
export const STORAGE_SCHEMES = ['file:', 's3:', 'http:', 'https:'] as const;
/** Model formats the model server runs; KServe's `modelFormat.name` / `framework`. */
export const MODEL_FORMATS = ['onnx'] as const;

/** Adaptive micro-batching of concurrent requests for one model (KServe's batcher). Off unless given. */
export interface BatchingSpec {
  /** @defaultValue 32 */
  maxBatchSize?: number;
  /** Longest a request waits for others to join its batch. @defaultValue 10 */
  maxLatencyMs?: number;
}

/** KServe v1beta1 predictor, with our Function scaling accepted beside KServe's fields. */
export interface PredictorSpec {
  /** The InferenceService's own model, served under the InferenceService's name. Optional: TrainedModels may be all. */
  model?: { modelFormat?: { name: string; version?: string }; storageUri?: string; runtime?: string };
  /** KServe's minReplicas. @defaultValue 1 (KServe's default; 0 allows scale to zero) */
  minReplicas?: number;
  /** KServe's maxReplicas; 0 = unbounded. @defaultValue 0 */
  maxReplicas?: number;
  /** KServe's scaleMetric. @defaultValue 'concurrency' */
  scaleMetric?: 'concurrency' | 'rps';
  /** KServe's scaleTarget. */
  scaleTarget?: number;
  /** @defaultValue 0 (unbounded) */
  containerConcurrency?: number;
  /** Seconds per request. @defaultValue 60 */
  timeout?: number;
  /** Function-style scaling (DESIGN §7); its fields win over KServe's. */
  scaling?: ScalingSpec;
  /** Micro-batching for the predictor's own model. */
  batching?: BatchingSpec;
}

export interface InferenceServiceSpec {
  predictor: PredictorSpec;
}

export interface TrainedModelSpec {
  /** Name of the InferenceService (same namespace) whose model server loads this model. */
  inferenceService: string;
  model: {
    storageUri: string;
    /** @defaultValue 'onnx' */
    framework?: string;
    /** Kubernetes quantity (`64Mi`); recorded for placement, checked against the file's size. */
    memory?: string;
  };
  /** Micro-batching for this model. */
  batching?: BatchingSpec;
}

export type InferenceServiceResource = Resource<InferenceServiceSpec>;
export type TrainedModelResource = Resource<TrainedModelSpec>;

const storageUri = nonEmpty.refine(
  (uri) => {
    try {
      return (STORAGE_SCHEMES as readonly string[]).includes(new URL(uri).protocol);
    } catch {
      return false;
    }
  },
  { message: `must be a URI with scheme ${STORAGE_SCHEMES.map((s) => `${s}//`).join(', ')}` },
);

const modelFormat = z.enum(MODEL_FORMATS, `must be one of ${MODEL_FORMATS.join(', ')} (the model server runs ONNX)`);
const QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

function batchingSchema(mode: Strictness) {
  return objectOf(mode, {
    maxBatchSize: z.number().int('must be an integer').min(1, 'must be >= 1').optional(),
    maxLatencyMs: z.number().positive('must be > 0').optional(),
  });
}

export function inferenceServiceSpecSchema(mode: Strictness) {
  const count = z.number().int('must be an integer').min(0, 'must be >= 0');
  // KServe's predictor has many fields (containers, serviceAccountName…) we do not model; they are kept, unread.
  const predictor = objectOf('loose', {
    model: objectOf('loose', {
      modelFormat: objectOf('loose', {
        name: mode === 'strict' ? modelFormat : nonEmpty,
        version: z.string().optional(),
      }).optional(),
      storageUri: (mode === 'strict' ? storageUri : nonEmpty).optional(),
      runtime: z.string().optional(),
    }).optional(),
    minReplicas: count.optional(),
    maxReplicas: count.optional(),
    scaleMetric: z.enum(['concurrency', 'rps']).optional(),
    scaleTarget: z.number().positive('must be > 0').optional(),
    containerConcurrency: count.optional(),
    timeout: z.number().int('must be an integer').positive('must be > 0').optional(),
    scaling: functionSpecSchema(mode).shape.scaling,
    batching: batchingSchema(mode).optional(),
  });
  return objectOf(mode, { predictor }).superRefine((spec, ctx) => {
    const p = spec.predictor;
    if (p.minReplicas !== undefined && p.maxReplicas && p.minReplicas > p.maxReplicas) {
      ctx.addIssue({ code: 'custom', path: ['predictor', 'minReplicas'], message: 'must be <= maxReplicas' });
    }
  });
}

/**
 * KServe's own YAML (loose mode) applies unchanged even with a framework or scheme we do not run (sklearn, gs://);
 * the reconciler then reports it on Ready, as KServe's FrameworkSupported condition does.
 */
export function trainedModelSpecSchema(mode: Strictness) {
  return objectOf(mode, {
    inferenceService: nonEmpty,
    model: objectOf(mode, {
      storageUri: mode === 'strict' ? storageUri : nonEmpty,
      framework: mode === 'strict' ? modelFormat.optional() : z.string().optional(),
      memory: z.string().regex(QUANTITY, 'must be a Kubernetes quantity such as 64Mi').optional(),
    }),
    batching: batchingSchema(mode).optional(),
  });
}

/** Why the model server cannot run this model, or undefined when it can. */
export function unsupportedModel(storageUri: string | undefined, framework: string | undefined): string | undefined {
  if (framework !== undefined && !(MODEL_FORMATS as readonly string[]).includes(framework.toLowerCase())) {
    return `model format ${JSON.stringify(framework)} is not supported: the model server runs ${MODEL_FORMATS.join(', ')}`;
  }
  if (storageUri !== undefined) {
    let scheme = '';
    try {
      scheme = new URL(storageUri).protocol;
    } catch {}
    if (!(STORAGE_SCHEMES as readonly string[]).includes(scheme)) {
      return `storageUri ${storageUri}: scheme not supported (use ${STORAGE_SCHEMES.map((s) => `${s}//`).join(', ')})`;
    }
  }
  return undefined;
}

/** Bytes of a Kubernetes quantity (`64Mi` → 67108864). */
export function quantityBytes(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!m) throw new RangeError(`not a quantity: ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/** The Function an InferenceService becomes: the model server handler, KServe's scaling mapped onto ours. */
export function predictorFunctionSpec(
  spec: InferenceServiceSpec,
  handler: string,
  env: Record<string, string>,
): FunctionSpec {
  const p = spec.predictor;
  const scaling: ScalingSpec = {
    minScale: p.minReplicas ?? 1,
    ...(p.maxReplicas !== undefined ? { maxScale: p.maxReplicas } : {}),
    ...(p.scaleMetric !== undefined ? { metric: p.scaleMetric } : {}),
    ...(p.scaleTarget !== undefined ? { target: p.scaleTarget } : {}),
    ...p.scaling,
  };
  return {
    handler,
    // v2 bodies of a batch chunk run to megabytes; the gateway's own limit (32 MiB) still applies.
    env: { ES_MAX_BODY_BYTES: String(32 * 1024 * 1024), ...env },
    containerConcurrency: p.containerConcurrency ?? 0,
    timeoutSeconds: p.timeout ?? 60,
    scaling,
  };
}
