import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deadLetterExtensions } from './dead-letter.ts';
import { type Attempt, deliverWithRetries } from './executor.ts';
import { toResolvedPolicy } from './policy.ts';

/** A real subscriber on 127.0.0.1:0 whose answer to the n-th request is chosen by `handle`. */
async function subscriber(handle: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
  let n = 0;
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString());
      handle(++n, req, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/`, bodies, count: () => n };
}

const dispatcher = new Agent({ keepAliveTimeout: 1_000 });
const servers: Server[] = [];

afterAll(() => dispatcher.close());

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** The Attempt a router would write: POST the event with undici, read the whole body under the signal. */
const postAttempt =
  (url: string, payload: string): Attempt =>
  async (_timeoutMs, signal) => {
    const res = await request(url, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/json', 'ce-id': '1', 'ce-specversion': '1.0' },
      signal,
      dispatcher,
    });
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
  };

describe('deliverWithRetries over real HTTP (node:http + undici)', () => {
  it('500, 500, then 200 → delivered at the third attempt', async () => {
    const sub = await subscriber((n, _req, res) => {
      res.statusCode = n < 3 ? 500 : 200;
      res.end(n < 3 ? 'not yet' : 'ok');
    });
    servers.push(sub.server);
    const policy = toResolvedPolicy({ retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.01S' });
    const out = await deliverWithRetries(postAttempt(sub.url, '{"x":1}'), policy);
    expect(out).toMatchObject({ ok: true, attempts: 3, lastStatus: 200 });
    expect(out.result?.body.toString()).toBe('ok');
    expect(sub.count()).toBe(3);
    expect(sub.bodies).toEqual(['{"x":1}', '{"x":1}', '{"x":1}']);
  });

  it('retries an attempt that takes longer than the timeout, then succeeds', async () => {
    const sub = await subscriber((n, _req, res) => {
      if (n === 1) setTimeout(() => res.end('late'), 400);
      else res.end('fast');
    });
    servers.push(sub.server);
    const policy = toResolvedPolicy({ retry: 2, timeout: 'PT0.1S' });
    const started = Date.now();
    const out = await deliverWithRetries(postAttempt(sub.url, '{}'), policy);
    expect(out).toMatchObject({ ok: true, attempts: 2, lastStatus: 200 });
    expect(out.result?.body.toString()).toBe('fast');
    expect(Date.now() - started).toBeLessThan(400);
    expect(sub.count()).toBe(2);
  });

  it('stops at a 400 and dead-letters with the response body', async () => {
    const sub = await subscriber((_n, _req, res) => {
      res.statusCode = 400;
      res.end('{"error":"missing field"}');
    });
    servers.push(sub.server);
    const out = await deliverWithRetries(postAttempt(sub.url, '{}'), toResolvedPolicy({ retry: 3 }));
    expect(out).toMatchObject({ ok: false, attempts: 1, lastStatus: 400 });
    const ext = deadLetterExtensions(sub.url, out);
    expect(ext.knativeerrorcode).toBe('400');
    expect(Buffer.from(ext.knativeerrordata!, 'base64').toString()).toBe('{"error":"missing field"}');
  });

  it('retries a refused connection and reports it as a network error', async () => {
    const sub = await subscriber(() => {});
    const { url } = sub;
    sub.server.close();
    await once(sub.server, 'close');
    const out = await deliverWithRetries(postAttempt(url, '{}'), toResolvedPolicy({ retry: 2 }));
    expect(out).toMatchObject({ ok: false, attempts: 3 });
    expect(out.lastError?.message).toMatch(/ECONNREFUSED/);
    expect(deadLetterExtensions(url, out).knativeerrorcode).toBe('500');
  });
});
