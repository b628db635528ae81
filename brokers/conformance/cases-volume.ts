import { expect, it } from 'vitest';
import { EXT_PARTITION_KEY, makeEvent } from '../../services/core/cloudevent.ts';
import { startChildSubscriber } from './child-subscriber-process.ts';
import { events, ids, newTopic, recorder, type SuiteContext, sleep, waitFor } from './helpers.ts';

const MIB = 1024 * 1024;

/** Large events, long runs, concurrent producers and a consumer process that dies. */
export function volumeCases(ctx: SuiteContext): void {
  it('a 1 MiB event is stored and delivered byte for byte', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const rec = recorder();
    const sub = await log.subscribe(topic, ctx.name('g'), rec.handler);
    const data = Buffer.alloc(MIB);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    const big = makeEvent({
      id: 'big-1',
      source: '/conformance',
      type: 't',
      datacontenttype: 'application/octet-stream',
    });
    await log.append(topic, [{ ...big, data }]);
    await waitFor(() => rec.deliveries.length >= 1, ctx.ms(10_000), 'the 1 MiB event');
    await sub.close();
    const got = rec.deliveries[0]!.event.data;
    expect(got?.length).toBe(MIB);
    expect(got?.equals(data)).toBe(true);
  });

  it('10,000 events from 16 concurrent producers: every one delivered, none lost', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    const seen = new Set<string>();
    const sub = await log.subscribe(
      topic,
      group,
      async (event) => {
        seen.add(event.attributes.id);
      },
      { maxInFlight: 100 },
    );
    const producers = 16;
    const perProducer = 625;
    await Promise.all(
      Array.from({ length: producers }, async (_, p) => {
        for (let i = 0; i < perProducer; i += 25) await log.append(topic, events(`v${p}`, 25, undefined, i));
      }),
    );
    await waitFor(() => seen.size >= producers * perProducer, ctx.ms(60_000), `${producers * perProducer} events`);
    await waitFor(async () => (await log.lag(topic, group)) === 0, ctx.ms(10_000), 'lag 0');
    await sub.close();
    expect(seen.size).toBe(10_000);
  });

  it('ordered under concurrency: 50 keys appended by 10 producers at once stay in order per key', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    const perKey = new Map<string, number[]>();
    const busy = new Set<string>();
    const violations: string[] = [];
    let delivered = 0;
    const sub = await log.subscribe(
      topic,
      group,
      async (event) => {
        const key = String(event.attributes[EXT_PARTITION_KEY]);
        if (busy.has(key)) violations.push(`${event.attributes.id} overlapped ${key}`);
        busy.add(key);
        await sleep(Math.random() < 0.1 ? 2 : 0);
        busy.delete(key);
        const seq = Number(event.attributes.seq);
        const list = perKey.get(key) ?? [];
        list.push(seq);
        perKey.set(key, list);
        delivered++;
      },
      { ordered: true, maxInFlight: 20 },
    );
    // Producer p owns keys p, p+10, …: within a key the append order is the sequence number.
    await Promise.all(
      Array.from({ length: 10 }, async (_, p) => {
        for (let seq = 0; seq < 40; seq++) {
          const batch = [0, 1, 2, 3, 4].map((k) => {
            const key = `key-${p + 10 * k}`;
            return makeEvent({
              id: `${key}-${seq}`,
              source: '/conformance',
              type: 't',
              [EXT_PARTITION_KEY]: key,
              seq,
            });
          });
          await log.append(topic, batch);
        }
      }),
    );
    await waitFor(() => delivered >= 2000, ctx.ms(30_000), '2000 deliveries');
    await sub.close();
    expect(violations).toEqual([]);
    expect(perKey.size).toBe(50);
    for (const [key, seqs] of perKey) expect(seqs, key).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  if (ctx.childFactory) {
    it('events held by a consumer process that is killed (SIGKILL) come back within seconds, whatever its ackWaitMs', async () => {
      const log = ctx.log();
      const topic = await newTopic(ctx, log);
      const group = ctx.name('g');
      // The router's ack waits are minutes long: a dead platform's events must not wait for them.
      const ackWaitMs = 600_000;
      const child = await startChildSubscriber(ctx.childFactory!, { topic, group, ackWaitMs, maxInFlight: 5 });
      const sent = events('k', 20);
      try {
        await log.append(topic, sent);
        await child.waitForHeld(5, ctx.ms(15_000));
      } finally {
        child.kill();
      }
      const rec = recorder();
      const sub = await log.subscribe(topic, group, rec.handler, { ackWaitMs, maxInFlight: 5 });
      await waitFor(() => new Set(rec.ids()).size >= 20, ctx.ms(15_000), 'all 20 events after the kill');
      await sub.close();
      expect([...new Set(rec.ids())].sort()).toEqual(ids(sent).sort());
      // Every event the dead process held (never acked) came back.
      const redelivered = new Set(rec.ids());
      expect(child.held().filter((id) => !redelivered.has(id))).toEqual([]);
    });
  }
}
