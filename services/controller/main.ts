/**
 * The control plane as its own deployment (`elastic-serving controller`): the control API over the file-backed
 * store, nothing else. Every other service reconciles against it over HTTP (RemoteResourceStore), so this process
 * runs no reconcilers and starts no replicas.
 */
import { resolve } from 'node:path';
import { validateDeliverySpec } from '../core/delivery/index.ts';
import { validateTriggerFilter } from '../core/filters/index.ts';
import { collectProcessMetrics, createMetrics } from '../core/metrics.ts';
import { buildControlApi } from './api.ts';
import { FileResourceStore } from './file-store.ts';
import {
  boundUrl,
  type RunningService,
  runningService,
  type ServiceStartOptions,
  serviceLogger,
} from './service-kit.ts';

export interface ControllerConfig {
  /** Interface the control API binds to. @defaultValue '127.0.0.1' */
  host: string;
  /** Control API port; 0 picks a free one. @defaultValue 8090 */
  port: number;
  /** State directory; resources live under `<stateDir>/resources/`. @defaultValue '.elastic-serving' */
  stateDir: string;
  /** Bearer token every request but the health probes must carry. @defaultValue undefined (no auth) */
  token?: string;
  /** pino log level. @defaultValue 'info' */
  logLevel: string;
}

export async function startControllerService(
  config: ControllerConfig,
  options: ServiceStartOptions = {},
): Promise<RunningService> {
  const log = options.logger ?? serviceLogger('controller', config.logLevel);
  const store = await FileResourceStore.open({
    dir: resolve(config.stateDir),
    validation: {
      validateTriggerFilter: (spec) => validateTriggerFilter(spec as Parameters<typeof validateTriggerFilter>[0]),
      validateDelivery: (d) => validateDeliverySpec(d, ''),
    },
    onLoadError: (file, err) => log.warn({ file, err }, 'skipped a resource file that could not be loaded'),
  });
  const metrics = createMetrics();
  collectProcessMetrics(metrics);
  const api = buildControlApi({ store, token: config.token, fastify: { logger: false } });
  api.get('/readyz', async () => 'ok');
  api.get('/metrics', async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  await api.listen({ host: config.host, port: config.port });
  const url = boundUrl(api.server.address(), config.host);
  log.info({ url, stateDir: resolve(config.stateDir), resourceVersion: store.resourceVersion }, 'control API up');

  return runningService({ control: url }, log, async () => {
    // Closing ends open watches too, so every client resumes against whoever serves this state next.
    await api.close();
  });
}
