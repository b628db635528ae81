import type { Logger } from 'pino';
import type { EventLog } from '../../brokers/contract.ts';
import { type Reconciler, runReconciler } from '../controller/reconciler.ts';
import { brokerChannel, type ChannelName } from '../controller/resources/index.ts';
import type { Resource } from '../controller/resources/types.ts';
import type { ResourceStore } from '../controller/store.ts';
import type { AddressBook } from '../platform/addresses.ts';
import { type BrokerRegistry, reconcileBroker } from '../platform/reconcilers/brokers.ts';
import {
  reconcileTrigger,
  removeTrigger,
  sameName,
  triggerBroker,
  triggerFunction,
} from '../platform/reconcilers/triggers.ts';
import type { Router } from './router.ts';

export interface RouterReconcilerDeps {
  store: ResourceStore;
  logger: Logger;
  router: Router;
  registry: BrokerRegistry;
  /** Where Broker refs (the ingress) and Function refs (the gateway) of subscribers resolve. */
  addresses: AddressBook;
  defaultChannel: ChannelName;
  channel(name: ChannelName): Promise<EventLog | string>;
  onChannelChange(listener: (channel: ChannelName) => void): void;
}

const keyOf = (obj: Resource) => `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;

/**
 * The router's reconcilers. It owns Trigger status; Brokers (status owned by the ingress) and Functions (owned by
 * the functions service) are only observed: a Broker's channel and topic are opened here to subscribe to, a
 * Function's existence decides whether a Trigger's subscriber is resolved. Deliveries to Functions go over HTTP to
 * their gateway address. A Trigger is reconciled again when its Broker or Function appears, changes or goes away.
 */
export async function startRouterReconcilers(d: RouterReconcilerDeps): Promise<Reconciler[]> {
  const functions = new Set<string>();
  const triggerDeps = {
    registry: d.registry,
    router: d.router,
    addresses: d.addresses,
    functionExists: (ns: string, name: string) => functions.has(`${ns}/${name}`),
  };
  const brokerDeps = {
    registry: d.registry,
    addresses: d.addresses,
    defaultChannel: d.defaultChannel,
    channel: d.channel,
  };
  const observe = { logger: d.logger, writeStatus: false };

  // Brokers and Functions first, so Triggers find them on their first reconcile instead of flapping to not Ready
  // on every start; Triggers are reconciled again whenever one of them changes after that.
  let triggers: Reconciler | undefined;
  const brokerChanged = (b: Resource) => triggers?.enqueueWhere((t) => sameName(b, triggerBroker(t)));
  const functionChanged = (f: Resource) => triggers?.enqueueWhere((t) => sameName(f, triggerFunction(t)));
  const brokers = await runReconciler(
    d.store,
    'Broker',
    async (b) => {
      await reconcileBroker(b, brokerDeps);
      brokerChanged(b);
    },
    async (b) => {
      // The ingress deletes the topic; here the Broker is only forgotten, which stops its Triggers' deliveries.
      d.registry.delete(b.metadata.namespace ?? 'default', b.metadata.name);
      brokerChanged(b);
    },
    observe,
  );
  d.onChannelChange((channel) => brokers.enqueueWhere((b) => brokerChannel(b, d.defaultChannel) === channel));
  const fns = await runReconciler(
    d.store,
    'Function',
    async (f) => {
      if (functions.has(keyOf(f))) return;
      functions.add(keyOf(f));
      functionChanged(f);
    },
    async (f) => {
      functions.delete(keyOf(f));
      functionChanged(f);
    },
    observe,
  );
  await Promise.all([brokers.idle(), fns.idle()]);
  triggers = await runReconciler(
    d.store,
    'Trigger',
    (t) => reconcileTrigger(t, triggerDeps),
    (t) => removeTrigger(t, triggerDeps),
    { logger: d.logger },
  );
  return [triggers, brokers, fns];
}
