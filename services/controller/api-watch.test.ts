import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildControlApi } from './api.ts';
import { MemoryResourceStore } from './memory-store.ts';
import type { Resource } from './resources/types.ts';
import type { WatchHandle, WatchListener, WatchOptions } from './store.ts';
import { broker, trigger } from './test-fixtures.ts';

/** Counts open watches, to prove a client hanging up closes its store watch. */
class CountingStore extends MemoryResourceStore {
  open = 0;
  override async watch(kind: string, listener: WatchListener, options?: WatchOptions): Promise<WatchHandle> {
    const handle = await super.watch(kind, listener, options);
    this.open += 1;
    return {
      close: () => {
        this.open -= 1;
        handle.close();
      },
    };
  }
}

let app: FastifyInstance;
afterEach(async () => {
  await app.close();
});

async function start(store: MemoryResourceStore, token?: string): Promise<string> {
  app = buildControlApi({ store, ...(token === undefined ? {} : { token }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

interface Stream {
  status: number;
  headers: Record<string, unknown>;
  /** Resolves with the next `n` events (waits for them). */
  next(n: number): Promise<{ type: string; object: Resource }[]>;
  ended: Promise<void>;
  close(): void;
}

function watch(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const events: { type: string; object: Resource }[] = [];
      let waiting: (() => void) | undefined;
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf('\n');
        }
        waiting?.();
      });
      const ended = new Promise<void>((r) => res.on('end', () => r()));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        ended,
        close: () => req.destroy(),
        next: async (n) => {
          while (events.length < n) await new Promise<void>((r) => (waiting = r));
          return events.splice(0, n);
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('control API: watch streams', () => {
  it('streams existing objects as ADDED, then changes in order, as newline-delimited JSON', async () => {
    const store = new CountingStore();
    await store.apply(trigger('a'));
    const base = await start(store);
    const stream = await watch(`${base}/apis/eventing.knative.dev/v1/namespaces/default/triggers?watch=true`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('application/json');
    expect((await stream.next(1)).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a']);

    await store.apply(broker('default'));
    await store.apply(trigger('b'));
    await store.apply(trigger('other-ns', { namespace: 'x' }));
    await store.updateStatus({ kind: 'Trigger', name: 'a' }, { observedGeneration: 1 });
    await store.delete({ kind: 'Trigger', name: 'b' });
    const events = await stream.next(3);
    expect(events.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`)).toEqual([
      'ADDED b 3',
      'MODIFIED a 5',
      'DELETED b 6',
    ]);
    expect(events[1]?.object.status).toEqual({ observedGeneration: 1 });

    expect(store.open).toBe(1);
    stream.close();
    await expect.poll(() => store.open).toBe(0);
  });

  it('resumes from the resourceVersion of a list', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('a'));
    const base = await start(store);
    const listed = await app.inject('/apis/eventing.knative.dev/v1/triggers');
    const rv = listed.json().metadata.resourceVersion as string;
    await store.apply(trigger('b'));
    const stream = await watch(`${base}/apis/eventing.knative.dev/v1/triggers?watch=1&resourceVersion=${rv}`);
    await store.apply(trigger('c'));
    expect((await stream.next(2)).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED b', 'ADDED c']);
    stream.close();
  });

  it('sends an ERROR event with a 410 Status for a resourceVersion older than the history', async () => {
    const store = new MemoryResourceStore({ historyLimit: 1 });
    for (const name of ['a', 'b', 'c']) await store.apply(trigger(name));
    const base = await start(store);
    const stream = await watch(`${base}/apis/eventing.knative.dev/v1/triggers?watch=true&resourceVersion=1`);
    expect(stream.status).toBe(200);
    const [event] = await stream.next(1);
    expect(event).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    await stream.ended;
  });

  it('watches one object and ends after timeoutSeconds', async () => {
    const store = new MemoryResourceStore();
    await store.apply(trigger('a'));
    await store.apply(trigger('b'));
    const base = await start(store, 'tok');
    const url = `${base}/apis/eventing.knative.dev/v1/namespaces/default/triggers/b?watch=true&timeoutSeconds=1`;
    const denied = await watch(url);
    expect(denied.status).toBe(401);
    const stream = await watch(url, { authorization: 'Bearer tok' });
    expect((await stream.next(1))[0]?.object.metadata.name).toBe('b');
    await store.apply(trigger('a', { metadata: { name: 'a', labels: { x: 'y' } } }));
    await store.apply(trigger('b', { metadata: { name: 'b', labels: { x: 'y' } } }));
    expect((await stream.next(1))[0]).toMatchObject({ type: 'MODIFIED', object: { metadata: { name: 'b' } } });
    await stream.ended;
  });
});

describe('control API: shutdown', () => {
  it('ends open watch streams when the server closes', async () => {
    const store = new MemoryResourceStore();
    const base = await start(store);
    const stream = await watch(`${base}/apis/eventing.knative.dev/v1/triggers?watch=true`);
    await app.close();
    await stream.ended;
  });
});
