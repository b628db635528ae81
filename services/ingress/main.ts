/**
 * The broker ingress as its own deployment (`elastic-serving ingress`): reconciles Brokers from the control API
 * (it owns their status: Ready, `address.url`), creates their topics on the channel engine, and serves
 * `POST /{namespace}/{broker}`, answering 202 once the engine stored the events. The router, in another process,
 * consumes the same topics.
 */
import { type Reconciler, runReconciler } from '../controller/reconciler.ts';
import type { RemoteStoreOptions } from '../controller/remote-store.ts';
import { brokerChannel } from '../controller/resources/index.ts';
import {
  boundUrl,
  type ChannelConfig,
  type RunningService,
  runningService,
  type ServiceStartOptions,
  sharedChannels,
  startServiceBase,
} from '../controller/service-kit.ts';
import { Channels } from '../platform/channels.ts';
import { BrokerRegistry, reconcileBroker, removeBroker } from '../platform/reconcilers/brokers.ts';
import type { IngressAuthOptions } from './auth.ts';
import { buildIngress } from './server.ts';

export type { ChannelConfig } from '../controller/service-kit.ts';

export interface IngressServiceConfig {
  /** Interface to bind. @defaultValue '127.0.0.1' */
  host: string;
  /** Port of the ingress; 0 picks a free one. @defaultValue 8080 */
  port: number;
  /**
   * Base URL others reach this ingress at, written to every Broker's `status.address.url`.
   * @defaultValue the bound address (127.0.0.1 when bound to every interface)
   */
  publicUrl?: string;
  /** The control API Brokers are read from and their status written to. */
  control: RemoteStoreOptions;
  /** Channel engines and the default channel of Brokers without a class annotation. */
  channels: ChannelConfig;
  /** Largest request body accepted (413 above). @defaultValue 1048576 */
  maxBodyBytes: number;
  /** Publisher tokens (`ES_INGRESS_TOKENS` syntax parsed); none = no auth. @defaultValue undefined */
  auth?: IngressAuthOptions;
  /** pino log level. @defaultValue 'info' */
  logLevel: string;
}

function advertised(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//127.0.0.1:');
}

export async function startIngressService(
  config: IngressServiceConfig,
  options: ServiceStartOptions = {},
): Promise<RunningService> {
  const { log, store, metrics } = await startServiceBase('ingress', config, options);
  const channels = new Channels(config.channels, log.child({ svc: 'channels' }));
  const registry = new BrokerRegistry();
  const ingress = buildIngress({
    resolveBroker: (ns, name) => registry.resolve(ns, name),
    maxBodyBytes: config.maxBodyBytes,
    metrics,
    logLevel: config.logLevel,
    ...(config.auth ? { auth: config.auth } : {}),
  });
  ingress.get('/healthz', async () => 'ok');
  ingress.get('/metrics', async (_req, reply) => {
    for (const { channel, health } of await channels.health()) {
      metrics.channelConnected.set({ channel }, health.connected ? 1 : 0);
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  await ingress.listen({ host: config.host, port: config.port });
  const url = boundUrl(ingress.server.address(), config.host);
  const deps = {
    registry,
    // Brokers are addressed at this ingress; a Broker has no Function address to resolve.
    addresses: { ingressUrl: config.publicUrl ?? advertised(url), gatewayUrl: '' },
    defaultChannel: config.channels.channel,
    channel: sharedChannels((name) => channels.get(name)),
  };
  let brokers: Reconciler;
  try {
    brokers = await runReconciler(
      store,
      'Broker',
      (b) => reconcileBroker(b, deps),
      (b) => removeBroker(b, deps),
      { logger: log.child({ svc: 'brokers' }) },
    );
  } catch (err) {
    await Promise.all([ingress.close(), channels.close(0), store.close()]);
    throw err;
  }
  void brokers.idle().then(() => registry.markSynced());
  channels.onHealthChange((channel) =>
    brokers.enqueueWhere((b) => brokerChannel(b, config.channels.channel) === channel),
  );
  log.info({ url, publicUrl: deps.addresses.ingressUrl, channel: config.channels.channel }, 'ingress up');

  return runningService({ ingress: url }, log, async () => {
    // New requests get 503 + Retry-After while in-flight appends finish; then nothing is left to reconcile for.
    await ingress.close();
    await brokers.stop();
    await channels.close(0);
    await store.close();
  });
}
