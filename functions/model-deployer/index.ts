/**
 * The model deployer (DESIGN §1, §8): a Function triggered by storage events. An `.onnx` object under
 * `models/<name>/` creates or updates TrainedModel `<name>` in the configured InferenceService; once the model
 * server holds it, the reply is `dev.elasticserving.model.ready` (or `.failed` with the reason), which re-enters
 * the broker. Deleting the object removes the TrainedModel (the server unloads it) if it still points there.
 *
 * Configuration (env): ES_DEPLOYER_ISVC (InferenceService, default `models`), ES_DEPLOYER_NAMESPACE (default the
 * Function's), ES_DEPLOYER_PREFIX (default `models/`), ES_DEPLOYER_READY_TIMEOUT_MS (default 60000); the control
 * API from ES_CONTROL_URL / ES_CONTROL_TOKEN, which the platform sets for every replica.
 */
import { randomUUID } from 'node:crypto';
import { defineFunction, makeEvent, NonRetriableError } from 'elastic-serving/sdk';
import { ControlClient, readyCondition } from './control-client.ts';
import { modelAction, type StorageObject } from './rules.ts';

/** Annotation the TrainedModel reconciler turns into a reload when the object changed under the same URI. */
const VERSION_ANNOTATION = 'serving.elastic-serving.dev/model-version';

const env = process.env;
const isvc = env.ES_DEPLOYER_ISVC ?? 'models';
const prefix = env.ES_DEPLOYER_PREFIX ?? 'models/';
const readyTimeoutMs = Number(env.ES_DEPLOYER_READY_TIMEOUT_MS ?? 60_000);

function client(): ControlClient {
  const url = env.ES_CONTROL_URL;
  if (!url) throw new NonRetriableError('ES_CONTROL_URL is not set: the deployer needs the control API');
  return new ControlClient(url, env.ES_CONTROL_TOKEN);
}

function modelEvent(type: 'ready' | 'failed' | 'removed', data: Record<string, unknown>, subject: string) {
  return makeEvent(
    {
      id: randomUUID(),
      type: `dev.elasticserving.model.${type}`,
      source: `/functions/model-deployer/${isvc}`,
      subject,
    },
    data,
  );
}

export default defineFunction<StorageObject>(
  async (event, ctx) => {
    const obj = event.data ?? {};
    const key = event.subject ?? obj.key;
    const namespace = env.ES_DEPLOYER_NAMESPACE ?? ctx.namespace;
    const decided = modelAction(event.type, key, obj, prefix);
    if (decided.action === 'ignore') {
      ctx.logger.debug({ key, why: decided.reason }, 'not a model');
      return undefined;
    }
    const base = { model: decided.model, inferenceService: isvc, namespace, key };
    if (decided.action === 'reject') return modelEvent('failed', { ...base, reason: decided.reason }, decided.model);
    const control = client();
    if (decided.action === 'undeploy') {
      const current = await control.get(namespace, decided.model);
      // A newer upload may have replaced the deleted object: only the TrainedModel still pointing at it goes.
      if (current?.spec.model.storageUri !== decided.storageUri) return undefined;
      await control.delete(namespace, decided.model);
      ctx.logger.info(base, 'model removed');
      return modelEvent('removed', { ...base, storageUri: decided.storageUri }, decided.model);
    }
    const applied = await control.apply({
      metadata: {
        name: decided.model,
        namespace,
        annotations: decided.version ? { [VERSION_ANNOTATION]: decided.version } : {},
      },
      spec: { inferenceService: isvc, model: { storageUri: decided.storageUri, framework: 'onnx' } },
    });
    const settled = await control.waitSettled(
      namespace,
      decided.model,
      applied.metadata.generation ?? 1,
      readyTimeoutMs,
    );
    const ready = readyCondition(settled);
    const data = { ...base, storageUri: decided.storageUri, etag: decided.version, url: settled.status?.url };
    if (ready?.status === 'True') {
      ctx.logger.info(data, 'model ready');
      return modelEvent('ready', data, decided.model);
    }
    ctx.logger.warn({ ...data, reason: ready?.message }, 'model failed to load');
    return modelEvent('failed', { ...data, reason: ready?.message ?? ready?.reason ?? 'not ready' }, decided.model);
  },
  { name: 'model-deployer' },
);
