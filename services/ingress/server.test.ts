import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../brokers/memory/memory-log.ts';
import { createMetrics } from '../core/metrics.ts';
import { buildIngress, type IngressOptions } from './server.ts';

const ce = {
  'ce-specversion': '1.0',
  'ce-id': '1',
  'ce-source': '/t',
  'ce-type': 't',
  'content-type': 'application/json',
};
let log: MemoryEventLog;

async function setup(extra: Partial<IngressOptions> = {}) {
  log = new MemoryEventLog({ maxEvents: 5 });
  await log.ensureTopic('default.default');
  const received: unknown[] = [];
  await log.subscribe('default.default', 'g', async (e) => void received.push(e));
  const metrics = createMetrics();
  const app = buildIngress({
    resolveBroker: (ns, name) =>
      ns === 'default' && name === 'default' ? { topic: 'default.default', log } : undefined,
    logLevel: 'silent',
    metrics,
    ...extra,
  });
  return { app, received, metrics };
}

afterEach(async () => {
  await log?.close(0);
});

describe('broker ingress', () => {
  it('answers 202 only after storing, adding knativearrivaltime and a default TTL of 255', async () => {
    const { app, received } = await setup();
    const res = await app.inject({ method: 'POST', url: '/default/default', headers: ce, payload: '{"a":1}' });
    expect(res.statusCode).toBe(202);
    await new Promise((r) => setTimeout(r, 20));
    const [event] = received as { attributes: Record<string, unknown>; data: Buffer }[];
    expect(event!.attributes.knativebrokerttl).toBe(255);
    expect(event!.attributes.knativearrivaltime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(event!.data.toString()).toBe('{"a":1}');
  });

  it('keeps a TTL the client sent', async () => {
    const { app, received } = await setup();
    await app.inject({ method: 'POST', url: '/default/default', headers: { ...ce, 'ce-knativebrokerttl': '7' } });
    await new Promise((r) => setTimeout(r, 20));
    expect((received[0] as { attributes: Record<string, unknown> }).attributes.knativebrokerttl).toBe('7');
  });

  it.each([
    [{ ...ce, 'ce-specversion': '0.3' }, 400, 'specversion'],
    [{ 'ce-specversion': '1.0', 'ce-source': '/t', 'ce-type': 't' }, 400, 'id'],
    [{ ...ce, 'ce-Bad-Name': 'x' }, 400, 'attribute name'],
    [{ ...ce, 'ce-subject': '%E0%A4%A' }, 400, 'percent'],
    [{ 'content-type': 'application/cloudevents+json' }, 400, 'JSON'],
    [{ 'content-type': 'application/cloudevents+xml' }, 415, 'unsupported'],
  ])('refuses a bad event with a reason (%#)', async (headers, status, reason) => {
    const { app } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/default/default',
      headers: headers as Record<string, string>,
      payload: '{bad',
    });
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toContain(reason);
    expect(res.json().code).toMatch(/^ES_ERR_/);
  });

  it('answers 404 for an unknown broker, 405 with Allow for other methods and 200 for OPTIONS', async () => {
    const { app } = await setup();
    expect((await app.inject({ method: 'POST', url: '/default/nope', headers: ce })).statusCode).toBe(404);
    const get = await app.inject({ method: 'GET', url: '/default/default' });
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST, OPTIONS');
    const options = await app.inject({
      method: 'OPTIONS',
      url: '/default/default',
      headers: { 'webhook-request-origin': 'x.example' },
    });
    expect(options.statusCode).toBe(200);
    expect(options.headers.allow).toBe('POST, OPTIONS');
    expect(options.headers['webhook-allowed-origin']).toBe('x.example');
    expect((await app.inject({ method: 'POST', url: '/a/b/c', headers: ce })).json().code).toBe('ES_ERR_NOT_FOUND');
  });

  it('accepts 64 KiB, refuses more than the limit with 413', async () => {
    const { app } = await setup({ maxBodyBytes: 128 * 1024 });
    expect(
      (await app.inject({ method: 'POST', url: '/default/default', headers: ce, payload: 'x'.repeat(64 * 1024) }))
        .statusCode,
    ).toBe(202);
    const big = await app.inject({
      method: 'POST',
      url: '/default/default',
      headers: ce,
      payload: 'x'.repeat(129 * 1024),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('ES_ERR_BODY_TOO_LARGE');
  });

  it('answers 503 with Retry-After when the channel is full, and stores no part of a refused batch', async () => {
    const { app, received } = await setup();
    const batch = Array.from({ length: 6 }, (_, i) => ({ specversion: '1.0', id: `b${i}`, source: 's', type: 't' }));
    const res = await app.inject({
      method: 'POST',
      url: '/default/default',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      payload: JSON.stringify(batch),
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json().error).toContain('maxEvents');
    await new Promise((r) => setTimeout(r, 20));
    expect(received).toHaveLength(0);
  });

  it('checks bearer tokens per broker: 401 without or with an unknown token, 403 outside its brokers', async () => {
    const { app } = await setup({ auth: { tokens: { good: ['default/default'], other: ['team/*'] } } });
    const post = (authorization?: string) =>
      app.inject({
        method: 'POST',
        url: '/default/default',
        headers: { ...ce, ...(authorization ? { authorization } : {}) },
      });
    expect((await post()).statusCode).toBe(401);
    expect((await post('Bearer nope')).statusCode).toBe(401);
    expect((await post('Bearer other')).statusCode).toBe(403);
    expect((await post('Bearer good')).statusCode).toBe(202);
  });

  it('counts accepted and rejected events by reason', async () => {
    const { app, metrics } = await setup();
    await app.inject({ method: 'POST', url: '/default/default', headers: ce });
    await app.inject({ method: 'POST', url: '/default/default', headers: { ...ce, 'ce-specversion': '2' } });
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'es_ingress_events_total{namespace="default",broker="default",outcome="accepted",reason="ok"} 1',
    );
    expect(text).toContain('outcome="rejected",reason="ES_ERR_INVALID_EVENT"} 1');
  });
});
