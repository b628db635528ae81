import { fileURLToPath } from 'node:url';
import { Kafka as CeKafka, type CloudEventV1, type KafkaMessage } from 'cloudevents';
import { type IHeaders, Kafka as KafkaJs, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../services/core/cloudevent.ts';
import { BackendUnavailableError } from '../../services/core/errors.ts';
import { describeWithEngine, engines } from '../../test/support/engines.ts';
import { startPrivateEngine } from '../../test/support/private-engine.ts';
import { createGroup, events, gate, ids, recorder, sleep, waitFor } from '../conformance/helpers.ts';
import { runEventLogConformance } from '../conformance/suite.ts';
import { decodeRecord, encodeRecord } from './codec.ts';
import { KafkaEventLog, type KafkaEventLogOptions } from './kafka-log.ts';
import { KafkaNames } from './names.ts';
import { PartitionTracker } from './partition-tracker.ts';
import { KeyedReadyQueue } from './ready-queue.ts';
import { TEST_PREFIX_ENV } from './test-support.ts';

/** Every topic and group of this run starts with this, so the run can clean up after itself. */
const RUN_PREFIX = `es-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
process.env[TEST_PREFIX_ENV] = RUN_PREFIX;
const brokers = engines.kafka.url.split(',');
const plain = new KafkaJs({ clientId: 'es-test-plain', brokers, logLevel: logLevel.NOTHING });
let unique = 0;
const name = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${unique++}`;

/** Deletes every group and topic this run created (through any log). */
async function cleanUp(prefix: string): Promise<void> {
  const admin = plain.admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => undefined);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

const textHeaders = (headers: IHeaders | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));

describe('kafka codec and names (no broker)', () => {
  it('encodes binary mode: ce_ headers, content-type, key = partitionkey, value = data', () => {
    const event = makeEvent(
      { id: '1', source: '/s', type: 't', partitionkey: 'k1', extnum: 7, subject: 'héllo' },
      { a: 1 },
    );
    const { message, key } = encodeRecord(event, '1700000000000');
    expect(key).toBe('k1');
    expect(message.key).toBe('k1');
    expect(message.value?.toString()).toBe('{"a":1}');
    expect(message.headers).toEqual({
      ce_specversion: '1.0',
      ce_id: '1',
      ce_source: '/s',
      ce_type: 't',
      ce_partitionkey: 'k1',
      ce_extnum: '7',
      ce_subject: 'héllo',
      'content-type': 'application/json',
    });
  });

  it('decodes binary and structured records, takes partitionkey from the key, refuses non-events', () => {
    const headers = { ce_specversion: Buffer.from('1.0'), ce_id: Buffer.from('x'), ce_source: Buffer.from('/s') };
    const base = { timestamp: '0', attributes: 0, offset: '0' };
    const binary = decodeRecord({
      ...base,
      key: Buffer.from('pk'),
      value: Buffer.from('hi'),
      headers: { ...headers, ce_type: Buffer.from('t'), 'content-type': Buffer.from('text/plain') },
    });
    expect(binary.attributes).toEqual({
      specversion: '1.0',
      id: 'x',
      source: '/s',
      type: 't',
      datacontenttype: 'text/plain',
      partitionkey: 'pk',
    });
    expect(binary.data?.toString()).toBe('hi');
    const structured = decodeRecord({
      ...base,
      key: null,
      value: Buffer.from(JSON.stringify({ specversion: '1.0', id: 's', source: '/s', type: 't', data: { v: 1 } })),
      headers: { 'content-type': Buffer.from('application/cloudevents+json; charset=UTF-8') },
    });
    expect(structured.attributes.id).toBe('s');
    expect(structured.data?.toString()).toBe('{"v":1}');
    expect(() => decodeRecord({ ...base, key: null, value: null, headers })).toThrow(/type/);
  });

  it('commits only up to the oldest unfinished record of a partition', () => {
    const tracker = new PartitionTracker(3);
    expect(tracker.commitPoint()).toBeUndefined();
    const [a, b, c] = [tracker.add(10), tracker.add(11), tracker.add(12)];
    expect(tracker.complete(b)).toBe(false);
    expect(tracker.complete(c)).toBe(false);
    expect(tracker.uncommitted()).toBe(10);
    expect(tracker.complete(a)).toBe(true);
    expect(tracker.uncommitted()).toBe(13);
    tracker.committed(13);
    expect(tracker.uncommitted()).toBeUndefined();
    expect(tracker.seen(12)).toBe(true);
    tracker.fetchedThrough(15);
    expect(tracker.uncommitted()).toBe(15);
  });

  it('ordered queue: one item per key until finished, a retried item goes first, keys rotate', () => {
    const queue = new KeyedReadyQueue<{ key: string | undefined; id: string }>();
    const item = (key: string | undefined, id: string) => ({ key, id });
    const a1 = item('a', 'a1');
    for (const it of [a1, item('a', 'a2'), item(undefined, 'n1'), item('b', 'b1'), item(undefined, 'n2')]) {
      queue.push(it);
    }
    expect([queue.take()?.id, queue.take()?.id, queue.take()?.id, queue.take()]).toEqual(['a1', 'n1', 'b1', undefined]);
    queue.retry(a1);
    expect(queue.take()?.id).toBe('a1');
    queue.finish(a1);
    expect(queue.take()?.id).toBe('a2');
    expect(queue.length).toBe(1);
    expect(queue.remove((it) => it.id === 'n2').map((it) => it.id)).toEqual(['n2']);
    expect(queue.length).toBe(0);
  });

  it('maps topic and group names deterministically to valid, distinct Kafka names', () => {
    const names = new KafkaNames('es');
    expect(names.topic('default.default')).toBe('es.default.default');
    expect(names.group('default.default', 'my-trigger')).toBe('es.default.default_my-trigger');
    expect(names.groupPrefix('default.default')).toBe('es.default.default_');
    const odd = names.topic('a b/c');
    expect(odd).toMatch(/^es\.a-b-c-h[0-9a-f]{10}$/);
    expect(names.topic('a-b-c')).not.toBe(odd);
    expect(names.topic('x'.repeat(400)).length).toBeLessThan(249);
    expect(names.group('t', 'g_1')).not.toContain('g_1');
    expect(new KafkaNames('').topic('t')).toBe('t');
    expect(() => new KafkaNames('bad prefix')).toThrow();
  });
});

await describeWithEngine('kafka', 'KafkaEventLog', () => {
  afterAll(() => cleanUp(RUN_PREFIX), 60_000);

  runEventLogConformance('kafka', async () => new KafkaEventLog({ brokers, prefix: RUN_PREFIX }), {
    timeScale: 2,
    childFactory: {
      module: fileURLToPath(new URL('./test-support.ts', import.meta.url)),
      exportName: 'makeChildLog',
    },
  });

  describe('kafka-specific behaviour', () => {
    const logs: KafkaEventLog[] = [];
    const open = (options: KafkaEventLogOptions = {}) => {
      const log = new KafkaEventLog({ brokers, prefix: RUN_PREFIX, ...options });
      logs.push(log);
      return log;
    };
    afterAll(async () => {
      await Promise.all(logs.map((log) => log.close(100)));
    });
    const names = new KafkaNames(RUN_PREFIX);

    it('stores a plain-kafkajs-readable binary-mode CloudEvent (checked with the CloudEvents SDK)', async () => {
      const log = open();
      const topic = name('raw-out');
      await log.ensureTopic(topic);
      await log.append(topic, [
        makeEvent({ id: 'r1', source: '/raw', type: 'dev.test', partitionkey: 'k9', extnum: 5 }, { hello: 'kafka' }),
      ]);
      const consumer = plain.consumer({ groupId: names.group(topic, 'plain-reader'), maxWaitTimeInMs: 50 });
      const got: { key: string | null; value: string; headers: Record<string, string> }[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: names.topic(topic), fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          got.push({
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? '',
            headers: textHeaders(message.headers),
          });
        },
      });
      try {
        await waitFor(() => got.length === 1, 10_000, 'the raw record');
      } finally {
        await consumer.disconnect();
      }
      const [record] = got;
      expect(record!.key).toBe('k9');
      expect(record!.headers).toMatchObject({
        ce_specversion: '1.0',
        ce_id: 'r1',
        ce_source: '/raw',
        ce_type: 'dev.test',
        ce_partitionkey: 'k9',
        ce_extnum: '5',
        'content-type': 'application/json',
      });
      const message: KafkaMessage<string> = {
        headers: record!.headers,
        key: record!.key ?? '',
        value: record!.value,
        body: record!.value,
      };
      const decoded = CeKafka.toEvent(message);
      const single = (Array.isArray(decoded) ? decoded[0] : decoded) as CloudEventV1<unknown> & { validate(): boolean };
      expect(single.validate()).toBe(true);
      expect(single.id).toBe('r1');
      expect(single.type).toBe('dev.test');
      expect(single.data).toEqual({ hello: 'kafka' });
    });

    it('delivers records produced by plain kafkajs in binary mode (ce_ headers) and structured mode', async () => {
      const log = open();
      const topic = name('raw-in');
      await log.ensureTopic(topic);
      const rec = recorder();
      const sub = await log.subscribe(topic, 'g', rec.handler);
      const producer = plain.producer();
      await producer.connect();
      await producer.send({
        topic: names.topic(topic),
        acks: -1,
        messages: [
          {
            key: 'from-key',
            value: Buffer.from([1, 2, 3]),
            headers: {
              ce_specversion: '1.0',
              ce_id: 'p1',
              ce_source: '/plain',
              ce_type: 'dev.plain',
              ce_traceparent: 'tp',
              'content-type': 'application/octet-stream',
            },
          },
          {
            key: null,
            value: JSON.stringify({ specversion: '1.0', id: 'p2', source: '/plain', type: 'dev.plain', data: 'x' }),
            headers: { 'content-type': 'application/cloudevents+json' },
          },
          { key: null, value: 'not an event', headers: { foo: 'bar' } },
        ],
      });
      await producer.disconnect();
      await waitFor(() => rec.deliveries.length >= 2, 10_000, 'the two plain records');
      await waitFor(async () => (await log.lag(topic, 'g')) === 0, 10_000, 'lag 0 (the non-event is skipped)');
      await sub.close();
      const byId = new Map(rec.deliveries.map((d) => [d.id, d.event]));
      expect(byId.get('p1')!.attributes).toEqual({
        specversion: '1.0',
        id: 'p1',
        source: '/plain',
        type: 'dev.plain',
        traceparent: 'tp',
        datacontenttype: 'application/octet-stream',
        partitionkey: 'from-key',
      });
      expect([...byId.get('p1')!.data!]).toEqual([1, 2, 3]);
      expect(byId.get('p2')!.data?.toString()).toBe('"x"');
      expect(rec.deliveries).toHaveLength(2);
    });

    it('never commits past an unfinished event: a held one is redelivered after the consumer restarts', async () => {
      const first = open();
      const topic = name('hold');
      await first.ensureTopic(topic);
      const hold = gate();
      const started: string[] = [];
      const sub = await first.subscribe(
        topic,
        'g',
        async (event) => {
          started.push(event.attributes.id);
          if (event.attributes.id === 'h-0') await hold.promise;
        },
        { maxInFlight: 10 },
      );
      const sent = events('h', 6);
      await first.append(topic, sent);
      await waitFor(() => started.length === 6, 10_000, '6 starts');
      // Everything after h-0 completed, yet the group's position stays at h-0.
      await sleep(200);
      expect(await first.lag(topic, 'g')).toBe(6);
      await sub.close(0);
      await first.close(0);
      hold.open();
      const second = open();
      const rec = recorder();
      const sub2 = await second.subscribe(topic, 'g', rec.handler, { maxInFlight: 1 });
      await waitFor(() => rec.deliveries.length >= 6, 10_000, 'the redeliveries');
      await waitFor(async () => (await second.lag(topic, 'g')) === 0, 10_000, 'lag 0');
      await sub2.close();
      expect(rec.ids()).toEqual(ids(sent));
    });

    it('keeps the topic (and its events) on deleteTopic with keepTopicOnDelete, deleting only its groups', async () => {
      const log = open({ keepTopicOnDelete: true });
      const topic = name('keep');
      await log.ensureTopic(topic);
      await createGroup(log, topic, 'g');
      await log.append(topic, events('kt', 3));
      await waitFor(async () => (await log.lag(topic, 'g')) === 3, 10_000, 'lag 3');
      await log.deleteTopic(topic);
      const admin = plain.admin();
      await admin.connect();
      try {
        expect(await admin.listTopics()).toContain(names.topic(topic));
        const { groups } = await admin.listGroups();
        expect(groups.map((g) => g.groupId)).not.toContain(names.group(topic, 'g'));
      } finally {
        await admin.disconnect();
      }
      expect(await log.lag(topic, 'g')).toBe(0);
      const rec = recorder();
      const sub = await log.subscribe(topic, 'again', rec.handler, { from: 'beginning', maxInFlight: 1 });
      await waitFor(() => rec.deliveries.length >= 3, 10_000, 'the kept events');
      await sub.close();
      expect(rec.ids()).toEqual(ids(events('kt', 3)));
    });

    it('rejects an event over the topic limit with 413 before sending anything', async () => {
      const log = open({ maxMessageBytes: 64 * 1024, maxBatchBytes: 32 * 1024 });
      const topic = name('big');
      await log.ensureTopic(topic);
      const big = makeEvent({ id: 'b', source: '/s', type: 't' }, Buffer.alloc(65 * 1024));
      await expect(log.append(topic, [big])).rejects.toMatchObject({ code: 'ES_ERR_BODY_TOO_LARGE', statusCode: 413 });
    });

    it('a broker restart: append rejects with 503 within unavailableTimeoutMs, health says so, consumers resume', async () => {
      const broker = await startPrivateEngine('kafka');
      const log = new KafkaEventLog({
        brokers: [broker.url],
        prefix: RUN_PREFIX,
        unavailableTimeoutMs: 1500,
        reconnectMaxDelayMs: 1000,
        healthCheckIntervalMs: 500,
      });
      try {
        const topic = name('restart');
        await log.ensureTopic(topic);
        const rec = recorder();
        await log.subscribe(topic, 'g', rec.handler);
        await log.append(topic, events('before', 5));
        await waitFor(() => rec.deliveries.length >= 5, 15_000, 'the events before the restart');
        expect(log.health().connected).toBe(true);

        await broker.stop();
        const started = Date.now();
        const err = await log.append(topic, events('down', 1)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BackendUnavailableError);
        expect((err as BackendUnavailableError).retryAfterSeconds).toBe(1);
        expect(Date.now() - started).toBeLessThan(1500 + 500);
        await waitFor(() => !log.health().connected, 5_000, 'health to report the outage');
        expect(log.health().reason).toBeTruthy();

        await broker.start();
        await waitFor(() => log.health().connected, 30_000, 'the reconnection');
        const after = events('after', 5);
        const deadline = Date.now() + 30_000;
        for (;;) {
          try {
            await log.append(topic, after);
            break;
          } catch (e) {
            if (Date.now() > deadline) throw e;
            await sleep(250);
          }
        }
        await waitFor(
          () => ids(after).every((id) => rec.ids().includes(id)),
          45_000,
          'the subscription to resume and deliver the events appended after the restart',
        );
        expect(rec.ids()).toEqual(expect.arrayContaining(ids(events('before', 5))));
      } finally {
        await log.close(100);
        await broker.destroy();
      }
    }, 180_000);
  });
});
