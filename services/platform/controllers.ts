import type { Logger } from 'pino';
import { type Reconciler, runReconciler } from '../controller/reconciler.ts';
import { brokerChannel, type ChannelName } from '../controller/resources/index.ts';
import type { Resource } from '../controller/resources/types.ts';
import type { ResourceStore } from '../controller/store.ts';
import type { EventSender } from '../core/http/sender.ts';
import type { Router } from '../router/router.ts';
import type { LocalRuntime } from '../runtime/supervisor.ts';
import type { PingSourceRunner } from '../sources/ping/index.ts';
import type { StorageSourceRunner } from '../sources/storage/index.ts';
import type { AddressBook } from './addresses.ts';
import { startModelControllers } from './model-controllers.ts';
import type { ModelConfigs } from './models/model-configs.ts';
import {
  type BatchJobReconcilerDeps,
  type BatchJobRuns,
  reconcileBatchJob,
  removeBatchJob,
} from './reconcilers/batchjobs.ts';
import {
  type BrokerReconcilerDeps,
  type BrokerRegistry,
  reconcileBroker,
  removeBroker,
} from './reconcilers/brokers.ts';
import { reconcileFunction, removeFunction, type ServedFunction } from './reconcilers/functions.ts';
import { reconcileInferenceService, removeInferenceService } from './reconcilers/inferenceservices.ts';
import { reconcilePingSource, removePingSource, sinkBroker } from './reconcilers/pingsources.ts';
import { runStorageSourceReconciler } from './reconcilers/storagesources.ts';
import { reconcileTrainedModel, removeTrainedModel, trainedModelIsvc } from './reconcilers/trainedmodels.ts';
import { reconcileTrigger, removeTrigger, sameName, triggerBroker, triggerFunction } from './reconcilers/triggers.ts';
import type { PlatformScaling } from './scaling.ts';

export interface ControllerDeps {
  store: ResourceStore;
  logger: Logger;
  addresses: AddressBook;
  registry: BrokerRegistry;
  channel: BrokerReconcilerDeps['channel'];
  defaultChannel: BrokerReconcilerDeps['defaultChannel'];
  router: Router;
  runtime: LocalRuntime;
  functions: Map<string, ServedFunction>;
  /** Autoscaler and activator: Functions are served through them; a Trigger's lag is its Function's queue depth. */
  scaling: PlatformScaling;
  functionSender: (namespace: string, name: string) => EventSender;
  pings: PingSourceRunner;
  storage: StorageSourceRunner;
  /** BatchJobs running in this process, and where their BullMQ queues live. */
  batch: { runs: BatchJobRuns; redisUrl: string };
  /** Subscribes to channel engines connecting or going away (Brokers on that channel are reconciled again). */
  onChannelChange(listener: (channel: ChannelName) => void): void;
  stateDir: string;
  /** The model config file of each InferenceService's replicas. */
  models: ModelConfigs;
  /** Directory a Function's relative `spec.handler` is resolved against. */
  handlerBase(handler: string): string;
}

/**
 * Runs one reconciler per kind. Dependents are reconciled again when what they point at appears, changes or goes
 * away: a Broker's Triggers and PingSources, a Function's Triggers.
 */
export async function startControllers(d: ControllerDeps): Promise<Reconciler[]> {
  const options = { logger: d.logger };
  const triggerDeps = {
    registry: d.registry,
    router: d.router,
    addresses: d.addresses,
    functionSender: d.functionSender,
    functionExists: (ns: string, name: string) => d.functions.has(`${ns}/${name}`),
  };
  const brokerDeps = {
    registry: d.registry,
    addresses: d.addresses,
    defaultChannel: d.defaultChannel,
    channel: d.channel,
  };
  const functionDeps = {
    runtime: d.runtime,
    functions: d.functions,
    addresses: d.addresses,
    stateDir: d.stateDir,
    scaling: d.scaling,
  };

  const triggers = await runReconciler(
    d.store,
    'Trigger',
    async (t) => {
      const patch = await reconcileTrigger(t, triggerDeps);
      d.scaling.trackTrigger(t, d.registry);
      return patch;
    },
    async (t) => {
      await removeTrigger(t, triggerDeps);
      d.scaling.untrackTrigger(t);
    },
    options,
  );
  const pingSources = await runReconciler(
    d.store,
    'PingSource',
    async (p) => reconcilePingSource(p, d.pings, d.addresses, d.registry),
    async (p) => removePingSource(p, d.pings),
    options,
  );
  const storageSources = await runStorageSourceReconciler(
    d.store,
    {
      runner: d.storage,
      addresses: d.addresses,
      brokerExists: (ns, name) => d.registry.get(ns, name) !== undefined,
    },
    options,
  );
  const brokerChanged = (b: Resource) => {
    triggers.enqueueWhere((t) => sameName(b, triggerBroker(t)));
    pingSources.enqueueWhere((p) => sameName(b, sinkBroker(p)));
    storageSources.enqueueWhere((s) => sameName(b, sinkBroker(s)));
  };
  const functionChanged = (f: Resource) => triggers.enqueueWhere((t) => sameName(f, triggerFunction(t)));

  const brokers = await runReconciler(
    d.store,
    'Broker',
    async (b) => {
      const patch = await reconcileBroker(b, brokerDeps);
      brokerChanged(b);
      return patch;
    },
    async (b) => {
      await removeBroker(b, brokerDeps);
      brokerChanged(b);
    },
    options,
  );
  d.onChannelChange((channel) => brokers.enqueueWhere((b) => brokerChannel(b, d.defaultChannel) === channel));
  const functions = await runReconciler(
    d.store,
    'Function',
    async (f, ctx) => {
      const handler = (f.spec as { handler?: string }).handler ?? '';
      const patch = await reconcileFunction(f, { ...functionDeps, baseDir: d.handlerBase(handler) }, ctx);
      functionChanged(f);
      return patch;
    },
    async (f) => {
      await removeFunction(f, functionDeps);
      functionChanged(f);
    },
    options,
  );
  const models = await startModelControllers({
    store: d.store,
    logger: d.logger,
    functionDeps,
    models: d.models,
    onInferenceServiceChange: functionChanged,
  });
  const batchDeps: BatchJobReconcilerDeps = {
    addresses: d.addresses,
    baseDir: process.cwd(),
    queue: { mode: 'auto', redisUrl: d.batch.redisUrl },
    runs: d.batch.runs,
    logger: d.logger.child({ svc: 'batch' }),
    changed: (ns, name) => batchJobs.enqueueWhere((j) => sameName(j, { namespace: ns, name })),
  };
  const batchJobs: Reconciler = await runReconciler(
    d.store,
    'BatchJob',
    (job, ctx) => reconcileBatchJob(job, batchDeps, ctx),
    (job) => removeBatchJob(job, batchDeps),
    options,
  );
  return [triggers, pingSources, storageSources, brokers, functions, ...models, batchJobs];
}
