import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EngineName } from './engines.ts';
import { freePort } from './free-port.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, 'deploy', 'local', 'services.sh');
const SHARED_KAFKA_JARS = join(ROOT, '.elastic-serving', 'services', 'kafka', 'jars');
const run = promisify(execFile);

/** An engine of a test's own (own port, own data), which the test may stop and start without disturbing others. */
export interface PrivateEngine {
  name: EngineName;
  /** What a client connects to: `nats://…`, `redis://…` or `host:port` for Kafka. */
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/**
 * Starts a private instance of `name` through deploy/local/services.sh (same binaries and jars as the shared one).
 * `persistent` gives Redis an append-only file synced on every write (NATS and Kafka always keep their data).
 */
export async function startPrivateEngine(
  name: EngineName,
  options: { persistent?: boolean } = {},
): Promise<PrivateEngine> {
  const dir = mkdtempSync(join(tmpdir(), `es-${name}-`));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, ES_SERVICES_DIR: dir };
  if (name === 'nats') env.ES_NATS_PORT = String(port);
  if (name === 'redis') env.ES_REDIS_PORT = String(port);
  // Redis keeps nothing on disk unless asked; a test that restarts it and expects its streams back asks.
  if (name === 'redis' && options.persistent) env.ES_REDIS_PERSIST = '1';
  if (name === 'kafka') {
    env.ES_KAFKA_PORT = String(port);
    env.ES_KAFKA_CONTROLLER_PORT = String(await freePort());
    env.ES_KAFKA_HEAP = '256m';
    // Reuse the jars the shared broker was started from instead of fetching them again (when they are cached).
    if (existsSync(join(SHARED_KAFKA_JARS, '.complete'))) {
      mkdirSync(join(dir, 'kafka'), { recursive: true });
      symlinkSync(SHARED_KAFKA_JARS, join(dir, 'kafka', 'jars'));
    }
  }
  const script = (verb: 'up' | 'down') => run(SCRIPT, [verb, name], { env, timeout: 120_000 });
  const url =
    name === 'nats' ? `nats://127.0.0.1:${port}` : name === 'redis' ? `redis://127.0.0.1:${port}` : `127.0.0.1:${port}`;
  const engine: PrivateEngine = {
    name,
    url,
    port,
    start: async () => {
      await script('up');
    },
    stop: async () => {
      await script('down');
    },
    destroy: async () => {
      await script('down').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await engine.start();
  return engine;
}
