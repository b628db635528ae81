import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'vitest';

const env = process.env;

/** The engines `deploy/local/services.sh up` starts, and where tests find them (env overrides for other hosts). */
export const engines = {
  nats: { url: env.ES_TEST_NATS_URL ?? 'nats://127.0.0.1:4222' },
  redis: { url: env.ES_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
  kafka: { url: env.ES_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092' },
  /**
   * S3-compatible server (Versity S3 Gateway): path-style addressing, region us-east-1, root keys as services.sh
   * starts it with. `binary` is the server services.sh built, for tests that run a private one (test/support/s3.ts).
   */
  s3: {
    url: env.ES_TEST_S3_URL ?? `http://127.0.0.1:${env.ES_S3_PORT ?? '9000'}`,
    accessKeyId: env.ES_TEST_S3_ACCESS_KEY ?? env.ES_S3_ACCESS_KEY ?? 'elastic-serving',
    secretAccessKey: env.ES_TEST_S3_SECRET_KEY ?? env.ES_S3_SECRET_KEY ?? 'elastic-serving-secret',
    region: 'us-east-1',
    binary: join(
      env.ES_S3_BIN_DIR ?? join(import.meta.dirname, '..', '..', '.elastic-serving', 'services', 's3', 'bin'),
      'versitygw',
    ),
  },
} as const;

/** The channel engines (what a Broker's events can live in); tests key per-channel tables by it. */
export type EngineName = Exclude<ServiceName, 's3'>;

/** Every engine `deploy/local/services.sh up` starts: the channel engines and the S3-compatible server. */
export type ServiceName = keyof typeof engines;

function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url.includes('://') ? url : `tcp://${url.split(',')[0]}`);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** Whether something accepts TCP connections where `engine` should listen. */
export function engineReachable(engine: ServiceName, timeoutMs = 1000): Promise<boolean> {
  const { host, port } = hostPort(engines[engine].url);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `describe` for tests that need a real engine. When it is not reachable the suite is skipped with a loud line
 * naming it, except under `CI=true`, where the missing engine is a failing test (DESIGN §9).
 */
export async function describeWithEngine(engine: ServiceName, title: string, body: () => void): Promise<void> {
  if (await engineReachable(engine)) {
    describe(title, body);
    return;
  }
  const reason = `${engine} is not reachable at ${engines[engine].url}; start it with deploy/local/services.sh up`;
  if (process.env.CI === 'true') {
    describe(title, () => {
      it(`needs ${engine}`, () => {
        throw new Error(reason);
      });
    });
    return;
  }
  console.warn(`\n*** SKIPPED "${title}": ${reason} ***\n`);
  describe.skip(title, body);
}
