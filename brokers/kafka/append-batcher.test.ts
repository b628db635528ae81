import type { Message, TopicMessages } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { AppendBatcher } from './append-batcher.ts';
import { ConnectionMonitor } from './connection.ts';

/** A produce stand-in whose requests the test answers one by one (the real broker is in kafka-log.test.ts). */
function harness(maxBatchRecords = 1000) {
  const requests: { values: string[]; answer: () => void }[] = [];
  const monitor = new ConnectionMonitor({
    probe: async () => {},
    initialDelayMs: 10,
    maxDelayMs: 10,
    checkIntervalMs: 1e6,
  });
  monitor.up();
  const batcher = new AppendBatcher({
    send: (topicMessages: TopicMessages[]) =>
      new Promise<void>((resolve) => {
        const values = topicMessages.flatMap((t) => t.messages.map((m) => String(m.value)));
        requests.push({ values, answer: resolve });
      }),
    monitor,
    maxBatchBytes: 1 << 20,
    maxBatchRecords,
    timeoutMs: 5000,
    onTopicMissing: () => {},
  });
  const append = (...values: string[]) =>
    batcher.append(
      't',
      values.map((value): Message => ({ value })),
      values.map(() => 10),
    );
  return { requests, batcher, monitor, append };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('AppendBatcher', () => {
  const open: { batcher: AppendBatcher; monitor: ConnectionMonitor }[] = [];
  afterEach(async () => {
    for (const { batcher, monitor } of open.splice(0)) {
      await batcher.close(0);
      monitor.close();
    }
  });

  it('sends an append at once while up to 3 requests are in flight; later ones wait and leave together', async () => {
    const h = harness();
    open.push(h);
    const done: string[] = [];
    for (const value of ['a', 'b', 'c', 'd', 'e']) {
      void h.append(value).then(() => done.push(value));
      await turn();
    }
    expect(h.requests.map((r) => r.values)).toEqual([['a'], ['b'], ['c']]);
    h.requests[1]!.answer();
    await turn();
    await turn();
    expect(done).toEqual(['b']);
    expect(h.requests.map((r) => r.values)).toEqual([['a'], ['b'], ['c'], ['d', 'e']]);
    for (const r of h.requests) r.answer();
    await turn();
    await turn();
    expect(done.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('sends the chunks of one append one after another, so its records keep their order', async () => {
    const h = harness(1);
    open.push(h);
    const all = h.append('1', '2', '3');
    await turn();
    expect(h.requests.map((r) => r.values)).toEqual([['1']]);
    h.requests[0]!.answer();
    await turn();
    expect(h.requests.map((r) => r.values)).toEqual([['1'], ['2']]);
    h.requests[1]!.answer();
    await turn();
    h.requests[2]!.answer();
    await all;
    expect(h.requests.map((r) => r.values)).toEqual([['1'], ['2'], ['3']]);
  });
});
