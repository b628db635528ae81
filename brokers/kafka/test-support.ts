// Test support for kafka-log.test.ts: the log factory a child process uses, and a private Kafka broker to stop
// and start (never the shared one other engineers use).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../test/support/free-port.ts';
import type { EventLog } from '../contract.ts';
import { KafkaEventLog } from './kafka-log.ts';

/** Env var carrying the test run's name prefix to child processes. */
export const TEST_PREFIX_ENV = 'ES_TEST_KAFKA_PREFIX';

/** The log a conformance child process subscribes through (same brokers and prefix as the parent). */
export async function makeChildLog(): Promise<EventLog> {
  const brokers = (process.env.ES_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  return new KafkaEventLog({ brokers, prefix: process.env[TEST_PREFIX_ENV] ?? 'es-test' });
}

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const script = join(repo, 'deploy/local/services.sh');
const sharedJars = join(repo, '.elastic-serving/services/kafka/jars');

/** Whether the Kafka jars are cached (a private broker would otherwise fetch them from Maven Central). */
export const privateKafkaAvailable = existsSync(join(sharedJars, '.complete'));

export interface PrivateKafka {
  brokers: string[];
  /** `services.sh down kafka` (SIGTERM, controlled shutdown). Data stays. */
  stop(): Promise<void>;
  /** `services.sh up kafka` again on the same data. */
  start(): Promise<void>;
  /** Stops it and removes its state directory. */
  destroy(): Promise<void>;
}

/** Starts a single-node KRaft broker on free ports with its own state directory (jars shared by symlink). */
export async function startPrivateKafka(): Promise<PrivateKafka> {
  const dir = await mkdtemp(join(tmpdir(), 'es-kafka-'));
  await mkdir(join(dir, 'kafka'), { recursive: true });
  await symlink(sharedJars, join(dir, 'kafka', 'jars'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    ES_SERVICES_DIR: dir,
    ES_KAFKA_PORT: String(port),
    ES_KAFKA_CONTROLLER_PORT: String(controllerPort),
    ES_KAFKA_HEAP: '256m',
  };
  const services = (command: 'up' | 'down') => run('bash', [script, command, 'kafka'], { env, timeout: 120_000 });
  await services('up');
  return {
    brokers: [`127.0.0.1:${port}`],
    stop: async () => {
      await services('down');
    },
    start: async () => {
      await services('up');
    },
    destroy: async () => {
      await services('down').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
