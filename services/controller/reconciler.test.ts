import { afterEach, describe, expect, it } from 'vitest';
import { getCondition } from './conditions.ts';
import { MemoryResourceStore } from './memory-store.ts';
import { type Reconciler, runReconciler } from './reconciler.ts';
import type { Resource } from './resources/types.ts';
import { trigger } from './test-fixtures.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const withBroker = (name: string, brokerName: string) =>
  trigger(name, { spec: { broker: brokerName, subscriber: { uri: 'http://x/' } } });
let running: Reconciler | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('runReconciler', () => {
  it('reconciles existing and new objects and writes status without looping', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('a'));
    const calls: string[] = [];
    running = await runReconciler(store, 'triggers', async (obj) => {
      calls.push(`${obj.metadata.name}@${obj.metadata.generation}`);
      return { address: { url: `http://127.0.0.1:8080/${obj.metadata.name}` } };
    });
    await running.idle();
    await store.apply(trigger('b'));
    await running.idle();
    await sleep(20);
    await running.idle();
    expect(calls).toEqual(['a@1', 'b@1']);
    const a = (await store.get({ kind: 'Trigger', name: 'a' }))!;
    expect(a.status).toMatchObject({ observedGeneration: 1, address: { url: 'http://127.0.0.1:8080/a' } });
    expect(getCondition(a.status, 'Ready')?.status).toBe('True');

    // A spec change reconciles again; a status write by someone else does not.
    await store.apply(withBroker('a', 'other'));
    await running.idle();
    const fresh = (await store.get({ kind: 'Trigger', name: 'a' }))!;
    await store.updateStatus({ kind: 'Trigger', name: 'a' }, { ...fresh.status, note: 'x' });
    await sleep(20);
    await running.idle();
    expect(calls).toEqual(['a@1', 'b@1', 'a@2']);
    expect((await store.get({ kind: 'Trigger', name: 'a' }))?.status?.observedGeneration).toBe(2);
  });

  it('never reconciles one object twice at once and collapses bursts onto the latest version', async () => {
    const store = new MemoryResourceStore();
    let inFlight = 0;
    let maxInFlight = 0;
    const seen: number[] = [];
    running = await runReconciler(store, 'Trigger', async (obj) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(30);
      seen.push(obj.metadata.generation!);
      inFlight -= 1;
    });
    await store.apply(withBroker('a', 'b0'));
    await sleep(5);
    for (let i = 1; i <= 5; i++) await store.apply(withBroker('a', `b${i}`));
    await running.idle();
    expect(maxInFlight).toBe(1);
    expect(seen.at(-1)).toBe(6);
    expect(seen.length).toBeLessThanOrEqual(3);
  });

  it('reconciles different objects concurrently up to the limit', async () => {
    const store = new MemoryResourceStore();
    for (const n of ['a', 'b', 'c', 'd']) await store.apply(trigger(n));
    let inFlight = 0;
    let maxInFlight = 0;
    running = await runReconciler(
      store,
      'Trigger',
      async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(20);
        inFlight -= 1;
      },
      undefined,
      { concurrency: 2 },
    );
    await running.idle();
    expect(maxInFlight).toBe(2);
  });

  it('marks Ready=False with the error and retries with backoff until it succeeds', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('a'));
    const times: number[] = [];
    let failUntil = 3;
    running = await runReconciler(
      store,
      'Trigger',
      async () => {
        times.push(Date.now());
        if (times.length < failUntil)
          throw Object.assign(new Error('broker default/default not found'), { reason: 'BrokerMissing' });
      },
      undefined,
      { backoffInitialMs: 40 },
    );
    await expect
      .poll(async () => getCondition((await store.get({ kind: 'Trigger', name: 'a' }))?.status, 'Ready'))
      .toMatchObject({
        status: 'False',
        reason: 'BrokerMissing',
        message: 'broker default/default not found',
      });
    await expect.poll(() => times.length, { timeout: 2000 }).toBe(3);
    await expect
      .poll(async () => getCondition((await store.get({ kind: 'Trigger', name: 'a' }))?.status, 'Ready')?.status)
      .toBe('True');
    // Exponential: ~40 ms, then ~80 ms (the failure status write did not cause an immediate retry).
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(35);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(70);
    failUntil = 0;
  });

  it('calls onDelete with the object as deleted', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('a'));
    const deleted: Resource[] = [];
    running = await runReconciler(
      store,
      'Trigger',
      async () => undefined,
      async (obj) => {
        deleted.push(obj);
      },
    );
    await running.idle();
    await store.delete({ kind: 'Trigger', name: 'a' });
    await running.idle();
    expect(deleted.map((d) => d.metadata.name)).toEqual(['a']);
    expect(deleted[0]?.status?.observedGeneration).toBe(1);
  });

  it('requeues on request and lets a reconcile state Ready itself', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('a'));
    let calls = 0;
    running = await runReconciler(store, 'Trigger', async (_obj, ctx) => {
      calls += 1;
      if (calls < 3) {
        ctx.requeueAfter(10);
        return {
          conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Starting', message: 'waiting for replicas' }],
        };
      }
      return undefined;
    });
    await expect.poll(() => calls).toBe(3);
    await expect
      .poll(async () => getCondition((await store.get({ kind: 'Trigger', name: 'a' }))?.status, 'Ready')?.status)
      .toBe('True');
  });

  it('stops watching when stopped', async () => {
    const store = new MemoryResourceStore();
    let calls = 0;
    const r = await runReconciler(store, 'Trigger', async () => {
      calls += 1;
    });
    await r.stop();
    await store.apply(trigger('a'));
    await sleep(20);
    expect(calls).toBe(0);
  });
});
