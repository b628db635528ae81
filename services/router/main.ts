/**
 * The trigger router as its own deployment (`elastic-serving router`): one subscription per Trigger on its
 * Broker's channel, filters, delivery with retries and dead letters, replies appended back to the broker. Triggers
 * come from the control API (their status is written here); events come from the channel engine the ingress
 * appends to, so this process needs a shared channel (nats, kafka or redis), never memory.
 */
import type { Reconciler } from '../controller/reconciler.ts';
import type { RemoteStoreOptions } from '../controller/remote-store.ts';
import {
  type ChannelConfig,
  type RunningService,
  runningService,
  type ServiceStartOptions,
  sharedChannels,
  startHealthServer,
  startServiceBase,
} from '../controller/service-kit.ts';
import { Channels } from '../platform/channels.ts';
import { BrokerRegistry } from '../platform/reconcilers/brokers.ts';
import { startRouterReconcilers } from './reconcilers.ts';
import { Router } from './router.ts';

export interface RouterServiceConfig {
  /** Interface of the health/metrics endpoint. @defaultValue '127.0.0.1' */
  host: string;
  /** Port of `/healthz`, `/readyz` and `/metrics`; 0 picks a free one. @defaultValue 8082 */
  healthPort: number;
  /** Base URL of the broker ingress: where subscribers and dead-letter sinks that are Broker refs resolve. */
  ingressUrl: string;
  /** Base URL of the function gateway: where Function and InferenceService subscribers resolve. */
  gatewayUrl: string;
  /** The control API Triggers, Brokers and Functions are read from. */
  control: RemoteStoreOptions;
  /** Channel engines, the same settings as the ingress's so both open the same streams/topics. */
  channels: ChannelConfig;
  /** How long stopping waits for in-flight deliveries (they stay queued after). @defaultValue 10000 */
  shutdownGraceMs: number;
  /** pino log level. @defaultValue 'info' */
  logLevel: string;
}

export async function startRouterService(
  config: RouterServiceConfig,
  options: ServiceStartOptions = {},
): Promise<RunningService> {
  const { log, store, metrics } = await startServiceBase('router', config, options);
  const channels = new Channels(config.channels, log.child({ svc: 'channels' }));
  const router = new Router({ logger: log.child({ svc: 'router' }), metrics });
  let reconcilers: Reconciler[] = [];
  const health = await startHealthServer({
    host: config.host,
    port: config.healthPort,
    registry: metrics.registry,
    notReady: () => (reconcilers.length === 0 ? 'starting' : undefined),
  });
  try {
    reconcilers = await startRouterReconcilers({
      store,
      logger: log.child({ svc: 'reconcilers' }),
      router,
      registry: new BrokerRegistry(),
      addresses: { ingressUrl: config.ingressUrl, gatewayUrl: config.gatewayUrl },
      defaultChannel: config.channels.channel,
      channel: sharedChannels((name) => channels.get(name)),
      onChannelChange: (listener) => channels.onHealthChange(listener),
    });
  } catch (err) {
    await Promise.all([health.app.close(), channels.close(0), store.close()]);
    throw err;
  }
  log.info({ health: health.url, ingress: config.ingressUrl, gateway: config.gatewayUrl }, 'router up');

  return runningService({ health: health.url }, log, async () => {
    // No new subscriptions, then in-flight deliveries (bounded; unfinished events stay queued for the next router).
    for (const r of reconcilers) await r.stop();
    await router.close(config.shutdownGraceMs);
    await channels.close(0);
    await store.close();
    await health.app.close();
  });
}
