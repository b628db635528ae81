import { Readable } from 'node:stream';
import { CloudEvent as SdkCloudEvent } from 'cloudevents';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEvent } from '../../services/core/cloudevent.ts';
import { defineFunction, NonRetriableError, RetryAfterError } from './index.ts';
import { type RunningFunction, serve } from './server.ts';
import type { FunctionDefinition, FunctionOptions, Handler } from './types.ts';

const running: RunningFunction[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close(1000)));
});

const silent = pino({ level: 'silent' });

async function start(handler: Handler | FunctionDefinition, options: FunctionOptions = {}, maxBodyBytes?: number) {
  const def = typeof handler === 'function' ? defineFunction(handler, { name: 'testfn', ...options }) : handler;
  const fn = await serve(def, { port: 0, logger: silent, ...(maxBodyBytes ? { maxBodyBytes } : {}) });
  running.push(fn);
  return `http://127.0.0.1:${fn.port}`;
}

const binary = (extra: Record<string, string> = {}) => ({
  'ce-specversion': '1.0',
  'ce-id': 'req-1',
  'ce-source': '/tests',
  'ce-type': 'dev.test.ping',
  'content-type': 'application/json',
  ...extra,
});

async function post(url: string, headers: Record<string, string>, body: string | Buffer) {
  const res = await request(`${url}/`, { method: 'POST', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

describe('sdk serve', () => {
  it('replies to a binary event with a plain value: reply type, source, new id, same partitionkey, binary mode', async () => {
    let seen: unknown;
    const url = await start(async (event) => {
      seen = { data: event.data, bytes: event.dataBytes?.length, pk: event.attributes.partitionkey, type: event.type };
      return { got: event.data };
    });
    const res = await post(url, binary({ 'ce-partitionkey': 'k1' }), '{"n":1}');
    expect(seen).toEqual({ data: { n: 1 }, bytes: 7, pk: 'k1', type: 'dev.test.ping' });
    expect(res.status).toBe(200);
    expect(res.headers['ce-type']).toBe('dev.test.ping.response');
    expect(res.headers['ce-source']).toBe('/functions/testfn');
    expect(res.headers['ce-partitionkey']).toBe('k1');
    expect(res.headers['ce-id']).not.toBe('req-1');
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.text)).toEqual({ got: { n: 1 } });
  });

  it('accepts structured mode and honours replyType/source options', async () => {
    const url = await start(async (event) => event.data, { replyType: 'dev.test.reply', source: '/custom' });
    const body = JSON.stringify({ specversion: '1.0', id: 's1', source: '/x', type: 't', data: { a: [1, 2] } });
    const res = await post(url, { 'content-type': 'application/cloudevents+json' }, body);
    expect(res.status).toBe(200);
    expect(res.headers['ce-type']).toBe('dev.test.reply');
    expect(res.headers['ce-source']).toBe('/custom');
    expect(JSON.parse(res.text)).toEqual({ a: [1, 2] });
  });

  it('replies with a returned CloudEvent as is (ours and the cloudevents SDK instance)', async () => {
    const url = await start(async (event) =>
      event.data === 'ours'
        ? makeEvent({ id: 'r1', source: '/me', type: 'mine', subject: 'sub' }, { ok: true })
        : new SdkCloudEvent({ id: 'r2', source: '/sdk', type: 'theirs', data: { ok: 2 }, myext: 'v' }),
    );
    const ours = await post(url, binary(), '"ours"');
    expect(ours.status).toBe(200);
    expect([ours.headers['ce-id'], ours.headers['ce-type'], ours.headers['ce-subject']]).toEqual(['r1', 'mine', 'sub']);
    expect(JSON.parse(ours.text)).toEqual({ ok: true });
    const theirs = await post(url, binary(), '"theirs"');
    expect(theirs.status).toBe(200);
    expect([theirs.headers['ce-id'], theirs.headers['ce-type'], theirs.headers['ce-myext']]).toEqual([
      'r2',
      'theirs',
      'v',
    ]);
    expect(JSON.parse(theirs.text)).toEqual({ ok: 2 });
  });

  it('treats a plain object with event-like fields as data, not as an event', async () => {
    const url = await start(async () => ({ id: 'x', source: '/y', type: 'z', specversion: '1.0' }));
    const res = await post(url, binary(), '{}');
    expect(res.headers['ce-type']).toBe('dev.test.ping.response');
    expect(JSON.parse(res.text)).toEqual({ id: 'x', source: '/y', type: 'z', specversion: '1.0' });
  });

  it('answers 202 with no body when the handler returns nothing', async () => {
    const url = await start(async () => {});
    const res = await post(url, binary(), '{}');
    expect(res.status).toBe(202);
    expect(res.text).toBe('');
    expect(res.headers['ce-id']).toBeUndefined();
  });

  it('maps typed errors: NonRetriableError 400 or its 4xx, RetryAfterError 503 + Retry-After, others 500', async () => {
    const url = await start(async (event) => {
      switch (event.data) {
        case 'bad':
          throw new NonRetriableError('bad input');
        case 'gone':
          throw new NonRetriableError('no such thing', { status: 422 });
        case 'later':
          throw new RetryAfterError(7, 'busy');
        default:
          throw new Error('boom');
      }
    });
    const bad = await post(url, binary(), '"bad"');
    expect([bad.status, JSON.parse(bad.text)]).toEqual([400, { error: 'bad input' }]);
    const gone = await post(url, binary(), '"gone"');
    expect(gone.status).toBe(422);
    const later = await post(url, binary(), '"later"');
    expect([later.status, later.headers['retry-after'], JSON.parse(later.text)]).toEqual([503, '7', { error: 'busy' }]);
    const boom = await post(url, binary(), '"x"');
    expect([boom.status, JSON.parse(boom.text)]).toEqual([500, { error: 'boom' }]);
  });

  it('answers 500 naming the problem when the handler returns an invalid CloudEvent', async () => {
    const url = await start(async () => ({
      attributes: { specversion: '1.0', id: 'i', source: '/s', type: 't', BAD: 'x' },
    }));
    const res = await post(url, binary(), '{}');
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text).error).toMatch(/invalid CloudEvent.*BAD/);
  });

  it('rejects a request that is not a CloudEvent with 400 and a reason', async () => {
    const url = await start(async () => 'never');
    const res = await post(url, { 'content-type': 'application/json' }, '{}');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'ES_ERR_INVALID_EVENT' });
  });

  it('answers 413 over the body limit (declared or streamed) and accepts exactly the limit', async () => {
    const url = await start(async (e) => ({ n: e.dataBytes?.length }), {}, 1024);
    const ok = await post(url, binary({ 'content-type': 'application/octet-stream' }), Buffer.alloc(1024, 1));
    expect([ok.status, JSON.parse(ok.text)]).toEqual([200, { n: 1024 }]);
    const big = await post(url, binary({ 'content-type': 'application/octet-stream' }), Buffer.alloc(1025, 1));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.text).code).toBe('ES_ERR_BODY_TOO_LARGE');
    const chunked = await request(`${url}/`, {
      method: 'POST',
      headers: binary({ 'content-type': 'application/octet-stream' }),
      body: Readable.from(
        (function* () {
          for (let i = 0; i < 4; i++) yield Buffer.alloc(512, 2);
        })(),
      ),
    });
    expect(chunked.statusCode).toBe(413);
    await chunked.body.dump();
  });

  it('defaults the limit to 1 MiB', async () => {
    const url = await start(async () => {});
    const over = await post(url, binary({ 'content-type': 'application/octet-stream' }), Buffer.alloc(1024 * 1024 + 1));
    expect(over.status).toBe(413);
    const at = await post(url, binary({ 'content-type': 'application/octet-stream' }), Buffer.alloc(1024 * 1024));
    expect(at.status).toBe(202);
  });

  it('is not ready on /healthz until init finished', async () => {
    let finishInit!: () => void;
    const initDone = new Promise<void>((r) => {
      finishInit = r;
    });
    const def = defineFunction(async () => {}, { name: 'slowinit', init: () => initDone });
    const starting = serve(def, { port: 0, logger: silent });
    // serve() resolves only after init; find the port by polling the server list is not possible, so race it.
    const early = await Promise.race([
      starting.then(() => 'resolved'),
      new Promise((r) => setTimeout(() => r('pending'), 100)),
    ]);
    expect(early).toBe('pending');
    finishInit();
    const fn = await starting;
    running.push(fn);
    const res = await request(`http://127.0.0.1:${fn.port}/healthz`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });

  it('aborts ctx.signal and answers 504 at the deadline; 405 for non-POST', async () => {
    let aborted = false;
    const url = await start(
      (_e, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve(undefined);
          });
        }),
      { timeoutMs: 150 },
    );
    const t0 = Date.now();
    const res = await post(url, binary(), '{}');
    expect(res.status).toBe(504);
    expect(aborted).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2000);
    const get = await request(`${url}/`);
    expect(get.statusCode).toBe(405);
    await get.body.dump();
  });

  it('sends requests that are not CloudEvents to options.http and CloudEvents to the handler', async () => {
    const seen: string[] = [];
    const url = await start(() => ({ via: 'handler' }), {
      http: async (req) => {
        seen.push(`${req.method} ${req.path} ${req.body?.toString() ?? ''}`);
        if (req.path.startsWith('/missing')) return undefined;
        if (req.path === '/boom') throw new NonRetriableError('bad input');
        return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"via":"http"}' };
      },
    });
    const get = await request(`${url}/v2/health/live?x=1`);
    expect(get.statusCode).toBe(200);
    expect(await get.body.json()).toEqual({ via: 'http' });
    const postJson = await request(`${url}/v2/models/m/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs":[]}',
    });
    expect(postJson.statusCode).toBe(200);
    await postJson.body.dump();
    const event = await post(url, binary(), '{}');
    expect(event.status).toBe(200);
    expect(JSON.parse(event.text)).toEqual({ via: 'handler' });
    const structured = await post(
      url,
      { 'content-type': 'application/cloudevents+json' },
      JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't' }),
    );
    expect(structured.status).toBe(200);
    const missing = await request(`${url}/missing`);
    expect(missing.statusCode).toBe(404);
    expect(((await missing.body.json()) as { error: string }).error).toContain('no route for GET /missing');
    const boom = await request(`${url}/boom`);
    expect(boom.statusCode).toBe(400);
    await boom.body.dump();
    expect(seen).toEqual([
      'GET /v2/health/live?x=1 ',
      'POST /v2/models/m/infer {"inputs":[]}',
      'GET /missing ',
      'GET /boom ',
    ]);
  });
});
