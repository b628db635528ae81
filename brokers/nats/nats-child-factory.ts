// The log a separate test process makes (conformance: the consumer process killed with SIGKILL). It reads where
// and under which prefix from the environment the test file sets before it spawns the process.
import type { EventLog } from '../contract.ts';
import { NatsEventLog } from './nats-log.ts';

export const NATS_TEST_URL_ENV = 'ES_TEST_NATS_URL';
export const NATS_TEST_PREFIX_ENV = 'ES_TEST_NATS_PREFIX';

export async function makeChildLog(): Promise<EventLog> {
  return new NatsEventLog({
    servers: process.env[NATS_TEST_URL_ENV] ?? 'nats://127.0.0.1:4222',
    prefix: process.env[NATS_TEST_PREFIX_ENV] ?? 'es',
  });
}
