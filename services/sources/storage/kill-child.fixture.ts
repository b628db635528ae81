/**
 * A process running one StorageSource, for the kill -9 tests: the config comes as JSON in ES_TEST_STORAGE_CHILD
 * (`{ stateDir, cwd, resource, credentials }`); it prints `ready` once the source runs.
 */
import { pino } from 'pino';
import { StorageSourceRunner } from './runner.ts';

const config = JSON.parse(process.env.ES_TEST_STORAGE_CHILD ?? '{}');
const runner = new StorageSourceRunner({ stateDir: config.stateDir, cwd: config.cwd, logger: pino({ level: 'warn' }) });
await runner.upsert(config.resource, config.credentials ?? {});
process.stdout.write('ready\n');
setInterval(() => {}, 1 << 30);
