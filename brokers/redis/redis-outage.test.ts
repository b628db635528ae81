import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { makeEvent } from '../../services/core/cloudevent.ts';
import { BackendFullError, BackendUnavailableError } from '../../services/core/errors.ts';
import { describeWithEngine } from '../../test/support/engines.ts';
import { type PrivateEngine, startPrivateEngine } from '../../test/support/private-engine.ts';
import { events, ids, recorder, sleep, waitFor } from '../conformance/helpers.ts';
import { streamKey } from './options.ts';
import { RedisEventLog } from './redis-log.ts';

/**
 * Outages, on a redis-server of this file's own (deploy/local/services.sh in a temporary directory): it is stopped,
 * started, has its connections killed and its memory limited. The shared server is never touched; the private one
 * keeps nothing on disk and is removed afterwards, keys included.
 */
const prefix = `es-test-${process.pid}-${Date.now().toString(36)}`;
const quiet = { warn: () => undefined };
let counter = 0;
const unique = (what: string) => `${what}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

// Gated on the shared engine: where it runs, services.sh has redis-server installed and starts ours without installing.
await describeWithEngine('redis', 'a private redis-server that stops and starts', () => {
  let server: PrivateEngine | undefined;
  afterAll(async () => {
    await server?.destroy();
  });

  it('loses nothing when every connection is killed repeatedly while events flow', async () => {
    server ??= await startPrivateEngine('redis');
    const log = new RedisEventLog({ url: server.url, prefix, logger: quiet, reconnectMinMs: 20 });
    const admin = new Redis(server.url, { protocol: 2 });
    try {
      const topic = unique('blips');
      const group = unique('g');
      const seen = new Set<string>();
      const sub = await log.subscribe(
        topic,
        group,
        async (event) => {
          seen.add(event.attributes.id);
          await sleep(Math.random() < 0.2 ? 2 : 0);
        },
        { maxInFlight: 20 },
      );
      const sent = events('blip', 1500);
      let failures = 0;
      let next = 0;
      let producing = true;
      const producers = Array.from({ length: 16 }, async () => {
        for (let i = next++; i < sent.length; i = next++) {
          // A client resends on 503, as the ingress' clients do.
          for (;;) {
            try {
              await log.append(topic, [sent[i]!]);
              break;
            } catch {
              failures++;
              await sleep(10);
            }
          }
        }
      });
      let kills = 0;
      const killer = (async () => {
        while (producing) {
          await sleep(50);
          kills += Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
        }
      })();
      await Promise.all(producers);
      producing = false;
      await killer;
      await waitFor(() => seen.size === sent.length, 20_000, `all ${sent.length} events (failed appends: ${failures})`);
      await waitFor(async () => (await log.lag(topic, group)) === 0, 10_000, 'lag 0');
      await sub.close();
      expect([...seen].sort()).toEqual(ids(sent).sort());
      expect(kills).toBeGreaterThan(2);
    } finally {
      admin.disconnect();
      await log.close(100);
    }
  });

  it('rejects with BackendFullError when Redis is out of memory, storing nothing of the refused batch', async () => {
    server ??= await startPrivateEngine('redis');
    const log = new RedisEventLog({ url: server.url, prefix, logger: quiet });
    const admin = new Redis(server.url, { protocol: 2 });
    try {
      const topic = unique('oom');
      const key = streamKey(prefix, topic);
      const big = (id: string) => makeEvent({ id, source: '/oom', type: 't' }, Buffer.alloc(1024 * 1024, 1));
      await log.append(topic, [big('a'), big('b'), big('c')]);
      expect(await admin.xlen(key)).toBe(3);
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', String(used - 1024));
      const err = await log.append(topic, [big('d'), big('e'), big('f')]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendFullError);
      expect((err as BackendFullError).statusCode).toBe(503);
      const viaXadd = new RedisEventLog({ url: server.url, prefix, logger: quiet, appendWith: 'xadd' });
      const errXadd = await viaXadd.append(topic, [big('g'), big('h')]).catch((e: unknown) => e);
      await viaXadd.close(0);
      expect(errXadd).toBeInstanceOf(BackendFullError);
      // The refused batch left nothing behind.
      expect(await admin.xlen(key)).toBe(3);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
      await log.close(100);
    }
  });

  it('reports the outage, rejects appends meanwhile, reconnects, and events flow again', async () => {
    server ??= await startPrivateEngine('redis');
    const log = new RedisEventLog({
      url: server.url,
      prefix,
      logger: quiet,
      unavailableTimeoutMs: 500,
      reconnectMaxMs: 500,
    });
    try {
      const topic = unique('restart');
      const group = unique('g');
      const rec = recorder();
      const sub = await log.subscribe(topic, group, rec.handler, { maxInFlight: 5 });
      expect(log.health().connected).toBe(true);
      await log.append(topic, events('before', 3));
      await waitFor(() => rec.deliveries.length === 3, 5000, 'events before the restart');

      await server.stop();
      await waitFor(() => !log.health().connected, 5000, 'health to report the outage');
      expect(log.health().reason).toBeTruthy();
      const started = Date.now();
      await expect(log.append(topic, events('during', 1))).rejects.toBeInstanceOf(BackendUnavailableError);
      expect(Date.now() - started).toBeLessThan(2500);

      await server.start();
      await waitFor(() => log.health().connected, 10_000, 'the reconnect');
      // The server kept nothing (no AOF): stream, group and the 3 earlier entries are gone, as the README says.
      const check = new Redis(server.url, { protocol: 2 });
      try {
        await waitFor(
          async () => {
            await log.append(topic, events('after', 1, undefined, rec.deliveries.length));
            return rec.deliveries.some((d) => d.id.startsWith('after-'));
          },
          15_000,
          'an event appended after the restart to reach the old subscription',
        );
        const stored = await check.xrange(streamKey(prefix, topic), '-', '+');
        expect(stored.some(([, fields]) => fields.includes('before-0'))).toBe(false);
      } finally {
        check.disconnect();
      }
      await waitFor(async () => (await log.lag(topic, group)) === 0, 5000, 'lag 0 after the restart');
      await sub.close();
      expect(rec.ids().filter((id) => id.startsWith('before-'))).toEqual(['before-0', 'before-1', 'before-2']);
    } finally {
      await log.close(100);
    }
  });
});
