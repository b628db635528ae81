import { expect, it } from 'vitest';
import { EXT_PARTITION_KEY } from '../../services/core/cloudevent.ts';
import { events, ids, newTopic, type SuiteContext, sleep, waitFor } from './helpers.ts';

/** Ordered delivery per partition key, and the in-flight bound of unordered delivery. */
export function orderingCases(ctx: SuiteContext): void {
  it('ordered: one event in flight per partitionkey, in append order, while keys proceed in parallel', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    const keys = ['k0', 'k1', 'k2', 'k3'];
    // 40 keyed events interleaved across 4 keys, then 6 without a key (one sequence of their own).
    const sent = [...events('o', 40, (i) => ({ [EXT_PARTITION_KEY]: keys[i % 4]! })), ...events('o', 6, undefined, 40)];
    const keyOf = (attrs: Record<string, unknown>) => String(attrs[EXT_PARTITION_KEY] ?? '(none)');
    const active = new Set<string>();
    const violations: string[] = [];
    const started = new Map<string, string[]>();
    let running = 0;
    let maxRunning = 0;
    const failed = new Set<string>();
    const sub = await log.subscribe(
      topic,
      group,
      async (event) => {
        const key = keyOf(event.attributes);
        if (active.has(key)) violations.push(`${event.attributes.id} started while ${key} was busy`);
        active.add(key);
        running++;
        maxRunning = Math.max(maxRunning, running);
        started.set(key, [...(started.get(key) ?? []), event.attributes.id]);
        const index = Number(event.attributes.id.slice(2));
        await sleep(ctx.ms(1 + ((index * 7) % 5)));
        running--;
        active.delete(key);
        // The third k1 event fails once: the rest of k1 must wait for its redelivery.
        if (event.attributes.id === 'o-9' && !failed.has('o-9')) {
          failed.add('o-9');
          throw new Error('fail once');
        }
      },
      { ordered: true, maxInFlight: 8, redeliveryDelayMs: ctx.ms(30) },
    );
    await log.append(topic, sent.slice(0, 23));
    await log.append(topic, sent.slice(23));
    await waitFor(async () => (await log.lag(topic, group)) === 0, ctx.ms(10_000), 'lag 0');
    await sleep(ctx.ms(50));
    await sub.close();
    expect(violations).toEqual([]);
    for (const key of [...keys, '(none)']) {
      const expected = ids(sent.filter((e) => keyOf(e.attributes) === key));
      const got = started.get(key) ?? [];
      const collapsed = got.filter((id, i) => id !== got[i - 1]);
      expect(collapsed, `order of key ${key}`).toEqual(expected);
    }
    expect(started.get('k1')!.filter((id) => id === 'o-9')).toHaveLength(2);
    expect([...started.values()].flat()).toHaveLength(47);
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(5);
  });

  it('unordered: never more than maxInFlight handlers at once, and reaches it', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const seen: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const sub = await log.subscribe(
      topic,
      ctx.name('g'),
      async (event) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        seen.push(event.attributes.id);
        await sleep(ctx.ms(15));
        running--;
      },
      { maxInFlight: 4 },
    );
    const sent = events('u', 40);
    await log.append(topic, sent);
    await waitFor(() => seen.length >= 40 && running === 0, ctx.ms(10_000), '40 deliveries');
    await sub.close();
    expect(maxRunning).toBe(4);
    expect(seen.sort()).toEqual(ids(sent).sort());
  });

  it('unordered: maxInFlight defaults to 50', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    const sub = await log.subscribe(topic, ctx.name('g'), async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(ctx.ms(40));
      running--;
      done++;
    });
    await log.append(topic, events('d', 120));
    await waitFor(() => done >= 120, ctx.ms(10_000), '120 deliveries');
    await sub.close();
    expect(maxRunning).toBe(50);
  });
}
