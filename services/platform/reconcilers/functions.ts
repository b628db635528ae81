import type { ReconcileContext, StatusPatch } from '../../controller/reconciler.ts';
import { type FunctionSpec, resolveFunctionSpec } from '../../controller/resources/index.ts';
import type { Resource } from '../../controller/resources/types.ts';
import type { LocalRuntime } from '../../runtime/supervisor.ts';
import { transpileHandler } from '../../runtime/transpile.ts';
import { functionKey } from '../../runtime/types.ts';
import { type AddressBook, functionUrl } from '../addresses.ts';
import { NotReadyError } from './not-ready.ts';

/** What the gateway needs to know of a served function. */
export interface ServedFunction {
  containerConcurrency: number;
  timeoutSeconds: number;
  replicas: number;
}

export interface FunctionReconcilerDeps {
  runtime: LocalRuntime;
  functions: Map<string, ServedFunction>;
  addresses: AddressBook;
  /** Directory a relative `spec.handler` is resolved against. */
  baseDir: string;
  stateDir: string;
}

/** Status fields of a Function from its replicas right now. */
export function replicaStatus(runtime: LocalRuntime, key: string, desired: number): StatusPatch {
  const replicas = runtime.replicas(key);
  const ready = replicas.filter((r) => r.ready).length;
  const crashed = replicas.find((r) => r.lastError);
  const ok = ready > 0 || desired === 0;
  return {
    readyReplicas: ready,
    desiredReplicas: desired,
    conditions: [
      ok
        ? { type: 'Ready', status: 'True', reason: 'ReplicasReady', message: `${ready}/${desired} replicas ready` }
        : {
            type: 'Ready',
            status: 'False',
            reason: crashed ? 'ReplicaFailing' : 'ReplicasNotReady',
            message: crashed?.lastError?.slice(0, 500) ?? `0/${desired} replicas ready`,
          },
    ],
  };
}

/**
 * Transpiles the handler once (cached by content), deploys it to the local runtime at the Function's fixed
 * replica count, and reports its gateway address. Readiness changes later are written by the platform.
 */
export async function reconcileFunction(
  fn: Resource,
  deps: FunctionReconcilerDeps,
  ctx: ReconcileContext,
): Promise<StatusPatch> {
  const namespace = fn.metadata.namespace ?? 'default';
  const key = functionKey(namespace, fn.metadata.name);
  const spec = resolveFunctionSpec(fn.spec as unknown as FunctionSpec);
  if (!spec.handler) {
    throw new NotReadyError('NoHandler', 'spec.handler is required by the local runtime (spec.image needs Kubernetes)');
  }
  const built = await transpileHandler({
    handler: spec.handler,
    namespace,
    name: fn.metadata.name,
    baseDir: deps.baseDir,
    stateDir: deps.stateDir,
  }).catch((err: Error) => {
    throw new NotReadyError('HandlerBuildFailed', err.message);
  });
  deps.functions.set(key, {
    containerConcurrency: spec.containerConcurrency,
    timeoutSeconds: spec.timeoutSeconds,
    replicas: spec.replicas,
  });
  await deps.runtime.deploy(key, { entry: built.file, env: spec.env, timeoutSeconds: spec.timeoutSeconds });
  await deps.runtime.scale(key, spec.replicas);
  const status = replicaStatus(deps.runtime, key, spec.replicas);
  if (status.readyReplicas === 0 && spec.replicas > 0) ctx.requeueAfter(2_000);
  return {
    ...status,
    address: { url: functionUrl(deps.addresses, namespace, fn.metadata.name) },
    handlerHash: built.hash,
  };
}

export async function removeFunction(
  fn: Resource,
  deps: Pick<FunctionReconcilerDeps, 'runtime' | 'functions'>,
): Promise<void> {
  const key = functionKey(fn.metadata.namespace ?? 'default', fn.metadata.name);
  deps.functions.delete(key);
  await deps.runtime.remove(key);
}
