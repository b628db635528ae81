// Entry of the process started by child-subscriber-process.ts: subscribes, reports each event it receives on
// stdout ("held <id>"), and never settles one, so the parent can SIGKILL it with events unacknowledged.
import { pathToFileURL } from 'node:url';
import type { EventLog } from '../contract.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as {
  factory: { module: string; exportName: string };
  topic: string;
  group: string;
  ackWaitMs: number;
  maxInFlight: number;
};
const url = config.factory.module.startsWith('file:')
  ? config.factory.module
  : pathToFileURL(config.factory.module).href;
const mod = (await import(url)) as Record<string, () => Promise<EventLog>>;
const make = mod[config.factory.exportName];
if (typeof make !== 'function') throw new Error(`${config.factory.module} has no export ${config.factory.exportName}`);
const log = await make();
await log.subscribe(
  config.topic,
  config.group,
  (event) => {
    process.stdout.write(`held ${event.attributes.id}\n`);
    return new Promise<void>(() => {});
  },
  { ackWaitMs: config.ackWaitMs, maxInFlight: config.maxInFlight },
);
process.stdout.write('subscribed\n');
