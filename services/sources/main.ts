/**
 * The event sources as their own deployment (`elastic-serving sources`): PingSources and StorageSources from the control API (their
 * status is written here), each tick posted over HTTP to its sink, a Broker's ingress or any addressable URL.
 * Brokers are only observed, so a PingSource whose sink Broker does not exist is not Ready (SinkNotFound), as in
 * the embedded platform, instead of ticking into 404s.
 */
import { resolve } from 'node:path';
import { type Reconciler, runReconciler } from '../controller/reconciler.ts';
import type { RemoteStoreOptions } from '../controller/remote-store.ts';
import type { Resource } from '../controller/resources/types.ts';
import {
  type RunningService,
  runningService,
  type ServiceStartOptions,
  startHealthServer,
  startServiceBase,
} from '../controller/service-kit.ts';
import { type AddressBook, type Destination, resolveDestination } from '../platform/addresses.ts';
import { BrokerRegistry } from '../platform/reconcilers/brokers.ts';
import { NotReadyError } from '../platform/reconcilers/not-ready.ts';
import { postToSink, reconcilePingSource, removePingSource, sinkBroker } from '../platform/reconcilers/pingsources.ts';
import { runStorageSourceReconciler } from '../platform/reconcilers/storagesources.ts';
import { PingSourceRunner } from './ping/index.ts';
import { StorageSourceRunner, serveStorageWebhooks } from './storage/index.ts';

export interface SourcesServiceConfig {
  /** Interface of the health/metrics endpoint. @defaultValue '127.0.0.1' */
  host: string;
  /** Port of `/healthz`, `/readyz` and `/metrics`; 0 picks a free one. @defaultValue 8083 */
  healthPort: number;
  /** Base URL of the broker ingress: where sinks that are Broker refs are posted. */
  ingressUrl: string;
  /** Base URL of the function gateway: where sinks that are Function refs are posted. */
  gatewayUrl: string;
  /** The control API PingSources and Brokers are read from. */
  control: RemoteStoreOptions;
  /** pino log level. @defaultValue 'info' */
  logLevel: string;
  /** StorageSource checkpoints live here. @defaultValue '.elastic-serving' */
  stateDir: string;
  /** Port of the StorageSource notification webhooks. @defaultValue 8085 */
  storageWebhookPort: number;
}

const keyOf = (obj: { namespace?: string; name: string }) => `${obj.namespace ?? 'default'}/${obj.name}`;

/**
 * A PingSource with its sink already resolved to a URL. The Broker check is done here against the Brokers this
 * process observes (the platform's registry of served brokers lives in the ingress), so the shared reconcile gets
 * a plain URI and an empty registry.
 */
function withResolvedSink(source: Resource, addresses: AddressBook, brokers: ReadonlySet<string>): Resource {
  const namespace = source.metadata.namespace ?? 'default';
  const ref = sinkBroker(source);
  if (ref && !brokers.has(keyOf(ref))) {
    throw new NotReadyError('SinkNotFound', `sink Broker ${ref.namespace}/${ref.name} does not exist`);
  }
  const spec = source.spec as { sink: Destination };
  const uri = resolveDestination(addresses, spec.sink, namespace);
  return { ...source, spec: { ...spec, sink: { uri } } };
}

export async function startSourcesService(
  config: SourcesServiceConfig,
  options: ServiceStartOptions = {},
): Promise<RunningService> {
  const { log, store, metrics } = await startServiceBase('sources', config, options);
  const addresses: AddressBook = { ingressUrl: config.ingressUrl, gatewayUrl: config.gatewayUrl };
  const pings = new PingSourceRunner({ emit: postToSink, logger: log.child({ svc: 'pingsource' }) });
  const brokers = new Set<string>();
  const noServedBrokers = new BrokerRegistry();
  const storage = new StorageSourceRunner({
    stateDir: resolve(config.stateDir),
    logger: log.child({ svc: 'storage' }),
  });
  const hooks = await serveStorageWebhooks(storage, {
    host: config.host,
    port: config.storageWebhookPort,
    logLevel: config.logLevel,
  });
  let reconcilers: Reconciler[] = [];
  const health = await startHealthServer({
    host: config.host,
    port: config.healthPort,
    registry: metrics.registry,
    notReady: () => (reconcilers.length === 0 ? 'starting' : undefined),
  });
  try {
    // Brokers first, so PingSources find their sink on the first reconcile instead of flapping to not Ready.
    let sources: Reconciler | undefined;
    let storageSources: Reconciler | undefined;
    const sinksTo = (b: Resource) => (s: Resource) => {
      const ref = sinkBroker(s);
      return ref !== undefined && keyOf(ref) === keyOf(b.metadata);
    };
    const brokerChanged = (b: Resource) => {
      sources?.enqueueWhere(sinksTo(b));
      storageSources?.enqueueWhere(sinksTo(b));
    };
    const observed = await runReconciler(
      store,
      'Broker',
      async (b) => {
        if (brokers.has(keyOf(b.metadata))) return;
        brokers.add(keyOf(b.metadata));
        brokerChanged(b);
      },
      async (b) => {
        brokers.delete(keyOf(b.metadata));
        brokerChanged(b);
      },
      { logger: log.child({ svc: 'brokers' }), writeStatus: false },
    );
    await observed.idle();
    sources = await runReconciler(
      store,
      'PingSource',
      async (p) => {
        try {
          return reconcilePingSource(withResolvedSink(p, addresses, brokers), pings, addresses, noServedBrokers);
        } catch (err) {
          if (err instanceof NotReadyError) removePingSource(p, pings);
          throw err;
        }
      },
      async (p) => removePingSource(p, pings),
      { logger: log.child({ svc: 'pingsources' }) },
    );
    storageSources = await runStorageSourceReconciler(
      store,
      { runner: storage, addresses, brokerExists: (ns, name) => brokers.has(`${ns}/${name}`) },
      { logger: log.child({ svc: 'storagesources' }) },
    );
    reconcilers = [sources, storageSources, observed];
  } catch (err) {
    await Promise.all([health.app.close(), hooks.app.close(), storage.stopAll(), store.close()]);
    throw err;
  }
  log.info({ health: health.url, storageWebhooks: hooks.url, ingress: config.ingressUrl }, 'sources up');

  return runningService({ health: health.url }, log, async () => {
    for (const r of reconcilers) await r.stop();
    await pings.stopAll();
    await storage.stopAll();
    await hooks.app.close();
    await store.close();
    await health.app.close();
  });
}
