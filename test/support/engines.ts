import { connect } from 'node:net';
import { describe, it } from 'vitest';

/** The engines `deploy/local/services.sh up` starts, and where tests find them (env overrides for other hosts). */
export const engines = {
  nats: { url: process.env.ES_TEST_NATS_URL ?? 'nats://127.0.0.1:4222' },
  redis: { url: process.env.ES_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
  kafka: { url: process.env.ES_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092' },
} as const;

export type EngineName = keyof typeof engines;

function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url.includes('://') ? url : `tcp://${url.split(',')[0]}`);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** Whether something accepts TCP connections where `engine` should listen. */
export function engineReachable(engine: EngineName, timeoutMs = 1000): Promise<boolean> {
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
export async function describeWithEngine(engine: EngineName, title: string, body: () => void): Promise<void> {
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
