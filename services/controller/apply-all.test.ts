import { describe, expect, it } from 'vitest';
import { InvalidResourceError } from '../core/errors.ts';
import { applyAll } from './apply-all.ts';
import { ConflictError } from './errors.ts';
import { MemoryResourceStore } from './memory-store.ts';
import type { Resource } from './resources/types.ts';
import { broker, trigger } from './test-fixtures.ts';

const badTrigger = (name: string) => ({ ...trigger(name), spec: { broker: 'default', subscriber: {} } });

describe('applyAll', () => {
  it('applies every object and says what it did', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('same'));
    const results = await applyAll(store, [broker('default'), trigger('same'), trigger('new')]);
    expect(results.map((r) => `${r.object.metadata.name} ${r.action}`)).toEqual([
      'default created',
      'same unchanged',
      'new created',
    ]);
    const again = await applyAll(store, [trigger('new', { spec: { broker: 'x', subscriber: { uri: 'http://x/' } } })]);
    expect(again[0]?.action).toBe('configured');
  });

  it('applies nothing when any object is invalid, naming each one and its path', async () => {
    const store = new MemoryResourceStore();
    const err = await applyAll(store, [broker('default'), badTrigger('t1'), trigger('ok'), badTrigger('t2')]).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(InvalidResourceError);
    expect(err.message).toBe(
      'Trigger default/t1: spec.subscriber: ref or uri is required\nTrigger default/t2: spec.subscriber: ref or uri is required',
    );
    expect(err.issues).toEqual([
      { path: 'items[1].spec.subscriber', message: 'ref or uri is required' },
      { path: 'items[3].spec.subscriber', message: 'ref or uri is required' },
    ]);
    expect(store.resourceVersion).toBe('0');
    expect((await store.list('Broker')).items).toEqual([]);
  });

  it('applies nothing when a precondition fails', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('t'));
    const stale = trigger('t', { spec: { broker: 'other', subscriber: { uri: 'http://x/' } } });
    stale.metadata.resourceVersion = '42';
    await expect(applyAll(store, [broker('b'), stale])).rejects.toBeInstanceOf(ConflictError);
    expect(store.resourceVersion).toBe('1');
  });

  it('rolls back what it wrote when a later write fails for real', async () => {
    // A store whose fourth real write (the third of the batch) fails, as if a concurrent writer won the race.
    class FlakyStore extends MemoryResourceStore {
      writes = 0;
      override async apply(obj: unknown, options: { dryRun?: boolean } = {}): Promise<Resource> {
        if (options.dryRun !== true && ++this.writes === 4) throw new ConflictError('Trigger', 'default', 'c', 'raced');
        return super.apply(obj, options);
      }
    }
    const store = new FlakyStore();
    await store.apply(trigger('a'));
    const changedA = trigger('a', { spec: { broker: 'changed', subscriber: { uri: 'http://x/' } } });
    await expect(applyAll(store, [changedA, trigger('b'), trigger('c')])).rejects.toBeInstanceOf(ConflictError);
    const names = (await store.list('Trigger')).items.map(
      (t) => `${t.metadata.name}:${(t.spec as { broker: string }).broker}`,
    );
    expect(names).toEqual(['a:default']);
  });
});
