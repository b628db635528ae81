import type { EventLog } from '../contract.ts';
import { RedisEventLog } from './redis-log.ts';

/**
 * For the conformance case that SIGKILLs a consumer process: the child creates its log with this, against the same
 * server and key prefix as the test that started it (passed down in the environment).
 */
export async function makeChildLog(): Promise<EventLog> {
  return new RedisEventLog({
    url: process.env.ES_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: process.env.ES_REDIS_TEST_PREFIX ?? 'es-test',
    logger: { warn: () => undefined },
  });
}
