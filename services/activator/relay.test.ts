/**
 * The relay path (relay.ts) through the gateway and in-process: what a caller going away, a streamed answer, a
 * refused connection, headers and metrics do. Replicas are real HTTP servers; the runtime's view of them is set by
 * the test.
 */
import { createHash } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from '../runtime/gateway.ts';
import { Activator, type ActivatorFunction } from './activator.ts';
import { TestReplicas } from './test-replicas.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function replica(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function setup(settings: Partial<ActivatorFunction>, ports: number[], options: { maxQueue?: number } = {}) {
  const runtime = new TestReplicas();
  const registry = new Registry();
  const activator = new Activator({ runtime, registry, ...options });
  activator.upsert('default', 'f', { containerConcurrency: 1, timeoutSeconds: 5, ...settings });
  if (ports.length > 0)
    runtime.set(
      'default/f',
      ports.map((port) => ({ port })),
    );
  const gw = await createGateway({ activator, port: 0 });
  cleanup.push(() => activator.close());
  cleanup.push(() => gw.close());
  return { runtime, activator, registry, url: `${gw.url}/default/f` };
}

/** A POST through node:http whose client can be destroyed mid-way. */
function post(url: string, body = '{}', headers: Record<string, string> = {}) {
  const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
  const answer = new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>(
    (resolve, reject) => {
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
    },
  );
  answer.catch(() => {});
  req.end(body);
  return { req, answer };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('relay through the gateway', () => {
  it('frees the slot and cuts the replica call when the client goes away mid-request', async () => {
    let cut = false;
    let calls = 0;
    const port = await replica((req, res) => {
      req.resume();
      if (++calls > 1) return void res.end('next');
      res.on('close', () => {
        if (!res.writableFinished) cut = true;
      });
      setTimeout(() => res.end('late'), 3000);
    });
    const { activator, url } = await setup({}, [port]);
    const { req } = post(url);
    await until(() => activator.load('default', 'f')!.inFlight === 1);
    req.destroy();
    await until(() => cut);
    expect(activator.load('default', 'f')).toMatchObject({ inFlight: 0, queued: 0 });
    // the slot is usable again at once
    const next = await activator.dispatch('default', 'f', { body: Buffer.from('{}') });
    expect(next.statusCode).toBe(200);
  });

  it('takes a queued request out of the queue when its client goes away', async () => {
    const port = await replica((req, res) => {
      req.resume();
      setTimeout(() => res.end('ok'), 300);
    });
    const { activator, registry, url } = await setup({}, [port]);
    const first = post(url);
    await until(() => activator.load('default', 'f')!.inFlight === 1);
    const second = post(url);
    await until(() => activator.load('default', 'f')!.queued === 1);
    second.req.destroy();
    await until(() => activator.load('default', 'f')!.queued === 0);
    expect((await first.answer).status).toBe(200);
    expect(await registry.getSingleMetricAsString('es_activator_rejected_total')).toMatch(
      /es_activator_rejected_total\{namespace="default",function="f",reason="timeout"\} 1/,
    );
  });

  it('streams a large answer to a slow client intact, with backpressure', async () => {
    const piece = Buffer.alloc(64 * 1024, 7);
    const pieces = 64; // 4 MiB
    const port = await replica((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let i = 0;
      const more = () => {
        while (i < pieces) {
          i++;
          if (!res.write(piece)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    const { activator, url } = await setup({}, [port]);
    const hash = createHash('sha256');
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(url, { method: 'POST' }, (res) => {
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          hash.update(c);
          // a slow reader: the gateway must wait for it rather than buffer the whole answer
          res.pause();
          setTimeout(() => res.resume(), 1);
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end('{}');
    });
    const expected = createHash('sha256');
    for (let i = 0; i < pieces; i++) expected.update(piece);
    expect(bytes).toBe(piece.length * pieces);
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
    expect(activator.load('default', 'f')!.inFlight).toBe(0);
  });

  it('relays status, repeated headers and the body; hop-by-hop headers stay on their hop', async () => {
    let seen: IncomingMessage['headers'] = {};
    const port = await replica((req, res) => {
      seen = req.headers;
      req.resume();
      res.writeHead(201, [
        ['content-type', 'application/json'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['x-reply', 'yes'],
      ]);
      res.end('{"ok":true}');
    });
    const { url } = await setup({}, [port]);
    const { answer } = post(`${url}/v2/models/m/infer?x=1`, '{"in":1}', {
      'x-trace': 't1',
      te: 'trailers',
      'proxy-connection': 'keep-alive',
    });
    const res = await answer;
    expect(res.status).toBe(201);
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['x-reply']).toBe('yes');
    expect(res.body.toString()).toBe('{"ok":true}');
    expect(seen['x-trace']).toBe('t1');
    expect(seen.te).toBeUndefined();
    expect(seen['proxy-connection']).toBeUndefined();
    expect(seen.host).toBe(`127.0.0.1:${port}`);
    expect(seen['content-length']).toBe('8');
  });

  it('cuts the client connection when the replica dies mid-answer, and answers 503 in-process', async () => {
    const port = await replica((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const { activator, url } = await setup({ containerConcurrency: 0 }, [port]);
    await expect(post(url).answer).rejects.toThrow();
    const res = await activator.dispatch('default', 'f', { body: Buffer.from('{}') });
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body.toString()).error).toMatch(/^default\/f: replica r0 failed: /);
    expect(activator.load('default', 'f')!.inFlight).toBe(0);
  });

  it('answers 504 when the replica does not answer within timeoutSeconds', async () => {
    const port = await replica((req) => {
      req.resume();
    });
    const { url } = await setup({ timeoutSeconds: 0.3 }, [port]);
    const res = await post(url).answer;
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body.toString())).toEqual({
      code: 'ES_ERR_TIMEOUT',
      error: 'default/f: function did not answer within 0.3s',
    });
  });

  it('sends a request refused by one replica to another, and counts every request', async () => {
    const live = await replica((req, res) => {
      req.resume();
      res.end('served');
    });
    const { activator, registry, url } = await setup({ containerConcurrency: 0 }, [await closedPort(), live]);
    for (let i = 0; i < 6; i++) {
      const res = await post(url).answer;
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('served');
    }
    expect(activator.load('default', 'f')!.inFlight).toBe(0);
    expect(await registry.getSingleMetricAsString('es_activator_requests_total')).toMatch(
      /es_activator_requests_total\{namespace="default",function="f"\} 6/,
    );
  });
});

describe('gateway request line', () => {
  it('answers 400 for a malformed percent-encoding and keeps serving', async () => {
    const port = await replica((req, res) => {
      req.resume();
      res.end('ok');
    });
    const { url } = await setup({}, [port]);
    const bad = await post(url.replace('/default/f', '/default/%E0%A4%A')).answer;
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString()).code).toBe('ES_ERR_BAD_REQUEST');
    expect((await post(url.replace('/default/f', '/defaul%74/f')).answer).status).toBe(200);
  });
});

describe('forward (the answer as a stream)', () => {
  it('hands the body as a stream and frees the slot even when the handler does not read it', async () => {
    const port = await replica((req, res) => {
      req.resume();
      res.end('x'.repeat(200_000));
    });
    const { activator } = await setup({}, [port], {});
    let text = '';
    await activator.forward('default', 'f', { body: Buffer.from('{}') }, async (status, headers, body) => {
      expect(status).toBe(200);
      expect(headers['content-length']).toBe('200000');
      for await (const chunk of body) text += chunk.toString();
    });
    expect(text.length).toBe(200_000);
    await activator.forward('default', 'f', { body: Buffer.from('{}') }, async () => {});
    await until(() => activator.load('default', 'f')!.inFlight === 0);
    await expect(activator.forward('default', 'nope', {}, async () => {})).rejects.toMatchObject({
      code: 'ES_ERR_NOT_FOUND',
    });
  });
});
