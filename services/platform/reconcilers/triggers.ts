import type { StatusPatch } from '../../controller/reconciler.ts';
import { type TriggerSpec, triggerFlowControl } from '../../controller/resources/index.ts';
import type { Resource } from '../../controller/resources/types.ts';
import { type DeliverySpec, resolveDeliveryPolicy } from '../../core/delivery/index.ts';
import { compileTriggerFilter } from '../../core/filters/index.ts';
import type { EventSender } from '../../core/http/sender.ts';
import { RateLimiter } from '../../router/flow-control.ts';
import type { Router } from '../../router/router.ts';
import { type AddressBook, type Destination, resolveDestination } from '../addresses.ts';
import type { BrokerRegistry } from './brokers.ts';
import { NotReadyError } from './not-ready.ts';

export interface TriggerReconcilerDeps {
  registry: BrokerRegistry;
  router: Router;
  addresses: AddressBook;
  /** In-process sender for a Function served by this platform (skips one HTTP hop). */
  functionSender?: (namespace: string, name: string) => EventSender;
  /** Whether a Function/InferenceService is served; a Trigger whose subscriber is not is not Ready. */
  functionExists?: (namespace: string, name: string) => boolean;
}

export function triggerKey(trigger: Resource): string {
  return `${trigger.metadata.namespace ?? 'default'}/${trigger.metadata.name}`;
}

/** The consumer group of a Trigger's subscription (its lag is the subscriber's queue depth). */
export function triggerGroup(trigger: Resource): string {
  // uid in the group: a Trigger deleted and created again under the same name starts afresh, as in Knative.
  return `trigger.${trigger.metadata.namespace ?? 'default'}.${trigger.metadata.name}.${trigger.metadata.uid ?? ''}`;
}

/** The Function a destination refers to, if it is a ref to one. */
export function functionRef(dest: Destination | undefined, namespace: string) {
  const ref = dest?.ref;
  if (!ref || (ref.kind !== 'Function' && ref.kind !== 'InferenceService')) return undefined;
  return { namespace: ref.namespace ?? namespace, name: ref.name };
}

/** Namespace and name of an object a resource refers to; undefined when it refers to none. */
export type ObjectRef = { namespace: string; name: string } | undefined;

/** Whether `ref` names `obj`: which dependents to reconcile again when `obj` changes. */
export function sameName(obj: Resource, ref: ObjectRef): boolean {
  return ref !== undefined && ref.namespace === (obj.metadata.namespace ?? 'default') && ref.name === obj.metadata.name;
}

/** The Broker a Trigger consumes from. */
export function triggerBroker(t: Resource): ObjectRef {
  return {
    namespace: t.metadata.namespace ?? 'default',
    name: (t.spec as { broker?: string } | undefined)?.broker ?? '',
  };
}

/** The Function a Trigger delivers to, if its subscriber is one. */
export function triggerFunction(t: Resource): ObjectRef {
  return functionRef(
    (t.spec as { subscriber?: Destination } | undefined)?.subscriber,
    t.metadata.namespace ?? 'default',
  );
}

/**
 * Resolves a Trigger into a router subscription: its broker's channel, compiled filter, subscriber and
 * dead-letter addresses, the delivery policy (the Trigger's spec replaces the Broker's wholesale) and flow control.
 */
export async function reconcileTrigger(trigger: Resource, deps: TriggerReconcilerDeps): Promise<StatusPatch> {
  const namespace = trigger.metadata.namespace ?? 'default';
  const key = triggerKey(trigger);
  const spec = trigger.spec as unknown as TriggerSpec;
  const broker = deps.registry.get(namespace, spec.broker);
  if (!broker) {
    await deps.router.remove(key, false);
    throw new NotReadyError('BrokerDoesNotExist', `broker ${namespace}/${spec.broker} does not exist or is not ready`);
  }
  const subscriber = spec.subscriber as Destination;
  const fn = functionRef(subscriber, namespace);
  if (fn && deps.functionExists && !deps.functionExists(fn.namespace, fn.name)) {
    // Knative's SubscriberResolved=False: stop delivering but keep the consumer group, so events stay queued.
    await deps.router.remove(key, false);
    throw new NotReadyError('SubscriberNotResolved', `subscriber Function ${fn.namespace}/${fn.name} does not exist`);
  }
  const filter = compileTriggerFilter(spec as Parameters<typeof compileTriggerFilter>[0]);
  const subscriberUri = resolveDestination(deps.addresses, subscriber, namespace);
  const policy = resolveDeliveryPolicy(broker.delivery, spec.delivery as DeliverySpec | undefined);
  const deadLetterUri = policy.deadLetterSink
    ? resolveDestination(deps.addresses, policy.deadLetterSink as Destination, namespace)
    : undefined;
  const flow = triggerFlowControl(trigger);
  await deps.router.upsert(key, {
    namespace,
    name: trigger.metadata.name,
    filter,
    subscriberUri,
    send: fn && !subscriber.uri ? deps.functionSender?.(fn.namespace, fn.name) : undefined,
    policy,
    deadLetterUri,
    log: broker.log,
    topic: broker.topic,
    group: triggerGroup(trigger),
    ordered: flow.order === 'ordered',
    maxInFlight: flow.maxInFlight,
    rateLimiter: flow.rateLimit ? new RateLimiter(flow.rateLimit) : undefined,
    publishReply: (event) => broker.log.append(broker.topic, [event]),
  });
  return {
    conditions: [
      { type: 'Ready', status: 'True', reason: 'TriggerReady', message: `broker ${spec.broker} (${broker.channel})` },
    ],
    subscriberUri,
    ...(deadLetterUri ? { deadLetterSinkUri: deadLetterUri } : {}),
  };
}

export async function removeTrigger(trigger: Resource, deps: TriggerReconcilerDeps): Promise<void> {
  await deps.router.remove(triggerKey(trigger), true);
}
