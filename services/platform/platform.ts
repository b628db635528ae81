import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { batchQueuesDepth } from '../../functions/batch-scorer/registry.ts';
import { buildControlApi } from '../controller/api.ts';
import { applyAll } from '../controller/apply-all.ts';
import { FileResourceStore } from '../controller/file-store.ts';
import { directoryLogSource } from '../controller/log-source.ts';
import { validateDeliverySpec } from '../core/delivery/index.ts';
import { validateTriggerFilter } from '../core/filters/index.ts';
import { collectProcessMetrics, createMetrics } from '../core/metrics.ts';
import { parseTokenList } from '../ingress/auth.ts';
import { buildIngress } from '../ingress/server.ts';
import { Router } from '../router/router.ts';
import { createGateway } from '../runtime/gateway.ts';
import { LocalRuntime } from '../runtime/supervisor.ts';
import { functionKey } from '../runtime/types.ts';
import { PingSourceRunner } from '../sources/ping/index.ts';
import { StorageSourceRunner, serveStorageWebhooks } from '../sources/storage/index.ts';
import type { AddressBook } from './addresses.ts';
import { Channels } from './channels.ts';
import { startControllers } from './controllers.ts';
import { loadDemo } from './demo.ts';
import { DEMO_BUCKET, placeDemoModel } from './demo-model.ts';
import { gatewaySender } from './gateway-sender.ts';
import { listen } from './listen.ts';
import { ModelConfigs } from './models/model-configs.ts';
import type { PlatformOptions, RunningPlatform } from './options.ts';
import { BatchJobRuns } from './reconcilers/batchjobs.ts';
import { BrokerRegistry } from './reconcilers/brokers.ts';
import type { ServedFunction } from './reconcilers/functions.ts';
import { postToSink } from './reconcilers/pingsources.ts';
import { autoscalerDefaults, PlatformScaling } from './scaling.ts';

const PACKAGE_ROOT = resolve(import.meta.dirname, '..', '..');
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * The embedded platform: every service in this one process (function replicas are its children), wired through
 * the same contracts they use as separate deployments.
 */
export async function startPlatform(options: PlatformOptions): Promise<RunningPlatform> {
  if (!LOOPBACK.has(options.host) && !options.token) {
    throw new Error(
      `binding ${options.host} beyond loopback needs a control API token (--token): it can start processes`,
    );
  }
  const logger = pino({ level: options.logLevel, base: { name: 'elastic-serving' } });
  const stateDir = resolve(options.stateDir);
  const metrics = createMetrics();
  collectProcessMetrics(metrics);
  const store = await FileResourceStore.open({
    dir: stateDir,
    validation: {
      validateTriggerFilter: (spec) => validateTriggerFilter(spec as Parameters<typeof validateTriggerFilter>[0]),
      validateDelivery: (d) => validateDeliverySpec(d, ''),
    },
  });
  const channels = new Channels(options, logger.child({ svc: 'channels' }));
  const registry = new BrokerRegistry();
  const router = new Router({ logger: logger.child({ svc: 'router' }), metrics });
  // Filled once the servers listen: replicas (the model deployer, batch workers) find the platform through it.
  const platformEnv: Record<string, string> = {};
  const runtime = new LocalRuntime({ stateDir, baseDir: process.cwd(), warmPool: options.warmPool, env: platformEnv });
  const functions = new Map<string, ServedFunction>();
  const scaling = new PlatformScaling({
    runtime,
    store,
    registry: metrics.registry,
    logger,
    autoscaler: autoscalerDefaults(options),
    targetBurstCapacity: options.targetBurstCapacity,
    activatorQueue: options.activatorQueue,
  });

  const ingress = buildIngress({
    resolveBroker: (ns, name) => registry.resolve(ns, name),
    maxBodyBytes: options.maxBodyBytes,
    metrics,
    logLevel: options.logLevel,
    auth: parseTokenList(process.env.ES_INGRESS_TOKENS),
  });
  const control = buildControlApi({
    store,
    token: options.token,
    logSource: directoryLogSource((ns, name) => dirname(runtime.logFile(functionKey(ns, name), 'replica'))),
    fastify: { logger: false },
  });
  control.get('/metrics', async (_req, reply) => {
    metrics.channelEvents.set((await channels.memoryStats())?.events ?? 0);
    for (const { channel, health } of await channels.health()) {
      metrics.channelConnected.set({ channel }, health.connected ? 1 : 0);
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const gateway = await createGateway({
    activator: scaling.activator,
    host: options.host,
    port: options.gatewayPort,
  });

  const urls = {
    ingress: await listen(ingress, options.host, options.ingressPort),
    gateway: gateway.url,
    control: await listen(control, options.host, options.controlPort),
  };
  const addresses: AddressBook = { ingressUrl: urls.ingress, gatewayUrl: urls.gateway };
  Object.assign(platformEnv, {
    ES_CONTROL_URL: urls.control,
    ES_INGRESS_URL: urls.ingress,
    ES_GATEWAY_URL: urls.gateway,
    ES_REDIS_URL: options.redisUrl,
    // The AWS SDK (s3:// models and buckets) warns once per process about Node 20's end of support.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(options.token ? { ES_CONTROL_TOKEN: options.token } : {}),
  });
  const batchRuns = new BatchJobRuns();
  // The batch-scorer Function scales on the depth of every live BullMQ batch queue (KEDA's BullMQ scaler); with no
  // Redis the read fails and the autoscaler holds its scale (it never scales a backlog it cannot see to zero).
  const batchRedis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  batchRedis.on('error', () => {});
  const batchDepth = batchQueuesDepth(batchRedis);
  scaling.registerQueueSource(functionKey('default', 'batch-scorer'), 'bullmq:batch', batchDepth);
  const storage = new StorageSourceRunner({ stateDir, logger: logger.child({ svc: 'storagesource' }) });
  const storageHooks = await serveStorageWebhooks(storage, {
    host: options.host,
    port: options.storageWebhookPort,
    logLevel: options.logLevel,
  });
  const pings = new PingSourceRunner({ emit: postToSink, logger: logger.child({ svc: 'pingsource' }) });
  const rlog = logger.child({ svc: 'controller' });

  const reconcilers = await startControllers({
    store,
    logger: rlog,
    addresses,
    registry,
    channel: (name) => channels.get(name),
    defaultChannel: options.channel,
    router,
    runtime,
    functions,
    scaling,
    functionSender: gatewaySender(scaling.activator),
    pings,
    storage,
    batch: { runs: batchRuns, redisUrl: options.redisUrl },
    onChannelChange: (listener) => channels.onHealthChange(listener),
    stateDir,
    models: new ModelConfigs(stateDir),
    handlerBase: (handler) => (existsSync(resolve(process.cwd(), handler)) ? process.cwd() : PACKAGE_ROOT),
  });
  scaling.start();
  // Until every existing Broker had its first reconcile the ingress answers 503 for brokers it does not know yet.
  void Promise.all(reconcilers.map((r) => r.idle())).then(() => registry.markSynced());

  let inferenceDemo = false;
  if (options.demoDir !== false) {
    const docs = await loadDemo(options.demoDir);
    const applied = await applyAll(store, docs);
    logger.info({ demo: options.demoDir, resources: applied.length }, 'demo applied');
    inferenceDemo = watchesDemoBucket(docs);
    if (inferenceDemo) await placeDemoModel(process.cwd(), (line) => logger.info(line));
  }
  if (options.channel === 'memory') {
    logger.warn('channel memory: events are held in this process only and are lost when it stops');
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('stopping: ingress first, then deliveries, replicas and the rest');
      await ingress.close();
      await pings.stopAll();
      await storage.stopAll();
      await batchRuns.close();
      await batchDepth.close();
      batchRedis.disconnect();
      await storageHooks.app.close();
      await router.close(options.shutdownGraceMs);
      for (const r of reconcilers) await r.stop();
      await scaling.close();
      await runtime.stopAll(options.shutdownGraceMs);
      await Promise.all([gateway.close(), control.close()]);
      await channels.close(0);
      logger.info('stopped');
    })());
  return { urls, stop, inferenceDemo };
}

/** Whether the demo has a StorageSource watching the demo bucket (then the iris model is dropped into it). */
function watchesDemoBucket(docs: unknown[]): boolean {
  return docs.some((d) => {
    const doc = d as { kind?: string; spec?: { directory?: { path?: string } } };
    return doc.kind === 'StorageSource' && doc.spec?.directory?.path === DEMO_BUCKET;
  });
}
