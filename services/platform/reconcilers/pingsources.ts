import type { StatusPatch } from '../../controller/reconciler.ts';
import type { Resource } from '../../controller/resources/types.ts';
import type { CloudEvent } from '../../core/cloudevent.ts';
import { sendEvent } from '../../core/http/sender.ts';
import {
  type PingSink,
  type PingSourceResource,
  type PingSourceRunner,
  pingSourceKey,
} from '../../sources/ping/index.ts';
import { type AddressBook, type Destination, resolveDestination } from '../addresses.ts';

/** Emits one ping event to its (resolved) sink; a non-2xx answer rejects, so the runner retries the tick. */
export async function postToSink(event: CloudEvent, sink: PingSink, signal: AbortSignal): Promise<void> {
  const res = await sendEvent(sink.uri!, event, AbortSignal.any([signal, AbortSignal.timeout(10_000)]));
  if (res.status < 200 || res.status > 299) throw new Error(`sink ${sink.uri} answered ${res.status}`);
}

export function reconcilePingSource(source: Resource, runner: PingSourceRunner, addresses: AddressBook): StatusPatch {
  const namespace = source.metadata.namespace ?? 'default';
  const spec = source.spec as unknown as PingSourceResource['spec'] & { sink: Destination };
  const sinkUri = resolveDestination(addresses, spec.sink, namespace);
  runner.upsert({ ...(source as unknown as PingSourceResource), spec: { ...spec, sink: { uri: sinkUri } } });
  const next = runner.nextRun(pingSourceKey(namespace, source.metadata.name));
  return {
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Scheduled',
        message: next ? `next run ${next.toISOString()}` : 'scheduled',
      },
    ],
    sinkUri,
  };
}

export function removePingSource(source: Resource, runner: PingSourceRunner): void {
  runner.remove(pingSourceKey(source.metadata.namespace ?? 'default', source.metadata.name));
}
