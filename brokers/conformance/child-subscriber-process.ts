import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from './helpers.ts';

/** Where a child process finds the adapter: a module and the name of its `() => Promise<EventLog>` export. */
export interface ChildLogFactory {
  /** Absolute path (or file URL) of the module. */
  module: string;
  /** Name of the exported factory. */
  exportName: string;
}

export interface ChildSubscriberOptions {
  topic: string;
  group: string;
  ackWaitMs: number;
  maxInFlight: number;
}

export interface ChildSubscriber {
  /** Ids of the events the child received and is holding (never acked). */
  held(): string[];
  waitForHeld(count: number, timeoutMs: number): Promise<void>;
  /** SIGKILL: no close, no ack, no goodbye to the engine. */
  kill(): void;
}

const entry = fileURLToPath(new URL('./child-subscriber.ts', import.meta.url));

/** Starts a separate Node process that subscribes through the adapter and never settles a delivery. */
export async function startChildSubscriber(
  factory: ChildLogFactory,
  options: ChildSubscriberOptions,
): Promise<ChildSubscriber> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', entry, JSON.stringify({ factory, ...options })],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const held: string[] = [];
  let subscribed = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'subscribed') subscribed = true;
    else if (line.startsWith('held ')) held.push(line.slice(5));
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await waitFor(() => subscribed || exited, 30_000, 'the child subscriber to subscribe');
  if (!subscribed) throw new Error('the child subscriber exited before subscribing (see its stderr above)');
  return {
    held: () => [...held],
    waitForHeld: (count, timeoutMs) => waitFor(() => held.length >= count, timeoutMs, `${count} held events`),
    kill: () => {
      if (!exited) child.kill('SIGKILL');
    },
  };
}
