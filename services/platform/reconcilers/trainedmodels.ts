import { request } from 'undici';
import type { ReconcileContext, StatusPatch } from '../../controller/reconciler.ts';
import { type TrainedModelSpec, unsupportedModel } from '../../controller/resources/index.ts';
import type { Resource } from '../../controller/resources/types.ts';
import type { LocalRuntime } from '../../runtime/supervisor.ts';
import { functionKey } from '../../runtime/types.ts';
import type { AddressBook } from '../addresses.ts';
import type { ModelConfigs } from '../models/model-configs.ts';
import type { ServedFunction } from './functions.ts';
import { NotReadyError } from './not-ready.ts';

/** Annotation the model deployer sets to the stored object's etag, so a new upload under the same URI reloads. */
export const MODEL_VERSION_ANNOTATION = 'serving.elastic-serving.dev/model-version';

export interface TrainedModelDeps {
  models: ModelConfigs;
  runtime: LocalRuntime;
  /** Served functions by key; an InferenceService is served once its reconciler ran. */
  functions: Map<string, ServedFunction>;
  addresses: AddressBook;
  /** Longest a replica may take to fetch and load a model. @defaultValue 120000 */
  loadTimeoutMs?: number;
}

export function trainedModelIsvc(tm: Resource): { namespace: string; name: string } {
  const spec = tm.spec as unknown as TrainedModelSpec;
  return { namespace: tm.metadata.namespace ?? 'default', name: spec.inferenceService };
}

/** KServe-shaped error body of a model server, or the raw text. */
function reason(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {}
  return `model server answered ${status}: ${body.slice(0, 300)}`;
}

async function repositoryCall(port: number, model: string, action: 'load' | 'unload', timeoutMs: number) {
  const res = await request(`http://127.0.0.1:${port}/v2/repository/models/${encodeURIComponent(model)}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await res.body.text();
  return { status: res.statusCode, body };
}

/**
 * Lists the model in its InferenceService's model config (every replica, present and future, loads it), then asks
 * each ready replica to load it now and reports Ready only when all of them hold it; a load failure (bad file,
 * unreachable storage) is Ready=False with the server's reason, and the models already serving are untouched.
 */
export async function reconcileTrainedModel(
  tm: Resource,
  deps: TrainedModelDeps,
  ctx: ReconcileContext,
): Promise<StatusPatch> {
  const spec = tm.spec as unknown as TrainedModelSpec;
  const isvc = trainedModelIsvc(tm);
  const isvcKey = functionKey(isvc.namespace, isvc.name);
  const model = tm.metadata.name;
  const url = `${deps.addresses.gatewayUrl}/${isvc.namespace}/${isvc.name}/v2/models/${model}/infer`;
  const unsupported = unsupportedModel(spec.model.storageUri, spec.model.framework);
  if (unsupported) throw new NotReadyError('FrameworkNotSupported', unsupported);
  const version = tm.metadata.annotations?.[MODEL_VERSION_ANNOTATION];
  await deps.models.set(isvcKey, model, {
    modelName: model,
    modelSpec: {
      storageUri: spec.model.storageUri,
      framework: spec.model.framework ?? 'onnx',
      ...(spec.model.memory ? { memory: spec.model.memory } : {}),
      ...(spec.batching ? { batching: spec.batching } : {}),
      ...(version ? { version } : {}),
    },
  });
  // Listed even before its InferenceService is served, so the InferenceService's first replicas start with it.
  if (!deps.functions.has(isvcKey)) {
    throw new NotReadyError('InferenceServiceNotFound', `InferenceService ${isvcKey} is not served`);
  }
  const replicas = deps.runtime.replicas(isvcKey);
  const ready = replicas.filter((r) => r.ready && r.port !== undefined);
  if (ready.length === 0) {
    if (replicas.length > 0) {
      ctx.requeueAfter(500);
      throw new NotReadyError('ReplicasStarting', `no ready replica of ${isvcKey} yet`);
    }
    // Scaled to zero: the first replica loads it before it reports ready, as for any replica added later.
    return {
      url,
      address: { url },
      loadedReplicas: 0,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'ScaledToZero', message: 'loaded by the first replica to start' },
      ],
    };
  }
  const timeout = deps.loadTimeoutMs ?? 120_000;
  const results = await Promise.all(
    ready.map(async (r) => {
      try {
        const res = await repositoryCall(r.port!, model, 'load', timeout);
        return res.status === 200 ? undefined : reason(res.status, res.body);
      } catch (err) {
        return `replica ${r.id}: ${(err as Error).message}`;
      }
    }),
  );
  const failed = results.find((r) => r !== undefined);
  if (failed !== undefined) throw new NotReadyError('ModelLoadFailed', failed);
  // A replica that became ready meanwhile read the config at start; the next pass confirms it holds the model.
  if (deps.runtime.replicas(isvcKey).some((r) => r.ready && !ready.some((x) => x.id === r.id))) ctx.requeueAfter(200);
  return {
    url,
    address: { url },
    loadedReplicas: ready.length,
    conditions: [
      { type: 'Ready', status: 'True', reason: 'ModelLoaded', message: `loaded on ${ready.length} replica(s)` },
    ],
  };
}

/** Drops the model from the config and unloads it from every ready replica (best effort: the config rules). */
export async function removeTrainedModel(tm: Resource, deps: TrainedModelDeps): Promise<void> {
  const isvc = trainedModelIsvc(tm);
  const isvcKey = functionKey(isvc.namespace, isvc.name);
  await deps.models.set(isvcKey, tm.metadata.name, undefined);
  await Promise.all(
    deps.runtime
      .replicas(isvcKey)
      .filter((r) => r.ready && r.port !== undefined)
      .map((r) => repositoryCall(r.port!, tm.metadata.name, 'unload', 10_000).catch(() => undefined)),
  );
}
