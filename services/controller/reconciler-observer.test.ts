import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildControlApi } from './api.ts';
import { getCondition } from './conditions.ts';
import { FileResourceStore } from './file-store.ts';
import { MemoryResourceStore } from './memory-store.ts';
import { type Reconciler, runReconciler } from './reconciler.ts';
import { RemoteResourceStore } from './remote-store.ts';
import { eventually } from './store-suite.ts';
import { trigger } from './test-fixtures.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const track = (r: Reconciler) => {
  cleanups.push(() => r.stop());
  return r;
};

describe('runReconciler with writeStatus: false', () => {
  it('reconciles and retries failures without ever writing status', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('a'));
    let calls = 0;
    const deleted: string[] = [];
    track(
      await runReconciler(
        store,
        'Trigger',
        async () => {
          calls += 1;
          if (calls < 3) throw new Error('not yet');
          return { address: { url: 'http://x/' } };
        },
        async (obj) => {
          deleted.push(obj.metadata.name);
        },
        { writeStatus: false, backoffInitialMs: 5 },
      ),
    );
    await eventually(() => expect(calls).toBe(3));
    const a = (await store.get({ kind: 'Trigger', name: 'a' }))!;
    expect(a.status).toBeUndefined();
    expect(a.metadata.resourceVersion).toBe('1');
    await store.delete({ kind: 'Trigger', name: 'a' });
    await eventually(() => expect(deleted).toEqual(['a']));
    expect(store.resourceVersion).toBe('2');
  });

  it('lets an observer in one process act on objects whose status another process owns', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'es-observer-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const api = buildControlApi({ store: await FileResourceStore.open({ dir }) });
    await api.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => api.close());
    const server = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    const owner = new RemoteResourceStore({ server });
    const observerStore = new RemoteResourceStore({ server });
    cleanups.push(
      () => owner.close(),
      () => observerStore.close(),
    );

    const observed: string[] = [];
    const statusWrites: string[] = [];
    track(
      await runReconciler(
        owner,
        'Trigger',
        async (t) => {
          statusWrites.push(t.metadata.name);
          return { address: { url: `http://ingress/${t.metadata.name}` } };
        },
        undefined,
      ),
    );
    track(
      await runReconciler(
        observerStore,
        'Trigger',
        async (t) => {
          observed.push(`${t.metadata.name}@${t.metadata.generation}`);
        },
        undefined,
        { writeStatus: false },
      ),
    );
    await owner.apply(trigger('a'));
    await eventually(async () => {
      const a = await owner.get({ kind: 'Trigger', name: 'a' });
      expect(getCondition(a?.status, 'Ready')?.status).toBe('True');
    });
    await eventually(() => expect(observed).toEqual(['a@1']));
    // The owner's status write is a MODIFIED the observer sees, but it changes nothing it acts on.
    await new Promise((r) => setTimeout(r, 100));
    expect(observed).toEqual(['a@1']);
    const a = (await owner.get({ kind: 'Trigger', name: 'a' }))!;
    expect(a.metadata.resourceVersion).toBe('2');
    expect(a.status?.address).toEqual({ url: 'http://ingress/a' });
    expect(statusWrites).toEqual(['a']);
  });
});
