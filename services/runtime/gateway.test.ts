import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Activator, type ActivatorFunction } from '../activator/activator.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { LocalRuntime } from './supervisor.ts';
import { ceHeaders, writeFixtureHandler } from './test-fixtures.ts';
import { transpileHandler } from './transpile.ts';

const functions = new Map<string, ActivatorFunction>();
let rt: LocalRuntime;
let activator: Activator;
let gw: Gateway;
let queueActivator: Activator;
let queueGw: Gateway;

beforeAll(async () => {
  const { dir } = writeFixtureHandler();
  const entry = (await transpileHandler({ handler: 'handler.ts', baseDir: dir, namespace: 'default', name: 'fx' }))
    .file;
  rt = new LocalRuntime({ baseDir: dir });
  functions.set('default/pair', { containerConcurrency: 2, timeoutSeconds: 30 });
  functions.set('default/single', { containerConcurrency: 1, timeoutSeconds: 30 });
  functions.set('default/idle', { containerConcurrency: 0, timeoutSeconds: 0.4 });
  functions.set('default/late', { containerConcurrency: 0, timeoutSeconds: 30 });
  for (const fn of functions.keys()) await rt.deploy(fn, { entry });
  await Promise.all([rt.scale('default/pair', 2), rt.scale('default/single', 1)]);
  activator = new Activator({ runtime: rt });
  queueActivator = new Activator({ runtime: rt, maxQueue: 2 });
  for (const [key, settings] of functions) {
    const [ns, name] = key.split('/') as [string, string];
    activator.upsert(ns, name, settings);
    queueActivator.upsert(ns, name, settings);
  }
  gw = await createGateway({ activator, port: 0 });
  queueGw = await createGateway({ activator: queueActivator, port: 0 });
});

afterAll(async () => {
  await gw?.close();
  await queueGw?.close();
  await activator?.close();
  await queueActivator?.close();
  await rt?.stopAll(2000);
});

async function post(url: string, data: unknown, id = `e${Math.random()}`) {
  const res = await request(url, { method: 'POST', headers: ceHeaders(id), body: JSON.stringify(data) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: JSON.parse(text || 'null') as Record<string, unknown> };
}

describe('function gateway', () => {
  it('forwards the event, path remainder and query to a replica and relays the binary reply', async () => {
    const res = await post(`${gw.url}/default/pair/some/path?q=1`, { x: 1 }, 'fwd-1');
    expect(res.status).toBe(200);
    expect(res.headers['ce-type']).toBe('dev.test.fixture.reply');
    expect(res.json.path).toBe('/some/path?q=1');
    expect((await post(`${gw.url}/default/pair`, {})).json.path).toBe('/');
  });

  it('answers 404 for an unknown function or a path without one', async () => {
    const res = await post(`${gw.url}/default/nope`, {});
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ code: 'ES_ERR_NOT_FOUND', error: 'no function default/nope' });
    expect((await post(`${gw.url}/default`, {})).status).toBe(404);
  });

  it('balances over ready replicas', async () => {
    const pids = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      const { json } = await post(`${gw.url}/default/pair`, {});
      pids.set(json.pid as number, (pids.get(json.pid as number) ?? 0) + 1);
    }
    expect(pids.size).toBe(2);
    for (const n of pids.values()) expect(n).toBeGreaterThanOrEqual(15);
  });

  it('never sends a replica more than containerConcurrency requests at once (measured at the replica)', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, () => post(`${gw.url}/default/pair`, { ms: 60 })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const maxByPid = new Map<number, number>();
    for (const { json } of results) {
      const pid = json.pid as number;
      maxByPid.set(pid, Math.max(maxByPid.get(pid) ?? 0, json.concurrent as number));
    }
    expect(maxByPid.size).toBe(2);
    // both replicas were driven to their limit, and never beyond
    expect([...maxByPid.values()]).toEqual([2, 2]);
    expect(activator.load('default', 'pair')!.balancer.backends.map((b) => b.maxInFlight)).toEqual([2, 2]);
  });

  it('answers 503 ES_ERR_BACKEND_FULL when the bounded queue is full', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () => post(`${queueGw.url}/default/single`, { ms: 200 })),
    );
    const statuses = results.map((r) => r.status).sort();
    // 1 in flight + 2 queued are served, the other 3 are refused
    expect(statuses).toEqual([200, 200, 200, 503, 503, 503]);
    const full = results.find((r) => r.status === 503)!;
    expect(full.json.code).toBe('ES_ERR_BACKEND_FULL');
    expect(full.json.error).toMatch(/default\/single: activator queue full \(2 waiting\)/);
    expect(full.headers['retry-after']).toBe('1');
  });

  it('waits for a ready replica up to the deadline, then 504', async () => {
    const t0 = Date.now();
    const res = await post(`${gw.url}/default/idle`, {});
    expect(res.status).toBe(504);
    expect(res.json.code).toBe('ES_ERR_TIMEOUT');
    expect(res.json.error).toMatch(/^default\/idle: queued 0\.\ds until the deadline: no replica is running$/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
  });

  it('serves a waiting request once a replica becomes ready', async () => {
    const waiting = post(`${gw.url}/default/late`, { hello: 1 });
    await new Promise((r) => setTimeout(r, 100));
    await rt.scale('default/late', 1);
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.json.pid).toBe(rt.replicas('default/late')[0]!.pid);
  });

  it('dispatches in-process with the same balancing and error shapes', async () => {
    const ok = await activator.dispatch('default', 'pair', {
      method: 'POST',
      path: '/x',
      headers: ceHeaders('d1'),
      body: Buffer.from('{}'),
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['ce-type']).toBe('dev.test.fixture.reply');
    expect(JSON.parse(ok.body.toString()).path).toBe('/x');
    const missing = await activator.dispatch('default', 'nope', { body: Buffer.from('{}') });
    expect(missing.statusCode).toBe(404);
    expect(activator.load('default', 'pair')!.inFlight).toBe(0);
  });
});
