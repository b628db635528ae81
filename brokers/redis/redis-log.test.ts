import { fileURLToPath } from 'node:url';
import { CloudEvent as SdkCloudEvent } from 'cloudevents';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, ElasticServingError } from '../../services/core/errors.ts';
import { describeWithEngine, engines } from '../../test/support/engines.ts';
import { createGroup, events, gate, ids, recorder, sleep, waitFor } from '../conformance/helpers.ts';
import { runEventLogConformance } from '../conformance/suite.ts';
import { decodeFields, pushFields } from './codec.ts';
import { groupName, streamKey } from './options.ts';
import { RedisEventLog, type RedisEventLogOptions } from './redis-log.ts';
import { replayLastId } from './stream-id.ts';

/** Every key this file creates starts with this prefix; afterAll deletes them all. */
const prefix = `es-test-${process.pid}-${Date.now().toString(36)}`;
// The SIGKILL case's child process builds its log from these (brokers/redis/test-factory.ts).
process.env.ES_REDIS_TEST_PREFIX = prefix;
process.env.ES_TEST_REDIS_URL = engines.redis.url;

const quiet = { warn: () => undefined };
let counter = 0;
const unique = (what: string) => `${what}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

async function deleteKeys(url: string, pattern: string): Promise<void> {
  const client = new Redis(url, { protocol: 2, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** Field list `[name, value, ...]` of an entry as a map (values as Buffers). */
function fieldMap(fields: Buffer[]): Map<string, Buffer> {
  const map = new Map<string, Buffer>();
  for (let i = 0; i < fields.length; i += 2) map.set(fields[i]!.toString(), fields[i + 1]!);
  return map;
}

await describeWithEngine('redis', 'RedisEventLog', () => {
  afterAll(() => deleteKeys(engines.redis.url, `${prefix}:*`));

  runEventLogConformance('redis', async () => new RedisEventLog({ url: engines.redis.url, prefix, logger: quiet }), {
    childFactory: {
      module: fileURLToPath(new URL('./test-factory.ts', import.meta.url)),
      exportName: 'makeChildLog',
    },
  });

  describe('redis specifics', () => {
    const logs: RedisEventLog[] = [];
    const clients: Redis[] = [];
    const open = (options: RedisEventLogOptions = {}) => {
      const log = new RedisEventLog({ url: engines.redis.url, prefix, logger: quiet, ...options });
      logs.push(log);
      return log;
    };
    const raw = () => {
      const client = new Redis(engines.redis.url, { protocol: 2 });
      clients.push(client);
      return client;
    };
    afterEach(async () => {
      await Promise.all(logs.splice(0).map((log) => log.close(100)));
      for (const client of clients.splice(0)) client.disconnect();
    });

    it('a handler running past livenessMs keeps its entry until its ackWaitMs: no takeover meanwhile', async () => {
      const log = open({ livenessMs: 300 });
      const other = open({ livenessMs: 300 });
      const topic = `live-${Date.now().toString(36)}`;
      const group = `g-${Date.now().toString(36)}`;
      await log.ensureTopic(topic);
      const rec = recorder(() => sleep(1500));
      const sub = await log.subscribe(topic, group, rec.handler, { ackWaitMs: 10_000 });
      const thief = recorder();
      const sub2 = await other.subscribe(topic, group, thief.handler, { ackWaitMs: 10_000 });
      await log.append(topic, events('live', 3));
      await waitFor(() => rec.deliveries.length + thief.deliveries.length >= 3, 5000, '3 deliveries');
      await sleep(2500);
      await Promise.all([sub.close(2000), sub2.close(2000)]);
      const all = [...rec.deliveries, ...thief.deliveries];
      expect(all.map((d) => d.deliveryCount)).toEqual([1, 1, 1]);
    });

    it('stores an event as ce_* fields plus data that a plain XRANGE reads as a valid CloudEvent', async () => {
      const log = open();
      const topic = unique('raw-read');
      const data = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13]);
      await log.append(topic, [
        {
          attributes: {
            specversion: '1.0',
            id: 'plain-1',
            source: '/plain',
            type: 'dev.example.plain',
            datacontenttype: 'application/octet-stream',
            subject: 'ünïcode ✓',
            partitionkey: 'pk-1',
            extnumber: 42,
          },
          data,
        },
      ]);
      const entries = await raw().xrangeBuffer(streamKey(prefix, topic), '-', '+');
      expect(entries).toHaveLength(1);
      const [id, fields] = entries[0]!;
      expect(id.toString()).toMatch(/^\d+-\d+$/);
      const map = fieldMap(fields);
      expect([...map.keys()].sort()).toEqual(
        [
          'ce_specversion',
          'ce_id',
          'ce_source',
          'ce_type',
          'ce_datacontenttype',
          'ce_subject',
          'ce_partitionkey',
          'ce_extnumber',
          'data',
        ].sort(),
      );
      const attributes: Record<string, string> = {};
      for (const [name, value] of map) if (name.startsWith('ce_')) attributes[name.slice(3)] = value.toString('utf8');
      // An independent implementation (the CloudEvents JS SDK) accepts what a plain client reads back.
      const event = new SdkCloudEvent({ ...attributes, data: map.get('data') });
      expect(event.validate()).toBe(true);
      expect(event.id).toBe('plain-1');
      expect(event.subject).toBe('ünïcode ✓');
      expect(event.datacontenttype).toBe('application/octet-stream');
      expect(map.get('data')!.equals(data)).toBe(true);
      expect(attributes.extnumber).toBe('42');
    });

    it('stores every size of data and long attribute lists byte for byte', async () => {
      const log = open();
      const topic = unique('sizes');
      const sizes = [1, 31, 32, 255, 256, 65_535, 65_536, 300_000];
      const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`ext${i}`, 'v'.repeat(i * 20)]));
      const sent = sizes.map((size, i) => ({
        attributes: { specversion: '1.0', id: `size-${i}`, source: '/sizes', type: 't', ...(i === 0 ? many : {}) },
        data: Buffer.from(Array.from({ length: size }, (_, j) => (j * 7 + i) & 0xff)),
      }));
      await Promise.all(sent.map((event) => log.append(topic, [event])));
      const entries = await raw().xrangeBuffer(streamKey(prefix, topic), '-', '+');
      expect(entries).toHaveLength(sizes.length);
      for (const [, fields] of entries) {
        const map = fieldMap(fields);
        const original = sent.find((e) => e.attributes.id === map.get('ce_id')!.toString())!;
        expect(map.get('data')!.equals(original.data)).toBe(true);
        for (const [name, value] of Object.entries(original.attributes)) {
          expect(map.get(`ce_${name}`)?.toString()).toBe(value);
        }
      }
    });

    it('delivers an event a plain client XADDs in the same format', async () => {
      const log = open();
      const topic = unique('raw-write');
      const rec = recorder();
      const sub = await log.subscribe(topic, 'g', rec.handler);
      const data = Buffer.from('{"hello":"wörld"}');
      await raw().xadd(
        streamKey(prefix, topic),
        '*',
        'ce_specversion',
        '1.0',
        'ce_id',
        'from-redis-cli',
        'ce_source',
        '/redis-cli',
        'ce_type',
        'dev.example.raw',
        'ce_datacontenttype',
        'application/json',
        'ce_myext',
        'value',
        'other',
        'ignored',
        'data',
        data,
      );
      await waitFor(() => rec.deliveries.length === 1, 5000, 'the raw event');
      await sub.close();
      const got = rec.deliveries[0]!.event;
      expect(got.attributes).toEqual({
        specversion: '1.0',
        id: 'from-redis-cli',
        source: '/redis-cli',
        type: 'dev.example.raw',
        datacontenttype: 'application/json',
        myext: 'value',
      });
      expect(got.data?.equals(data)).toBe(true);
    });

    it('acknowledges and skips an entry that is not a CloudEvent, with a warning', async () => {
      const warnings: string[] = [];
      const log = open({ logger: { warn: (_details, message) => warnings.push(message) } });
      const topic = unique('junk');
      const group = unique('g');
      const rec = recorder();
      const sub = await log.subscribe(topic, group, rec.handler);
      await raw().xadd(streamKey(prefix, topic), '*', 'ce_id', 'no-type-or-source', 'data', 'x');
      await log.append(topic, events('after-junk', 1));
      await waitFor(() => rec.deliveries.length === 1, 5000, 'the valid event');
      await waitFor(async () => (await log.lag(topic, group)) === 0, 5000, 'lag 0');
      await sub.close();
      expect(rec.ids()).toEqual(['after-junk-0']);
      expect(warnings.join('\n')).toMatch(/not a CloudEvent/);
    });

    it('maps topics and groups to `<prefix>:stream:<topic>` and `<prefix>:<group>`', async () => {
      const log = open();
      const topic = unique('default.my-broker');
      const group = unique('default/my trigger');
      await createGroup(log, topic, group);
      const groups = (await raw().xinfo('GROUPS', streamKey(prefix, topic))) as unknown[][];
      expect(groups.map((g) => g[1])).toEqual([groupName(prefix, group)]);
    });

    it('takes over entries a dead consumer held once they were idle for ackWaitMs (XAUTOCLAIM)', async () => {
      const log = open();
      const topic = unique('dead');
      const group = unique('g');
      await createGroup(log, topic, group);
      const sent = events('held', 5);
      await log.append(topic, sent);
      // A consumer that reads and then dies without acknowledging.
      const key = streamKey(prefix, topic);
      const taken = await raw().xreadgroup(
        'GROUP',
        groupName(prefix, group),
        'dead-one',
        'COUNT',
        3,
        'STREAMS',
        key,
        '>',
      );
      expect((taken as [string, unknown[]][])[0]![1]).toHaveLength(3);
      const started = Date.now();
      const rec = recorder();
      const sub = await log.subscribe(topic, group, rec.handler, { ackWaitMs: 400, maxInFlight: 10 });
      await waitFor(() => rec.deliveries.length >= 5, 5000, 'all 5 events');
      await waitFor(async () => (await log.lag(topic, group)) === 0, 5000, 'lag 0');
      await sub.close();
      expect(rec.ids().sort()).toEqual(ids(sent).sort());
      const takenOver = rec.deliveries.filter((d) => d.deliveryCount === 2);
      expect(takenOver.map((d) => d.id)).toEqual(['held-0', 'held-1', 'held-2']);
      expect(Math.min(...takenOver.map((d) => d.at)) - started).toBeGreaterThanOrEqual(300);
      expect(rec.deliveries.filter((d) => d.deliveryCount === 1).map((d) => d.id)).toEqual(['held-3', 'held-4']);
    });

    it('after its read connection drops, a subscriber takes back what was delivered to it but never seen', async () => {
      const log = open();
      const topic = unique('lost-reply');
      const group = unique('g');
      const hold = gate();
      const rec = recorder((event) => (event.attributes.id === 'seen-0' ? hold.promise : undefined));
      const sub = await log.subscribe(topic, group, rec.handler, { ackWaitMs: 60_000, maxInFlight: 1 });
      const key = streamKey(prefix, topic);
      const admin = raw();
      await log.append(topic, events('seen', 1));
      // The subscriber is busy (maxInFlight 1), so it does not read what comes next.
      await waitFor(() => rec.deliveries.length === 1, 5000, 'the first event');
      const consumers = (await admin.xinfo('CONSUMERS', key, groupName(prefix, group))) as unknown[][];
      const consumer = String(consumers[0]![1]);
      // Deliver to that consumer behind its back: what a read whose reply is lost with the connection leaves behind.
      await log.append(topic, events('lost', 2));
      await admin.xreadgroup('GROUP', groupName(prefix, group), consumer, 'COUNT', 2, 'STREAMS', key, '>');
      const clientList = await admin.client('LIST');
      const reader = String(clientList)
        .split('\n')
        .find((line) => line.includes(`name=${prefix}:reader:${consumer}`));
      const readerId = /\bid=(\d+)/.exec(reader ?? '')?.[1];
      expect(readerId).toBeDefined();
      await admin.client('KILL', 'ID', readerId!);
      await waitFor(
        async () => String(await admin.client('LIST')).includes(`name=${prefix}:reader:${consumer}`),
        5000,
        'the reconnect',
      );
      hold.open();
      await waitFor(() => rec.deliveries.length >= 3, 5000, 'the lost events, long before the 60 s ack wait');
      await waitFor(async () => (await log.lag(topic, group)) === 0, 5000, 'lag 0');
      await sub.close();
      expect(rec.deliveries.slice(1).map((d) => [d.id, d.deliveryCount])).toEqual([
        ['lost-0', 2],
        ['lost-1', 2],
      ]);
    });

    it("appendWith 'xadd' stores concurrent and multi-event appends in order, as plain XADD entries", async () => {
      for (const appendWith of ['script', 'xadd'] as const) {
        const log = open({ appendWith, maxEntries: 10_000 });
        const topic = unique(`mode-${appendWith}`);
        const singles = events('s', 20);
        const batch = events('m', 10);
        await Promise.all([...singles.map((event) => log.append(topic, [event])), log.append(topic, batch)]);
        await log.append(topic, events('last', 1));
        const stored = await raw().xrange(streamKey(prefix, topic), '-', '+');
        const storedIds = stored.map(([, fields]) => fields[fields.indexOf('ce_id') + 1]);
        expect(storedIds, appendWith).toEqual([...ids(singles), ...ids(batch), 'last-0']);
      }
    });

    it('trims by count with MAXLEN ~ at every append', async () => {
      const log = open({ maxEntries: 50 });
      const topic = unique('trim-count');
      for (let i = 0; i < 20; i++) await log.append(topic, events(`c${i}`, 25));
      const length = await raw().xlen(streamKey(prefix, topic));
      // Approximate trimming drops whole nodes (100 entries each by default): more than 50 may stay, never 500.
      expect(length).toBeGreaterThanOrEqual(50);
      expect(length).toBeLessThan(250);
    });

    it('trims by age with MINID ~ (at append, or by XTRIM when a count bound is set too)', async () => {
      for (const maxEntries of [null, 1_000_000]) {
        const log = open({ maxEntries, maxAgeMs: 300, ageTrimEveryMs: 1 });
        const topic = unique('trim-age');
        const key = streamKey(prefix, topic);
        await log.append(topic, events('old', 250));
        await sleep(450);
        await log.append(topic, events('new', 1));
        await waitFor(
          async () => (await raw().xlen(key)) < 251,
          2000,
          `old entries trimmed (maxEntries ${maxEntries})`,
        );
        const [first] = await raw().xrange(key, '-', '+', 'COUNT', 1);
        // Whole nodes older than the bound are gone; the node holding the new entry may keep some old ones.
        expect(Number(first![0].split('-')[0])).toBeGreaterThan(Date.now() - 5000);
        const last = await raw().xrevrange(key, '+', '-', 'COUNT', 1);
        expect(
          fieldMap(last[0]![1].map((v) => Buffer.from(v)))
            .get('ce_id')!
            .toString(),
        ).toBe('new-0');
      }
    });

    it('keepTopicOnDelete leaves the stream and foreign groups, and destroys its own groups', async () => {
      const log = open({ keepTopicOnDelete: true });
      const topic = unique('kept');
      const group = unique('g');
      const key = streamKey(prefix, topic);
      await log.ensureTopic(topic);
      await createGroup(log, topic, group);
      await raw().xgroup('CREATE', key, 'someone-else', '0');
      await log.append(topic, events('k', 3));
      await log.deleteTopic(topic);
      await log.deleteTopic(topic);
      expect(await raw().xlen(key)).toBe(3);
      const groups = (await raw().xinfo('GROUPS', key)) as unknown[][];
      expect(groups.map((g) => g[1])).toEqual(['someone-else']);
      expect(await log.lag(topic, group)).toBe(0);
    });

    it('ensureTopic creates an empty stream; deleteTopic without keepTopicOnDelete deletes the key', async () => {
      const log = open();
      const topic = unique('ensure');
      const key = streamKey(prefix, topic);
      await log.ensureTopic(topic);
      expect(await raw().type(key)).toBe('stream');
      expect(await raw().xlen(key)).toBe(0);
      expect(await raw().xinfo('GROUPS', key)).toEqual([]);
      await log.deleteTopic(topic);
      expect(await raw().exists(key)).toBe(0);
    });

    it('a blocked subscriber does not delay appends (separate connections)', async () => {
      const log = open({ blockMs: 10_000 });
      const topic = unique('block');
      const subs = await Promise.all(
        Array.from({ length: 5 }, (_, i) => log.subscribe(topic, `g${i}`, async () => undefined)),
      );
      await sleep(50);
      const started = Date.now();
      await log.append(topic, events('b', 1));
      expect(Date.now() - started).toBeLessThan(500);
      const closing = Date.now();
      await Promise.all(subs.map((sub) => sub.close()));
      // CLIENT UNBLOCK ends the 10 s blocking reads at once.
      expect(Date.now() - closing).toBeLessThan(2000);
    });

    it('rejects with BackendUnavailableError within unavailableTimeoutMs when Redis is unreachable', async () => {
      const log = open({ url: 'redis://127.0.0.1:1', unavailableTimeoutMs: 300 });
      const started = Date.now();
      await expect(log.append('t', events('x', 1))).rejects.toBeInstanceOf(BackendUnavailableError);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(2000);
      await expect(log.subscribe('t', 'g', async () => undefined)).rejects.toMatchObject({
        code: 'ES_ERR_BACKEND_UNAVAILABLE',
        retryAfterSeconds: 1,
      });
      expect(log.health().connected).toBe(false);
      expect(log.health().reason).toMatch(/ECONNREFUSED/);
    });
  });
});

describe('redis helpers (no server)', () => {
  it('computes the last-delivered ID that restarts a group at a position, a time or the beginning', () => {
    expect(replayLastId('beginning')).toBe('0-0');
    expect(replayLastId({ position: '1700000000000-5' })).toBe('1700000000000-4');
    expect(replayLastId({ position: '1700000000000-0' })).toBe('1699999999999-18446744073709551615');
    expect(replayLastId({ position: '0-0' })).toBe('0-0');
    expect(replayLastId({ time: new Date(1700000000000) })).toBe('1699999999999-18446744073709551615');
    for (const position of ['nope', '1-2-3', '18446744073709551616-0', '']) {
      expect(() => replayLastId({ position })).toThrow(ElasticServingError);
    }
    expect(() => replayLastId({ time: new Date(Number.NaN) })).toThrow(/invalid replay time/);
  });

  it('encodes every attribute as ce_<name> plus data, and decodes only complete CloudEvents', () => {
    const fields: (string | Buffer | number)[] = [];
    pushFields(
      {
        attributes: { specversion: '1.0', id: '1', source: '/s', type: 't', extnum: 7, extbool: false },
        data: Buffer.from('x'),
      },
      fields,
    );
    expect(fields.map((f) => f.toString())).toEqual([
      'ce_specversion',
      '1.0',
      'ce_id',
      '1',
      'ce_source',
      '/s',
      'ce_type',
      't',
      'ce_extnum',
      '7',
      'ce_extbool',
      'false',
      'data',
      'x',
    ]);
    const decoded = decodeFields(fields.map((f) => Buffer.from(f as string | Buffer)));
    expect(decoded?.attributes).toEqual({
      specversion: '1.0',
      id: '1',
      source: '/s',
      type: 't',
      extnum: '7',
      extbool: 'false',
    });
    expect(decoded?.data?.toString()).toBe('x');
    expect(decodeFields([Buffer.from('ce_id'), Buffer.from('1')])).toBeUndefined();
  });
});

describe('RedisEventLog options', () => {
  it('rejects invalid options', () => {
    expect(() => new RedisEventLog({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => new RedisEventLog({ reconnectMinMs: 500, reconnectMaxMs: 100 })).toThrow(/reconnectMaxMs/);
  });

  it('is named redis and durable (events live in Redis, not in this process)', async () => {
    const log = new RedisEventLog({ url: 'redis://127.0.0.1:1', logger: quiet });
    expect(log.name).toBe('redis');
    expect(log.durable).toBe(true);
    await log.close(0);
    await expect(log.append('t', events('x', 1))).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(log.health()).toMatchObject({ connected: false, reason: 'closed' });
  });
});
