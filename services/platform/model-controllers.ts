import type { Logger } from 'pino';
import { type Reconciler, runReconciler } from '../controller/reconciler.ts';
import type { Resource } from '../controller/resources/types.ts';
import type { ResourceStore } from '../controller/store.ts';
import type { ModelConfigs } from './models/model-configs.ts';
import type { FunctionReconcilerDeps } from './reconcilers/functions.ts';
import { reconcileInferenceService, removeInferenceService } from './reconcilers/inferenceservices.ts';
import { reconcileTrainedModel, removeTrainedModel, trainedModelIsvc } from './reconcilers/trainedmodels.ts';
import { sameName } from './reconcilers/triggers.ts';

/**
 * The InferenceService and TrainedModel reconcilers, shared by the embedded platform and the `functions` service
 * (whichever runs the model servers). A TrainedModel is reconciled again whenever its InferenceService is.
 */
export async function startModelControllers(d: {
  store: ResourceStore;
  logger: Logger;
  functionDeps: Omit<FunctionReconcilerDeps, 'baseDir'>;
  models: ModelConfigs;
  /** Called after an InferenceService changed or went away (its Triggers are reconciled again). */
  onInferenceServiceChange?: (isvc: Resource) => void;
}): Promise<Reconciler[]> {
  const options = { logger: d.logger };
  const deps = { ...d.functionDeps, models: d.models, baseDir: process.cwd() };
  const trainedModels = await runReconciler(
    d.store,
    'TrainedModel',
    (tm, ctx) => reconcileTrainedModel(tm, deps, ctx),
    (tm) => removeTrainedModel(tm, deps),
    options,
  );
  const changed = (isvc: Resource) => {
    d.onInferenceServiceChange?.(isvc);
    trainedModels.enqueueWhere((tm) => sameName(isvc, trainedModelIsvc(tm)));
  };
  const inferenceServices = await runReconciler(
    d.store,
    'InferenceService',
    async (isvc, ctx) => {
      const patch = await reconcileInferenceService(isvc, deps, ctx);
      changed(isvc);
      return patch;
    },
    async (isvc) => {
      await removeInferenceService(isvc, deps);
      changed(isvc);
    },
    options,
  );
  return [trainedModels, inferenceServices];
}
