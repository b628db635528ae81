import { fileURLToPath } from 'node:url';
import { connect, headers, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudEvent, makeEvent } from '../../services/core/cloudevent.ts';
import { BackendFullError, BackendUnavailableError, ElasticServingError } from '../../services/core/errors.ts';
import { describeWithEngine, engines } from '../../test/support/engines.ts';
import { freePort } from '../../test/support/free-port.ts';
import { type PrivateEngine, startPrivateEngine } from '../../test/support/private-engine.ts';
import { createGroup, events, ids, recorder, sleep, waitFor } from '../conformance/helpers.ts';
import { runEventLogConformance } from '../conformance/suite.ts';
import { NATS_TEST_PREFIX_ENV, NATS_TEST_URL_ENV } from './nats-child-factory.ts';
import { NatsEventLog } from './nats-log.ts';
import type { NatsEventLogOptions } from './options.ts';

/** Every stream this file creates on the shared server carries this prefix, so the last hook removes them all. */
const prefix = `estest${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let counter = 0;
const unique = (what: string) => `${what}-${(counter++).toString(36)}`;
/** The stream name the adapter documents for a topic of `[a-z0-9-.]`: `.` is escaped as `_2E`. */
const streamOf = (topic: string) => `${prefix}_${topic.replaceAll('.', '_2E')}`;
const subjectOf = (topic: string) => `${prefix}.events.${topic.replaceAll('.', '_2E')}`;

process.env[NATS_TEST_URL_ENV] = engines.nats.url;
process.env[NATS_TEST_PREFIX_ENV] = prefix;

await describeWithEngine('nats', 'NatsEventLog', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const logs: NatsEventLog[] = [];
  const open = (options: NatsEventLogOptions = {}) => {
    const log = new NatsEventLog({ servers: engines.nats.url, prefix, ...options });
    logs.push(log);
    return log;
  };

  beforeAll(async () => {
    nc = await connect({ servers: engines.nats.url });
    jsm = await nc.jetstreamManager();
  });
  afterAll(async () => {
    await Promise.all(logs.map((log) => log.close(100)));
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
    await nc.close();
  });

  runEventLogConformance('nats', async () => open(), {
    capabilities: { dedup: true },
    childFactory: {
      module: fileURLToPath(new URL('./nats-child-factory.ts', import.meta.url)),
      exportName: 'makeChildLog',
    },
  });

  describe('NatsEventLog (nats-specific)', () => {
    it('a handler running past livenessMs keeps its event until its ackWaitMs: no redelivery meanwhile', async () => {
      const log = open({ livenessMs: 300 });
      const topic = `ns.${unique('liveness')}`;
      await log.ensureTopic(topic);
      const rec = recorder(() => sleep(1500));
      const sub = await log.subscribe(topic, unique('g'), rec.handler, { ackWaitMs: 10_000 });
      await log.append(topic, events('live', 3));
      await waitFor(() => rec.deliveries.length >= 3, 5000, '3 deliveries');
      await sleep(2500);
      await sub.close(2000);
      expect(rec.deliveries.map((d) => d.deliveryCount)).toEqual([1, 1, 1]);
    });

    it('stores an event a plain client reads as a binary-mode CloudEvent (ce- headers, data as payload)', async () => {
      const log = open();
      const topic = `ns.${unique('plain-read')}`;
      await log.append(topic, [
        {
          attributes: {
            specversion: '1.0',
            id: 'pr-1',
            source: '/plain reader',
            type: 'dev.example.read',
            datacontenttype: 'application/json',
            partitionkey: 'k1',
            exttext: 'héllo 100%',
            extnumber: 7,
          },
          data: Buffer.from('{"a":1}'),
        },
      ]);
      const stored = await jsm.streams.getMessage(streamOf(topic), { seq: 1 });
      expect(stored.subject).toBe(subjectOf(topic));
      expect(Buffer.from(stored.data).toString()).toBe('{"a":1}');
      const h = stored.header;
      expect(h.get('ce-specversion')).toBe('1.0');
      expect(h.get('ce-id')).toBe('pr-1');
      expect(h.get('ce-type')).toBe('dev.example.read');
      expect(h.get('ce-datacontenttype')).toBe('application/json');
      expect(h.get('ce-partitionkey')).toBe('k1');
      expect(h.get('ce-extnumber')).toBe('7');
      // Percent-encoded as the HTTP binding does: space, '%' and non-ASCII.
      expect(h.get('ce-source')).toBe('/plain%20reader');
      expect(decodeURIComponent(h.get('ce-exttext'))).toBe('héllo 100%');
      expect(h.get('Nats-Msg-Id')).toBe('/plain%20reader pr-1');
      expect(h.has('content-type')).toBe(false);
    });

    it('delivers what a plain client publishes in binary and structured mode, and drops what is not an event', async () => {
      const log = open();
      const topic = unique('plain-pub');
      await log.ensureTopic(topic);
      const group = unique('g');
      const rec = recorder();
      const sub = await log.subscribe(topic, group, rec.handler, { maxInFlight: 1 });
      const js = nc.jetstream();
      const binary = headers();
      binary.set('ce-specversion', '1.0');
      binary.set('Ce-Id', 'raw-1');
      binary.set('ce-source', '/raw%20client');
      binary.set('ce-type', 'dev.example.raw');
      binary.set('ce-datacontenttype', 'text/plain');
      binary.set('ce-rawext', 'naïve');
      await js.publish(subjectOf(topic), new TextEncoder().encode('hello'), { headers: binary });
      await js.publish(subjectOf(topic), new TextEncoder().encode('not an event'));
      const structured = headers();
      structured.set('content-type', 'application/cloudevents+json; charset=utf-8');
      const body = { specversion: '1.0', id: 'raw-2', source: '/s', type: 't', data: { b: 2 } };
      await js.publish(subjectOf(topic), new TextEncoder().encode(JSON.stringify(body)), { headers: structured });
      await waitFor(() => rec.deliveries.length >= 2, 5000, '2 deliveries');
      await waitFor(async () => (await log.lag(topic, group)) === 0, 5000, 'lag 0 (the bad message is dropped)');
      await sub.close();
      expect(rec.ids()).toEqual(['raw-1', 'raw-2']);
      const [first, second] = rec.deliveries.map((d) => d.event);
      expect(first!.attributes).toEqual({
        specversion: '1.0',
        id: 'raw-1',
        source: '/raw client',
        type: 'dev.example.raw',
        datacontenttype: 'text/plain',
        rawext: 'naïve',
      });
      expect(first!.data?.toString()).toBe('hello');
      expect(JSON.parse(second!.data!.toString())).toEqual({ b: 2 });
      expect(rec.deliveries.map((d) => d.position)).toEqual(['1', '3']);
    });

    it('dedups by source+id across logs, and stores repeats when duplicateWindowMs is 0', async () => {
      const topic = unique('dedup');
      const a = open();
      const b = open();
      const e = makeEvent({ id: 'd1', source: '/d', type: 't' });
      await a.append(topic, [e]);
      await b.append(topic, [e, makeEvent({ id: 'd1', source: '/other', type: 't' })]);
      expect((await jsm.streams.info(streamOf(topic))).state.messages).toBe(2);

      const plainTopic = unique('no-dedup');
      const plain = open({ duplicateWindowMs: 0 });
      await plain.append(plainTopic, [e, e]);
      const stored = await jsm.streams.getMessage(streamOf(plainTopic), { seq: 2 });
      expect(stored.header.has('Nats-Msg-Id')).toBe(false);
      expect((await jsm.streams.info(streamOf(plainTopic))).state.messages).toBe(2);
    });

    it('deleteGroup and deleteTopic leave nothing behind on the server', async () => {
      const log = open();
      const topic = unique('cleanup');
      const group = unique('g');
      await log.ensureTopic(topic);
      await createGroup(log, topic, group);
      const durable = `${prefix}_${group}`;
      expect((await jsm.consumers.info(streamOf(topic), durable)).name).toBe(durable);
      await log.deleteGroup(topic, group);
      await expect(jsm.consumers.info(streamOf(topic), durable)).rejects.toThrow(/consumer not found/);
      await createGroup(log, topic, group);
      await log.deleteTopic(topic);
      await expect(jsm.streams.info(streamOf(topic))).rejects.toThrow(/stream not found/);
      expect(await log.lag(topic, group)).toBe(0);
    });

    it('keepTopicOnDelete: deleteTopic removes our consumers but keeps the stream and its events', async () => {
      const log = open({ keepTopicOnDelete: true });
      const topic = unique('kept');
      await log.ensureTopic(topic);
      await createGroup(log, topic, unique('g'));
      await jsm.consumers.add(streamOf(topic), { durable_name: 'foreign' });
      await log.append(topic, events('kept', 3));
      await log.deleteTopic(topic);
      const info = await jsm.streams.info(streamOf(topic));
      expect(info.state.messages).toBe(3);
      const names: string[] = [];
      for await (const consumer of jsm.consumers.list(streamOf(topic))) names.push(consumer.name);
      expect(names).toEqual(['foreign']);
    });

    it('refuses an event over the server max_payload with ES_ERR_BODY_TOO_LARGE', async () => {
      const log = open();
      const topic = unique('big');
      await log.ensureTopic(topic);
      const max = log.maxPayload();
      expect(max).toBeGreaterThan(0);
      const tooBig: CloudEvent = { ...makeEvent({ id: 'b', source: '/s', type: 't' }), data: Buffer.alloc(max!) };
      const err = await log.append(topic, [tooBig]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ElasticServingError);
      expect((err as ElasticServingError).code).toBe('ES_ERR_BODY_TOO_LARGE');
    });

    it('creates a stream deleted behind its back again on the next append (JetStream answered: no responders)', async () => {
      const log = open();
      const topic = unique('gone');
      await log.append(topic, events('g', 1));
      await jsm.streams.delete(streamOf(topic));
      await log.append(topic, events('g', 1, undefined, 1));
      expect((await jsm.streams.info(streamOf(topic))).state.messages).toBe(1);
    });

    it("applies retention limits; with discard 'new' a full stream refuses appends with BackendFullError", async () => {
      const log = open({ maxMessages: 2, discard: 'new', maxAgeMs: 60_000 });
      const topic = unique('full');
      await log.append(topic, events('f', 2));
      const config = (await jsm.streams.info(streamOf(topic))).config;
      expect(config).toMatchObject({ max_msgs: 2, discard: 'new', max_age: 60_000 * 1e6, storage: 'file' });
      await expect(log.append(topic, events('f', 1, undefined, 2))).rejects.toBeInstanceOf(BackendFullError);
    });

    it('ordered mode holds per key across the members of a group in one process', async () => {
      const log = open();
      const topic = unique('ordered-members');
      await log.ensureTopic(topic);
      const group = unique('g');
      const busy = new Set<string>();
      const violations: string[] = [];
      const order = new Map<string, string[]>();
      const handler = async (event: CloudEvent) => {
        const key = String(event.attributes.partitionkey);
        if (busy.has(key)) violations.push(event.attributes.id);
        busy.add(key);
        await sleep(2);
        busy.delete(key);
        order.set(key, [...(order.get(key) ?? []), event.attributes.id]);
      };
      const subs = await Promise.all(
        [0, 1, 2].map(() => log.subscribe(topic, group, handler, { ordered: true, maxInFlight: 4 })),
      );
      const sent = events('om', 60, (i) => ({ partitionkey: `k${i % 3}` }));
      await log.append(topic, sent);
      await waitFor(async () => (await log.lag(topic, group)) === 0, 10_000, 'lag 0');
      await Promise.all(subs.map((s) => s.close()));
      expect(violations).toEqual([]);
      for (const k of [0, 1, 2]) {
        expect(order.get(`k${k}`)).toEqual(ids(sent.filter((e) => e.attributes.partitionkey === `k${k}`)));
      }
    });

    it('while never connected: health says why, calls reject in time, close returns', async () => {
      const port = await freePort();
      const log = new NatsEventLog({ servers: `nats://127.0.0.1:${port}`, prefix, unavailableTimeoutMs: 300 });
      try {
        expect(log.health().connected).toBe(false);
        const started = Date.now();
        await expect(log.append('t', events('x', 1))).rejects.toBeInstanceOf(BackendUnavailableError);
        await expect(log.lag('t', 'g')).rejects.toBeInstanceOf(BackendUnavailableError);
        expect(Date.now() - started).toBeLessThan(2000);
        expect(log.health().reason).toMatch(/connect/);
      } finally {
        await log.close(0);
      }
    });
  });

  describe('NatsEventLog against a private server that restarts', () => {
    let server: PrivateEngine;
    beforeAll(async () => {
      server = await startPrivateEngine('nats');
    });
    afterAll(async () => {
      await server?.destroy();
    });

    it('rejects appends while the server is down and resumes delivery after it is back, losing nothing', async () => {
      const { url } = server;
      const options = { servers: url, prefix, unavailableTimeoutMs: 500, reconnectMaxDelayMs: 500 };
      const log = new NatsEventLog(options);
      try {
        const topic = unique('restart');
        const group = unique('g');
        await log.ensureTopic(topic);
        const rec = recorder();
        const sub = await log.subscribe(topic, group, rec.handler, { ackWaitMs: 2000 });
        const before = events('before', 5);
        await log.append(topic, before);
        await waitFor(() => rec.deliveries.length >= 5, 5000, 'deliveries before the restart');

        const other = new NatsEventLog(options);
        const otherSub = await other.subscribe(topic, unique('g'), async () => undefined);
        await server.stop();
        await waitFor(() => !log.health().connected, 5000, 'health to say disconnected');
        const closing = Date.now();
        await otherSub.close(100);
        await other.close(100);
        expect(Date.now() - closing).toBeLessThan(2000);
        expect(log.health().reason).toMatch(/disconnect/);
        const started = Date.now();
        await expect(log.append(topic, events('down', 1))).rejects.toBeInstanceOf(BackendUnavailableError);
        expect(Date.now() - started).toBeLessThan(500 + 1500);
        const late = new NatsEventLog(options);
        await expect(late.append(topic, events('late', 1))).rejects.toBeInstanceOf(BackendUnavailableError);

        await server.start();
        await waitFor(() => log.health().connected && late.health().connected, 15_000, 'both logs to reconnect');
        const after = events('after', 10);
        // JetStream may take a moment to recover the stream after the server answers: resend like a client on 503.
        for (const event of after) await appendRetrying(log, topic, event);
        await appendRetrying(late, topic, events('late', 1)[0]!);
        await waitFor(() => new Set(rec.ids()).size >= 16, 15_000, 'every event appended after the restart');
        await sub.close();
        await late.close(0);
        expect(new Set(rec.ids())).toEqual(new Set([...ids(before), ...ids(after), 'late-0']));
        await log.deleteTopic(topic);
      } finally {
        await log.close(0);
      }
    });
  });
});

async function appendRetrying(log: NatsEventLog, topic: string, event: CloudEvent): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await log.append(topic, [event]);
      return;
    } catch (err) {
      if (!(err instanceof BackendUnavailableError) || Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}
