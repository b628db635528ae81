import { afterEach, describe, expect, it } from 'vitest';
import { makeEvent } from '../../services/core/cloudevent.ts';
import { BackendFullError, BackendUnavailableError, ElasticServingError } from '../../services/core/errors.ts';
import { events, gate, recorder, sleep, waitFor } from '../conformance/helpers.ts';
import { runEventLogConformance } from '../conformance/suite.ts';
import { MemoryEventLog } from './memory-log.ts';

runEventLogConformance('memory', async () => new MemoryEventLog(), { capabilities: { dedup: true } });

describe('MemoryEventLog (memory-only behaviour)', () => {
  const logs: MemoryEventLog[] = [];
  const open = (options?: ConstructorParameters<typeof MemoryEventLog>[0]) => {
    const log = new MemoryEventLog(options);
    logs.push(log);
    return log;
  };
  afterEach(async () => {
    await Promise.all(logs.splice(0).map((log) => log.close(100)));
  });

  /** A group that holds every event (no subscriber acks). */
  const hold = async (log: MemoryEventLog, topic: string, group = 'holder') => {
    const sub = await log.subscribe(topic, group, async () => {});
    await sub.close(0);
  };

  it('is named memory and says it is not durable', () => {
    const log = open();
    expect(log.name).toBe('memory');
    expect(log.durable).toBe(false);
  });

  it('refuses an append over maxEvents whole, naming the bound, and stores none of it', async () => {
    const log = open({ maxEvents: 10 });
    await hold(log, 't');
    await log.append('t', events('a', 8));
    const err = await log.append('t', events('b', 3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendFullError);
    expect((err as BackendFullError).message).toContain('maxEvents=10');
    expect((err as BackendFullError).statusCode).toBe(503);
    expect(log.stats().events).toBe(8);
    expect(await log.lag('t', 'holder')).toBe(8);
    await log.append('t', events('c', 2));
    expect(log.stats().events).toBe(10);
  });

  it('refuses an append over maxBytes whole, naming the bound', async () => {
    const log = open({ maxBytes: 2000 });
    await hold(log, 't');
    const big = (id: string) => makeEvent({ id, source: '/s', type: 't' }, Buffer.alloc(900));
    await log.append('t', [big('1'), big('2')]);
    const before = log.stats();
    const err = await log.append('t', [big('3')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendFullError);
    expect((err as Error).message).toContain('maxBytes=2000');
    expect(log.stats()).toEqual(before);
    expect(await log.lag('t', 'holder')).toBe(2);
    // Refused events are not remembered for dedup: the resend is stored once there is room.
    await log.deleteGroup('t', 'holder');
    await hold(log, 't');
    await log.append('t', [big('3')]);
    expect(await log.lag('t', 'holder')).toBe(1);
  });

  it('frees an event (events and bytes) only once every group on the topic has acked it', async () => {
    const log = open();
    const a = recorder();
    const release = gate();
    const b = recorder(() => release.promise);
    const subA = await log.subscribe('t', 'a', a.handler);
    const subB = await log.subscribe('t', 'b', b.handler);
    await log.append('t', events('f', 5));
    expect(log.stats().events).toBe(5);
    expect(log.stats().bytes).toBeGreaterThan(0);
    await waitFor(() => a.deliveries.length === 5 && b.deliveries.length === 5, 2000, 'deliveries');
    await sleep(20);
    expect(await log.lag('t', 'a')).toBe(0);
    expect(log.stats().events).toBe(5);
    release.open();
    await waitFor(async () => (await log.lag('t', 'b')) === 0, 2000, 'group b acked');
    expect(log.stats()).toEqual({ events: 0, bytes: 0 });
    await Promise.all([subA.close(), subB.close()]);
  });

  it('retains nothing for a topic without groups', async () => {
    const log = open();
    await log.ensureTopic('t');
    await log.append('t', events('n', 5));
    expect(log.stats()).toEqual({ events: 0, bytes: 0 });
    const rec = recorder();
    const sub = await log.subscribe('t', 'late', rec.handler, { from: 'beginning' });
    await sleep(30);
    await sub.close();
    expect(rec.deliveries).toHaveLength(0);
  });

  it('deleteGroup and deleteTopic free what they held', async () => {
    const log = open();
    await hold(log, 't', 'g1');
    await hold(log, 't', 'g2');
    await log.append('t', events('d', 4));
    await log.deleteGroup('t', 'g1');
    expect(log.stats().events).toBe(4);
    await log.deleteGroup('t', 'g2');
    expect(log.stats()).toEqual({ events: 0, bytes: 0 });
    await hold(log, 'u');
    await log.append('u', events('e', 3));
    await log.deleteTopic('u');
    expect(log.stats()).toEqual({ events: 0, bytes: 0 });
  });

  it('replay cannot reach freed events and clamps to the oldest retained one', async () => {
    const log = open();
    const rec = recorder();
    const sub = await log.subscribe('t', 'g', rec.handler, { maxInFlight: 1 });
    await log.append('t', events('r', 3));
    await waitFor(() => rec.deliveries.length === 3, 2000, 'deliveries');
    await sub.close();
    await hold(log, 't', 'keeper');
    await log.append('t', events('r', 2, undefined, 3));
    await log.replay('t', 'g', { position: '1' });
    expect(await log.lag('t', 'g')).toBe(2);
    await expect(log.replay('t', 'g', { position: 'nope' })).rejects.toBeInstanceOf(ElasticServingError);
  });

  it('forgets dedup keys beyond dedupWindow; dedupWindow 0 turns dedup off', async () => {
    const log = open({ dedupWindow: 2 });
    await hold(log, 't');
    const e = (id: string) => makeEvent({ id, source: '/s', type: 't' });
    await log.append('t', [e('1'), e('2'), e('1')]);
    expect(await log.lag('t', 'holder')).toBe(2);
    await log.append('t', [e('3')]);
    await log.append('t', [e('1')]);
    expect(await log.lag('t', 'holder')).toBe(4);
    const plain = open({ dedupWindow: 0 });
    await hold(plain, 't');
    await plain.append('t', [e('1'), e('1')]);
    expect(await plain.lag('t', 'holder')).toBe(2);
  });

  it('gives each delivery its own attribute map', async () => {
    const log = open();
    const seen: (string | number | boolean | undefined)[] = [];
    const mutate = async (event: { attributes: Record<string, unknown> }) => {
      seen.push(event.attributes.knativebrokerttl as number);
      delete event.attributes.knativebrokerttl;
    };
    const subA = await log.subscribe('t', 'a', mutate);
    const subB = await log.subscribe('t', 'b', mutate);
    await log.append('t', [makeEvent({ id: '1', source: '/s', type: 't', knativebrokerttl: 255 })]);
    await waitFor(() => seen.length === 2, 2000, 'deliveries');
    expect(seen).toEqual([255, 255]);
    await Promise.all([subA.close(), subB.close()]);
  });

  it('refuses to mix ordered and unordered subscriptions in one group, but switches when idle', async () => {
    const log = open();
    const sub = await log.subscribe('t', 'g', async () => {});
    await expect(log.subscribe('t', 'g', async () => {}, { ordered: true })).rejects.toMatchObject({
      code: 'ES_ERR_CONFLICT',
    });
    await sub.close();
    const ordered = await log.subscribe('t', 'g', async () => {}, { ordered: true });
    await ordered.close();
  });

  it('rejects invalid options and use after close', async () => {
    expect(() => new MemoryEventLog({ maxEvents: 0 })).toThrow(/maxEvents/);
    const log = open();
    await expect(log.subscribe('t', 'g', async () => {}, { maxInFlight: 0 })).rejects.toThrow(/maxInFlight/);
    await log.close();
    await expect(log.append('t', events('x', 1))).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(log.subscribe('t', 'g', async () => {})).rejects.toBeInstanceOf(BackendUnavailableError);
  });
});

describe('memory back-pressure', () => {
  it('holds an append at the high-water mark until consumers catch up, then stores it', async () => {
    const log = new MemoryEventLog({ highWaterEvents: 2, highWaterWaitMs: 5_000 });
    await log.ensureTopic('hw');
    const release: (() => void)[] = [];
    await log.subscribe('hw', 'g', () => new Promise<void>((r) => release.push(r)), { maxInFlight: 10 });
    const ev = (id: string) => ({ attributes: { specversion: '1.0', id, source: 's', type: 't' } });
    await log.append('hw', [ev('1'), ev('2')]);
    let third = false;
    const pending = log.append('hw', [ev('3')]).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(third).toBe(false);
    release.shift()!();
    await pending;
    expect(third).toBe(true);
    expect(log.stats().events).toBe(2);
    for (const r of release.splice(0)) r();
    await log.close(0);
  });

  it('goes ahead after highWaterWaitMs when nobody catches up', async () => {
    const log = new MemoryEventLog({ highWaterEvents: 1, highWaterWaitMs: 30 });
    await log.ensureTopic('hw2');
    await log.subscribe('hw2', 'g', () => new Promise<void>(() => undefined));
    const ev = (id: string) => ({ attributes: { specversion: '1.0', id, source: 's', type: 't' } });
    await log.append('hw2', [ev('1')]);
    const started = Date.now();
    await log.append('hw2', [ev('2')]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(log.stats().events).toBe(2);
    await log.close(0);
  });
});
