import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { StorageSourceRunner } from './runner.ts';
import { buildStorageWebhookApp } from './webhook/server.ts';

/** Where and how {@link serveStorageWebhooks} listens. */
export interface StorageWebhookServerOptions {
  /** Interface to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @defaultValue 8085 */
  port?: number;
  /** Largest notification accepted. @defaultValue 1048576 */
  maxBodyBytes?: number;
  /** pino level of the server's logger. @defaultValue 'info' */
  logLevel?: string;
}

/** Default port of the storage webhook server (next to the broker ingress 8080 and function gateway 8081). */
export const STORAGE_WEBHOOK_PORT = 8085;

/**
 * Serves the webhook endpoints of `runner`'s sources (`http://host:port/{namespace}/{name}` or each source's
 * `spec.webhook.path`) and tells the runner that address, so their `status.webhookUrl` shows it. Call it before
 * the StorageSource reconciler starts; close the returned app on shutdown.
 */
export async function serveStorageWebhooks(
  runner: StorageSourceRunner,
  options: StorageWebhookServerOptions = {},
): Promise<{ url: string; app: FastifyInstance }> {
  const app = buildStorageWebhookApp({
    ...runner.webhookOptions(),
    maxBodyBytes: options.maxBodyBytes,
    logLevel: options.logLevel,
  });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? STORAGE_WEBHOOK_PORT });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  runner.setWebhookBaseUrl(url);
  return { url, app };
}
