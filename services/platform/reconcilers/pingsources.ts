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
import type { BrokerRegistry } from './brokers.ts';
import { NotReadyError } from './not-ready.ts';

/** Emits one ping event to its (resolved) sink; a non-2xx answer rejects, so the runner retries the tick. */
export async function postToSink(event: CloudEvent, sink: PingSink, signal: AbortSignal): Promise<void> {
  const res = await sendEvent(sink.uri!, event, AbortSignal.any([signal, AbortSignal.timeout(10_000)]));
  if (res.status < 200 || res.status > 299) throw new Error(`sink ${sink.uri} answered ${res.status}`);
}

/** The Broker a PingSource's sink refers to, if it is a ref to one. */
export function sinkBroker(source: Resource) {
  const ref = (source.spec as { sink?: Destination } | undefined)?.sink?.ref;
  if (ref?.kind !== 'Broker') return undefined;
  return { namespace: ref.namespace ?? source.metadata.namespace ?? 'default', name: ref.name };
}

export function reconcilePingSource(
  source: Resource,
  runner: PingSourceRunner,
  addresses: AddressBook,
  brokers: BrokerRegistry,
): StatusPatch {
  const namespace = source.metadata.namespace ?? 'default';
  const key = pingSourceKey(namespace, source.metadata.name);
  const spec = source.spec as unknown as PingSourceResource['spec'] & { sink: Destination };
  const broker = sinkBroker(source);
  if (broker && !brokers.get(broker.namespace, broker.name)) {
    // Knative's SinkProvided=False: no ticks into a 404 until the Broker exists.
    runner.remove(key);
    throw new NotReadyError('SinkNotFound', `sink Broker ${broker.namespace}/${broker.name} does not exist`);
  }
  const sinkUri = resolveDestination(addresses, spec.sink, namespace);
  runner.upsert({ ...(source as unknown as PingSourceResource), spec: { ...spec, sink: { uri: sinkUri } } });
  const next = runner.nextRun(key);
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
