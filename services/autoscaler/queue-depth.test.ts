import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../brokers/memory/memory-log.ts';
import { describeWithEngine, engines } from '../../test/support/engines.ts';
import { makeEvent } from '../core/cloudevent.ts';
import { bullmqDepth, eventLogLag, readQueueDepth } from './queue-depth.ts';

describe('eventLogLag', () => {
  it('reads the consumer group lag of the memory event log', async () => {
    const log = new MemoryEventLog();
    try {
      const topic = `lag-${randomUUID()}`;
      // The group exists (created at the end of the log) but nobody acknowledges anything.
      await (await log.subscribe(topic, 'fn', async () => {})).close(0);
      const depth = eventLogLag(log, topic, 'fn');
      expect(await depth()).toBe(0);
      const events = Array.from({ length: 7 }, (_, i) => makeEvent({ id: `e${i}`, source: '/t', type: 't' }, {}));
      await log.append(topic, events);
      expect(await depth()).toBe(7);

      const acked: string[] = [];
      const sub = await log.subscribe(topic, 'fn', async (event) => {
        acked.push(event.attributes.id);
      });
      await waitFor(async () => (await depth()) === 0);
      await sub.close(100);
      expect(acked).toHaveLength(7);
    } finally {
      await log.close(100);
    }
  });
});

describe('readQueueDepth', () => {
  it('rejects on a timeout or an answer that is not a count', async () => {
    await expect(readQueueDepth(() => new Promise(() => {}), 20)).rejects.toThrow(/no answer in 20 ms/);
    await expect(readQueueDepth(async () => Number.NaN, 20)).rejects.toThrow(/returned NaN/);
    await expect(readQueueDepth(async () => 3, 20)).resolves.toBe(3);
  });
});

await describeWithEngine('redis', 'bullmqDepth (real Redis)', () => {
  let connection: Redis;
  let queue: Queue;

  beforeAll(async () => {
    connection = new Redis(engines.redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(`autoscaler-depth-${randomUUID()}`, { connection });
    await queue.waitUntilReady();
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });

  it('counts waiting, prioritized, delayed and active jobs, and not finished ones', async () => {
    const depth = bullmqDepth(queue);
    expect(await depth()).toBe(0);
    await queue.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'chunk', data: { i } })));
    await queue.add('urgent', {}, { priority: 1 });
    await queue.add('later', {}, { delay: 60_000 });
    expect(await queue.getJobCounts('waiting', 'prioritized', 'delayed')).toEqual({
      waiting: 5,
      prioritized: 1,
      delayed: 1,
    });
    expect(await depth()).toBe(7);
    // Only the states asked for count: finished jobs are not depth.
    expect(await bullmqDepth(queue, ['completed', 'failed'])()).toBe(0);
    expect(await bullmqDepth(queue, ['delayed'])()).toBe(1);
  });

  it('keeps counting a job while a worker runs it, and stops once it is done', async () => {
    const depth = bullmqDepth(queue);
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const workerConnection = new Redis(engines.redis.url, { maxRetriesPerRequest: null });
    const worker = new Worker(queue.name, () => gate, { connection: workerConnection, concurrency: 1 });
    try {
      await waitFor(async () => (await queue.getJobCounts('active')).active === 1);
      expect(await depth()).toBe(7);
      release();
      await waitFor(async () => (await depth()) === 1); // only the delayed job is left
    } finally {
      await worker.close();
      workerConnection.disconnect();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
