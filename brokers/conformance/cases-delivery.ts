import { expect, it } from 'vitest';
import { createGroup, events, gate, ids, newTopic, recorder, type SuiteContext, sleep, waitFor } from './helpers.ts';

/** Subscribe positions, ack/redelivery, ack wait, groups and competing members. */
export function deliveryCases(ctx: SuiteContext): void {
  it("a new group from 'beginning' gets every retained event, in order, once", async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    await createGroup(log, topic, ctx.name('holder'));
    const sent = events('b', 20);
    await log.append(topic, sent.slice(0, 7));
    await log.append(topic, sent.slice(7));
    const rec = recorder();
    const sub = await log.subscribe(topic, ctx.name('g'), rec.handler, { from: 'beginning', maxInFlight: 1 });
    await waitFor(() => rec.deliveries.length >= 20, ctx.ms(5000), '20 deliveries');
    await sleep(ctx.ms(100));
    await sub.close();
    expect(rec.ids()).toEqual(ids(sent));
    expect(rec.deliveries.map((d) => d.deliveryCount)).toEqual(new Array(20).fill(1));
    expect(new Set(rec.deliveries.map((d) => d.position)).size).toBe(20);
  });

  it('a new group starts at the end by default and sees only events appended after it subscribed', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    await createGroup(log, topic, ctx.name('holder'));
    await log.append(topic, events('old', 5));
    const rec = recorder();
    const sub = await log.subscribe(topic, ctx.name('g'), rec.handler);
    const fresh = events('new', 5);
    await log.append(topic, fresh);
    await waitFor(() => rec.deliveries.length >= 5, ctx.ms(5000), '5 deliveries');
    await sleep(ctx.ms(150));
    await sub.close();
    expect(rec.ids().sort()).toEqual(ids(fresh).sort());
  });

  it('an existing group resumes where it was and ignores `from`', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    await createGroup(log, topic, ctx.name('holder'));
    const first = recorder();
    const sub1 = await log.subscribe(topic, group, first.handler);
    await log.append(topic, events('r', 5));
    await waitFor(() => first.deliveries.length >= 5, ctx.ms(5000), 'the first 5 deliveries');
    await sub1.close();
    const later = events('r', 5, undefined, 5);
    await log.append(topic, later);
    const second = recorder();
    const sub2 = await log.subscribe(topic, group, second.handler, { from: 'beginning', maxInFlight: 1 });
    await waitFor(() => second.deliveries.length >= 5, ctx.ms(5000), 'the last 5 deliveries');
    await sleep(ctx.ms(150));
    await sub2.close();
    expect(second.ids()).toEqual(ids(later));
  });

  it('a resolved handler acks; a rejected one is redelivered after redeliveryDelayMs with deliveryCount + 1', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    const delay = ctx.ms(100);
    const failOnce = new Set(['n-2', 'n-4']);
    const rec = recorder((event, info) =>
      failOnce.has(event.attributes.id) && info.deliveryCount === 1 ? Promise.reject(new Error('nope')) : undefined,
    );
    const sub = await log.subscribe(topic, group, rec.handler, { redeliveryDelayMs: delay });
    await log.append(topic, events('n', 5));
    await waitFor(() => rec.deliveries.length >= 7, ctx.ms(5000), '7 deliveries');
    await waitFor(async () => (await log.lag(topic, group)) === 0, ctx.ms(5000), 'lag 0');
    await sleep(ctx.ms(200));
    await sub.close();
    const counts = (id: string) => rec.deliveries.filter((d) => d.id === id).map((d) => d.deliveryCount);
    expect(rec.deliveries).toHaveLength(7);
    for (const id of ['n-0', 'n-1', 'n-3']) expect(counts(id)).toEqual([1]);
    for (const id of failOnce) {
      expect(counts(id)).toEqual([1, 2]);
      const [a, b] = rec.deliveries.filter((d) => d.id === id);
      expect(b!.at - a!.at).toBeGreaterThanOrEqual(delay * 0.9);
      expect(b!.position).toBe(a!.position);
    }
  });

  it('a delivery not settled within ackWaitMs is redelivered', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    const ackWait = ctx.ms(300);
    const hang = gate();
    const rec = recorder((_event, info) => (info.deliveryCount === 1 ? hang.promise : undefined));
    const sub = await log.subscribe(topic, group, rec.handler, { ackWaitMs: ackWait });
    try {
      await log.append(topic, events('w', 1));
      await waitFor(() => rec.deliveries.length >= 2, ackWait + ctx.ms(5000), 'the redelivery');
      await waitFor(async () => (await log.lag(topic, group)) === 0, ctx.ms(5000), 'lag 0');
      const [first, second] = rec.deliveries;
      expect(second!.id).toBe('w-0');
      expect(second!.deliveryCount).toBe(2);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(ackWait * 0.9);
      hang.open();
      await sleep(ctx.ms(100));
      expect(rec.deliveries).toHaveLength(2);
      expect(await log.lag(topic, group)).toBe(0);
    } finally {
      hang.open();
      await sub.close();
    }
  });

  it('every group gets every event', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const a = recorder();
    const b = recorder();
    const subA = await log.subscribe(topic, ctx.name('a'), a.handler);
    const subB = await log.subscribe(topic, ctx.name('b'), b.handler);
    const sent = events('fan', 30);
    await log.append(topic, sent);
    await waitFor(() => a.deliveries.length >= 30 && b.deliveries.length >= 30, ctx.ms(5000), '30 deliveries each');
    await sleep(ctx.ms(100));
    await Promise.all([subA.close(), subB.close()]);
    expect(a.ids().sort()).toEqual(ids(sent).sort());
    expect(b.ids().sort()).toEqual(ids(sent).sort());
  });

  it('members of one group share the work: each event goes to one of them', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    const slow = () => sleep(ctx.ms(5));
    const one = recorder(slow);
    const two = recorder(slow);
    const sub1 = await log.subscribe(topic, group, one.handler, { maxInFlight: 1 });
    const sub2 = await log.subscribe(topic, group, two.handler, { maxInFlight: 1 });
    const sent = events('share', 40);
    await log.append(topic, sent);
    const total = () => one.deliveries.length + two.deliveries.length;
    await waitFor(() => total() >= 40, ctx.ms(10_000), '40 deliveries');
    await waitFor(async () => (await log.lag(topic, group)) === 0, ctx.ms(5000), 'lag 0');
    await sleep(ctx.ms(100));
    await Promise.all([sub1.close(), sub2.close()]);
    expect(total()).toBe(40);
    expect([...one.ids(), ...two.ids()].sort()).toEqual(ids(sent).sort());
    expect(one.deliveries.length).toBeGreaterThan(0);
    expect(two.deliveries.length).toBeGreaterThan(0);
  });

  it('an event still in flight when its subscription closes is delivered again to the group', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    const hang = gate();
    const first = recorder(() => hang.promise);
    const sub1 = await log.subscribe(topic, group, first.handler);
    try {
      await log.append(topic, events('c', 1));
      await waitFor(() => first.deliveries.length === 1, ctx.ms(5000), 'the first delivery');
      await sub1.close(ctx.ms(50));
      const second = recorder();
      const sub2 = await log.subscribe(topic, group, second.handler);
      await waitFor(() => second.deliveries.length >= 1, ctx.ms(5000), 'the redelivery');
      await waitFor(async () => (await log.lag(topic, group)) === 0, ctx.ms(5000), 'lag 0');
      await sub2.close();
      expect(second.ids()).toEqual(['c-0']);
    } finally {
      hang.open();
    }
  });
}
