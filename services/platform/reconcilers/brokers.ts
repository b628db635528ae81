import type { EventLog } from '../../../brokers/contract.ts';
import type { StatusPatch } from '../../controller/reconciler.ts';
import { brokerChannel, type ChannelName, keepsTopic } from '../../controller/resources/index.ts';
import type { Resource } from '../../controller/resources/types.ts';
import type { DeliverySpec } from '../../core/delivery/index.ts';
import { ElasticServingError } from '../../core/errors.ts';
import { type AddressBook, brokerUrl } from '../addresses.ts';
import { NotReadyError } from './not-ready.ts';

/** A broker the platform serves: its channel and topic, and the delivery its triggers inherit. */
export interface ServedBroker {
  namespace: string;
  name: string;
  channel: ChannelName;
  log: EventLog;
  topic: string;
  delivery?: DeliverySpec;
}

/**
 * The brokers the platform currently serves, shared by the ingress (where to append) and the trigger
 * reconciler (where to subscribe).
 */
export class BrokerRegistry {
  private readonly brokers = new Map<string, ServedBroker>();
  private synced = false;

  get(namespace: string, name: string): ServedBroker | undefined {
    return this.brokers.get(`${namespace}/${name}`);
  }

  /**
   * The ingress's lookup: a broker not served yet is unknown (404) only once every existing Broker had its first
   * reconcile; before that (a platform starting, or restarting after a crash) the client is asked to retry (503),
   * so an event for a broker that exists is never refused as if it did not.
   */
  resolve(namespace: string, name: string): ServedBroker | undefined {
    const broker = this.get(namespace, name);
    if (broker || this.synced) return broker;
    throw new ElasticServingError('ES_ERR_NOT_READY', `brokers are still being loaded; retry ${namespace}/${name}`, {
      retryAfterSeconds: 1,
    });
  }

  /** Every Broker that existed at start has been reconciled once. */
  markSynced(): void {
    this.synced = true;
  }

  set(broker: ServedBroker): void {
    this.brokers.set(`${broker.namespace}/${broker.name}`, broker);
  }

  delete(namespace: string, name: string): ServedBroker | undefined {
    const key = `${namespace}/${name}`;
    const broker = this.brokers.get(key);
    this.brokers.delete(key);
    return broker;
  }
}

export interface BrokerReconcilerDeps {
  registry: BrokerRegistry;
  addresses: AddressBook;
  defaultChannel: ChannelName;
  /** The EventLog of a channel, or a reason why this build/config cannot run it. */
  channel(name: ChannelName): Promise<EventLog | string>;
}

export function topicOf(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

/**
 * Serves a Broker on its channel. While the channel's engine is unreachable the Broker stays registered, so its
 * ingress answers 503 (the append fails) rather than 404, and its status says why it is not Ready; the platform
 * reconciles it again when the engine is back.
 */
export async function reconcileBroker(broker: Resource, deps: BrokerReconcilerDeps): Promise<StatusPatch> {
  const namespace = broker.metadata.namespace ?? 'default';
  const name = broker.metadata.name;
  const channel = brokerChannel(broker, deps.defaultChannel);
  const log = await deps.channel(channel);
  if (typeof log === 'string') {
    deps.registry.delete(namespace, name);
    throw new NotReadyError('ChannelUnavailable', `channel ${channel} unavailable: ${log}`);
  }
  const topic = topicOf(namespace, name);
  const spec = (broker.spec ?? {}) as { delivery?: DeliverySpec };
  deps.registry.set({ namespace, name, channel, log, topic, delivery: spec.delivery });
  const health = log.health();
  if (!health.connected) {
    throw new NotReadyError('ChannelDisconnected', `channel ${channel}: ${health.reason ?? 'not connected'}; retrying`);
  }
  await log.ensureTopic(topic).catch((err: Error) => {
    throw new NotReadyError('TopicNotCreated', `channel ${channel}: ${err.message}`);
  });
  return {
    conditions: [{ type: 'Ready', status: 'True', reason: 'BrokerReady', message: `channel ${channel}` }],
    address: { url: brokerUrl(deps.addresses, namespace, name) },
  };
}

/** Stops serving the Broker and deletes its topic, unless the Broker asks to keep it (`broker.keep-topic`). */
export async function removeBroker(broker: Resource, deps: BrokerReconcilerDeps): Promise<void> {
  const served = deps.registry.delete(broker.metadata.namespace ?? 'default', broker.metadata.name);
  if (served && !keepsTopic(broker)) await served.log.deleteTopic(served.topic);
}
