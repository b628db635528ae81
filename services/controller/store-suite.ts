import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidResourceError } from '../core/errors.ts';
import { AlreadyExistsError, ConflictError, NotFoundError } from './errors.ts';
import type { ResourceStore, WatchEvent, WatchHandle } from './store.ts';
import { broker, trigger } from './test-fixtures.ts';

/** A store under test and how to dispose of it. */
export interface StoreUnderTest {
  store: ResourceStore;
  /** Releases the store and whatever serves it. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` stops throwing (watches over HTTP deliver a little later than in-process ones). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(10);
    }
  }
}

const line = (e: WatchEvent) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`;

/**
 * The ResourceStore contract (services/controller/store.ts) as one suite, run against every implementation so a
 * reconciler cannot tell them apart: get/list, apply modes and dry runs, optimistic concurrency, status writes,
 * delete, and watches (initial state, live changes, namespace filter, resume from a resourceVersion).
 */
export function describeResourceStore(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`ResourceStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: ResourceStore;
    const handles: WatchHandle[] = [];
    beforeEach(async () => {
      sut = await open();
      store = sut.store;
    });
    afterEach(async () => {
      for (const h of handles.splice(0)) h.close();
      await sut.close();
    });

    it('gets, lists (sorted, by namespace, group-agnostic) and reports the list version', async () => {
      await store.apply(trigger('b'));
      await store.apply(trigger('a'));
      await store.apply(trigger('z', { apiVersion: 'eventing.elastic-serving.dev/v1', namespace: 'team' }));
      await store.apply(broker('default'));
      const all = await store.list('Trigger');
      expect(all.items.map((t) => `${t.metadata.namespace}/${t.metadata.name}`)).toEqual([
        'default/a',
        'default/b',
        'team/z',
      ]);
      expect(all.resourceVersion).toBe('4');
      expect((await store.list('triggers', 'team')).items.map((t) => t.apiVersion)).toEqual([
        'eventing.elastic-serving.dev/v1',
      ]);
      const a = await store.get({ kind: 'Trigger', name: 'a' });
      expect(a).toMatchObject({ kind: 'Trigger', metadata: { name: 'a', namespace: 'default', resourceVersion: '2' } });
      expect(await store.get({ kind: 'Trigger', name: 'missing' })).toBeUndefined();
      expect(await store.get({ kind: 'Trigger', name: 'z', namespace: 'team' })).toBeDefined();
    });

    it('applies in create/update/apply modes, keeps no-op writes, and validates', async () => {
      const a = await store.apply(trigger('a'), { mode: 'create' });
      expect(a.metadata).toMatchObject({ resourceVersion: '1', generation: 1 });
      await expect(store.apply(trigger('a'), { mode: 'create' })).rejects.toBeInstanceOf(AlreadyExistsError);
      await expect(store.apply(trigger('nope'), { mode: 'update' })).rejects.toBeInstanceOf(NotFoundError);
      const same = await store.apply(trigger('a'));
      expect(same.metadata.resourceVersion).toBe('1');
      const changed = await store.apply(trigger('a', { spec: { broker: 'b2', subscriber: { uri: 'http://x/' } } }), {
        mode: 'update',
      });
      expect(changed.metadata).toMatchObject({ resourceVersion: '2', generation: 2, uid: a.metadata.uid });
      const dry = await store.apply(trigger('d'), { dryRun: true });
      expect(dry.metadata.name).toBe('d');
      expect(await store.get({ kind: 'Trigger', name: 'd' })).toBeUndefined();
      const invalid = store.apply({ ...trigger('c'), spec: {} });
      await expect(invalid).rejects.toBeInstanceOf(InvalidResourceError);
      await expect(invalid).rejects.toMatchObject({ statusCode: 422 });
    });

    it('enforces resourceVersion preconditions with ConflictError (409)', async () => {
      const a = await store.apply(trigger('a'));
      const stale = trigger('a', { spec: { broker: 'x', subscriber: { uri: 'http://x/' } } });
      stale.metadata.resourceVersion = '999';
      await expect(store.apply(stale)).rejects.toBeInstanceOf(ConflictError);
      stale.metadata.resourceVersion = a.metadata.resourceVersion;
      await store.apply(stale);
      stale.spec = { broker: 'y', subscriber: { uri: 'http://x/' } };
      const err = await store.apply(stale).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ statusCode: 409, reason: 'Conflict', kind: 'Trigger', resourceName: 'a' });
      await expect(
        store.updateStatus({ kind: 'Trigger', name: 'a' }, { observedGeneration: 1 }, { resourceVersion: '1' }),
      ).rejects.toBeInstanceOf(ConflictError);
      await expect(store.delete({ kind: 'Trigger', name: 'a' }, { resourceVersion: '1' })).rejects.toBeInstanceOf(
        ConflictError,
      );
    });

    it('writes status only: resourceVersion bumps, generation does not, apply keeps it', async () => {
      await store.apply(trigger('a'));
      const s = await store.updateStatus({ kind: 'Trigger', name: 'a' }, { observedGeneration: 1, conditions: [] });
      expect(s.metadata).toMatchObject({ resourceVersion: '2', generation: 1 });
      expect(s.status).toEqual({ observedGeneration: 1, conditions: [] });
      const same = await store.updateStatus(
        { kind: 'Trigger', name: 'a' },
        { conditions: [], observedGeneration: 1 },
        { resourceVersion: '2' },
      );
      expect(same.metadata.resourceVersion).toBe('2');
      const re = await store.apply(trigger('a', { spec: { broker: 'b2', subscriber: { uri: 'http://x/' } } }));
      expect(re.status).toEqual({ observedGeneration: 1, conditions: [] });
      await expect(store.updateStatus({ kind: 'Trigger', name: 'nope' }, {})).rejects.toBeInstanceOf(NotFoundError);
    });

    it('deletes, returning the object with its final version; dry runs keep it', async () => {
      await store.apply(trigger('a'));
      const kept = await store.delete({ kind: 'Trigger', name: 'a' }, { dryRun: true });
      expect(kept.metadata.name).toBe('a');
      expect(await store.get({ kind: 'Trigger', name: 'a' })).toBeDefined();
      const gone = await store.delete({ kind: 'triggers', name: 'a' }, { resourceVersion: '1' });
      expect(gone.metadata).toMatchObject({ name: 'a', resourceVersion: '2' });
      expect(await store.get({ kind: 'Trigger', name: 'a' })).toBeUndefined();
      await expect(store.delete({ kind: 'Trigger', name: 'a' })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('watches: existing objects as ADDED, then MODIFIED/DELETED in order, by kind and namespace', async () => {
      await store.apply(trigger('a'));
      await store.apply(trigger('x', { namespace: 'other' }));
      const seen: string[] = [];
      handles.push(await store.watch('triggers', (e) => seen.push(line(e)), { namespace: 'default' }));
      const all: string[] = [];
      handles.push(await store.watch('Trigger', (e) => all.push(line(e))));
      await store.apply(broker('default'));
      await store.apply(trigger('b'));
      await store.updateStatus({ kind: 'Trigger', name: 'b' }, { observedGeneration: 1 });
      await store.apply(trigger('y', { namespace: 'other' }));
      await store.delete({ kind: 'Trigger', name: 'a' });
      const expected = ['ADDED default/a', 'ADDED default/b', 'MODIFIED default/b', 'DELETED default/a'];
      await eventually(() => expect(seen).toEqual(expected));
      await eventually(() => expect(all).toHaveLength(6));
      expect(all.slice(0, 2).sort()).toEqual(['ADDED default/a', 'ADDED other/x']);
      handles.pop()!.close();
      handles.pop()!.close();
      await store.apply(trigger('c'));
      await sleep(50);
      expect(seen).toEqual(expected);
    });

    it('resumes a watch after a resourceVersion: only later changes, then live ones', async () => {
      for (const n of ['a', 'b', 'c']) await store.apply(trigger(n));
      await store.updateStatus({ kind: 'Trigger', name: 'a' }, { observedGeneration: 1 });
      const seen: string[] = [];
      handles.push(await store.watch('Trigger', (e) => seen.push(line(e)), { resourceVersion: '2' }));
      await eventually(() => expect(seen).toEqual(['ADDED default/c', 'MODIFIED default/a']));
      await store.delete({ kind: 'Trigger', name: 'b' });
      await eventually(() => expect(seen).toEqual(['ADDED default/c', 'MODIFIED default/a', 'DELETED default/b']));
    });

    it('delivers concurrent writes to a watch in one total order', async () => {
      const rvs: string[] = [];
      handles.push(await store.watch('Trigger', (e) => rvs.push(e.object.metadata.resourceVersion!)));
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.apply(trigger(`t${i}`))));
      await eventually(() => expect(rvs).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1))));
    });
  });
}
