import type { Logger } from 'pino';
import type { EventLog } from '../../brokers/contract.ts';
import { type Reconciler, runReconciler } from '../controller/reconciler.ts';
import { brokerChannel, type ChannelName } from '../controller/resources/index.ts';
import type { ResourceStore } from '../controller/store.ts';
import type { AddressBook } from '../platform/addresses.ts';
import { startModelControllers } from '../platform/model-controllers.ts';
import { ModelConfigs } from '../platform/models/model-configs.ts';
import { type BrokerRegistry, reconcileBroker } from '../platform/reconcilers/brokers.ts';
import { reconcileFunction, removeFunction, type ServedFunction } from '../platform/reconcilers/functions.ts';
import type { PlatformScaling } from '../platform/scaling.ts';
import type { LocalRuntime } from '../runtime/supervisor.ts';

export interface FunctionsReconcilerDeps {
  store: ResourceStore;
  logger: Logger;
  runtime: LocalRuntime;
  scaling: PlatformScaling;
  /** Function addresses (`status.address.url`) are on this gateway. */
  addresses: AddressBook;
  stateDir: string;
  /** Directory a Function's relative `spec.handler` is resolved against. */
  handlerBase(handler: string): string;
  /** Brokers opened here only to read their Triggers' lag (the queue depth of the Functions they deliver to). */
  registry: BrokerRegistry;
  defaultChannel: ChannelName;
  channel(name: ChannelName): Promise<EventLog | string>;
  onChannelChange(listener: (channel: ChannelName) => void): void;
}

/**
 * The functions service's reconcilers. It runs the model servers too (InferenceService, TrainedModel) and owns
 * Function status (replicas, scale, address); Brokers and Triggers
 * are observed without writing their status, so that the lag of every Trigger delivering to a Function counts as
 * that Function's queue depth, as in the embedded platform.
 */
export async function startFunctionsReconcilers(d: FunctionsReconcilerDeps): Promise<Reconciler[]> {
  const functions = new Map<string, ServedFunction>();
  const functionDeps = {
    runtime: d.runtime,
    functions,
    addresses: d.addresses,
    stateDir: d.stateDir,
    scaling: d.scaling,
  };
  const observe = { logger: d.logger, writeStatus: false };
  const brokerDeps = {
    registry: d.registry,
    addresses: d.addresses,
    defaultChannel: d.defaultChannel,
    channel: d.channel,
  };

  const fns = await runReconciler(
    d.store,
    'Function',
    async (f, ctx) => {
      const handler = (f.spec as { handler?: string }).handler ?? '';
      return reconcileFunction(f, { ...functionDeps, baseDir: d.handlerBase(handler) }, ctx);
    },
    (f) => removeFunction(f, functionDeps),
    { logger: d.logger },
  );
  const brokers = await runReconciler(
    d.store,
    'Broker',
    async (b) => {
      await reconcileBroker(b, brokerDeps);
    },
    async (b) => {
      d.registry.delete(b.metadata.namespace ?? 'default', b.metadata.name);
    },
    observe,
  );
  d.onChannelChange((channel) => brokers.enqueueWhere((b) => brokerChannel(b, d.defaultChannel) === channel));
  const triggers = await runReconciler(
    d.store,
    'Trigger',
    async (t) => d.scaling.trackTrigger(t, d.registry),
    async (t) => d.scaling.untrackTrigger(t),
    observe,
  );
  const models = await startModelControllers({
    store: d.store,
    logger: d.logger,
    functionDeps,
    models: new ModelConfigs(d.stateDir),
  });
  return [fns, brokers, triggers, ...models];
}
