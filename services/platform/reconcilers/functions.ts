import type { ReconcileContext, StatusPatch } from '../../controller/reconciler.ts';
import { type FunctionSpec, resolveFunctionSpec } from '../../controller/resources/index.ts';
import type { Resource } from '../../controller/resources/types.ts';
import { InvalidResourceError } from '../../core/errors.ts';
import type { LocalRuntime } from '../../runtime/supervisor.ts';
import { transpileHandler } from '../../runtime/transpile.ts';
import { functionKey } from '../../runtime/types.ts';
import { type AddressBook, functionUrl } from '../addresses.ts';
import type { FunctionScaling } from '../scaling.ts';
import { NotReadyError } from './not-ready.ts';

/** What the platform knows of a served function (triggers ask whether it exists). */
export interface ServedFunction {
  containerConcurrency: number;
  timeoutSeconds: number;
}

export interface FunctionReconcilerDeps {
  runtime: LocalRuntime;
  functions: Map<string, ServedFunction>;
  addresses: AddressBook;
  /** Puts the function behind the activator and decides its replica count (autoscaler or fixed). */
  scaling: FunctionScaling;
  /** Directory a relative `spec.handler` is resolved against. */
  baseDir: string;
  stateDir: string;
}

/** Extra drain time on top of the request timeout before a stopping replica is killed. */
const DRAIN_MARGIN_MS = 5000;

/**
 * Transpiles the handler once (cached by content), deploys it to the local runtime, hands its scale to the
 * autoscaler (or its fixed `spec.replicas`), and reports its gateway address. Replica and scale changes later are
 * written by the platform (scaling.ts).
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
  deps.functions.set(key, { containerConcurrency: spec.containerConcurrency, timeoutSeconds: spec.timeoutSeconds });
  await deps.runtime.deploy(key, {
    entry: built.file,
    env: spec.env,
    timeoutSeconds: spec.timeoutSeconds,
    drainTimeoutMs: spec.timeoutSeconds * 1000 + DRAIN_MARGIN_MS,
  });
  try {
    await deps.scaling.serve(fn, spec);
  } catch (err) {
    if (err instanceof InvalidResourceError) throw new NotReadyError('InvalidScaling', err.message);
    throw err;
  }
  const status = deps.scaling.status(key);
  if (status.readyReplicas === 0 && Number(status.desiredReplicas) > 0) ctx.requeueAfter(1_000);
  return {
    ...status,
    address: { url: functionUrl(deps.addresses, namespace, fn.metadata.name) },
    handlerHash: built.hash,
  };
}

export async function removeFunction(
  fn: Resource,
  deps: Pick<FunctionReconcilerDeps, 'runtime' | 'functions' | 'scaling'>,
): Promise<void> {
  const key = functionKey(fn.metadata.namespace ?? 'default', fn.metadata.name);
  deps.functions.delete(key);
  deps.scaling.remove(key);
  await deps.runtime.remove(key);
}
