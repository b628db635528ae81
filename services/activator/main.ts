/**
 * The functions service as its own deployment (`elastic-serving functions`): the function gateway with the
 * activator behind it, the autoscaler, and the local runtime that runs replicas as child processes. Functions
 * come from the control API (their status is written here); the router reaches them over HTTP at this gateway.
 * On Kubernetes the runtime would be the scale subresource instead; this service is the local-process flavour.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
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
import type { PlatformOptions } from '../platform/options.ts';
import { BrokerRegistry } from '../platform/reconcilers/brokers.ts';
import { autoscalerDefaults, PlatformScaling } from '../platform/scaling.ts';
import { createGateway } from '../runtime/gateway.ts';
import { LocalRuntime } from '../runtime/supervisor.ts';
import { startFunctionsReconcilers } from './reconcilers.ts';

const PACKAGE_ROOT = resolve(import.meta.dirname, '..', '..');

type ScalingConfig = Pick<
  PlatformOptions,
  | 'stableWindowMs'
  | 'panicWindowPercentage'
  | 'autoscalerTickMs'
  | 'scaleToZeroGraceMs'
  | 'targetBurstCapacity'
  | 'activatorQueue'
  | 'warmPool'
>;

export interface FunctionsServiceConfig {
  /** Interface the gateway and health endpoint bind to. @defaultValue '127.0.0.1' */
  host: string;
  /** Function gateway port; 0 picks a free one. @defaultValue 8081 */
  port: number;
  /**
   * Base URL others reach this gateway at, written to every Function's `status.address.url`.
   * @defaultValue the bound address (127.0.0.1 when bound to every interface)
   */
  publicUrl?: string;
  /** Port of `/healthz`, `/readyz` and `/metrics`; 0 picks a free one. @defaultValue 8084 */
  healthPort: number;
  /** Transpiled handlers and replica logs. @defaultValue '.elastic-serving' */
  stateDir: string;
  /** The control API Functions (and, for queue depth, Brokers and Triggers) are read from. */
  control: RemoteStoreOptions;
  /** Channel engines, to read the lag of Triggers delivering to a Function (its queue depth). */
  channels: ChannelConfig;
  /** Autoscaler and activator settings, the same as `up`'s. */
  scaling: ScalingConfig;
  /** How long stopping replicas may drain. @defaultValue 10000 */
  shutdownGraceMs: number;
  /** pino log level. @defaultValue 'info' */
  logLevel: string;
}

export async function startFunctionsService(
  config: FunctionsServiceConfig,
  options: ServiceStartOptions = {},
): Promise<RunningService> {
  const { log, store, metrics } = await startServiceBase('functions', config, options);
  const stateDir = resolve(config.stateDir);
  const channels = new Channels(config.channels, log.child({ svc: 'channels' }));
  const runtime = new LocalRuntime({
    stateDir,
    baseDir: process.cwd(),
    warmPool: config.scaling.warmPool,
    // Replicas (the model deployer) find the control plane as in the embedded platform.
    env: {
      ES_CONTROL_URL: config.control.server,
      ...(config.control.token ? { ES_CONTROL_TOKEN: config.control.token } : {}),
    },
  });
  const scaling = new PlatformScaling({
    runtime,
    store,
    registry: metrics.registry,
    logger: log,
    autoscaler: autoscalerDefaults(config.scaling),
    targetBurstCapacity: config.scaling.targetBurstCapacity,
    activatorQueue: config.scaling.activatorQueue,
  });
  const gateway = await createGateway({ activator: scaling.activator, host: config.host, port: config.port });
  let reconcilers: Reconciler[] = [];
  const health = await startHealthServer({
    host: config.host,
    port: config.healthPort,
    registry: metrics.registry,
    notReady: () => (reconcilers.length === 0 ? 'starting' : undefined),
  });
  const publicUrl = config.publicUrl ?? gateway.url.replace('//0.0.0.0:', '//127.0.0.1:');
  try {
    reconcilers = await startFunctionsReconcilers({
      store,
      logger: log.child({ svc: 'reconcilers' }),
      runtime,
      scaling,
      addresses: { ingressUrl: '', gatewayUrl: publicUrl },
      stateDir,
      handlerBase: (handler) => (existsSync(resolve(process.cwd(), handler)) ? process.cwd() : PACKAGE_ROOT),
      registry: new BrokerRegistry(),
      defaultChannel: config.channels.channel,
      channel: sharedChannels((name) => channels.get(name)),
      onChannelChange: (listener) => channels.onHealthChange(listener),
    });
  } catch (err) {
    await Promise.all([gateway.close(), health.app.close(), scaling.close(), channels.close(0), store.close()]);
    throw err;
  }
  scaling.start();
  log.info({ gateway: gateway.url, publicUrl, health: health.url }, 'functions up');

  return runningService({ gateway: gateway.url, health: health.url }, log, async () => {
    for (const r of reconcilers) await r.stop();
    await scaling.close();
    await runtime.stopAll(config.shutdownGraceMs);
    await gateway.close();
    await Promise.all([channels.close(0), store.close(), health.app.close()]);
  });
}
