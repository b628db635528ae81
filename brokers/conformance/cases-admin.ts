import { expect, it } from 'vitest';
import { attributeString, type CloudEvent, makeEvent } from '../../services/core/cloudevent.ts';
import { createGroup, events, gate, ids, newTopic, recorder, type SuiteContext, sleep, waitFor } from './helpers.ts';

/** Lag, replay, dedup, attribute round trip, deletion and close. */
export function adminCases(ctx: SuiteContext): void {
  it('lag counts events appended and not acked (in flight included) and returns to 0', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    await createGroup(log, topic, group);
    await log.append(topic, events('l', 10));
    await waitFor(async () => (await log.lag(topic, group)) === 10, ctx.ms(5000), 'lag 10');
    const hold = gate();
    let started = 0;
    const sub = await log.subscribe(
      topic,
      group,
      async () => {
        started++;
        await hold.promise;
      },
      { maxInFlight: 3 },
    );
    await waitFor(() => started === 3, ctx.ms(5000), '3 handlers in flight');
    expect(await log.lag(topic, group)).toBe(10);
    hold.open();
    await waitFor(async () => (await log.lag(topic, group)) === 0, ctx.ms(5000), 'lag 0');
    await sub.close();
    expect(started).toBe(10);
  });

  it('replay from a delivered position restarts delivery there', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    await createGroup(log, topic, ctx.name('holder'));
    const first = recorder();
    const sub1 = await log.subscribe(topic, group, first.handler, { maxInFlight: 1 });
    const sent = events('p', 10);
    await log.append(topic, sent);
    await waitFor(() => first.deliveries.length >= 10, ctx.ms(5000), '10 deliveries');
    await sub1.close();
    expect(first.ids()).toEqual(ids(sent));
    await log.replay(topic, group, { position: first.deliveries[4]!.position });
    await waitFor(async () => (await log.lag(topic, group)) === 6, ctx.ms(5000), 'lag 6 after replay');
    const second = recorder();
    const sub2 = await log.subscribe(topic, group, second.handler, { maxInFlight: 1 });
    await waitFor(() => second.deliveries.length >= 6, ctx.ms(5000), '6 redeliveries');
    await sleep(ctx.ms(100));
    await sub2.close();
    expect(second.ids()).toEqual(ids(sent.slice(4)));
    expect(second.deliveries.map((d) => d.position)).toEqual(first.deliveries.slice(4).map((d) => d.position));
  });

  it("replay from a time starts at the first event that arrived at or after it; 'beginning' goes back to all", async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    await createGroup(log, topic, ctx.name('holder'));
    await createGroup(log, topic, group);
    const before = events('a', 5);
    const after = events('z', 5);
    await log.append(topic, before);
    await sleep(ctx.ms(60));
    const cut = new Date();
    await sleep(ctx.ms(60));
    await log.append(topic, after);
    await log.replay(topic, group, { time: cut });
    const first = recorder();
    const sub1 = await log.subscribe(topic, group, first.handler, { maxInFlight: 1 });
    await waitFor(() => first.deliveries.length >= 5, ctx.ms(5000), '5 deliveries');
    await sleep(ctx.ms(100));
    await sub1.close();
    expect(first.ids()).toEqual(ids(after));
    await log.replay(topic, group, 'beginning');
    const second = recorder();
    const sub2 = await log.subscribe(topic, group, second.handler, { maxInFlight: 1 });
    await waitFor(() => second.deliveries.length >= 10, ctx.ms(5000), '10 deliveries');
    await sleep(ctx.ms(100));
    await sub2.close();
    expect(second.ids()).toEqual([...ids(before), ...ids(after)]);
  });

  if (ctx.capabilities.dedup)
    it('dedup: an event whose source+id was already stored is dropped', async () => {
      const log = ctx.log();
      const topic = await newTopic(ctx, log);
      const rec = recorder();
      const sub = await log.subscribe(topic, ctx.name('g'), rec.handler, { maxInFlight: 1 });
      const original = makeEvent({ id: 'x1', source: '/s1', type: 't' }, { v: 'original' });
      await log.append(topic, [original, makeEvent({ id: 'x2', source: '/s1', type: 't' })]);
      await log.append(topic, [
        makeEvent({ id: 'x1', source: '/s1', type: 't' }, { v: 'repeat' }),
        makeEvent({ id: 'x1', source: '/s2', type: 't' }),
      ]);
      await log.append(topic, [
        makeEvent({ id: 'x3', source: '/s1', type: 't' }),
        makeEvent({ id: 'x3', source: '/s1', type: 't' }),
      ]);
      await waitFor(() => rec.deliveries.length >= 4, ctx.ms(5000), '4 deliveries');
      await sleep(ctx.ms(200));
      await sub.close();
      expect(rec.deliveries.map((d) => `${d.event.attributes.source} ${d.id}`)).toEqual([
        '/s1 x1',
        '/s1 x2',
        '/s2 x1',
        '/s1 x3',
      ]);
      expect(rec.deliveries[0]!.event.data?.toString()).toBe(JSON.stringify({ v: 'original' }));
    });

  it('data bytes and every attribute round-trip', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const rec = recorder();
    const sub = await log.subscribe(topic, ctx.name('g'), rec.handler, { maxInFlight: 1 });
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const full: CloudEvent = {
      attributes: {
        specversion: '1.0',
        id: 'rt-1',
        source: 'https://example.com/src?a=b&c=d',
        type: 'com.example.Type',
        datacontenttype: 'application/octet-stream',
        dataschema: 'https://example.com/schema',
        subject: 'a subject/with spaces',
        time: '2024-05-01T12:34:56.789Z',
        partitionkey: 'pk',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        exttext: 'héllo ✓ "quoted", 100%',
      },
      data: bytes,
    };
    const bare: CloudEvent = {
      attributes: { specversion: '1.0', id: 'rt-2', source: '/s', type: 't', extnumber: 42, extbool: true },
    };
    await log.append(topic, [full, bare]);
    await waitFor(() => rec.deliveries.length >= 2, ctx.ms(5000), '2 deliveries');
    await sub.close();
    // One has a partition key and one has none: the contract orders events per key only, so look them up by id.
    const byId = new Map(rec.deliveries.map((d) => [d.id, d.event]));
    const [got1, got2] = [byId.get('rt-1'), byId.get('rt-2')];
    const asStrings = (e: CloudEvent) =>
      Object.fromEntries(
        Object.entries(e.attributes)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, attributeString(v!)]),
      );
    expect(got1!.attributes).toEqual(full.attributes);
    expect(got1!.data?.equals(bytes)).toBe(true);
    // Numbers and booleans may come back in their canonical string form (brokers store headers).
    expect(asStrings(got2!)).toEqual(asStrings(bare));
    expect(got2!.data === undefined || got2!.data.length === 0).toBe(true);
  });

  it('deleteGroup removes the group and its position; it is idempotent', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    await createGroup(log, topic, group);
    await log.append(topic, events('dg', 5));
    await waitFor(async () => (await log.lag(topic, group)) === 5, ctx.ms(5000), 'lag 5');
    await log.deleteGroup(topic, group);
    await log.deleteGroup(topic, group);
    await log.deleteGroup(topic, ctx.name('never-existed'));
    expect(await log.lag(topic, group)).toBe(0);
    const rec = recorder();
    const sub = await log.subscribe(topic, group, rec.handler);
    const fresh = events('dg-new', 2);
    await log.append(topic, fresh);
    await waitFor(() => rec.deliveries.length >= 2, ctx.ms(5000), '2 deliveries');
    await sleep(ctx.ms(150));
    await sub.close();
    expect(rec.ids().sort()).toEqual(ids(fresh).sort());
  });

  it('deleteTopic removes its events and groups; ensureTopic and deleteTopic are idempotent', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    const group = ctx.name('g');
    await log.ensureTopic(topic);
    await createGroup(log, topic, group);
    await log.append(topic, events('dt-old', 3));
    await log.deleteTopic(topic);
    await log.deleteTopic(topic);
    expect(await log.lag(topic, group)).toBe(0);
    await log.ensureTopic(topic);
    await createGroup(log, topic, ctx.name('holder'));
    const fresh = events('dt-new', 2);
    await log.append(topic, fresh);
    const rec = recorder();
    const sub = await log.subscribe(topic, ctx.name('g2'), rec.handler, { from: 'beginning', maxInFlight: 1 });
    await waitFor(() => rec.deliveries.length >= 2, ctx.ms(5000), '2 deliveries');
    await sleep(ctx.ms(150));
    await sub.close();
    expect(rec.ids()).toEqual(ids(fresh));
    await log.deleteTopic(topic);
  });

  it('Subscription.close waits for in-flight handlers, then takes no new events', async () => {
    const log = ctx.log();
    const topic = await newTopic(ctx, log);
    let finished = 0;
    const rec = recorder(async () => {
      await sleep(ctx.ms(200));
      finished++;
    });
    const sub = await log.subscribe(topic, ctx.name('g'), rec.handler);
    await log.append(topic, events('sc', 1));
    await waitFor(() => rec.deliveries.length === 1, ctx.ms(5000), 'the delivery');
    const started = Date.now();
    await sub.close(ctx.ms(5000));
    expect(finished).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(ctx.ms(100));
    await log.append(topic, events('sc', 1, undefined, 1));
    await sleep(ctx.ms(200));
    expect(rec.deliveries).toHaveLength(1);
  });

  it('close(graceMs) waits for in-flight handlers, but no longer than the grace', async () => {
    const patient = await ctx.makeLog();
    let finished = 0;
    const topic = await newTopic(ctx, patient);
    const rec = recorder(async () => {
      await sleep(ctx.ms(200));
      finished++;
    });
    await patient.subscribe(topic, ctx.name('g'), rec.handler);
    await patient.append(topic, events('cl', 1));
    await waitFor(() => rec.deliveries.length === 1, ctx.ms(5000), 'the delivery');
    await patient.close(ctx.ms(5000));
    expect(finished).toBe(1);

    const hasty = await ctx.makeLog();
    await hasty.ensureTopic(topic);
    const hang = gate();
    const stuck = recorder(() => hang.promise);
    await hasty.subscribe(topic, ctx.name('g'), stuck.handler);
    await hasty.append(topic, events('cl2', 1));
    await waitFor(() => stuck.deliveries.length === 1, ctx.ms(5000), 'the stuck delivery');
    const started = Date.now();
    await hasty.close(ctx.ms(100));
    const took = Date.now() - started;
    hang.open();
    expect(took).toBeGreaterThanOrEqual(ctx.ms(80));
    expect(took).toBeLessThan(ctx.ms(100) + ctx.ms(2000));
  });
}
