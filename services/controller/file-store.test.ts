import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileResourceStore } from './file-store.ts';
import { broker, trigger } from './test-fixtures.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'es-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileResourceStore', () => {
  it('persists one JSON file per object and loads them on re-open', async () => {
    const store = await FileResourceStore.open({ dir });
    await store.apply(trigger('a'));
    await store.apply(broker('default', 'team'));
    await store.updateStatus({ kind: 'Trigger', name: 'a' }, { observedGeneration: 1 });
    const file = join(dir, 'resources', 'triggers', 'default', 'a.json');
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({
      apiVersion: 'eventing.knative.dev/v1',
      metadata: { name: 'a', resourceVersion: '3' },
      status: { observedGeneration: 1 },
    });

    const reopened = await FileResourceStore.open({ dir });
    expect(reopened.resourceVersion).toBe('3');
    expect(await reopened.get({ kind: 'Trigger', name: 'a' })).toEqual(await store.get({ kind: 'Trigger', name: 'a' }));
    expect((await reopened.list('brokers', 'team')).items.map((b) => b.metadata.name)).toEqual(['default']);
    expect((await reopened.apply(trigger('b'))).metadata.resourceVersion).toBe('4');
  });

  it('never lets the resourceVersion go back after a delete and a restart', async () => {
    const store = await FileResourceStore.open({ dir });
    await store.apply(trigger('a'));
    await store.apply(trigger('b'));
    const gone = await store.delete({ kind: 'Trigger', name: 'b' });
    expect(gone.metadata.resourceVersion).toBe('3');
    await expect(readdir(join(dir, 'resources', 'triggers', 'default'))).resolves.toEqual(['a.json']);
    const reopened = await FileResourceStore.open({ dir });
    expect(reopened.resourceVersion).toBe('3');
    expect((await reopened.apply(trigger('c'))).metadata.resourceVersion).toBe('4');
  });

  it('refuses to resume a watch from before the restart', async () => {
    const store = await FileResourceStore.open({ dir });
    await store.apply(trigger('a'));
    await store.apply(trigger('b'));
    const reopened = await FileResourceStore.open({ dir });
    await expect(reopened.watch('Trigger', () => {}, { resourceVersion: '1' })).rejects.toMatchObject({
      reason: 'Expired',
    });
    await expect(reopened.watch('Trigger', () => {}, { resourceVersion: '2' })).resolves.toBeDefined();
  });

  it('removes leftover temp files and reports unreadable ones without losing the rest', async () => {
    const store = await FileResourceStore.open({ dir });
    await store.apply(trigger('a'));
    const folder = join(dir, 'resources', 'triggers', 'default');
    await writeFile(join(folder, 'half.json.123.abcd.tmp'), '{"apiVersion":');
    await writeFile(join(folder, 'broken.json'), '{not json');
    const bad: string[] = [];
    const reopened = await FileResourceStore.open({ dir, onLoadError: (file) => bad.push(file) });
    expect(bad).toEqual([join(folder, 'broken.json')]);
    expect((await reopened.list('Trigger')).items.map((t) => t.metadata.name)).toEqual(['a']);
    expect((await readdir(folder)).sort()).toEqual(['a.json', 'broken.json']);
  });

  it('starts empty in a fresh directory', async () => {
    const store = await FileResourceStore.open({ dir: join(dir, 'nested', 'state') });
    expect((await store.list('Trigger')).items).toEqual([]);
    expect(store.resourceVersion).toBe('0');
  });
});
