import type { CeAttributeValue, CloudEvent } from '../../services/core/cloudevent.ts';
import { makeEvent } from '../../services/core/cloudevent.ts';
import type { DeliveryInfo, EventHandler, EventLog } from '../contract.ts';
import type { ChildLogFactory } from './child-subscriber-process.ts';

/** What every case gets: the shared log, unique names and scaled timings. */
export interface SuiteContext {
  /** The log shared by the cases of one adapter (created in `beforeAll`). */
  log(): EventLog;
  /** A fresh log for cases that close it. */
  makeLog: () => Promise<EventLog>;
  /** A unique topic/group name with a readable prefix. */
  name(prefix: string): string;
  /** `value` milliseconds scaled for slow backends. */
  ms(value: number): number;
  capabilities: { dedup: boolean };
  /** How a child process creates the adapter's log (the killed-consumer case). */
  childFactory?: ChildLogFactory;
}

export interface Delivery {
  id: string;
  position: string;
  deliveryCount: number;
  at: number;
  event: CloudEvent;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true; fails with `what` and the last observed state after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Events `${prefix}-0` … with JSON data `{ i }` and optional extra attributes per index. */
export function events(
  prefix: string,
  count: number,
  extra: (i: number) => Record<string, CeAttributeValue> = () => ({}),
  from = 0,
): CloudEvent[] {
  const out: CloudEvent[] = [];
  for (let i = from; i < from + count; i++) {
    out.push(
      makeEvent(
        { id: `${prefix}-${i}`, source: '/conformance', type: 'dev.elasticserving.conformance', ...extra(i) },
        { i },
      ),
    );
  }
  return out;
}

export const ids = (list: readonly { attributes: { id: string } }[]): string[] => list.map((e) => e.attributes.id);

/** Records every delivery; `behave` decides each outcome (default: resolve at once). */
export function recorder(behave?: (event: CloudEvent, info: DeliveryInfo) => Promise<void> | undefined): {
  deliveries: Delivery[];
  handler: EventHandler;
  ids(): string[];
} {
  const deliveries: Delivery[] = [];
  const handler: EventHandler = async (event, info) => {
    deliveries.push({
      id: event.attributes.id,
      position: info.position,
      deliveryCount: info.deliveryCount,
      at: Date.now(),
      event,
    });
    const outcome = behave?.(event, info);
    if (outcome !== undefined) await outcome;
  };
  return { deliveries, handler, ids: () => deliveries.map((d) => d.id) };
}

/** A promise with its resolver exposed. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Creates `group` on `topic` at the end of the log without consuming anything (subscribe, then close). */
export async function createGroup(log: EventLog, topic: string, group: string): Promise<void> {
  const subscription = await log.subscribe(topic, group, async () => {
    throw new Error('a placeholder group must not receive events');
  });
  await subscription.close(0);
}

/** A unique topic, created (adapters need not create topics implicitly). */
export async function newTopic(ctx: SuiteContext, log: EventLog): Promise<string> {
  const topic = ctx.name('t');
  await log.ensureTopic(topic);
  return topic;
}
