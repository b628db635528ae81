import { describe, expect, it } from 'vitest';
import { InvalidResourceError } from '../core/errors.ts';
import { AlreadyExistsError, ConflictError, NotFoundError, ResourceExpiredError } from './errors.ts';
import { MemoryResourceStore } from './memory-store.ts';
import type { WatchEvent } from './store.ts';
import { broker, trigger } from './test-fixtures.ts';

describe('MemoryResourceStore', () => {
  it('manages metadata: uid, monotonic resourceVersion, generation, creationTimestamp, namespace', async () => {
    const store = new MemoryResourceStore({ now: () => new Date('2024-01-02T03:04:05.678Z') });
    const a = await store.apply(trigger('a'));
    expect(a.metadata).toMatchObject({
      name: 'a',
      namespace: 'default',
      resourceVersion: '1',
      generation: 1,
      creationTimestamp: '2024-01-02T03:04:05Z',
    });
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.apiVersion).toBe('eventing.knative.dev/v1');

    const b = await store.apply(broker('default'));
    expect(b.metadata.resourceVersion).toBe('2');

    const labelled = await store.apply(trigger('a', { metadata: { name: 'a', labels: { x: 'y' } } }));
    expect(labelled.metadata).toMatchObject({ resourceVersion: '3', generation: 1, uid: a.metadata.uid });

    const changed = await store.apply(trigger('a', { spec: { broker: 'other', subscriber: { uri: 'http://x/' } } }));
    expect(changed.metadata).toMatchObject({ resourceVersion: '4', generation: 2 });
    expect(changed.metadata.labels).toBeUndefined();
  });

  it('treats a write that changes nothing as a no-op', async () => {
    const store = new MemoryResourceStore();
    const first = await store.apply(trigger('a'));
    const again = await store.apply({ ...trigger('a'), status: { conditions: [] } });
    expect(again.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    expect(store.resourceVersion).toBe('1');
  });

  it('lists group-agnostically: Knative and our triggers together', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('k'));
    await store.apply(trigger('o', { apiVersion: 'eventing.elastic-serving.dev/v1', namespace: 'team' }));
    await store.apply(broker('default'));
    const all = await store.list('triggers');
    expect(all.items.map((t) => `${t.apiVersion} ${t.metadata.namespace}/${t.metadata.name}`)).toEqual([
      'eventing.knative.dev/v1 default/k',
      'eventing.elastic-serving.dev/v1 team/o',
    ]);
    expect(all.resourceVersion).toBe('3');
    expect((await store.list('Trigger', 'team')).items).toHaveLength(1);
    expect(await store.get({ kind: 'trigger', name: 'o', namespace: 'team' })).toBeDefined();
    // The same name in another group is the same object.
    const replaced = await store.apply(trigger('k', { apiVersion: 'eventing.elastic-serving.dev/v1' }));
    expect(replaced.metadata.resourceVersion).toBe('4');
    expect((await store.list('triggers')).items).toHaveLength(2);
  });

  it('hands out copies', async () => {
    const store = new MemoryResourceStore();
    const got = await store.apply(trigger('a'));
    got.metadata.name = 'mutated';
    expect((await store.get({ kind: 'Trigger', name: 'a' }))?.metadata.name).toBe('a');
  });

  it('enforces resourceVersion preconditions and create/update modes', async () => {
    const store = new MemoryResourceStore();
    const a = await store.apply(trigger('a'));
    await expect(store.apply(trigger('a'), { mode: 'create' })).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(store.apply(trigger('b'), { mode: 'update' })).rejects.toBeInstanceOf(NotFoundError);
    const stale = trigger('a', { spec: { broker: 'x', subscriber: { uri: 'http://x/' } } });
    stale.metadata.resourceVersion = '999';
    await expect(store.apply(stale)).rejects.toBeInstanceOf(ConflictError);
    stale.metadata.resourceVersion = a.metadata.resourceVersion;
    expect((await store.apply(stale)).metadata.generation).toBe(2);
    // The same write again is now stale.
    stale.spec = { broker: 'y', subscriber: { uri: 'http://x/' } };
    await expect(store.apply(stale)).rejects.toMatchObject({ statusCode: 409, reason: 'Conflict' });
    await expect(store.delete({ kind: 'Trigger', name: 'a' }, { resourceVersion: '1' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(store.apply({ ...trigger('c'), spec: {} })).rejects.toBeInstanceOf(InvalidResourceError);
  });

  it('updates status only, bumping resourceVersion but not generation', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('a'));
    const s = await store.updateStatus({ kind: 'Trigger', name: 'a' }, { observedGeneration: 1, conditions: [] });
    expect(s.metadata).toMatchObject({ resourceVersion: '2', generation: 1 });
    expect(s.status).toEqual({ observedGeneration: 1, conditions: [] });
    const same = await store.updateStatus({ kind: 'Trigger', name: 'a' }, { conditions: [], observedGeneration: 1 });
    expect(same.metadata.resourceVersion).toBe('2');
    // apply keeps the status written by the reconciler.
    const re = await store.apply(trigger('a', { spec: { broker: 'b2', subscriber: { uri: 'http://x/' } } }));
    expect(re.status).toEqual({ observedGeneration: 1, conditions: [] });
    await expect(store.updateStatus({ kind: 'Trigger', name: 'nope' }, {})).rejects.toBeInstanceOf(NotFoundError);
  });

  it('watches in order: existing objects as ADDED, then live changes, filtered by kind and namespace', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('a'));
    await store.apply(trigger('x', { namespace: 'other' }));
    const seen: string[] = [];
    const handle = await store.watch(
      'triggers',
      (e: WatchEvent) => seen.push(`${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`),
      {
        namespace: 'default',
      },
    );
    await store.apply(broker('default'));
    await store.apply(trigger('b'));
    await store.updateStatus({ kind: 'Trigger', name: 'b' }, { observedGeneration: 1 });
    await store.apply(trigger('y', { namespace: 'other' }));
    await store.delete({ kind: 'Trigger', name: 'a' });
    handle.close();
    await store.apply(trigger('c'));
    expect(seen).toEqual(['ADDED a 1', 'ADDED b 4', 'MODIFIED b 5', 'DELETED a 7']);
  });

  it('resumes a watch from a resourceVersion and refuses one older than its history', async () => {
    const store = new MemoryResourceStore({ historyLimit: 3 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) await store.apply(trigger(name));
    const seen: string[] = [];
    await store.watch('Trigger', (e) => seen.push(`${e.type} ${e.object.metadata.name}`), { resourceVersion: '3' });
    expect(seen).toEqual(['ADDED d', 'ADDED e']);
    await expect(store.watch('Trigger', () => {}, { resourceVersion: '1' })).rejects.toBeInstanceOf(
      ResourceExpiredError,
    );
    const live: string[] = [];
    await store.watch('Trigger', (e) => live.push(e.object.metadata.name), { resourceVersion: '5' });
    await store.apply(trigger('f'));
    expect(live).toEqual(['f']);
  });

  it('serialises concurrent writes into one order', async () => {
    const store = new MemoryResourceStore();
    const rvs: string[] = [];
    await store.watch('Trigger', (e) => rvs.push(e.object.metadata.resourceVersion!));
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.apply(trigger(`t${i}`))));
    expect(rvs).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
  });

  it('keeps going when a listener throws', async () => {
    const store = new MemoryResourceStore();
    const errors: Error[] = [];
    await store.watch(
      'Trigger',
      () => {
        throw new Error('boom');
      },
      { onError: (e) => errors.push(e) },
    );
    await expect(store.apply(trigger('a'))).resolves.toBeDefined();
    expect(errors.map((e) => e.message)).toEqual(['boom']);
  });
});
