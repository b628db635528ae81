import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '../core/errors.ts';
import { buildControlApi } from './api.ts';
import { FileResourceStore } from './file-store.ts';
import { MemoryResourceStore } from './memory-store.ts';
import { RemoteResourceStore, type RemoteStoreOptions } from './remote-store.ts';
import type { WatchEvent } from './store.ts';
import { describeResourceStore, eventually } from './store-suite.ts';
import { trigger } from './test-fixtures.ts';

interface Served {
  api: FastifyInstance;
  url: string;
  port: number;
}

async function serve(store: FileResourceStore, port = 0, token?: string): Promise<Served> {
  const api = buildControlApi({ store, ...(token ? { token } : {}) });
  await api.listen({ host: '127.0.0.1', port });
  const bound = (api.server.address() as AddressInfo).port;
  return { api, url: `http://127.0.0.1:${bound}`, port: bound };
}

describeResourceStore('MemoryResourceStore', async () => ({ store: new MemoryResourceStore(), close: async () => {} }));

describeResourceStore('RemoteResourceStore over the control API', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'es-remote-'));
  const served = await serve(await FileResourceStore.open({ dir }));
  const store = new RemoteResourceStore({ server: served.url });
  return {
    store,
    close: async () => {
      await store.close();
      await served.api.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('RemoteResourceStore', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(token?: string, options: Partial<RemoteStoreOptions> = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'es-remote-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const local = await FileResourceStore.open({ dir });
    let served = await serve(local, 0, token);
    cleanups.push(() => served.api.close());
    const remote = new RemoteResourceStore({
      server: served.url,
      ...(token ? { token } : {}),
      reconnectInitialMs: 20,
      reconnectMaxMs: 200,
      ...options,
    });
    cleanups.push(() => remote.close());
    const restart = async (reopen: boolean, between?: (store: FileResourceStore) => Promise<void>) => {
      await served.api.close();
      await between?.(local);
      const store = reopen ? await FileResourceStore.open({ dir }) : local;
      served = await serve(store, served.port, token);
      return store;
    };
    return { dir, local, remote, restart, url: served.url };
  }

  it('sends the bearer token and maps 401 to an unauthorized error', async () => {
    const { remote, url } = await setup('s3cret');
    await remote.apply(trigger('a'));
    expect((await remote.list('Trigger')).items).toHaveLength(1);
    const wrong = new RemoteResourceStore({ server: url, token: 'nope' });
    cleanups.push(() => wrong.close());
    await expect(wrong.get({ kind: 'Trigger', name: 'a' })).rejects.toMatchObject({
      code: 'ES_ERR_UNAUTHORIZED',
      statusCode: 401,
    });
    await expect(wrong.watch('Trigger', () => {})).rejects.toMatchObject({ statusCode: 401 });
  });

  it('reports an unreachable control API as BackendUnavailableError (503)', async () => {
    const remote = new RemoteResourceStore({ server: 'http://127.0.0.1:9', timeoutMs: 2000 });
    cleanups.push(() => remote.close());
    await expect(remote.list('Trigger')).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(remote.watch('Trigger', () => {})).rejects.toMatchObject({ statusCode: 503 });
  });

  it('keeps a watch going across a control API restart, resuming where it left off', async () => {
    const breaks: string[] = [];
    const { local, remote, restart } = await setup(undefined, { onWatchBreak: (b) => breaks.push(b.kind) });
    await local.apply(trigger('a'));
    const seen: string[] = [];
    const handle = await remote.watch('Trigger', (e: WatchEvent) => seen.push(`${e.type} ${e.object.metadata.name}`));
    cleanups.push(async () => handle.close());
    await eventually(() => expect(seen).toEqual(['ADDED a']));
    await restart(false, async (store) => {
      await store.apply(trigger('b'));
      await store.delete({ kind: 'Trigger', name: 'a' });
    });
    await eventually(() => expect(seen).toEqual(['ADDED a', 'ADDED b', 'DELETED a']));
    expect(breaks.length).toBeGreaterThan(0);
    await local.apply(trigger('c'));
    await eventually(() => expect(seen).toEqual(['ADDED a', 'ADDED b', 'DELETED a', 'ADDED c']));
  });

  it('lists again and sends the difference when its version left the history (controller restarted)', async () => {
    const { local, remote, restart } = await setup();
    await local.apply(trigger('a'));
    await local.apply(trigger('b'));
    const seen: string[] = [];
    const handle = await remote.watch('Trigger', (e: WatchEvent) => seen.push(`${e.type} ${e.object.metadata.name}`));
    cleanups.push(async () => handle.close());
    await eventually(() => expect(seen).toEqual(['ADDED a', 'ADDED b']));
    // Changes while it is down, then a fresh process on the same state, which keeps no history: resuming from the
    // watch's version answers 410, so the watch must list again.
    const reopened = await restart(true, async (store) => {
      await store.delete({ kind: 'Trigger', name: 'a' });
      await store.updateStatus({ kind: 'Trigger', name: 'b' }, { observedGeneration: 1 });
      await store.apply(trigger('c'));
    });
    await eventually(() => expect(seen.slice(2).sort()).toEqual(['ADDED c', 'DELETED a', 'MODIFIED b']));
    await reopened.apply(trigger('d'));
    await eventually(() => expect(seen.at(-1)).toBe('ADDED d'));
  });

  it('resumes when the server ends a watch at its timeout, without losing changes', async () => {
    const { local, remote } = await setup(undefined, { watchTimeoutSeconds: 1 });
    const seen: string[] = [];
    const handle = await remote.watch('Trigger', (e: WatchEvent) => seen.push(e.object.metadata.name));
    cleanups.push(async () => handle.close());
    await local.apply(trigger('a'));
    await new Promise((r) => setTimeout(r, 1300));
    await local.apply(trigger('b'));
    await eventually(() => expect(seen).toEqual(['a', 'b']));
  });

  it('reports a listener that throws and keeps delivering', async () => {
    const { local, remote } = await setup();
    const errors: string[] = [];
    const seen: string[] = [];
    const handle = await remote.watch(
      'Trigger',
      (e) => {
        seen.push(e.object.metadata.name);
        if (e.object.metadata.name === 'a') throw new Error('boom');
      },
      { onError: (err) => errors.push(err.message) },
    );
    cleanups.push(async () => handle.close());
    await local.apply(trigger('a'));
    await local.apply(trigger('b'));
    await eventually(() => expect(seen).toEqual(['a', 'b']));
    expect(errors).toEqual(['boom']);
  });
});
