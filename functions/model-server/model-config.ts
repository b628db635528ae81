/**
 * The model config file (KServe model-agent's `models.json` shape) the platform writes for a model server:
 * `[{"modelName": "iris", "modelSpec": {"storageUri": "file:///…", "framework": "onnx", "memory": "64Mi",
 * "batching": {"maxBatchSize": 32, "maxLatencyMs": 5}}}]`. Validated by hand with messages naming the entry.
 */
import type { ModelSpec } from './served-model.ts';

export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalString(spec: Record<string, unknown>, key: string, at: string): string | undefined {
  const v = spec[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ModelConfigError(`${at}.${key} must be a string`);
  return v;
}

function batching(v: unknown, at: string): ModelSpec['batching'] {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new ModelConfigError(`${at} must be an object {maxBatchSize, maxLatencyMs}`);
  const out: NonNullable<ModelSpec['batching']> = {};
  if (v.maxBatchSize !== undefined) {
    if (typeof v.maxBatchSize !== 'number' || !Number.isInteger(v.maxBatchSize) || v.maxBatchSize < 1) {
      throw new ModelConfigError(`${at}.maxBatchSize must be a positive integer`);
    }
    out.maxBatchSize = v.maxBatchSize;
  }
  if (v.maxLatencyMs !== undefined) {
    if (typeof v.maxLatencyMs !== 'number' || !Number.isFinite(v.maxLatencyMs) || v.maxLatencyMs < 0) {
      throw new ModelConfigError(`${at}.maxLatencyMs must be a non-negative number`);
    }
    out.maxLatencyMs = v.maxLatencyMs;
  }
  return out;
}

/** Parses the file's text into model name → spec, in file order. Throws ModelConfigError naming the bad entry. */
export function parseModelConfig(text: string): Map<string, ModelSpec> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(`model config is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new ModelConfigError('model config must be a list of {modelName, modelSpec}');
  const models = new Map<string, ModelSpec>();
  doc.forEach((entry, i) => {
    const at = `[${i}]`;
    if (!isObject(entry)) throw new ModelConfigError(`${at} must be an object {modelName, modelSpec}`);
    const name = entry.modelName;
    if (typeof name !== 'string' || name === '' || name.includes('/')) {
      throw new ModelConfigError(`${at}.modelName must be a non-empty string without '/'`);
    }
    if (models.has(name)) throw new ModelConfigError(`${at}.modelName '${name}' is listed twice`);
    const spec = entry.modelSpec;
    if (!isObject(spec)) throw new ModelConfigError(`${at}.modelSpec must be an object`);
    const storageUri = spec.storageUri;
    if (typeof storageUri !== 'string' || storageUri === '') {
      throw new ModelConfigError(`${at}.modelSpec.storageUri must be a non-empty string`);
    }
    const out: ModelSpec = { storageUri };
    const framework = optionalString(spec, 'framework', `${at}.modelSpec`);
    if (framework !== undefined) out.framework = framework;
    const memory = optionalString(spec, 'memory', `${at}.modelSpec`);
    if (memory !== undefined) out.memory = memory;
    const b = batching(spec.batching, `${at}.modelSpec.batching`);
    if (b) out.batching = b;
    models.set(name, out);
  });
  return models;
}
