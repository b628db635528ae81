import { fileURLToPath } from 'node:url';
import type { ReconcileContext, StatusPatch } from '../../controller/reconciler.ts';
import {
  type InferenceServiceSpec,
  predictorFunctionSpec,
  unsupportedModel,
} from '../../controller/resources/index.ts';
import type { Resource } from '../../controller/resources/types.ts';
import { functionKey } from '../../runtime/types.ts';
import type { ModelConfigs } from '../models/model-configs.ts';
import { type FunctionReconcilerDeps, reconcileFunction, removeFunction } from './functions.ts';
import { NotReadyError } from './not-ready.ts';

/** The model server every InferenceService runs (functions/model-server), wherever the user's directory is. */
export const MODEL_SERVER_HANDLER = fileURLToPath(new URL('../../../functions/model-server/index.ts', import.meta.url));

export interface InferenceServiceDeps extends FunctionReconcilerDeps {
  models: ModelConfigs;
}

/**
 * An InferenceService is served as a Function running the model server, under the InferenceService's name on the
 * function gateway. Its own model (`predictor.model.storageUri`, if any) is listed under its name in the
 * replicas' model config, beside the TrainedModels assigned to it.
 */
export async function reconcileInferenceService(
  isvc: Resource,
  deps: InferenceServiceDeps,
  ctx: ReconcileContext,
): Promise<StatusPatch> {
  const namespace = isvc.metadata.namespace ?? 'default';
  const name = isvc.metadata.name;
  const key = functionKey(namespace, name);
  const spec = isvc.spec as unknown as InferenceServiceSpec;
  const own = spec.predictor.model;
  const unsupported = unsupportedModel(own?.storageUri, own?.modelFormat?.name);
  if (unsupported) throw new NotReadyError('FrameworkNotSupported', unsupported);
  await deps.models.set(
    key,
    name,
    own?.storageUri
      ? {
          modelName: name,
          modelSpec: {
            storageUri: own.storageUri,
            framework: own.modelFormat?.name ?? 'onnx',
            ...(spec.predictor.batching ? { batching: spec.predictor.batching } : {}),
          },
        }
      : undefined,
  );
  const fnSpec = predictorFunctionSpec(spec, MODEL_SERVER_HANDLER, { ES_MODEL_CONFIG: deps.models.file(key) });
  const patch = await reconcileFunction({ ...isvc, spec: fnSpec as unknown as Record<string, unknown> }, deps, ctx);
  const url = (patch.address as { url: string }).url;
  return { ...patch, url, modelConfig: deps.models.file(key) };
}

export async function removeInferenceService(
  isvc: Resource,
  deps: Pick<InferenceServiceDeps, 'runtime' | 'functions' | 'scaling' | 'models'>,
): Promise<void> {
  await removeFunction(isvc, deps);
  deps.models.forget(functionKey(isvc.metadata.namespace ?? 'default', isvc.metadata.name));
}
