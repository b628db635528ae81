import type { Logger } from 'pino';
import { type StatusPatch, statusAfter } from '../controller/reconciler.ts';
import type { ResourceStore } from '../controller/store.ts';
import { splitFunctionKey } from '../runtime/types.ts';

/** Writes a Function's replica readiness to its status when replicas change between reconciles. */
export async function markFunctionStatus(
  store: ResourceStore,
  key: string,
  patch: StatusPatch,
  logger: Logger,
): Promise<void> {
  const { namespace, name } = splitFunctionKey(key);
  try {
    const fn = await store.get({ kind: 'Function', namespace, name });
    if (!fn) return;
    await store.updateStatus(
      { kind: 'Function', namespace, name },
      statusAfter(fn.status, patch, fn.metadata.generation, new Date()),
    );
  } catch (err) {
    logger.warn({ err, function: key }, 'could not update function status');
  }
}
