// Test support for kafka-log.test.ts: the log factory a child process uses (a private broker to stop and start is
// test/support/private-engine.ts).
import type { EventLog } from '../contract.ts';
import { KafkaEventLog } from './kafka-log.ts';

/** Env var carrying the test run's name prefix to child processes. */
export const TEST_PREFIX_ENV = 'ES_TEST_KAFKA_PREFIX';

/** The log a conformance child process subscribes through (same brokers and prefix as the parent). */
export async function makeChildLog(): Promise<EventLog> {
  const brokers = (process.env.ES_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  return new KafkaEventLog({ brokers, prefix: process.env[TEST_PREFIX_ENV] ?? 'es-test' });
}
